package stats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/clock"
	"yici/internal/workcal"
	"yici/stats"
)

// The 50-case fixture: one week of March 2026 (Monday 2 to Friday 6, no
// holidays), built through the real store with a controllable clock. Every
// case is registered on Monday 08:30; deadlines: sign-for 2 working hours,
// 退单 within 1 working day, resolution 2 working days (15 working hours).
// Working hours 08:30–12:00 and 13:30–17:30, so a dispatch on Monday 09:00
// must be signed by Monday 11:00 and replied to by Wednesday 09:00.
//
//	A = 330106013 西湖区文新街道, B = 330106002 北山街道, C = 330102003 上城区湖滨街道
//	A-ZF = 330106013-ZF, A-ZZ = 330106013-ZZ, B-ZF = 330106002-ZF, ZJJ = 330106-ZJJ (county)
//
//	G1 10  A 0104 lead A-ZF (co A-ZZ): dispatch Mon 09:00, sign Mon 10:00 (on time, 1 wh; the co unit signs
//	       Mon 15:00, which counts for nothing), reply Tue 09:00 (on time, 7.5 wh), review, callback Tue 11:00
//	       satisfied, solved
//	G2  5  A 0104 A-ZF: sign Mon 14:00 (late, 3.5 wh), reply Thu 09:00 (late, 22.5 wh), callback basic, solved not asked
//	G3  5  A 0102 A-ZZ: sign Mon 10:00 (1 wh), reply Tue 09:00 (7.5 wh), callback Tue 11:00: 2× dissatisfied+solved,
//	       2× dissatisfied (not asked), 1× basic+unsolved → all redone Tue 11:00 (round 2, sign-for due Tue 14:30):
//	       sign Tue 14:00 (on time, 1.5 wh), reply Wed 09:00 (on time, 5.5 wh), callback Wed 11:00 satisfied, solved
//	G4  5  B 0104 B-ZF: 退单 requested Mon 10:00 unsigned, approved Mon 11:00; dispatched Mon 14:00 to ZJJ:
//	       sign Mon 15:00 (due 16:00: on time, 1 wh), reply Tue 14:00 (on time, 7.5 wh), callback unreachable
//	G5  5  B 0102 B-ZF: sign Mon 10:30 (on time, 1.5 wh), reply Wed 10:00 (late, 16 wh), callback basic, solved
//	G6  5  C 0402 咨询 answered at first contact Mon 09:30 (直接答复)
//	G7  5  B 0104 B-ZF: sign Mon 14:00 (late, 3.5 wh), still in progress (overdue since Wed 09:00)
//	G8  5  A 0104 A-ZF: never signed (overdue since Mon 11:00)
//	G9  5  B 0104 B-ZF: sign Mon 10:00 (on time, 1 wh), escalated Mon 15:00 to ZJJ (co B-ZF; sign-for due Mon 17:00):
//	       ZJJ signs Tue 09:00 (late, 3 wh), replies Tue 16:00 (on time, 8.5 wh), callback Wed 09:00 satisfied, not asked
const (
	twA, twB, twC    = "330106013", "330106002", "330102003"
	unitAZF, unitAZZ = "330106013-ZF", "330106013-ZZ"
	unitBZF, unitZJJ = "330106002-ZF", "330106-ZJJ"
)

func mar(day, hh, mm int) time.Time { return time.Date(2026, 3, day, hh, mm, 0, 0, shanghai) }

func span(s string) *workcal.Span {
	sp, err := workcal.ParseSpan(s)
	if err != nil {
		panic(err)
	}
	return &sp
}

func ptr[T any](v T) *T { return &v }

