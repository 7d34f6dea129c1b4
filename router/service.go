package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/workcal"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/router/triage"
)

// Service is the router on the database: the active rule set and units
// (reloaded within a second of a change on any node), decisions stored
// with their cases, and dispatching by decision.
type Service struct {
	db      *pgxpool.Pool
	cases   *cases.Store
	tax     *taxonomy.Taxonomy
	terr    *territory.Territory
	triager *triage.Triager
	log     *slog.Logger

	engine   atomic.Pointer[Engine]
	loadedAt atomic.Int64 // units_version of the loaded engine
}

// NewService loads the active rule set (installing the default matrix as
// version 1 when there is none) and the units.
func NewService(ctx context.Context, db *pgxpool.Pool, cs *cases.Store, tax *taxonomy.Taxonomy, terr *territory.Territory, tr *triage.Triager, log *slog.Logger) (*Service, error) {
	s := &Service{db: db, cases: cs, tax: tax, terr: terr, triager: tr, log: log}
	if log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	rules, _ := json.Marshal(DefaultRules(tax))
	if _, err := db.Exec(ctx, `INSERT INTO rule_sets (version, status, rules, note, author, activated_at)
		SELECT 1, 'active', $1, '默认矩阵（taxonomy.csv）', 'system', now() WHERE NOT EXISTS (SELECT 1 FROM rule_sets)`, rules); err != nil {
		return nil, err
	}
	if err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Engine returns the current engine.
func (s *Service) Engine() *Engine { return s.engine.Load() }

// Triager returns the text triage.
func (s *Service) Triager() *triage.Triager { return s.triager }

func (s *Service) state(ctx context.Context) (version int, unitsVersion int64, err error) {
	err = s.db.QueryRow(ctx, `SELECT coalesce((SELECT version FROM rule_sets WHERE status = 'active'), 0), units_version FROM router_state`).
		Scan(&version, &unitsVersion)
	return
}

// Reload builds a new engine from the active rule set and the units.
func (s *Service) Reload(ctx context.Context) error {
	_, uv, err := s.state(ctx)
	if err != nil {
		return err
	}
	rs, err := s.Active(ctx)
	if err != nil {
		return err
	}
	units, err := Units{DB: s.db}.List(ctx, "", "")
	if err != nil {
		return err
	}
	s.engine.Store(NewEngine(rs.Version, rs.Rules, DirectoryOf(units), s.tax, s.terr))
	s.loadedAt.Store(uv)
	return nil
}

// Run polls for a new active rule set or changed units every interval
// (500 ms keeps every node within a second of a change) until ctx ends.
func (s *Service) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		v, uv, err := s.state(ctx)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("router: poll", "err", err)
			}
			continue
		}
		if e := s.Engine(); e != nil && e.Version() == v && s.loadedAt.Load() == uv {
			continue
		}
		if err := s.Reload(ctx); err != nil {
			s.log.Error("router: reload", "err", err)
			continue
		}
		s.log.Info("router: reloaded", "rule_version", v, "units_version", uv)
	}
}

func scanRuleSet(row pgx.Row) (RuleSet, error) {
	var rs RuleSet
	var rules []byte
	err := row.Scan(&rs.Version, &rs.Status, &rs.Note, &rs.Author, &rs.CreatedAt, &rs.ActivatedAt, &rules)
	if err == nil {
		err = json.Unmarshal(rules, &rs.Rules)
	}
	return rs, err
}

const ruleSetCols = `version, status, note, author, created_at, activated_at, rules`

// Active returns the active rule set.
func (s *Service) Active(ctx context.Context) (RuleSet, error) {
	return scanRuleSet(s.db.QueryRow(ctx, `SELECT `+ruleSetCols+` FROM rule_sets WHERE status = 'active'`))
}

// RuleSet returns one version.
func (s *Service) RuleSet(ctx context.Context, version int) (RuleSet, error) {
	return scanRuleSet(s.db.QueryRow(ctx, `SELECT `+ruleSetCols+` FROM rule_sets WHERE version = $1`, version))
}

