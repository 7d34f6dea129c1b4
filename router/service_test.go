package router_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/pgtest"
	"yici/router"
	"yici/router/routertest"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/router/triage"
)

var (
	agent      = auth.Actor{ID: uuid.New(), Name: "话务员", Role: auth.Agent, UnitID: "3301-HC"}
	dispatcher = auth.Actor{ID: uuid.New(), Name: "派单员", Role: auth.Dispatcher, UnitID: "3301-HC"}
	zfOfficer  = auth.Actor{ID: uuid.New(), Name: "文新执法", Role: auth.Officer, UnitID: "330106013-ZF"}
	shzl       = auth.Actor{ID: uuid.New(), Name: "西湖社治", Role: auth.Officer, UnitID: "330106-SHZL"}
)

type fixture struct {
	db    *pgxpool.Pool
	cases *cases.Store
	svc   *router.Service
}

func setup(t *testing.T) fixture {
	t.Helper()
	db := pgtest.Pool(t, routertest.Zhejiang)
	return fixture{db: db, cases: nil, svc: nil}.with(t, db)
}

func (f fixture) with(t *testing.T, db *pgxpool.Pool) fixture {
	t.Helper()
	tax, terr := taxonomy.Default(), territory.Zhejiang()
	tr, err := triage.Default()
	if err != nil {
		t.Fatal(err)
	}
	cs := cases.NewStore(db, cases.Options{ClassOf: func(c string) string {
		if cat := tax.Category(c); cat != nil {
			return cat.SLAClass
		}
		return "normal"
	}})
	svc, err := router.NewService(context.Background(), db, cs, tax, terr, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs.SetReroute(svc.Reroute)
	return fixture{db: db, cases: cs, svc: svc}
}

func (f fixture) newCase(t *testing.T, category, township string) *cases.Case {
	t.Helper()
	c, _, err := f.cases.Create(context.Background(), agent, cases.NewCase{Kind: cases.Complaint, Category: category,
		Content: "文新街道一家饭店油烟直排，楼上住户无法开窗。", TownshipCode: township, CitizenPhone: "13800001111", Channel: cases.ChannelPhone})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDispatchByDecisionIsStoredAndExplained(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c := f.newCase(t, "0104", "330106013")
	got, d, err := f.svc.Dispatch(ctx, agent, c.ID, cases.DispatchPlan{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Lead != "330106013-ZF" || got.LeadAssignment().UnitID != "330106013-ZF" {
		t.Fatalf("lead %s", d.Lead)
	}
	if len(got.Assignments) != 2 || got.Assignments[1].UnitID != "330106-STJ" {
		t.Fatalf("co-units %+v", got.Assignments)
	}
	stored, err := f.svc.Decisions(ctx, c.ID)
	if err != nil || len(stored) != 1 || stored[0].Decision.Rule != "default-0104" || !stored[0].Applied {
		t.Fatalf("stored: %+v %v", stored, err)
	}
	evs, _ := f.cases.Events(ctx, c.ID)
	if dec, _ := evs[len(evs)-1].Data["decision"].(map[string]any); dec["rule"] != "default-0104" {
		t.Fatalf("dispatch event lacks the decision: %+v", evs[len(evs)-1].Data)
	}
}

func TestOverrideNeedsReason(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c := f.newCase(t, "0104", "330106013")
	if _, _, err := f.svc.Dispatch(ctx, agent, c.ID, cases.DispatchPlan{}, &router.Override{Lead: "330106-ZFJ"}); !errors.Is(err, router.ErrOverrideReason) {
		t.Fatalf("override without reason: %v", err)
	}
	got, _, err := f.svc.Dispatch(ctx, agent, c.ID, cases.DispatchPlan{}, &router.Override{Lead: "330106-ZFJ", Reason: "涉及多个街道，由区执法局统筹"})
	if err != nil || got.LeadAssignment().UnitID != "330106-ZFJ" {
		t.Fatalf("override: %v", err)
	}
}

func TestCorrectionsBeforeRouting(t *testing.T) {
	f := setup(t)
	c := f.newCase(t, "", "")
	got, d, err := f.svc.Dispatch(context.Background(), agent, c.ID, cases.DispatchPlan{Category: "0501", TownshipCode: "330382001"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Lead != "330382001-ZF" || got.CountyCode != "330382" || got.Category != "0501" {
		t.Fatalf("after corrections: %s %s %s", d.Lead, got.CountyCode, got.Category)
	}
}

// 退单 approved: the case is re-routed at once, without the unit that
// returned it; after two returns it is with the county's SHZL, whose
// decision carries both reasons; if SHZL returns it too, it waits in the
// city hotline centre's queue.
func TestReroutingAfterReturns(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	// A second-choice rule for oil fumes, below the default one.
	rules := append(router.DefaultRules(taxonomy.Default()),
		router.Rule{ID: "oil-second-choice", Category: "0104", Priority: -1, LeadType: "STJ"})
	rs, err := f.svc.Propose(ctx, rules, "", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Activate(ctx, rs.Version); err != nil {
		t.Fatal(err)
	}
	c := f.newCase(t, "0104", "330106013")
	if _, _, err := f.svc.Dispatch(ctx, agent, c.ID, cases.DispatchPlan{}, nil); err != nil {
		t.Fatal(err)
	}
	returnIt := func(by auth.Actor, reason string) *cases.Case {
		t.Helper()
		if _, err := f.cases.RequestReturn(ctx, by, c.ID, reason); err != nil {
			t.Fatal(err)
		}
		got, err := f.cases.ApproveReturn(ctx, dispatcher, c.ID, "同意")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	got := returnIt(zfOfficer, "该饭店位于古荡街道辖区")
	if got.State != cases.PendingSign || got.LeadAssignment().UnitID != "330106-STJ" {
		t.Fatalf("after the first return: %s %+v", got.State, got.LeadAssignment())
	}
	stored, _ := f.svc.Decisions(ctx, c.ID)
	if last := stored[len(stored)-1].Decision; !strings.Contains(strings.Join(lostWhy(last), " "), "已退单") || last.Rule != "oil-second-choice" {
		t.Fatalf("the decision does not say the unit returned it: %+v", last)
	}
	stj := auth.Actor{ID: uuid.New(), Role: auth.Officer, UnitID: "330106-STJ", Name: "环保"}
	got = returnIt(stj, "餐饮油烟不属工业废气")
	if got.LeadAssignment().UnitID != "330106-SHZL" {
		t.Fatalf("after two returns: %+v", got.LeadAssignment())
	}
	stored, _ = f.svc.Decisions(ctx, c.ID)
	steps := strings.Join(stored[len(stored)-1].Decision.Steps, " ")
	if !strings.Contains(steps, "古荡街道") || !strings.Contains(steps, "不属工业废气") {
		t.Fatalf("the SHZL decision lacks both reasons: %s", steps)
	}
	got = returnIt(shzl, "请热线中心核实地址")
	if got.State != cases.PendingDispatch || got.LeadAssignment() != nil {
		t.Fatalf("returned by SHZL too: %s", got.State)
	}
	stored, _ = f.svc.Decisions(ctx, c.ID)
	if last := stored[len(stored)-1]; last.Applied || last.Decision.Lead != "3301-HC" {
		t.Fatalf("the last decision should queue for the city centre: %+v", last)
	}
}

func lostWhy(d router.Decision) []string {
	var out []string
	for _, l := range d.Lost {
		out = append(out, l.Why)
	}
	return out
}

func TestEscalateToCountyLine(t *testing.T) {
	f := setup(t)
	ctx := context.Background()
	c := f.newCase(t, "0102", "330106013")
	if _, _, err := f.svc.Dispatch(ctx, agent, c.ID, cases.DispatchPlan{}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := f.svc.Escalate(ctx, auth.SystemActor("deadline"), c.ID, "超过签收时限")
	if err != nil {
		t.Fatal(err)
	}
	if got.LeadAssignment().UnitID != "330106-ZFJ" || got.AssignmentOf("330106013-ZF") == nil || got.AssignmentOf("330106013-ZF").Role != cases.Co {
		t.Fatalf("escalated: %+v", got.Assignments)
	}
	if _, err := f.svc.Escalate(ctx, auth.SystemActor("deadline"), c.ID, "再次超期"); err == nil {
		t.Fatal("a county unit was escalated again")
	}
}

// A new rule set activated on one node is in force on another within a
// second.
func TestRuleSetVersionsReachEveryNode(t *testing.T) {
	f := setup(t)
	other := fixture{}.with(t, f.db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go other.svc.Run(ctx, 500*time.Millisecond)

	rules := append(router.DefaultRules(taxonomy.Default()),
		router.Rule{ID: "xihu-oil-to-stj", Category: "0104", Territory: "330106", LeadType: "STJ", Note: "西湖区油烟由生态环境分局主办"})
	rs, err := f.svc.Propose(ctx, rules, "西湖区油烟改由生态环境分局主办", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if rs.Status != "draft" || rs.Version != 2 {
		t.Fatalf("proposed %+v", rs)
	}
	bad := append(router.DefaultRules(taxonomy.Default()), router.Rule{ID: "x", LeadUnit: "330106-NOPE"})
	if _, err := f.svc.Propose(ctx, bad, "", "admin"); err == nil {
		t.Fatal("an invalid set was stored")
	}
	activated := time.Now()
	if err := f.svc.Activate(ctx, rs.Version); err != nil {
		t.Fatal(err)
	}
	for other.svc.Engine().Version() != rs.Version {
		if time.Since(activated) > 1500*time.Millisecond {
			t.Fatalf("the other node still routes with version %d", other.svc.Engine().Version())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("other node reloaded after %v", time.Since(activated).Round(time.Millisecond))
	d := other.svc.Engine().Route(router.Input{Category: "0104", TownshipCode: "330106013"})
	if d.Lead != "330106-STJ" {
		t.Fatalf("new rule not in force: %s", d.Lead)
	}
	// Units: a deactivation reaches the other node too.
	if err := (router.Units{DB: f.db}).Merge(ctx, "330106005-ZF", "330106013-ZF"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(1500 * time.Millisecond)
	for other.svc.Engine().Units()["330106005-ZF"].Active {
		if time.Now().After(deadline) {
			t.Fatal("unit merge not picked up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if d := other.svc.Engine().Route(router.Input{Category: "0102", TownshipCode: "330106005"}); d.Lead != "330106013-ZF" {
		t.Fatalf("merged squad: %s", d.Lead)
	}
}

// BenchmarkReload is a node picking up a new 5,000-rule version: read the
// active set and the 7,400 units, compile.
func BenchmarkReload(b *testing.B) {
	db := pgtest.Pool(b, routertest.Zhejiang)
	tax, terr := taxonomy.Default(), territory.Zhejiang()
	tr, _ := triage.Default()
	cs := cases.NewStore(db, cases.Options{})
	svc, err := router.NewService(context.Background(), db, cs, tax, terr, tr, nil)
	if err != nil {
		b.Fatal(err)
	}
	rules := router.DefaultRules(tax)
	for i := len(rules); i < 5000; i++ {
		rules = append(rules, router.Rule{ID: "r" + strconv.Itoa(i), Category: "0104", Territory: "330106", Priority: i, LeadType: "ZF"})
	}
	rs, err := svc.Propose(context.Background(), rules, "", "bench")
	if err != nil {
		b.Fatal(err)
	}
	if err := svc.Activate(context.Background(), rs.Version); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := svc.Reload(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// 不满意 once: the same unit redoes it; a second time: the county unit of
// the same line leads, the township platform helps.
func TestRedoGoesToTheCountyAfterASecondFailure(t *testing.T) {
	f := setup(t)
	f.cases.SetRedoPlan(f.svc.RedoPlan)
	ctx := context.Background()
	c := f.newCase(t, "0102", "330106013")
	if _, _, err := f.svc.Dispatch(ctx, agent, c.ID, cases.DispatchPlan{}, nil); err != nil {
		t.Fatal(err)
	}
	resolve := func(unit string) {
		t.Helper()
		officer := auth.Actor{ID: uuid.New(), Role: auth.Officer, UnitID: unit, Name: "承办人"}
		for _, step := range []func() (*cases.Case, error){
			func() (*cases.Case, error) { return f.cases.Sign(ctx, officer, c.ID, "") },
			func() (*cases.Case, error) { return f.cases.Reply(ctx, officer, c.ID, "已处理", "") },
			func() (*cases.Case, error) { return f.cases.ApproveReview(ctx, agent, c.ID, "") },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	no := false
	resolve("330106013-ZF")
	got, err := f.cases.Callback(ctx, agent, c.ID, cases.CallbackResult{Satisfaction: cases.Dissatisfied, Solved: &no, Comment: "还在摆摊"})
	if err != nil || got.LeadAssignment().UnitID != "330106013-ZF" {
		t.Fatalf("first redo: %v %+v", err, got.Assignments)
	}
	resolve("330106013-ZF")
	got, err = f.cases.Callback(ctx, agent, c.ID, cases.CallbackResult{Satisfaction: cases.Dissatisfied, Solved: &no, Comment: "依旧没人管"})
	if err != nil {
		t.Fatal(err)
	}
	if got.LeadAssignment().UnitID != "330106-ZFJ" || got.AssignmentOf("330106013-ZF") == nil || got.RedoCount != 2 {
		t.Fatalf("second redo: %+v", got.Assignments)
	}
}