// buildFixture writes the 50 cases and returns the ids of G7 and G8 (the
// overdue ones).
func buildFixture(t *testing.T, e *env) (overdue map[uuid.UUID]bool) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewFake(mar(2, 8, 30))
	policies := cases.PolicySet{Version: 1, Rules: []cases.PolicyRule{{Name: "测试", Sign: span("2wh"), Return: span("1wd"), Resolve: span("2wd"), MaxExtension: span("2wd")}}}
	st := cases.NewStore(e.srv.App.Env.Pool, cases.Options{Calendar: e.srv.App.Cal, Clock: clk, Policies: func() cases.PolicySet { return policies }})
	agent := auth.Actor{Name: "话务员", Role: auth.Agent, Username: "fixture-agent"}
	disp := auth.Actor{Name: "派单员", Role: auth.Dispatcher}
	officer := func(unit string) auth.Actor { return auth.Actor{Name: "承办人", Role: auth.Officer, UnitID: unit} }
	must := func(_ *cases.Case, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	at := func(day, hh, mm int) { clk.Set(mar(day, hh, mm)) }
	n := 0
	create := func(kind cases.Kind, category, township string) uuid.UUID {
		t.Helper()
		n++
		at(2, 8, 30)
		c, _, err := st.Create(ctx, agent, cases.NewCase{Kind: kind, Category: category, TownshipCode: township,
			Content: fmt.Sprintf("统计测试诉求第 %d 件：%s", n, category), CitizenName: "测试", CitizenPhone: fmt.Sprintf("1380000%04d", n),
			Channel: cases.ChannelPhone, ChannelRef: fmt.Sprintf("stats-fixture-%d", n)})
		if err != nil {
			t.Fatal(err)
		}
		return c.ID
	}
	dispatch := func(id uuid.UUID, day, hh, mm int, lead string, co ...string) {
		t.Helper()
		at(day, hh, mm)
		must(st.Dispatch(ctx, disp, id, cases.DispatchPlan{Lead: lead, Co: co}, "派单"))
	}
	sign := func(id uuid.UUID, unit string, day, hh, mm int) {
		t.Helper()
		at(day, hh, mm)
		must(st.Sign(ctx, officer(unit), id, ""))
	}
	reply := func(id uuid.UUID, unit string, day, hh, mm int) {
		t.Helper()
		at(day, hh, mm)
		must(st.Reply(ctx, officer(unit), id, "已办理完毕并告知来电人。", ""))
	}
	review := func(id uuid.UUID, day, hh, mm int) {
		t.Helper()
		at(day, hh, mm)
		must(st.ApproveReview(ctx, agent, id, ""))
	}
	callback := func(id uuid.UUID, day, hh, mm int, sat cases.Satisfaction, solved *bool) {
		t.Helper()
		at(day, hh, mm)
		must(st.Callback(ctx, agent, id, cases.CallbackResult{Satisfaction: sat, Solved: solved}))
	}
	overdue = map[uuid.UUID]bool{}
	for range 10 { // G1
		id := create(cases.Complaint, "0104", twA)
		dispatch(id, 2, 9, 0, unitAZF, unitAZZ)
		sign(id, unitAZF, 2, 10, 0)
		sign(id, unitAZZ, 2, 15, 0)
		reply(id, unitAZF, 3, 9, 0)
		review(id, 3, 10, 0)
		callback(id, 3, 11, 0, cases.Satisfied, ptr(true))
	}
	for range 5 { // G2
		id := create(cases.Complaint, "0104", twA)
		dispatch(id, 2, 9, 0, unitAZF)
		sign(id, unitAZF, 2, 14, 0)
		reply(id, unitAZF, 5, 9, 0)
		review(id, 5, 10, 0)
		callback(id, 5, 11, 0, cases.Basic, nil)
	}
	for i := range 5 { // G3
		id := create(cases.Complaint, "0102", twA)
		dispatch(id, 2, 9, 0, unitAZZ)
		sign(id, unitAZZ, 2, 10, 0)
		reply(id, unitAZZ, 3, 9, 0)
		review(id, 3, 10, 0)
		switch {
		case i < 2:
			callback(id, 3, 11, 0, cases.Dissatisfied, ptr(true))
		case i < 4:
			callback(id, 3, 11, 0, cases.Dissatisfied, nil)
		default:
			callback(id, 3, 11, 0, cases.Basic, ptr(false))
		}
		sign(id, unitAZZ, 3, 14, 0)
		reply(id, unitAZZ, 4, 9, 0)
		review(id, 4, 10, 0)
		callback(id, 4, 11, 0, cases.Satisfied, ptr(true))
	}
	for range 5 { // G4
		id := create(cases.Complaint, "0104", twB)
		dispatch(id, 2, 9, 0, unitBZF)
		at(2, 10, 0)
		must(st.RequestReturn(ctx, officer(unitBZF), id, "不属于本单位职责"))
		at(2, 11, 0)
		must(st.ApproveReturn(ctx, disp, id, "同意退单"))
		dispatch(id, 2, 14, 0, unitZJJ)
		sign(id, unitZJJ, 2, 15, 0)
		reply(id, unitZJJ, 3, 14, 0)
		review(id, 3, 15, 0)
		callback(id, 3, 16, 0, cases.Unreachable, nil)
	}
	for range 5 { // G5
		id := create(cases.Complaint, "0102", twB)
		dispatch(id, 2, 9, 0, unitBZF)
		sign(id, unitBZF, 2, 10, 30)
		reply(id, unitBZF, 4, 10, 0)
		review(id, 4, 11, 0)
		callback(id, 4, 14, 0, cases.Basic, ptr(true))
	}
	for range 5 { // G6
		id := create(cases.Consultation, "0402", twC)
		at(2, 9, 30)
		must(st.Answer(ctx, agent, id, "灵活就业人员可在浙里办缴纳社保。", nil))
	}
	for range 5 { // G7
		id := create(cases.Complaint, "0104", twB)
		dispatch(id, 2, 9, 0, unitBZF)
		sign(id, unitBZF, 2, 14, 0)
		overdue[id] = true
	}
	for range 5 { // G8
		id := create(cases.Complaint, "0104", twA)
		dispatch(id, 2, 9, 0, unitAZF)
		overdue[id] = true
	}
	for range 5 { // G9
		id := create(cases.Complaint, "0104", twB)
		dispatch(id, 2, 9, 0, unitBZF)
		sign(id, unitBZF, 2, 10, 0)
		at(2, 15, 0)
		must(st.Escalate(ctx, disp, id, cases.DispatchPlan{Lead: unitZJJ, Co: []string{unitBZF}}, "需县级部门办理"))
		sign(id, unitZJJ, 3, 9, 0)
		reply(id, unitZJJ, 3, 16, 0)
		review(id, 3, 17, 0)
		callback(id, 4, 9, 0, cases.Satisfied, nil)
	}
	if n != 50 {
		t.Fatalf("fixture has %d cases", n)
	}
	return overdue
}

