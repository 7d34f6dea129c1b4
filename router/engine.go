package router

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"yici/router/taxonomy"
	"yici/router/territory"
)

// UnitInfo is what routing needs to know of a unit.
type UnitInfo struct {
	Name       string
	Type       string
	Active     bool
	MergedInto string
}

// Directory is the units by id.
type Directory map[string]UnitInfo

// DirectoryOf builds a directory from a list of units.
func DirectoryOf(units []Unit) Directory {
	d := make(Directory, len(units))
	for _, u := range units {
		d[u.ID] = UnitInfo{Name: u.Name, Type: u.Type, Active: u.Active, MergedInto: u.MergedInto}
	}
	return d
}

// Input is the case as routing sees it.
type Input struct {
	Category     string
	Kind         string
	Channel      string
	Urgency      string
	TownshipCode string
	CountyCode   string
	CityCode     string
	Content      string
	// Excluded are units that returned the case (退单); Returns counts the
	// approved returns, ReturnReasons says why each unit returned it.
	Excluded      []string
	Returns       int
	ReturnReasons []string
}

// Candidate is a rule that matched, or nearly did, and what it would have
// given.
type Candidate struct {
	Rule string `json:"rule"`
	Lead string `json:"lead,omitempty"`
	Why  string `json:"why"`
}

// Decision is where a case goes and why, in words a person can check.
type Decision struct {
	RuleVersion int         `json:"rule_version"`
	Rule        string      `json:"rule"`
	Lead        string      `json:"lead"`
	LeadName    string      `json:"lead_name"`
	Co          []string    `json:"co,omitempty"`
	CoNames     []string    `json:"co_names,omitempty"`
	Deadline    string      `json:"deadline,omitempty"`
	Queue       bool        `json:"queue"` // to a hotline centre's dispatcher, by hand
	Steps       []string    `json:"steps"`
	Lost        []Candidate `json:"lost,omitempty"`
	Summary     string      `json:"summary"`
}

type compiled struct {
	Rule
	terrLevel, catLevel, conds int
}

type bucketKey struct{ cat, terr string }

// Engine decides routes from one rule set. It is immutable and safe for
// concurrent use; a new rule set or unit change builds a new engine.
type Engine struct {
	version int
	buckets map[bucketKey][]*compiled
	units   Directory
	tax     *taxonomy.Taxonomy
	terr    *territory.Territory
}

func levelOfCode(code string) int {
	switch len(code) {
	case 2:
		return 1
	case 4:
		return 2
	case 6:
		return 3
	case 9:
		return 4
	}
	return 0
}

// NewEngine compiles a rule set.
func NewEngine(version int, rules []Rule, units Directory, tax *taxonomy.Taxonomy, terr *territory.Territory) *Engine {
	e := &Engine{version: version, buckets: map[bucketKey][]*compiled{}, units: units, tax: tax, terr: terr}
	for _, r := range rules {
		c := &compiled{Rule: r, terrLevel: levelOfCode(r.Territory), catLevel: len(r.Category) / 2}
		for _, f := range []bool{r.Kind != "", r.Channel != "", r.Urgency != "", len(r.Keywords) > 0} {
			if f {
				c.conds++
			}
		}
		k := bucketKey{r.Category, r.Territory}
		e.buckets[k] = append(e.buckets[k], c)
	}
	for _, b := range e.buckets {
		sort.SliceStable(b, func(i, j int) bool {
			if b[i].Priority != b[j].Priority {
				return b[i].Priority > b[j].Priority
			}
			if b[i].conds != b[j].conds {
				return b[i].conds > b[j].conds
			}
			return b[i].ID < b[j].ID
		})
	}
	return e
}

// Version is the rule set version.
func (e *Engine) Version() int { return e.version }

// Units returns the unit directory.
func (e *Engine) Units() Directory { return e.units }

// mismatch returns why r does not apply to in ("" when it does).
func (r *compiled) mismatch(in *Input) string {
	switch {
	case r.Kind != "" && r.Kind != in.Kind:
		return "诉求类型不符（规则：" + r.Kind + "）"
	case r.Channel != "" && r.Channel != in.Channel:
		return "渠道不符（规则：" + r.Channel + "）"
	case r.Urgency != "" && r.Urgency != in.Urgency:
		return "紧急程度不符（规则：" + r.Urgency + "）"
	case len(r.Keywords) > 0:
		for _, k := range r.Keywords {
			if strings.Contains(in.Content, k) {
				return ""
			}
		}
		return "内容不含关键词（" + strings.Join(r.Keywords, "、") + "）"
	}
	return ""
}

var terrLabel = [...]string{"全域", "省级", "市级", "县级", "乡镇级"}
var catLabel = [...]string{"全部类别", "类别组", "具体类别"}

const maxLost = 12

