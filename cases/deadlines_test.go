package cases

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/internal/auth"
)

func at(month time.Month, day, hour, min int) time.Time {
	return time.Date(2026, month, day, hour, min, 0, 0, shanghai)
}

// timersOf returns the case's timers: kind → fire time.
func timersOf(t *testing.T, s *Store, id uuid.UUID) map[string]time.Time {
	t.Helper()
	rows, err := s.db.Query(context.Background(), `SELECT kind, fire_at FROM case_timers WHERE case_id = $1 AND fired_at IS NULL`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var k string
		var a time.Time
		rows.Scan(&k, &a)
		out[k] = a.In(shanghai)
	}
	return out
}

func deadlineEvents(t *testing.T, s *Store, id uuid.UUID) []string {
	t.Helper()
	evs, err := s.Events(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.Action == ActDeadlineWarning || e.Action == ActDeadlineOverdue || e.Action == ActEscalate {
			out = append(out, string(e.Action)+":"+dataString(e.Data, "timer"))
		}
	}
	return out
}

func eq(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: %s, want %s", what, got.In(shanghai).Format("01-02 Mon 15:04"), want.Format("01-02 Mon 15:04"))
	}
}

// The deadlines of a case dispatched on the Friday before the 2026 Spring
// Festival: the make-up Saturday counts, the nine days off do not; timers
// fire once each at 80%, 100% and after the grace (escalation); an
// extension and a suspension move them.
func TestDeadlinesAcrossSpringFestival(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	escalated := 0
	sc := &Scheduler{Store: s, Escalate: func(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) error {
		escalated++
		_, err := s.Escalate(ctx, actor, id, DispatchPlan{Lead: "330106-ZFJ", Co: []string{"330106001-ZF"}}, reason)
		return err
	}}
	tick := func(when time.Time) []Fired {
		t.Helper()
		clk.Set(when)
		f, err := sc.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	clk.Set(at(2, 13, 16, 0)) // Friday 13 February, 16:00
	a, _, _ := s.Create(ctx, agent, complaint("a"))
	b, _, _ := s.Create(ctx, agent, complaint("b"))
	ok(t)(s.Dispatch(ctx, dispatcher, a.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	bc := ok(t)(s.Dispatch(ctx, dispatcher, b.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))

	// Sign-for: 2 working hours = Friday 16:00–17:30 and Saturday 14th (a
	// make-up workday) 08:30–09:00.
	tm := timersOf(t, s, a.ID)
	eq(t, "sign due", tm[TimerSignDue], at(2, 14, 9, 0))
	eq(t, "sign warning (80% = 1h36m)", tm[TimerSignWarn], at(2, 14, 8, 36))
	eq(t, "sign escalation (+2 working hours of grace)", tm[TimerSignEscalate], at(2, 14, 11, 0))
	// Resolution: 15 working days = 112.5 h: 1.5 h on Friday, Saturday
	// 14th, then (after the holiday of 15–23) 24, 25, 26, 27, 28 (make-up
	// Saturday), 2–6 and 9–11 March (14 days), and 6 h of the 12th.
	eq(t, "resolution due", *bc.DueAt, at(3, 12, 16, 0))

	if f := tick(at(2, 13, 17, 29)); len(f) != 0 {
		t.Fatalf("fired too early: %+v", f)
	}
	s.Sign(ctx, leadOff, b.ID, "") // b is signed in time; a is not
	tick(at(2, 14, 8, 40))
	tick(at(2, 14, 8, 41)) // nothing new
	tick(at(2, 14, 9, 5))
	if got := deadlineEvents(t, s, a.ID); len(got) != 2 || got[0] != "deadline_warning:sign_warn" || got[1] != "deadline_overdue:sign_due" {
		t.Fatalf("a's deadline events: %v", got)
	}
	// Over the holiday nothing happens (the clock is stopped): the
	// escalation was due Saturday 11:00.
	tick(at(2, 14, 11, 0))
	if escalated != 1 {
		t.Fatalf("escalations: %d", escalated)
	}
	ac, _ := s.Get(ctx, a.ID)
	if ac.LeadAssignment().UnitID != "330106-ZFJ" || ac.AssignmentOf("330106001-ZF") == nil {
		t.Fatalf("after escalation: %+v", ac.Assignments)
	}
	tick(at(2, 20, 10, 0))
	tick(at(2, 20, 11, 0))
	if escalated != 1 {
		t.Fatalf("escalated again: %d", escalated)
	}

	// b: an extension to 19 March moves its timers.
	ok(t)(s.RequestExtension(ctx, leadOff, b.ID, at(3, 19, 16, 0), "需等待检测报告"))
	ok(t)(s.ApproveExtension(ctx, dispatcher, b.ID, "同意"))
	eq(t, "resolution due after extension", timersOf(t, s, b.ID)[TimerResolveDue], at(3, 19, 16, 0))
	// Suspended Monday 2 March 10:00 to Wednesday 4 March 10:00: no timers
	// while suspended; 2 working days later after.
	clk.Set(at(3, 2, 10, 0))
	ok(t)(s.Suspend(ctx, leadOff, b.ID, "等待司法鉴定"))
	if tm := timersOf(t, s, b.ID); len(tm) != 0 {
		t.Fatalf("timers while suspended: %v", tm)
	}
	clk.Set(at(3, 4, 10, 0))
	bc = ok(t)(s.Resume(ctx, leadOff, b.ID, "鉴定完成"))
	eq(t, "resolution due after suspension", *bc.DueAt, at(3, 23, 16, 0))
	eq(t, "its timer", timersOf(t, s, b.ID)[TimerResolveDue], at(3, 23, 16, 0))
	// The warning fell into the suspended days once; it fires at its new
	// time, once.
	tick(at(3, 23, 16, 1))
	tick(at(3, 23, 17, 0))
	got := deadlineEvents(t, s, b.ID)
	if len(got) != 2 || got[0] != "deadline_warning:resolve_warn" || got[1] != "deadline_overdue:resolve_due" {
		t.Fatalf("b's deadline events: %v", got)
	}
	checkReplay(t, s, a.ID)
	checkReplay(t, s, b.ID)
}

// After 办结 the callback is due by the next working day; three
// unanswered calls close the case as 未联系上.
func TestCallbackDueAndUnreachable(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	sc := &Scheduler{Store: s}
	clk.Set(at(4, 30, 16, 0)) // Thursday before the Labour Day holiday (1–5 May)
	c, _, _ := s.Create(ctx, agent, complaint(""))
	ok(t)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	ok(t)(s.Sign(ctx, leadOff, c.ID, ""))
	ok(t)(s.Reply(ctx, leadOff, c.ID, "已处理", ""))
	ok(t)(s.ApproveReview(ctx, agent, c.ID, ""))
	tm := timersOf(t, s, c.ID)
	if len(tm) != 1 {
		t.Fatalf("timers awaiting callback: %v", tm)
	}
	// One working day after Thursday 16:00: Wednesday 6 May 16:00 (1–5 May off).
	eq(t, "callback due", tm[TimerCallbackDue], at(5, 6, 16, 0))
	ok(t)(s.CallbackAttempt(ctx, agent, c.ID, "无人接听"))
	ok(t)(s.CallbackAttempt(ctx, agent, c.ID, "关机"))
	eq(t, "callback due does not move", timersOf(t, s, c.ID)[TimerCallbackDue], at(5, 6, 16, 0))
	clk.Set(at(5, 6, 16, 30))
	if f, _ := sc.Tick(ctx); len(f) != 1 || f[0].Kind != TimerCallbackDue {
		t.Fatalf("fired: %+v", f)
	}
	c = ok(t)(s.CallbackAttempt(ctx, agent, c.ID, "无人接听"))
	if c.State != Archived || c.Satisfaction != Unreachable {
		t.Fatalf("after three tries: %s %s", c.State, c.Satisfaction)
	}
	if tm := timersOf(t, s, c.ID); len(tm) != 0 {
		t.Fatalf("timers of an archived case: %v", tm)
	}
	checkReplay(t, s, c.ID)
}

// A 督办 with a date: unanswered by then, it escalates; answered, nothing.
func TestUrgeUnansweredEscalates(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	escalated := map[uuid.UUID]int{}
	sc := &Scheduler{Store: s, Escalate: func(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) error {
		escalated[id]++
		_, err := s.Escalate(ctx, actor, id, DispatchPlan{Lead: "330106-ZFJ", Co: []string{"330106001-ZF"}}, reason)
		return err
	}}
	clk.Set(at(3, 2, 9, 0))
	quiet, _, _ := s.Create(ctx, agent, complaint("q"))
	answered, _, _ := s.Create(ctx, agent, complaint("a"))
	for _, c := range []*Case{quiet, answered} {
		ok(t)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
		ok(t)(s.Sign(ctx, leadOff, c.ID, ""))
		ok(t)(s.Urge(ctx, supervisor, c.ID, ptr(at(3, 3, 12, 0)), "群众反映强烈，请明天中午前回复进展"))
	}
	clk.Set(at(3, 3, 10, 0))
	ok(t)(s.Note(ctx, leadOff, answered.ID, "已约谈摊主，明日复查", false, nil))
	clk.Set(at(3, 3, 12, 1))
	if _, err := sc.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if escalated[quiet.ID] != 1 || escalated[answered.ID] != 0 {
		t.Fatalf("escalations: quiet %d, answered %d", escalated[quiet.ID], escalated[answered.ID])
	}
	c, _ := s.Get(ctx, quiet.ID)
	if c.UrgeDue != nil || c.LeadAssignment().UnitID != "330106-ZFJ" {
		t.Fatalf("after the escalation: %v %+v", c.UrgeDue, c.LeadAssignment())
	}
}