// expect is a row of hand-computed figures (rates as fractions, averages
// in working hours).
type expect struct {
	name                                           string
	response, solve, satisfaction                  float64
	signOntime, replyOntime, returns, redo         float64
	avgSign, avgReply                              float64
	registered, dispatched, signDue, signed, rated int64
}

func checkRow(t *testing.T, r stats.Row, w expect) {
	t.Helper()
	for _, f := range []struct {
		key  string
		want float64
	}{
		{"response_rate", w.response}, {"solve_rate", w.solve}, {"satisfaction_rate", w.satisfaction},
		{"sign_ontime_rate", w.signOntime}, {"reply_ontime_rate", w.replyOntime}, {"return_rate", w.returns},
		{"redo_rate", w.redo}, {"avg_sign_hours", w.avgSign}, {"avg_reply_hours", w.avgReply},
	} {
		if !near(r.Figures[f.key], f.want) {
			got := "null"
			if v := r.Figures[f.key]; v != nil {
				got = fmt.Sprint(*v)
			}
			t.Errorf("%s: %s = %s, want %v", w.name, f.key, got, f.want)
		}
	}
	for _, c := range []struct {
		key  string
		want int64
	}{{"registered", w.registered}, {"dispatched", w.dispatched}, {"sign_due", w.signDue}, {"signed", w.signed}, {"rated", w.rated}} {
		if got := r.Counts.Get(c.key); got != c.want {
			t.Errorf("%s: %s = %d, want %d", w.name, c.key, got, c.want)
		}
	}
}