// Route decides the lead and co-handling units of a case.
func (e *Engine) Route(in Input) Decision {
	d := Decision{RuleVersion: e.version}
	if in.CountyCode == "" && len(in.TownshipCode) == 9 {
		in.CountyCode = in.TownshipCode[:6]
	}
	if in.CityCode == "" && len(in.CountyCode) >= 4 {
		in.CityCode = in.CountyCode[:4]
	}
	province := ""
	if len(in.CityCode) >= 2 {
		province = in.CityCode[:2]
	}
	// Precedence order: territory specificity, then category specificity.
	terrs := [...]string{in.TownshipCode, in.CountyCode, in.CityCode, province, ""}
	group := ""
	if len(in.Category) == 4 {
		group = in.Category[:2]
	}
	cats := [...]string{in.Category, group, ""}
	var winner *compiled
	var matched []*compiled
	for ti, t := range terrs {
		if t == "" && ti != len(terrs)-1 {
			continue
		}
		for ci, c := range cats {
			if c == "" && ci != len(cats)-1 {
				continue
			}
			for _, r := range e.buckets[bucketKey{c, t}] {
				if why := r.mismatch(&in); why != "" {
					if len(d.Lost) < maxLost {
						d.Lost = append(d.Lost, Candidate{Rule: r.ID, Why: why})
					}
					continue
				}
				if winner == nil {
					winner = r
				}
				matched = append(matched, r)
			}
		}
	}
	if in.Returns >= 2 && in.CountyCode != "" {
		// After two returns the county's social governance centre decides
		// (or, when it returned the case itself, the city's hotline centre).
		lead := in.CountyCode + "-SHZL"
		if slices.Contains(in.Excluded, lead) {
			lead = in.CountyCode[:4] + "-" + taxonomy.Center
		}
		d.Steps = append(d.Steps, fmt.Sprintf("已退单 %d 次，转县级社会治理中心兜底：%s", in.Returns, strings.Join(in.ReturnReasons, "；")))
		e.finish(&d, winner, lead, nil, &in)
		e.explainLosers(&d, matched, nil)
		return d
	}
	if winner == nil {
		d.Steps = append(d.Steps, "没有规则适用")
		e.finish(&d, nil, e.centreOf(&in), nil, &in)
		return d
	}
	// The winner, or when its unit returned the case, the next rule that
	// gives another unit.
	var chosen *compiled
	var lead string
	for _, r := range matched {
		u, steps := e.resolveLead(r, &in)
		if slices.Contains(in.Excluded, u) {
			d.Lost = append(d.Lost, Candidate{Rule: r.ID, Lead: u, Why: "该单位已退单"})
			continue
		}
		chosen, lead = r, u
		d.Steps = append(d.Steps, steps...)
		break
	}
	if chosen == nil {
		lead = e.fallbackAfterReturns(&in)
		d.Steps = append(d.Steps, "所有规则给出的单位都已退单，转 "+lead)
	}
	e.finish(&d, chosen, lead, chosen, &in)
	e.explainLosers(&d, matched, chosen)
	return d
}

func (e *Engine) explainLosers(d *Decision, matched []*compiled, chosen *compiled) {
	for _, r := range matched {
		if r == chosen || len(d.Lost) >= maxLost {
			continue
		}
		why := "优先级较低"
		if chosen != nil {
			switch {
			case r.terrLevel != chosen.terrLevel:
				why = fmt.Sprintf("地域范围较宽（%s，胜出规则为%s）", terrLabel[r.terrLevel], terrLabel[chosen.terrLevel])
			case r.catLevel != chosen.catLevel:
				why = fmt.Sprintf("类别范围较宽（%s，胜出规则为%s）", catLabel[r.catLevel], catLabel[chosen.catLevel])
			case r.Priority != chosen.Priority:
				why = fmt.Sprintf("优先级 %d 低于 %d", r.Priority, chosen.Priority)
			case r.conds != chosen.conds:
				why = "附加条件较少"
			default:
				why = "同等条件下按规则编号排后"
			}
		}
		d.Lost = append(d.Lost, Candidate{Rule: r.ID, Why: why})
	}
}

// finish fills the decision from the chosen rule and lead unit.
func (e *Engine) finish(d *Decision, r *compiled, lead string, coFrom *compiled, in *Input) {
	if r != nil {
		d.Rule = r.ID
		d.Deadline = r.Deadline
		d.Steps = append([]string{fmt.Sprintf("命中规则 %s（%s，%s，优先级 %d）", r.ID, terrLabel[r.terrLevel], catLabel[r.catLevel], r.Priority)}, d.Steps...)
	}
	lead, steps := e.live(lead)
	d.Steps = append(d.Steps, steps...)
	d.Lead = lead
	d.LeadName = e.units[lead].Name
	d.Queue = taxonomy.UnitTypeOf(lead) == taxonomy.Center
	if coFrom != nil {
		seen := map[string]bool{lead: true}
		addCo := func(u, from string) {
			u, _ = e.live(u)
			switch {
			case u == "" || seen[u]:
			case slices.Contains(in.Excluded, u):
				d.Steps = append(d.Steps, "协办单位 "+u+" 已退单，不再协办")
			case !e.units[u].Active:
				d.Steps = append(d.Steps, "协办单位 "+from+" 不可用，略去")
			default:
				seen[u] = true
				d.Co = append(d.Co, u)
				d.CoNames = append(d.CoNames, e.units[u].Name)
			}
		}
		for _, t := range coFrom.CoTypes {
			u := e.resolveType(t, in)
			if taxonomy.UnitTypeOf(u) == taxonomy.Center {
				continue // a co-unit the territory cannot place is left out
			}
			addCo(u, t)
		}
		for _, u := range coFrom.CoUnits {
			addCo(u, u)
		}
	}
	who := d.LeadName
	if who == "" {
		who = lead
	}
	switch {
	case d.Queue:
		d.Summary = "转" + who + "人工派单"
	case len(d.Co) > 0:
		d.Summary = "主办：" + who + "；协办：" + strings.Join(d.CoNames, "、")
	default:
		d.Summary = "主办：" + who
	}
}

