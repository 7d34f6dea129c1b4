package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/auth"
	"yici/internal/clock"
	"yici/internal/pgtest"
	"yici/internal/workcal"
)

// testUnits is a small territory: two townships of 西湖区 and some county
// departments.
var testUnits = [][3]string{
	{"330106001-ZF", "北山街道综合执法平台", "ZF"},
	{"330106002-ZF", "西溪街道综合执法平台", "ZF"},
	{"330106001-ZZ", "北山街道综治工作平台", "ZZ"},
	{"330106-ZJJ", "西湖区住房和城乡建设局", "ZJJ"},
	{"330106-ZFJ", "西湖区综合行政执法局", "ZFJ"},
	{"330106-SHZL", "西湖区社会治理中心", "SHZL"},
	{"3301-HC", "杭州市12345热线中心", "HC"},
}

var unitsTemplate = pgtest.Template{Name: "cases_units", Setup: func(ctx context.Context, db *pgxpool.Pool) error {
	for _, u := range testUnits {
		level := "county"
		if strings.Contains(u[0], "00") && len(u[0]) > 10 {
			level = "township"
		}
		if u[2] == "HC" {
			level = "center"
		}
		if _, err := db.Exec(ctx, `INSERT INTO units (id, name, type, level, county_code) VALUES ($1,$2,$3,$4,'330106')`, u[0], u[1], u[2], level); err != nil {
			return err
		}
	}
	return nil
}}

var (
	agent      = auth.Actor{ID: uuid.New(), Name: "话务员小王", Role: auth.Agent, UnitID: "3301-HC"}
	dispatcher = auth.Actor{ID: uuid.New(), Name: "派单员老李", Role: auth.Dispatcher, UnitID: "3301-HC"}
	supervisor = auth.Actor{ID: uuid.New(), Name: "督办员", Role: auth.Supervisor, UnitID: "3301-HC"}
	leadOff    = auth.Actor{ID: uuid.New(), Name: "执法队员张三", Role: auth.Officer, UnitID: "330106001-ZF"}
	otherOff   = auth.Actor{ID: uuid.New(), Name: "执法队员李四", Role: auth.Officer, UnitID: "330106002-ZF"}
	coOff      = auth.Actor{ID: uuid.New(), Name: "住建科员", Role: auth.Officer, UnitID: "330106-ZJJ"}
)

// monday09 is Monday 2 March 2026, 09:00 in Shanghai: a working day.
var monday09 = time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)

func newStore(t testing.TB) (*Store, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(monday09)
	return NewStore(pgtest.Pool(t, unitsTemplate), Options{Clock: clk}), clk
}

func complaint(ref string) NewCase {
	return NewCase{Kind: Complaint, Category: "0102", Content: "北山街道宝石山下有人占道经营，晚上烧烤油烟很大。", Address: "西湖区北山街道",
		TownshipCode: "330106001", CitizenName: "陈女士", CitizenPhone: "13812345678", Channel: ChannelPhone, ChannelRef: ref}
}

// ok fails the test on an error: ok(t)(s.Sign(...)).
func ok(t testing.TB) func(*Case, error) *Case {
	return func(c *Case, err error) *Case {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// checkReplay asserts that the trail rebuilds the stored state.
func checkReplay(t testing.TB, s *Store, id uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	c, err := s.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Replay(evs)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if want := Snapshot(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("rebuilt from %d events:\n%+v\nstored:\n%+v", len(evs), got, want)
	}
	if c.Version != len(evs) {
		t.Fatalf("version %d, %d events", c.Version, len(evs))
	}
}

func TestCreateIsIdempotentUnderConcurrentRetries(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	ids := make([]uuid.UUID, 16)
	created := make([]bool, 16)
	errs := make([]error, 16)
	for i := range ids {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, ok, err := s.Create(ctx, auth.SystemActor("cti"), complaint("call-777"))
			errs[i], created[i] = err, ok
			if err == nil {
				ids[i] = c.ID
			}
		}(i)
	}
	wg.Wait()
	n := 0
	for i := range ids {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("retry %d made another case", i)
		}
		if created[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d calls say they created the case", n)
	}
	var count int
	s.db.QueryRow(ctx, `SELECT count(*) FROM cases`).Scan(&count)
	if count != 1 {
		t.Fatalf("%d cases stored", count)
	}
	checkReplay(t, s, ids[0])
}

func TestCreateValidates(t *testing.T) {
	s, _ := newStore(t)
	bad := complaint("")
	bad.Content = "   "
	_, _, err := s.Create(context.Background(), agent, bad)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "content") {
		t.Fatalf("empty content: %v", err)
	}
	bad = complaint("")
	bad.Kind = "闲聊"
	if _, _, err := s.Create(context.Background(), agent, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad kind: %v", err)
	}
	if _, _, err := s.Create(context.Background(), leadOff, complaint("")); !errors.Is(err, ErrForbiddenRole) {
		t.Fatalf("officer registering: %v", err)
	}
}