// RuleSets lists the versions, newest first (rules left out).
func (s *Service) RuleSets(ctx context.Context) ([]RuleSet, error) {
	rows, err := s.db.Query(ctx, `SELECT `+ruleSetCols+` FROM rule_sets ORDER BY version DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (RuleSet, error) {
		rs, err := scanRuleSet(r)
		rs.Rules = rs.Rules[:0:0]
		return rs, err
	})
}

// Validate checks rules against the current units, taxonomy and territory.
func (s *Service) Validate(rules []Rule) error {
	return Validate(rules, s.Engine().Units(), s.tax, s.terr)
}

// Propose stores a new draft version after validating it.
func (s *Service) Propose(ctx context.Context, rules []Rule, note, author string) (RuleSet, error) {
	if err := s.Validate(rules); err != nil {
		return RuleSet{}, err
	}
	b, _ := json.Marshal(rules)
	var v int
	err := s.db.QueryRow(ctx, `INSERT INTO rule_sets (version, status, rules, note, author)
		SELECT coalesce(max(version), 0) + 1, 'draft', $1, $2, $3 FROM rule_sets RETURNING version`, b, note, author).Scan(&v)
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return RuleSet{}, fmt.Errorf("router: another version was proposed at the same time, try again")
	}
	if err != nil {
		return RuleSet{}, err
	}
	return s.RuleSet(ctx, v)
}

// Activate validates a version again (units may have changed) and makes it
// the active one; every node picks it up within a second.
func (s *Service) Activate(ctx context.Context, version int) error {
	rs, err := s.RuleSet(ctx, version)
	if err != nil {
		return err
	}
	if err := s.Validate(rs.Rules); err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE rule_sets SET status = 'retired' WHERE status = 'active'`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE rule_sets SET status = 'active', activated_at = now() WHERE version = $1`, version)
		return err
	})
	if err != nil {
		return err
	}
	return s.Reload(ctx)
}

// InputOf builds the routing input of a case: its fields, and the units
// that returned it (with their reasons).
func (s *Service) InputOf(ctx context.Context, c *cases.Case) (Input, error) {
	in := Input{Category: c.Category, Kind: string(c.Kind), Channel: string(c.Channel), Urgency: string(c.Urgency),
		TownshipCode: c.TownshipCode, CountyCode: c.CountyCode, CityCode: c.CityCode, Content: c.Content, Returns: c.ReturnCount}
	for _, a := range c.Assignments {
		if a.State == cases.AReturned {
			in.Excluded = append(in.Excluded, a.UnitID)
		}
	}
	if c.ReturnCount > 0 {
		reasons, err := s.cases.ReturnReasons(ctx, c.ID)
		if err != nil {
			return in, err
		}
		for _, r := range reasons {
			name := r[0]
			if u, ok := s.Engine().Units()[r[0]]; ok {
				name = u.Name
			}
			in.ReturnReasons = append(in.ReturnReasons, name+"："+r[1])
		}
	}
	return in, nil
}

// Decide routes a case (without storing the decision).
func (s *Service) Decide(ctx context.Context, c *cases.Case) (Decision, error) {
	in, err := s.InputOf(ctx, c)
	if err != nil {
		return Decision{}, err
	}
	return s.Engine().Route(in), nil
}

func (s *Service) q(ctx context.Context) interface {
	Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
} {
	if tx := cases.Tx(ctx); tx != nil {
		return tx
	}
	return s.db
}

// Record stores a decision with its case.
func (s *Service) Record(ctx context.Context, c *cases.Case, d Decision, applied bool, actor string) error {
	b, _ := json.Marshal(d)
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO routing_decisions (case_id, county_code, rule_version, lead, applied, actor, decision)
		VALUES ($1,$2,$3,$4,$5,$6,$7)`, c.ID, c.CountyCode, d.RuleVersion, d.Lead, applied, actor, b)
	return err
}

// Plan turns a decision into a dispatch plan.
func Plan(d Decision) cases.DispatchPlan {
	p := cases.DispatchPlan{Lead: d.Lead, Co: d.Co, RuleName: d.Rule, Decision: map[string]any{
		"rule_version": d.RuleVersion, "rule": d.Rule, "summary": d.Summary, "steps": d.Steps}}
	if d.Deadline != "" {
		if sp, err := workcal.ParseSpan(d.Deadline); err == nil {
			p.Resolve = &sp
		}
	}
	return p
}

// Override is a person's choice against (or beside) the router's.
type Override struct {
	Lead   string
	Co     []string
	Reason string // required when the lead differs from the decision
}

// ErrOverrideReason means an override of the decision came without a reason.
var ErrOverrideReason = errors.New("router: overriding the routing decision needs a reason")

// Dispatch routes a case and dispatches it by the decision, or by the
// override (which needs a reason when it changes the lead). The decision
// is stored with the case in the same transaction. Corrections of the
// category or township are applied before routing.
func (s *Service) Dispatch(ctx context.Context, actor auth.Actor, id uuid.UUID, fix cases.DispatchPlan, o *Override) (*cases.Case, Decision, error) {
	var out *cases.Case
	var d Decision
	err := s.cases.InTx(ctx, func(ctx context.Context) error {
		c, err := s.cases.Get(ctx, id)
		if err != nil {
			return err
		}
		if fix.Category != "" {
			c.Category = fix.Category
		}
		if fix.TownshipCode != "" {
			c.TownshipCode, c.CountyCode, c.CityCode = fix.TownshipCode, fix.TownshipCode[:min(6, len(fix.TownshipCode))], fix.TownshipCode[:min(4, len(fix.TownshipCode))]
		} else if fix.CountyCode != "" {
			c.CountyCode, c.CityCode = fix.CountyCode, fix.CountyCode[:min(4, len(fix.CountyCode))]
		}
		if d, err = s.Decide(ctx, c); err != nil {
			return err
		}
		plan := Plan(d)
		plan.Category, plan.TownshipCode, plan.CountyCode, plan.Urgency = fix.Category, fix.TownshipCode, fix.CountyCode, fix.Urgency
		reason := d.Summary
		if o != nil && o.Lead != "" {
			if o.Lead != d.Lead && o.Reason == "" {
				return ErrOverrideReason
			}
			plan.Lead, plan.Co = o.Lead, o.Co
			plan.Decision["override"] = map[string]any{"lead": o.Lead, "co": o.Co, "reason": o.Reason, "by": actor.Name}
			if o.Lead != d.Lead {
				reason = "人工改派：" + o.Reason
			}
		}
		if err := s.Record(ctx, c, d, true, actor.Name); err != nil {
			return err
		}
		out, err = s.cases.Dispatch(ctx, actor, id, plan, reason)
		return err
	})
	return out, d, err
}

