package router

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"yici/internal/workcal"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// Rule is one line of the routing matrix. Empty match fields match any
// case. Precedence among matching rules (documented in docs/routing.md):
// territory specificity first (township > county > city > province >
// anywhere), then category specificity (category > group > any), then
// Priority (higher first), then the number of other conditions (kind,
// channel, urgency, keywords: more first), then ID.
type Rule struct {
	ID        string   `json:"id"`
	Note      string   `json:"note,omitempty"`
	Priority  int      `json:"priority,omitempty"`
	Category  string   `json:"category,omitempty"`  // 4-digit category or 2-digit group
	Kind      string   `json:"kind,omitempty"`      // 咨询 求助 投诉 举报 建议 表扬 其他
	Territory string   `json:"territory,omitempty"` // 2-, 4-, 6- or 9-digit division code
	Channel   string   `json:"channel,omitempty"`   // phone web app grid kiosk open311 console
	Urgency   string   `json:"urgency,omitempty"`   // normal urgent emergency
	Keywords  []string `json:"keywords,omitempty"`  // any of them in the content
	// What the rule yields: a lead unit type resolved against the case's
	// territory, or a fixed lead unit; co-handling unit types and units; a
	// resolution deadline overriding the deadline policy.
	LeadType string   `json:"lead_type,omitempty"`
	LeadUnit string   `json:"lead_unit,omitempty"`
	CoTypes  []string `json:"co_types,omitempty"`
	CoUnits  []string `json:"co_units,omitempty"`
	Deadline string   `json:"deadline,omitempty"` // e.g. "5wd", "24h"
}

// RuleSet is a versioned routing matrix.
type RuleSet struct {
	Version     int        `json:"version"`
	Status      string     `json:"status"` // draft, active, retired
	Note        string     `json:"note,omitempty"`
	Author      string     `json:"author,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	Rules       []Rule     `json:"rules"`
}

// FallbackRuleID is the catch-all of the default matrix: what no rule
// places goes to the county's social governance centre (SHZL, 兜底).
const FallbackRuleID = "default-fallback"

// DefaultRules is the matrix of the taxonomy: for each category its lead
// unit type and co-handling types, and the catch-all to SHZL.
func DefaultRules(tax *taxonomy.Taxonomy) []Rule {
	var rules []Rule
	for _, c := range tax.Categories() {
		rules = append(rules, Rule{ID: "default-" + c.Code, Category: c.Code, LeadType: c.Lead, CoTypes: append([]string(nil), c.Co...),
			Note: c.Group + "/" + c.Name})
	}
	rules = append(rules, Rule{ID: FallbackRuleID, LeadType: "SHZL", Note: "无明确承办单位的事项由县级社会治理中心兜底"})
	return rules
}

var (
	validKinds     = []string{"咨询", "求助", "投诉", "举报", "建议", "表扬", "其他"}
	validChannels  = []string{"phone", "web", "app", "grid", "kiosk", "open311", "console"}
	validUrgencies = []string{"normal", "urgent", "emergency"}
)

// ValidationError lists every problem of a rule set.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	n := len(e.Problems)
	shown := e.Problems
	if n > 20 {
		shown = shown[:20]
	}
	return fmt.Sprintf("rule set invalid (%d problems): %s", n, strings.Join(shown, "; "))
}

// Validate checks a rule set against the units, taxonomy and territory:
// each rule's fields, and that every category resolves to an active unit
// through a rule that names it (not the catch-all) in every county, with
// and without a known township.
func Validate(rules []Rule, units Directory, tax *taxonomy.Taxonomy, terr *territory.Territory) error {
	var probs []string
	add := func(f string, a ...any) { probs = append(probs, fmt.Sprintf(f, a...)) }
	ids := map[string]bool{}
	for i, r := range rules {
		name := r.ID
		if name == "" {
			add("rule %d: id is required", i+1)
			name = fmt.Sprintf("#%d", i+1)
		} else if ids[r.ID] {
			add("rule %s: id used twice", r.ID)
		}
		ids[r.ID] = true
		switch len(r.Category) {
		case 0:
		case 2:
			if !slices.ContainsFunc(tax.Categories(), func(c *taxonomy.Category) bool { return c.GroupCode == r.Category }) {
				add("rule %s: unknown category group %q", name, r.Category)
			}
		case 4:
			if tax.Category(r.Category) == nil {
				add("rule %s: unknown category %q", name, r.Category)
			}
		default:
			add("rule %s: category %q must be a 4-digit category or a 2-digit group", name, r.Category)
		}
		if r.Kind != "" && !slices.Contains(validKinds, r.Kind) {
			add("rule %s: unknown kind %q", name, r.Kind)
		}
		if r.Channel != "" && !slices.Contains(validChannels, r.Channel) {
			add("rule %s: unknown channel %q", name, r.Channel)
		}
		if r.Urgency != "" && !slices.Contains(validUrgencies, r.Urgency) {
			add("rule %s: unknown urgency %q", name, r.Urgency)
		}
		if r.Territory != "" && terr.Get(r.Territory) == nil {
			add("rule %s: unknown territory %q", name, r.Territory)
		}
		for _, k := range r.Keywords {
			if strings.TrimSpace(k) == "" {
				add("rule %s: empty keyword", name)
			}
		}
		switch {
		case r.LeadType == "" && r.LeadUnit == "":
			add("rule %s: lead_type or lead_unit is required", name)
		case r.LeadType != "" && r.LeadUnit != "":
			add("rule %s: give lead_type or lead_unit, not both", name)
		case r.LeadType != "" && tax.UnitType(r.LeadType) == nil:
			add("rule %s: unknown unit type %q", name, r.LeadType)
		case r.LeadUnit != "":
			if u, ok := units[r.LeadUnit]; !ok {
				add("rule %s: lead unit %q does not exist", name, r.LeadUnit)
			} else if !u.Active && u.MergedInto == "" {
				add("rule %s: lead unit %q is deactivated", name, r.LeadUnit)
			}
		}
		for _, t := range r.CoTypes {
			if tax.UnitType(t) == nil {
				add("rule %s: unknown co unit type %q", name, t)
			}
		}
		for _, u := range r.CoUnits {
			if _, ok := units[u]; !ok {
				add("rule %s: co unit %q does not exist", name, u)
			}
		}
		if r.Deadline != "" {
			if _, err := workcal.ParseSpan(r.Deadline); err != nil {
				add("rule %s: deadline %q: %v", name, r.Deadline, err)
			}
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	e := NewEngine(0, rules, units, tax, terr)
	for _, city := range terr.Cities() {
		for _, county := range terr.Counties(city.Code) {
			township := ""
			for _, tw := range terr.Townships(county.Code) {
				if !territory.Placeholder(tw.Name) {
					township = tw.Code
					break
				}
			}
			for _, c := range tax.Categories() {
				for _, tw := range []string{township, ""} {
					d := e.Route(Input{Category: c.Code, TownshipCode: tw, CountyCode: county.Code})
					where := county.Code
					if tw != "" {
						where = tw
					}
					switch {
					case d.Rule == "" || d.Rule == FallbackRuleID:
						add("category %s (%s) has no owner in %s %s", c.Code, c.Name, where, county.Name)
					case d.Lead == "" || !units[d.Lead].Active:
						add("category %s (%s) in %s resolves to %q, which is not an active unit", c.Code, c.Name, where, d.Lead)
					}
				}
			}
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}