func TestEventsAreAppendOnly(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	c := ok(t)(func() (*Case, error) { c, _, err := s.Create(ctx, agent, complaint("")); return c, err }())
	if _, err := s.db.Exec(ctx, `UPDATE case_events SET reason = 'x' WHERE case_id = $1`, c.ID); err == nil {
		t.Fatal("an event was updated")
	}
	if _, err := s.db.Exec(ctx, `DELETE FROM case_events WHERE case_id = $1`, c.ID); err == nil {
		t.Fatal("an event was deleted")
	}
}

// The whole loop over the real database: dispatch, 退单 and re-dispatch,
// sign-for, an extension, a reply, review, a dissatisfied callback and 重办,
// then a satisfied callback.
func TestWholeLoop(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	c, _, err := s.Create(ctx, agent, complaint("call-1"))
	if err != nil {
		t.Fatal(err)
	}
	id := c.ID
	step := func(c *Case, err error) *Case {
		t.Helper()
		c = ok(t)(c, err)
		checkReplay(t, s, id)
		return c
	}
	c = step(s.Dispatch(ctx, dispatcher, id, DispatchPlan{Lead: "330106002-ZF", Co: []string{"330106-ZJJ"}}, ""))
	if c.State != PendingSign || c.SignDue == nil || !c.SignDue.Equal(time.Date(2026, 3, 2, 11, 0, 0, 0, shanghai)) {
		t.Fatalf("after dispatch: %s, sign due %v", c.State, c.SignDue)
	}
	// The wrong unit returns it; another unit cannot act on it.
	if _, err := s.Sign(ctx, leadOff, id, ""); !errors.Is(err, ErrNotAssigned) {
		t.Fatalf("unassigned unit signed: %v", err)
	}
	clk.Advance(time.Hour)
	step(s.RequestReturn(ctx, otherOff, id, "宝石山属北山街道辖区，非本街道"))
	c = step(s.ApproveReturn(ctx, dispatcher, id, "同意"))
	if c.State != PendingDispatch || c.ReturnCount != 1 {
		t.Fatalf("after return: %s %d", c.State, c.ReturnCount)
	}
	step(s.Dispatch(ctx, dispatcher, id, DispatchPlan{Lead: "330106001-ZF", Co: []string{"330106-ZJJ"}}, "改派北山街道"))
	c = step(s.Sign(ctx, coOff, id, ""))
	if c.State != PendingSign {
		t.Fatalf("a co-unit's sign-for started the case: %s", c.State)
	}
	c = step(s.Sign(ctx, leadOff, id, ""))
	if c.State != InProgress {
		t.Fatalf("after lead sign: %s", c.State)
	}
	due := *c.DueAt
	want := s.cal.AddWorkingDays(monday09.Add(time.Hour), 15)
	if !due.Equal(want) {
		t.Fatalf("due %v, want 15 working days from dispatch %v", due, want)
	}
	until := s.cal.AddWorkingDays(due, 5)
	step(s.RequestExtension(ctx, leadOff, id, until, "需协调城管与市场监管联合执法"))
	c = step(s.ApproveExtension(ctx, dispatcher, id, "同意延期"))
	if !c.DueAt.Equal(until) || c.ExtCount != 1 {
		t.Fatalf("extension: due %v ext %d", c.DueAt, c.ExtCount)
	}
	// A second extension needs a supervisor.
	step(s.RequestExtension(ctx, leadOff, id, s.cal.AddWorkingDays(until, 2), "再延"))
	if _, err := s.ApproveExtension(ctx, dispatcher, id, ""); !errors.Is(err, ErrNeedsHigher) {
		t.Fatalf("second extension by a dispatcher: %v", err)
	}
	step(s.RejectExtension(ctx, supervisor, id, "不再延期"))
	c = step(s.Reply(ctx, coOff, id, "已配合核查摊位占道情况", "协办意见"))
	if c.State != InProgress {
		t.Fatalf("co reply moved the case: %s", c.State)
	}
	c = step(s.Reply(ctx, leadOff, id, "已劝离占道烧烤摊，并纳入夜间巡查。", "现场照片已存档"))
	if c.State != PendingReview {
		t.Fatalf("after lead reply: %s", c.State)
	}
	step(s.ApproveReview(ctx, agent, id, ""))
	no := false
	c = step(s.Callback(ctx, agent, id, CallbackResult{Satisfaction: Dissatisfied, Solved: &no, Comment: "晚上又出摊了"}))
	if c.State != PendingSign || c.RedoCount != 1 || c.LeadAssignment().UnitID != "330106001-ZF" {
		t.Fatalf("after dissatisfied callback: %s redo %d", c.State, c.RedoCount)
	}
	step(s.Sign(ctx, leadOff, id, ""))
	step(s.Reply(ctx, leadOff, id, "已联合市场监管取缔，设置禁止摆摊标志。", ""))
	step(s.ApproveReview(ctx, dispatcher, id, ""))
	yes := true
	c = step(s.Callback(ctx, auth.CitizenActor(), id, CallbackResult{Satisfaction: Satisfied, Solved: &yes}))
	if c.State != Archived || c.ClosedAt == nil {
		t.Fatalf("final: %s", c.State)
	}
	if _, err := s.Callback(ctx, auth.CitizenActor(), id, CallbackResult{Satisfaction: Dissatisfied}); !errors.Is(err, ErrWrongState) {
		t.Fatalf("rated twice: %v", err)
	}
	evs, _ := s.Events(ctx, id)
	t.Logf("whole loop: %d events", len(evs))
}