// The expected figures, computed by hand from the design above.
var (
	// Whole period (all 50 cases):
	//   dispatch rounds: G1 10 + G2 5 + G3 10 + G4 10 + G5 5 + G7 5 + G8 5 + G9 10 = 60
	//   sign-for due: 60 − 5 (G4's first round, returned before sign-for) = 55
	//   lead sign-fors: G1 10 + G2 5 + G3 10 + G4 5 + G5 5 + G7 5 + G9 10 = 50, on time 10+0+10+5+5+0+5 = 35
	//   响应率 35/55; 按时签收率 35/50
	//   sign-for hours: 10×1 + 5×3.5 + (5×1 + 5×1.5) + 5×1 + 5×1.5 + 5×3.5 + (5×1 + 5×3) = 90 → 90/50 = 1.8
	//   lead replies: G1 10 + G2 5 + G3 10 + G4 5 + G5 5 + G9 5 = 40, on time 10+0+10+5+0+5 = 30 → 30/40
	//   reply hours: 10×7.5 + 5×22.5 + (5×7.5 + 5×5.5) + 5×7.5 + 5×16 + 5×8.5 = 412.5 → 412.5/40 = 10.3125
	//   退单率 5/60; reviews passed 40, redone 5 → 重办率 5/40
	//   callbacks reached: 10 + 5 + 10 + 5 + 5 = 35 (G4's 5 unreachable left out)
	//   满意 10 + 5 + 5 = 20, 基本满意 5 + 1 + 5 = 11 → 满意率 31/35
	//   solved: G1 10 + G2 5 (basic, not asked) + G3 2 + 5 + G5 5 + G9 5 (satisfied, not asked) = 32 → 解决率 32/35
	wantAll = expect{"total", 35.0 / 55, 32.0 / 35, 31.0 / 35, 35.0 / 50, 30.0 / 40, 5.0 / 60, 5.0 / 40, 1.8, 10.3125, 50, 60, 55, 50, 35}
	// Unit A-ZF (G1, G2, G8): rounds 20, due 20, signed 15, on time 10 → 10/20, 10/15;
	//   sign hours 10 + 17.5 = 27.5 → 27.5/15; replies 15, on time 10 → 10/15; hours 75 + 112.5 = 187.5 → 12.5;
	//   no returns, no redo (0/20, 0/15); callbacks 15, all satisfied or basic, all solved → 1, 1
	wantAZF = expect{unitAZF, 10.0 / 20, 1, 1, 10.0 / 15, 10.0 / 15, 0, 0, 27.5 / 15, 12.5, 0, 20, 20, 15, 15}
	// Unit B-ZF (G4 round 1, G5, G7, G9 round 1): rounds 20, due 20 − 5 = 15; signed G5 5 + G7 5 + G9 5 = 15,
	//   on time 5 + 0 + 5 = 10 → 10/15 both; sign hours 7.5 + 17.5 + 5 = 30 → 2; replies G5 5, none on time → 0;
	//   reply hours 80 → 16; returns 5/20; reviews 5, redo 0 → 0; callbacks G5 5 basic, solved → 1, 1
	wantBZF = expect{unitBZF, 10.0 / 15, 1, 1, 10.0 / 15, 0, 5.0 / 20, 0, 2, 16, 0, 20, 15, 15, 5}
	// Township A (G1, G2, G3, G8): rounds 30, due 30, signed 25, on time 20 → 20/30, 20/25;
	//   sign hours 10 + 17.5 + 12.5 = 40 → 1.6; replies 25, on time 20 → 20/25; hours 75 + 112.5 + 65 = 252.5 → 10.1;
	//   returns 0/30; reviews 25, redo 5 → 5/25; callbacks 25: 满意 15 + 基本 6 → 21/25; solved 10 + 5 + 2 + 5 = 22 → 22/25
	wantTwA = expect{twA, 20.0 / 30, 22.0 / 25, 21.0 / 25, 20.0 / 25, 20.0 / 25, 0, 5.0 / 25, 1.6, 10.1, 25, 30, 30, 25, 25}
	// Township B (G4, G5, G7, G9): rounds 30, due 25, signed 25, on time 5 + 5 + 0 + 5 = 15 → 15/25 both;
	//   sign hours 5 + 7.5 + 17.5 + 20 = 50 → 2; replies 15, on time 10 → 10/15; hours 37.5 + 80 + 42.5 = 160 → 160/15;
	//   returns 5/30; reviews 15, redo 0; callbacks 10 (G4 unreachable): 满意 5 + 基本 5, solved 10 → 1, 1
	wantTwB = expect{twB, 15.0 / 25, 1, 1, 15.0 / 25, 10.0 / 15, 5.0 / 30, 0, 2, 160.0 / 15, 20, 30, 25, 25, 10}
)

func rowOf(t *testing.T, tb *stats.Table, key string) stats.Row {
	t.Helper()
	for _, r := range tb.Rows {
		if r.Key == key {
			return r
		}
	}
	t.Fatalf("no row %q in the table by %s", key, tb.By)
	return stats.Row{}
}