// Reroute is the cases store's hook after an approved 退单: the decision
// excludes the units that returned the case; after two returns it goes to
// the county's SHZL with both reasons. A decision that lands in a hotline
// centre's queue is left for a dispatcher (nil plan).
func (s *Service) Reroute(ctx context.Context, c *cases.Case) (*cases.DispatchPlan, error) {
	d, err := s.Decide(ctx, c)
	if err != nil {
		return nil, err
	}
	if err := s.Record(ctx, c, d, !d.Queue, "退单后重新路由"); err != nil {
		return nil, err
	}
	if d.Queue {
		return nil, nil
	}
	p := Plan(d)
	return &p, nil
}

// RedoPlan is the cases store's hook when a callback reopens a case (重办):
// the first time the same units redo it (nil plan); after a second failure
// the county unit of the lead's line leads, the township platform helping.
func (s *Service) RedoPlan(ctx context.Context, c *cases.Case) (*cases.DispatchPlan, error) {
	if c.RedoCount < 1 {
		return nil, nil
	}
	var lead string
	var co []string
	for _, a := range c.Assignments {
		if a.Round != c.DispatchRound || a.State == cases.AReturned {
			continue
		}
		if a.Role == cases.Lead {
			lead = a.UnitID
		} else {
			co = append(co, a.UnitID)
		}
	}
	up, newCo, ok := s.Engine().Escalation(lead, co)
	if !ok {
		return nil, nil // already a county unit: it redoes it again
	}
	d := Decision{RuleVersion: s.Engine().Version(), Rule: "redo-escalation", Lead: up, LeadName: s.Engine().Units()[up].Name, Co: newCo,
		Steps: []string{fmt.Sprintf("第 %d 次回访不满意，升级至县级同条线单位 %s 重办，原单位协办", c.RedoCount+1, up)}}
	d.Summary = "重办升级：" + d.LeadName + " 主办"
	if err := s.Record(ctx, c, d, true, "重办"); err != nil {
		return nil, err
	}
	p := Plan(d)
	return &p, nil
}

// Escalate moves an overdue township case to the county unit of the same
// line, keeping the township platform as co-unit.
func (s *Service) Escalate(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*cases.Case, error) {
	c, err := s.cases.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	lead := c.LeadAssignment()
	if lead == nil {
		return nil, &cases.TransitionError{Action: cases.ActEscalate, State: c.State, Role: actor.Role, Err: cases.ErrWrongState, Detail: "没有主办单位"}
	}
	var co []string
	for _, a := range c.Assignments {
		if a.Round == c.DispatchRound && a.Role == cases.Co && a.State.Live() {
			co = append(co, a.UnitID)
		}
	}
	up, newCo, ok := s.Engine().Escalation(lead.UnitID, co)
	if !ok {
		return nil, &cases.TransitionError{Action: cases.ActEscalate, State: c.State, Role: actor.Role, Err: cases.ErrWrongState, Detail: "主办单位已是县级及以上单位"}
	}
	d := Decision{RuleVersion: s.Engine().Version(), Rule: "escalation", Lead: up, LeadName: s.Engine().Units()[up].Name, Co: newCo,
		Steps: []string{fmt.Sprintf("%s 超期，升级至县级同条线单位 %s，原单位协办", lead.UnitID, up)}}
	d.Summary = "升级：" + d.LeadName + " 主办"
	var out *cases.Case
	err = s.cases.InTx(ctx, func(ctx context.Context) error {
		if err := s.Record(ctx, c, d, true, actor.Name); err != nil {
			return err
		}
		out, err = s.cases.Escalate(ctx, actor, id, cases.DispatchPlan{Lead: up, Co: newCo, Decision: map[string]any{"rule": "escalation", "steps": d.Steps}}, reason)
		return err
	})
	return out, err
}

// StoredDecision is a decision as stored with its case.
type StoredDecision struct {
	At       time.Time `json:"at"`
	Applied  bool      `json:"applied"`
	Actor    string    `json:"actor"`
	Decision Decision  `json:"decision"`
}

// Decisions returns the decisions stored with a case, oldest first.
func (s *Service) Decisions(ctx context.Context, id uuid.UUID) ([]StoredDecision, error) {
	rows, err := s.db.Query(ctx, `SELECT at, applied, actor, decision FROM routing_decisions WHERE case_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (StoredDecision, error) {
		var sd StoredDecision
		var b []byte
		err := r.Scan(&sd.At, &sd.Applied, &sd.Actor, &b)
		if err == nil {
			err = json.Unmarshal(b, &sd.Decision)
		}
		return sd, err
	})
}