func TestSuspensionStopsTheClock(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	c, _, _ := s.Create(ctx, agent, complaint(""))
	ok(t)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	c = ok(t)(s.Sign(ctx, leadOff, c.ID, ""))
	due := *c.DueAt
	// Suspended Wednesday 10:00 to the next Monday 10:00: 3 working days.
	clk.Set(time.Date(2026, 3, 4, 10, 0, 0, 0, shanghai))
	ok(t)(s.Suspend(ctx, leadOff, c.ID, "等待房屋安全鉴定结果"))
	clk.Set(time.Date(2026, 3, 9, 10, 0, 0, 0, shanghai))
	c = ok(t)(s.Resume(ctx, leadOff, c.ID, "鉴定结果已出"))
	want := s.cal.AddWorkingDays(due, 3)
	if !c.DueAt.Equal(want) {
		t.Fatalf("due after suspension %v, want %v (was %v)", c.DueAt, want, due)
	}
	if c.State != InProgress {
		t.Fatalf("resumed to %s", c.State)
	}
	checkReplay(t, s, c.ID)
}

func TestEmergencyDeadlineInPlainHours(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	clk.Set(time.Date(2026, 2, 17, 22, 0, 0, 0, shanghai)) // Spring Festival night
	n := complaint("")
	n.Kind, n.Urgency, n.Content = Help, Emergency, "电梯困人，有老人被困在电梯里"
	c, _, _ := s.Create(ctx, agent, n)
	c = ok(t)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	if want := clk.Now().Add(2 * time.Hour); !c.DueAt.Equal(want) {
		t.Fatalf("emergency due %v, want %v", c.DueAt, want)
	}
}