// resolveLead resolves a rule's lead against the case's territory.
func (e *Engine) resolveLead(r *compiled, in *Input) (string, []string) {
	if r.LeadUnit != "" {
		return r.LeadUnit, []string{"规则指定承办单位 " + r.LeadUnit}
	}
	u := e.resolveType(r.LeadType, in)
	var steps []string
	ut := e.tax.UnitType(r.LeadType)
	if ut != nil && ut.Level == taxonomy.LevelTownship && in.TownshipCode == "" {
		if in.CountyCode != "" {
			steps = append(steps, fmt.Sprintf("乡镇（街道）不明，%s 由县级同条线 %s 承办", r.LeadType, ut.CountyLine))
		} else {
			steps = append(steps, "县（市、区）不明，转热线中心人工派单")
		}
	} else if taxonomy.UnitTypeOf(u) == taxonomy.Center && r.LeadType != taxonomy.Center {
		steps = append(steps, "属地不明，转热线中心人工派单")
	}
	return u, steps
}

func (e *Engine) resolveType(typ string, in *Input) string {
	u := e.tax.DefaultUnitID(typ, in.TownshipCode, in.CountyCode)
	if u == taxonomy.Center && len(in.CityCode) == 4 {
		// Only the city is known: its utility, or its hotline centre.
		if ut := e.tax.UnitType(typ); ut != nil && ut.Level == taxonomy.LevelUtility {
			return in.CityCode + "-" + typ
		}
		return in.CityCode + "-" + taxonomy.Center
	}
	return u
}

// live follows merges to an active unit; an unknown or inactive unit falls
// back up its line: township platform → county line unit → county SHZL →
// city hotline centre → provincial centre.
func (e *Engine) live(id string) (string, []string) {
	var steps []string
	for i := 0; i < 8; i++ {
		u, ok := e.units[id]
		if ok && u.Active {
			return id, steps
		}
		if ok && u.MergedInto != "" {
			steps = append(steps, fmt.Sprintf("%s 已并入 %s", id, u.MergedInto))
			id = u.MergedInto
			continue
		}
		next := e.upOneLevel(id)
		if next == id {
			break
		}
		if ok {
			steps = append(steps, fmt.Sprintf("%s 已停用，转 %s", id, next))
		} else {
			steps = append(steps, fmt.Sprintf("单位 %s 不存在，转 %s", id, next))
		}
		id = next
	}
	return id, steps
}

func (e *Engine) upOneLevel(id string) string {
	code, typ, _ := strings.Cut(id, "-")
	switch len(code) {
	case 9:
		if ut := e.tax.UnitType(typ); ut != nil && ut.CountyLine != "" {
			return code[:6] + "-" + ut.CountyLine
		}
		return code[:6] + "-SHZL"
	case 6:
		if typ != "SHZL" {
			return code + "-SHZL"
		}
		return code[:4] + "-" + taxonomy.Center
	case 4:
		if typ != taxonomy.Center {
			return code + "-" + taxonomy.Center
		}
		return ProvinceCentreID
	}
	return id
}

func (e *Engine) centreOf(in *Input) string {
	if in.CountyCode != "" {
		return in.CountyCode + "-SHZL"
	}
	if in.CityCode != "" {
		return in.CityCode + "-" + taxonomy.Center
	}
	return ProvinceCentreID
}

func (e *Engine) fallbackAfterReturns(in *Input) string {
	if in.CountyCode != "" {
		return in.CountyCode + "-SHZL"
	}
	return e.centreOf(in)
}

// Escalation returns where an overdue township case goes: the county unit
// of the same line leads, the township platform stays as co-unit.
func (e *Engine) Escalation(lead string, co []string) (newLead string, newCo []string, ok bool) {
	code, typ, _ := strings.Cut(lead, "-")
	ut := e.tax.UnitType(typ)
	if len(code) != 9 || ut == nil || ut.CountyLine == "" {
		return "", nil, false
	}
	up, _ := e.live(code[:6] + "-" + ut.CountyLine)
	newCo = append([]string{lead}, co...)
	return up, slices.DeleteFunc(newCo, func(u string) bool { return u == up }), true
}