// TestFixture builds the fixture once and checks the figures, then the
// API, the exports and the dashboard on it.
func TestFixture(t *testing.T) {
	e := start(t, mar(6, 17, 0))
	overdue := buildFixture(t, e)
	e.fold(t)
	t.Run("figures", func(t *testing.T) { checkFigures(t, e, overdue) })
	t.Run("api", func(t *testing.T) { checkAPI(t, e) })
	t.Run("exports", func(t *testing.T) { checkExports(t, e) })
	t.Run("dashboard", func(t *testing.T) { checkDashboard(t, e) })
}

func checkFigures(t *testing.T, e *env, overdue map[uuid.UUID]bool) {
	ctx := context.Background()
	march := stats.Filter{From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)}

	units, err := e.svc.Table(ctx, stats.ByUnit, march)
	if err != nil {
		t.Fatal(err)
	}
	checkRow(t, units.Total, wantAll)
	checkRow(t, rowOf(t, units, unitAZF), wantAZF)
	checkRow(t, rowOf(t, units, unitBZF), wantBZF)
	if got := units.Total.Counts.Get("answered"); got != 5 {
		t.Errorf("answered = %d, want 5 (G6)", got)
	}
	if v := units.Total.Figures["answer_rate"]; !near(v, 5.0/50) {
		t.Errorf("直接答复率 = %v, want 5/50", v)
	}
	if r := rowOf(t, units, unitBZF); r.Counts.Get("escalated") != 5 || r.Counts.Get("returned") != 5 {
		t.Errorf("B-ZF escalated %d, returned %d; want 5, 5", r.Counts.Get("escalated"), r.Counts.Get("returned"))
	}
	tws, err := e.svc.Table(ctx, stats.ByTownship, march)
	if err != nil {
		t.Fatal(err)
	}
	checkRow(t, tws.Total, wantAll)
	checkRow(t, rowOf(t, tws, twA), wantTwA)
	checkRow(t, rowOf(t, tws, twB), wantTwB)
	if r := rowOf(t, tws, twC); r.Counts.Get("registered") != 5 || r.Counts.Get("answered") != 5 || r.Figures["response_rate"] != nil {
		t.Errorf("township C: %+v", r.Counts)
	}
	// The same figures from the other grains.
	cats, err := e.svc.Table(ctx, stats.ByCategory, march)
	if err != nil {
		t.Fatal(err)
	}
	checkRow(t, cats.Total, wantAll)
	counties, err := e.svc.Table(ctx, stats.ByCounty, stats.Filter{From: march.From, To: march.To, Township: twA, County: "330106"})
	if err != nil {
		t.Fatal(err)
	}
	if len(counties.Rows) != 1 {
		t.Fatalf("county rows: %+v", counties.Rows)
	}
	checkRow(t, counties.Rows[0], expect{name: "county filtered to A", response: wantTwA.response, solve: wantTwA.solve,
		satisfaction: wantTwA.satisfaction, signOntime: wantTwA.signOntime, replyOntime: wantTwA.replyOntime, returns: 0, redo: wantTwA.redo,
		avgSign: wantTwA.avgSign, avgReply: wantTwA.avgReply, registered: 25, dispatched: 30, signDue: 30, signed: 25, rated: 25})
	one, err := e.svc.Table(ctx, stats.ByUnit, stats.Filter{From: march.From, To: march.To, Unit: unitAZF})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Rows) != 1 {
		t.Fatalf("unit filter: %d rows", len(one.Rows))
	}
	checkRow(t, one.Rows[0], wantAZF)

	// “Up to today” is read as the month's row less the days after today
	// (here full of later steps): the same as adding Monday to Tuesday.
	// Tuesday's callbacks: G1 10 + G3 5 rated (G4 unreachable 5).
	e.now.Set(mar(3, 12, 0))
	upTo, err := e.svc.Table(ctx, stats.ByUnit, stats.Filter{From: march.From, To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	days, err := e.svc.Trend(ctx, "day", stats.Filter{From: march.From, To: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	e.now.Set(mar(6, 17, 0))
	var sum stats.Counts
	for _, p := range days {
		for i := range sum {
			sum[i] += p.Counts[i]
		}
	}
	if sum != upTo.Total.Counts || sum.Get("rated") != 15 || sum.Get("unreachable") != 5 || sum.Get("registered") != 50 {
		t.Errorf("month to date: %v, days add up to %v", upTo.Total.Counts, sum)
	}

	// Trend: the sign-for figures count on the deadline's day. Monday: 50
	// rounds due (all but G3's second round), on time G1 10 + G3 5 + G4 5 +
	// G5 5 + G9 5 = 30 → 0.6; Tuesday: G3's second round, 5 of 5 → 1.
	pts, err := e.svc.Trend(ctx, "day", stats.Filter{From: march.From, To: time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 8 || pts[1].Period != "2026-03-02" || !near(pts[1].Figures["response_rate"], 0.6) || !near(pts[2].Figures["response_rate"], 1) ||
		pts[0].Figures["response_rate"] != nil {
		t.Errorf("trend: %d points, %+v %+v %+v", len(pts), pts[0].Figures["response_rate"], pts[1].Figures["response_rate"], pts[2].Figures["response_rate"])
	}
	weeks, err := e.svc.Trend(ctx, "week", march)
	if err != nil {
		t.Fatal(err)
	}
	if weeks[0].Period != "2026-02-23" || !near(weeks[1].Figures["response_rate"], wantAll.response) {
		t.Errorf("weekly trend: %s %v", weeks[0].Period, weeks[1].Figures["response_rate"])
	}

	// Overdue now (Friday 17:00): G7 (办理超期 since Wed 09:00) and G8 (签收超时 since Mon 11:00).
	items, total, more, err := e.svc.Overdue(ctx, stats.Filter{County: "330106"}, 100)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for _, it := range items {
		if overdue[it.ID] {
			got++
		}
	}
	if got != 10 {
		t.Errorf("overdue: %d of the fixture's 10 among %d (total %d)", got, len(items), total)
	}
	// The first is a G8 case: Mon 11:00 to Fri 17:00 is 5 + 3 × 7.5 + 7 = 34.5 working hours.
	if total != 10 || more || items[0].What != "签收超时" || items[0].Lead != unitAZF || items[0].OverdueHours != 34.5 {
		t.Errorf("most overdue: %+v", items[0])
	}
	mine, _, _, err := e.svc.Overdue(ctx, stats.Filter{Unit: unitBZF}, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range mine {
		if it.Lead != unitBZF || it.What != "办理超期" || !overdue[it.ID] {
			t.Errorf("B-ZF overdue item: %+v", it)
		}
	}
	if len(mine) != 5 {
		t.Errorf("B-ZF overdue: %d, want 5 (G7)", len(mine))
	}

	// Top categories of the fixture's week in county 330106:
	// A: 0104 G1 10 + G2 5 + G8 5 = 20, 0102 5; B: 0104 G4 5 + G7 5 + G9 5 = 15, 0102 5.
	top, err := e.svc.TopCategories(ctx, stats.Filter{From: mar2, To: mar8, County: "330106"}, 3, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || top[0].Township != twA || top[0].Total != 25 || top[0].Top[0].Category != "0104" || top[0].Top[0].N != 20 ||
		top[1].Township != twB || top[1].Top[0].N != 15 || top[1].Top[1].Category != "0102" || top[1].Top[1].N != 5 {
		t.Errorf("top categories: %+v", top)
	}

	// Ranking by response rate among units with at least 10 rounds due:
	// ZJJ 5/10 = 0.5, A-ZF 10/20 = 0.5 (more rounds: ahead), B-ZF 10/15, A-ZZ 10/10.
	rk, err := e.svc.Ranking(ctx, "response_rate", march, 10, false, 10)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, r := range rk {
		order = append(order, r.Key)
	}
	if fmt.Sprint(order) != fmt.Sprint([]string{unitAZZ, unitBZF, unitAZF, unitZJJ}) || rk[0].Rank != 1 || rk[3].Rank != 4 {
		t.Errorf("ranking: %v", order)
	}
	worst, err := e.svc.Ranking(ctx, "response_rate", march, 10, true, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(worst) != 2 || worst[0].Key != unitZJJ || worst[0].Rank != 4 {
		t.Errorf("worst: %+v", worst)
	}
}

var (
	mar2 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	mar8 = time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)
)