func TestMergeFollowsParent(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	p, _, _ := s.Create(ctx, agent, complaint("a"))
	ch := complaint("b")
	ch.CitizenPhone = "13900001111"
	child, _, _ := s.Create(ctx, agent, ch)
	ok(t)(s.Merge(ctx, agent, child.ID, p.ID, "同一占道经营问题"))
	if _, err := s.Merge(ctx, agent, p.ID, child.ID, "反向"); err == nil {
		t.Fatal("merged a parent under its own child")
	}
	ok(t)(s.Answer(ctx, agent, p.ID, "已告知处理渠道", nil))
	c, _ := s.Get(ctx, child.ID)
	if c.State != Archived || c.Reply != "已告知处理渠道" {
		t.Fatalf("child: %s %q", c.State, c.Reply)
	}
	checkReplay(t, s, child.ID)
	checkReplay(t, s, p.ID)
}

func TestTrackingShowsOnlyPublicData(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	c, _, _ := s.Create(ctx, agent, complaint(""))
	ok(t)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	ok(t)(s.Sign(ctx, leadOff, c.ID, ""))
	ok(t)(s.Note(ctx, leadOff, c.ID, "内部：当事人系辖区重点关注对象", false, nil))
	ok(t)(s.Reply(ctx, leadOff, c.ID, "已处理完毕。", "内部备注：执法队员张三现场处置"))

	v, _, err := s.Track(ctx, c.TrackingNo, "5678")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(v)
	page := string(b)
	for _, secret := range []string{"张三", "内部", "陈女士", "13812345678", leadOff.ID.String()} {
		if strings.Contains(page, secret) {
			t.Errorf("public view contains %q: %s", secret, page)
		}
	}
	if !strings.Contains(page, "北山街道综合执法平台") || !strings.Contains(page, "138****5678") || !strings.Contains(page, "已处理完毕") {
		t.Errorf("public view lacks the unit, masked phone or reply: %s", page)
	}
	_, _, wrong := s.Track(ctx, c.TrackingNo, "0000")
	_, _, none := s.Track(ctx, TrackingNoFrom(monday09, 99), "5678")
	_, _, empty := s.Track(ctx, c.TrackingNo, "")
	if !errors.Is(wrong, ErrNotFound) || !errors.Is(none, ErrNotFound) || !errors.Is(empty, ErrNotFound) || wrong.Error() != none.Error() {
		t.Fatalf("verification answers differ: %v / %v / %v", wrong, none, empty)
	}
}

func TestReporterIdentityHiddenFromUnits(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	n := complaint("")
	n.Kind = Report
	c, _, _ := s.Create(ctx, agent, n)
	c = ok(t)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	if !c.Confidential {
		t.Fatal("a 举报 is not confidential")
	}
	seen := JSONFor(c, leadOff, monday09)
	if seen.CitizenName != ConfidentialName || seen.CitizenPhone != "" {
		t.Fatalf("unit sees %q %q", seen.CitizenName, seen.CitizenPhone)
	}
	if JSONFor(c, agent, monday09).CitizenPhone != "13812345678" {
		t.Fatal("the centre lost the reporter's phone")
	}
	if CanSee(c, otherOff) {
		t.Fatal("another township's officer can see the case")
	}
}

// Random walks through the machine: whatever sequence of allowed actions
// happens, the trail rebuilds the stored state.
func TestRebuildFromEventsRandomWalks(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 11))
	actors := []auth.Actor{agent, dispatcher, supervisor, leadOff, otherOff, coOff, auth.CitizenActor(), auth.SystemActor("timer")}
	units := []string{"330106001-ZF", "330106002-ZF", "330106001-ZZ"}
	var parents []uuid.UUID
	total := 0
	for walk := 0; walk < 25; walk++ {
		c, _, err := s.Create(ctx, agent, complaint(fmt.Sprint("walk-", walk)))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 30 && c.State.Open(); i++ {
			clk.Advance(time.Duration(rng.IntN(240)) * time.Minute)
			actor := actors[rng.IntN(len(actors))]
			acts := Allowed(c, actor, clk.Now())
			if len(acts) == 0 {
				continue
			}
			act := acts[rng.IntN(len(acts))]
			id := c.ID
			var next *Case
			switch act {
			case ActDispatch:
				next, err = s.Dispatch(ctx, actor, id, DispatchPlan{Lead: units[rng.IntN(3)], Co: []string{"330106-ZJJ"}}, "")
			case ActSign:
				next, err = s.Sign(ctx, actor, id, "")
			case ActAnswer:
				next, err = s.Answer(ctx, actor, id, "答复", nil)
			case ActSubmit:
				next, err = s.Submit(ctx, actor, id, "")
			case ActRequestReturn:
				next, err = s.RequestReturn(ctx, actor, id, "非本单位职责")
			case ActApproveReturn:
				next, err = s.ApproveReturn(ctx, actor, id, "")
			case ActRejectReturn:
				next, err = s.RejectReturn(ctx, actor, id, "属你单位")
			case ActRequestExtension:
				next, err = s.RequestExtension(ctx, actor, id, c.DueAt.Add(72*time.Hour), "需延期")
			case ActApproveExtension:
				next, err = s.ApproveExtension(ctx, actor, id, "")
			case ActRejectExtension:
				next, err = s.RejectExtension(ctx, actor, id, "不同意")
			case ActSuspend:
				next, err = s.Suspend(ctx, actor, id, "等待")
			case ActResume:
				next, err = s.Resume(ctx, actor, id, "")
			case ActReply:
				next, err = s.Reply(ctx, actor, id, "已处理", "")
			case ActApproveReview:
				next, err = s.ApproveReview(ctx, actor, id, "")
			case ActRejectReview:
				next, err = s.RejectReview(ctx, actor, id, "答复不完整")
			case ActCallback:
				sat := []Satisfaction{Satisfied, Basic, Dissatisfied}[rng.IntN(3)]
				next, err = s.Callback(ctx, actor, id, CallbackResult{Satisfaction: sat, Comment: "回访"})
			case ActRedo:
				next, err = s.Redo(ctx, actor, id, nil, "重办")
			case ActUrge:
				next, err = s.Urge(ctx, actor, id, nil, "请加快")
			case ActDeadlineWarning, ActDeadlineOverdue:
				next, err = s.deadlineStep(ctx, actor, id, act, TimerResolveDue, clk.Now(), "时限")
			case ActCallbackAttempt:
				next, err = s.CallbackAttempt(ctx, actor, id, "未接通")
			case ActReapplyPolicy:
				next, err = s.ReapplyPolicy(ctx, actor, id, "新政策")
			case ActEscalate:
				next, err = s.Escalate(ctx, actor, id, DispatchPlan{Lead: "330106-ZFJ", Co: []string{units[rng.IntN(3)]}}, "超期升级")
			case ActNote:
				next, err = s.Note(ctx, actor, id, "补充", rng.IntN(2) == 0, nil)
			case ActMerge:
				if len(parents) == 0 {
					continue
				}
				next, err = s.Merge(ctx, actor, id, parents[rng.IntN(len(parents))], "重复")
			default:
				t.Fatalf("walk does not know %s", act)
			}
			if err != nil {
				var te *TransitionError
				if errors.As(err, &te) && (errors.Is(err, ErrNeedsHigher) || errors.Is(err, ErrWrongState)) {
					continue // refused for a reason Allowed does not see (second extension, parent state)
				}
				t.Fatalf("walk %d step %d %s by %s: %v", walk, i, act, actor.Role, err)
			}
			c = next
			total++
			checkReplay(t, s, id)
		}
		if c.State.Open() && c.State != Merged {
			parents = append(parents, c.ID)
		}
	}
	t.Logf("%d random transitions rebuilt from their events", total)
	_ = workcal.Hours
}
