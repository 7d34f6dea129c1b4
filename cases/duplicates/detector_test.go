package duplicates_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/cases/duplicates"
	"yici/internal/auth"
	"yici/internal/clock"
	"yici/internal/pgtest"
)

var shanghai = time.FixedZone("CST", 8*3600)

// t0 is Monday 2 March 2026, 09:00 in Hangzhou.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)

type env struct {
	t   *testing.T
	db  *pgxpool.Pool
	cs  *cases.Store
	clk *clock.Fake
	d   *duplicates.Detector
	n   int
}

func newEnv(t *testing.T) *env { return newEnvConns(t, 0) }

// newEnvConns is newEnv with a pool of conns connections (0: pgxpool's
// default).
func newEnvConns(t *testing.T, conns int32) *env {
	t.Helper()
	clk := clock.NewFake(t0)
	cfg, err := pgxpool.ParseConfig(pgtest.NewDatabase(t, pgtest.Schema))
	if err != nil {
		t.Fatal(err)
	}
	if conns > 0 {
		cfg.MaxConns = conns
	}
	db, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	cs := cases.NewStore(db, cases.Options{Clock: clk})
	return &env{t: t, db: db, cs: cs, clk: clk, d: duplicates.New(db, cs, duplicates.Options{})}
}

var agent = auth.Actor{ID: uuid.New(), Name: "话务员", Role: auth.Agent, UnitID: "3301-HC"}

type req struct {
	at                              time.Time
	township, category, phone, text string
	point                           *cases.Point
}

// add registers a case at r.at (on the store's clock).
func (e *env) add(r req) *cases.Case {
	e.t.Helper()
	e.n++
	e.clk.Set(r.at)
	c, _, err := e.cs.Create(context.Background(), agent, cases.NewCase{Kind: cases.Complaint, Category: r.category, Content: r.text,
		TownshipCode: r.township, CitizenName: "市民", CitizenPhone: r.phone, Point: r.point, Channel: cases.ChannelPhone,
		ChannelRef: fmt.Sprintf("call-%d", e.n)})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

func (e *env) find(c *cases.Case) []duplicates.Candidate {
	e.t.Helper()
	cands, err := e.d.Find(context.Background(), c)
	if err != nil {
		e.t.Fatal(err)
	}
	return cands
}

func candidate(cands []duplicates.Candidate, id uuid.UUID) *duplicates.Candidate {
	for i := range cands {
		if cands[i].ID == id {
			return &cands[i]
		}
	}
	return nil
}

// wantFound fails unless c is among the candidates with exactly reasons.
func wantFound(t *testing.T, cands []duplicates.Candidate, c *cases.Case, reasons ...duplicates.Reason) *duplicates.Candidate {
	t.Helper()
	x := candidate(cands, c.ID)
	if x == nil {
		t.Fatalf("%s (%s) not offered; candidates: %+v", c.TrackingNo, c.Title, cands)
	}
	if !slices.Equal(x.Reasons, reasons) {
		t.Fatalf("%s offered for %v, want %v", c.TrackingNo, x.Reasons, reasons)
	}
	return x
}

func wantNotFound(t *testing.T, cands []duplicates.Candidate, c *cases.Case) {
	t.Helper()
	if x := candidate(cands, c.ID); x != nil {
		t.Fatalf("%s (%s) offered for %v, similarity %.2f", c.TrackingNo, c.Title, x.Reasons, x.Similarity)
	}
}

const day = 24 * time.Hour

func TestSamePhoneWithin30Days(t *testing.T) {
	e := newEnv(t)
	o := e.d.Options()
	first := "丰潭路388号老王烧烤店油烟直排，窗户都不敢开。"
	again := "丰潭路388号老王烧烤店的油烟还是直排，根本没人管。"
	if s := duplicates.Similarity(first, again); s < o.PhoneMin {
		t.Fatalf("the test's texts are %.2f alike, below the same-phone minimum %.2f", s, o.PhoneMin)
	}
	a := e.add(req{at: t0, township: "330106013", category: "0104", phone: "13857109999", text: first})
	// The same caller, in another format, without a township: only the phone links them.
	b := e.add(req{at: t0.Add(30*day - time.Hour), phone: "+86 138-5710-9999", text: again})
	c := e.add(req{at: t0.Add(31 * day), phone: "13857109999", text: again})
	other := e.add(req{at: t0.Add(day), phone: "13857109999", text: "想问一下灵活就业人员的社保怎么在网上缴纳？"})

	wantFound(t, e.find(b), a, duplicates.SamePhone)
	cands := e.find(c)
	wantNotFound(t, cands, a) // 31 days
	wantFound(t, cands, b, duplicates.SamePhone)
	// The caller's other matter is not a duplicate of the first.
	wantNotFound(t, e.find(other), a)
	wantNotFound(t, e.find(a), other)
	// Symmetric: the older case sees the newer one.
	wantFound(t, e.find(a), b, duplicates.SamePhone)
}

func TestSimilarContentSameTownshipAndCategoryWithin7Days(t *testing.T) {
	e := newEnv(t)
	a := e.add(req{at: t0, township: "330106005", category: "1101", phone: "13900000001",
		text: "翠苑一区从早上七点开始停水，一点通知都没有，家里有老人。"})
	b := e.add(req{at: t0.Add(6 * day), township: "330106005", category: "1101", phone: "13900000002",
		text: "翠苑一区停水都半天了，也没有停水通知，什么时候来水？"})
	elsewhere := e.add(req{at: t0.Add(6 * day), township: "330106013", category: "1101", phone: "13900000003",
		text: "翠苑一区停水都半天了，也没有停水通知，什么时候来水？"})
	late := e.add(req{at: t0.Add(8 * day), township: "330106005", category: "1101", phone: "13900000004",
		text: "翠苑一区停水都半天了，也没有停水通知，什么时候来水？"})
	otherCategory := e.add(req{at: t0.Add(day), township: "330106005", category: "0603", phone: "13900000005",
		text: "翠苑一区停水都半天了，也没有停水通知，什么时候来水？"})
	uncategorised := e.add(req{at: t0.Add(day), township: "330106005", phone: "13900000006",
		text: "翠苑一区从早上开始停水了，没有任何通知。"})
	unrelated := e.add(req{at: t0.Add(day), township: "330106005", category: "1101", phone: "13900000007",
		text: "翠苑三区高层住户水压很低，五楼以上洗澡水都上不去。"})

	x := wantFound(t, e.find(b), a, duplicates.SimilarContent)
	if x.Similarity < e.d.Options().Threshold || x.Similarity > 1 {
		t.Fatalf("similarity %.3f", x.Similarity)
	}
	wantNotFound(t, e.find(elsewhere), a) // another township
	wantNotFound(t, e.find(elsewhere), b)
	cands := e.find(late)
	wantNotFound(t, cands, a) // 8 days
	wantFound(t, cands, b, duplicates.SimilarContent)
	wantNotFound(t, e.find(otherCategory), a)
	wantFound(t, e.find(uncategorised), a, duplicates.SimilarContent) // not categorised yet: compared within the township
	wantNotFound(t, e.find(unrelated), a)
}

// north returns a point m metres north of p.
func north(p cases.Point, m float64) *cases.Point {
	return &cases.Point{Lat: p.Lat + m/(6371008.8*math.Pi/180), Lon: p.Lon}
}

func TestNearbyWithin200Metres(t *testing.T) {
	e := newEnv(t)
	p := cases.Point{Lat: 30.2876, Lon: 120.1102}
	a := e.add(req{at: t0, township: "330106013", category: "0603", phone: "13900000011", point: &p,
		text: "丰潭路和文二路口人行道上的井盖不见了，晚上很危险。"})
	// Across the township border, in other words: only the place links them.
	near := e.add(req{at: t0.Add(time.Hour), township: "330106005", category: "0603", phone: "13900000012", point: north(p, 180),
		text: "路边有个窨井没有盖子，电动车差点掉进去。"})
	far := e.add(req{at: t0.Add(time.Hour), township: "330106005", category: "0603", phone: "13900000013", point: north(p, 250),
		text: "路边有个窨井没有盖子，电动车差点掉进去。"})
	otherMatter := e.add(req{at: t0.Add(time.Hour), township: "330106005", category: "0102", phone: "13900000014", point: north(p, 100),
		text: "小吃摊晚上占道经营，烧烤油烟很大。"})
	sameMatterOtherCategory := e.add(req{at: t0.Add(time.Hour), township: "330106005", category: "0102", phone: "13900000015", point: north(p, 100),
		text: "丰潭路文二路口人行道井盖不见了，很危险。"})
	noPoint := e.add(req{at: t0.Add(time.Hour), township: "330106005", category: "0603", phone: "13900000016",
		text: "路边有个窨井没有盖子，电动车差点掉进去。"})

	x := wantFound(t, e.find(near), a, duplicates.Nearby)
	want := duplicates.Haversine(p.Lat, p.Lon, near.Point.Lat, near.Point.Lon)
	if x.DistanceM == nil || math.Abs(*x.DistanceM-want) > 1 || math.Abs(want-180) > 1 {
		t.Fatalf("distance %v, want %.1f (Go) ≈ 180", x.DistanceM, want)
	}
	wantNotFound(t, e.find(far), a)
	wantNotFound(t, e.find(otherMatter), a)
	wantFound(t, e.find(sameMatterOtherCategory), a, duplicates.Nearby)
	wantNotFound(t, e.find(noPoint), a)
}

func TestClosedCasesAreNotOffered(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	text := "和睦新村18幢加装电梯的材料交上去两个月了，一直没有审批结果。"
	answered := e.add(req{at: t0, township: "330105004", category: "0203", phone: "13900000021", text: text})
	parent := e.add(req{at: t0.Add(time.Hour), township: "330105004", category: "0203", phone: "13900000022", text: text})
	child := e.add(req{at: t0.Add(2 * time.Hour), township: "330105004", category: "0203", phone: "13900000023", text: text})
	open := e.add(req{at: t0.Add(3 * time.Hour), township: "330105004", category: "0203", phone: "13900000024", text: text})
	if _, err := e.cs.Answer(ctx, agent, answered.ID, "已转告街道，审批结果将于本周内答复。", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cs.Merge(ctx, agent, child.ID, parent.ID, "同一事项"); err != nil {
		t.Fatal(err)
	}
	late := e.add(req{at: t0.Add(4 * time.Hour), township: "330105004", category: "0203", phone: "13900000025", text: text})
	cands := e.find(late)
	wantNotFound(t, cands, answered)
	wantNotFound(t, cands, child)
	wantFound(t, cands, parent, duplicates.SimilarContent)
	wantFound(t, cands, open, duplicates.SimilarContent)
	// On arrival too (which also reads the closed cases of the last day,
	// for hot spots).
	got, err := e.d.OnArrival(ctx, late)
	if err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, got.Candidates, answered)
	wantNotFound(t, got.Candidates, child)
	wantFound(t, got.Candidates, open, duplicates.SimilarContent)
	// A child is not offered its own parent again.
	c, err := e.cs.Get(ctx, child.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantNotFound(t, e.find(c), parent)
}

func TestCandidatesAreCappedBestFirst(t *testing.T) {
	e := newEnv(t)
	base := "近江八园小区北面围墙被人挖开了一个大洞，外来人员随便进出，小区丢了好几辆自行车。"
	for i := range 14 {
		e.add(req{at: t0.Add(time.Duration(i) * time.Hour), township: "330102010", category: "0702",
			phone: fmt.Sprintf("1390000%04d", 100+i), text: base + fmt.Sprintf("第%d次反映。", i+1)})
	}
	same := e.add(req{at: t0.Add(20 * time.Hour), township: "330102010", category: "0702", phone: "13900000100", text: base})
	cands := e.find(same)
	if len(cands) != e.d.Options().Limit {
		t.Fatalf("%d candidates, want the limit %d", len(cands), e.d.Options().Limit)
	}
	// The caller's own first report shares the phone too: two reasons, first.
	if cands[0].Reasons[0] != duplicates.SamePhone || len(cands[0].Reasons) != 2 {
		t.Fatalf("first candidate %+v", cands[0])
	}
	for i := 2; i < len(cands); i++ {
		if cands[i].Similarity > cands[i-1].Similarity {
			t.Fatalf("not best first: %v then %v", cands[i-1].Similarity, cands[i].Similarity)
		}
	}
}

func TestOnArrivalStoresCandidatesForTheQueueFlag(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.add(req{at: t0, township: "330105007", category: "0205", phone: "13900000031",
		text: "大关西苑5幢302室被二房东隔成了八个小间，住了十几个人，楼道里堆满电动车。"})
	b := e.add(req{at: t0.Add(time.Hour), township: "330105007", category: "0205", phone: "13900000032",
		text: "大关西苑5幢3楼一套房屋群租，隔成好几个小间，人员进出复杂。"})
	for range 2 { // a second call changes nothing
		got, err := e.d.OnArrival(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		wantFound(t, got.Candidates, a, duplicates.SimilarContent)
	}
	var n int
	var reasons []string
	var sim float64
	if err := e.db.QueryRow(ctx, `SELECT count(*) OVER (), reasons, similarity FROM case_duplicates WHERE case_id = $1 AND candidate_id = $2`,
		b.ID, a.ID).Scan(&n, &reasons, &sim); err != nil {
		t.Fatal(err)
	}
	if n != 1 || !slices.Equal(reasons, []string{"similar_content"}) || sim <= 0 {
		t.Fatalf("stored %d rows, reasons %v, similarity %v", n, reasons, sim)
	}
	flags, err := e.d.Flagged(ctx, []uuid.UUID{a.ID, b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(flags) != 1 || flags[b.ID] != 1 {
		t.Fatalf("flags %v", flags)
	}
	// The same predicate, as a queue would use it.
	var flagged bool
	if err := e.db.QueryRow(ctx, `SELECT `+duplicates.PossibleDuplicateSQL+` FROM cases c WHERE c.id = $1`, b.ID).Scan(&flagged); err != nil || !flagged {
		t.Fatalf("PossibleDuplicateSQL: %v %v", flagged, err)
	}
	// Once the candidate is closed, the flag goes.
	if _, err := e.cs.Answer(ctx, agent, a.ID, "已转派出所核查。", nil); err != nil {
		t.Fatal(err)
	}
	if flags, err = e.d.Flagged(ctx, []uuid.UUID{b.ID}); err != nil || len(flags) != 0 {
		t.Fatalf("flags after the candidate closed: %v %v", flags, err)
	}
}

func TestOnArrivalInsideTheIntakeTransaction(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	text := "笕桥街道黄家村新苑5幢楼道里有很浓的燃气味，已经好几个小时了。"
	a := e.add(req{at: t0, township: "330102016", category: "1103", phone: "13900000041", text: text})
	count := func() int {
		var n int
		if err := e.db.QueryRow(ctx, `SELECT count(*) FROM case_duplicates WHERE candidate_id = $1`, a.ID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	newCase := func(ref string) cases.NewCase {
		return cases.NewCase{Kind: cases.Help, Category: "1103", Content: text, TownshipCode: "330102016", CitizenPhone: "13900000042",
			Channel: cases.ChannelWeb, ChannelRef: ref}
	}
	// Rolled back with the case.
	boom := errors.New("intake failed later")
	err := e.cs.InTx(ctx, func(ctx context.Context) error {
		c, _, err := e.cs.Create(ctx, auth.SystemActor("网站"), newCase("r1"))
		if err != nil {
			return err
		}
		if _, err := e.d.OnArrival(ctx, c); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || count() != 0 {
		t.Fatalf("err %v, %d rows after the rollback", err, count())
	}
	// A failing OnArrival leaves the intake transaction usable.
	var made []uuid.UUID
	err = e.cs.InTx(ctx, func(ctx context.Context) error {
		c, _, err := e.cs.Create(ctx, auth.SystemActor("网站"), newCase("r2"))
		if err != nil {
			return err
		}
		ghost := *c
		ghost.ID = uuid.New() // no such case: storing its candidates breaks a foreign key
		if _, err := e.d.OnArrival(ctx, &ghost); err == nil {
			return errors.New("OnArrival of a case that does not exist succeeded")
		}
		if _, err := e.d.OnArrival(ctx, c); err != nil {
			return err
		}
		d, _, err := e.cs.Create(ctx, auth.SystemActor("网站"), newCase("r3"))
		made = append(made, c.ID, d.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if count() != 1 {
		t.Fatalf("%d rows", count())
	}
	for _, id := range made {
		if _, err := e.cs.Get(ctx, id); err != nil {
			t.Fatalf("case %s: %v", id, err)
		}
	}
}

func alerts(t *testing.T, e *env) []duplicates.Alert {
	t.Helper()
	as, err := e.d.Alerts(context.Background(), t0.Add(-365*day), 100)
	if err != nil {
		t.Fatal(err)
	}
	return as
}

func TestHotSpotRaisedOnceAtTenAgainAtDouble(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	phrasings := []string{
		"紫阳花园%d幢停电了，到现在还没来电，没有任何停电通知。",
		"紫阳花园整个小区停电，%d号楼电梯停了，供电公司什么时候来修？",
		"反映紫阳花园%d幢突发停电，已经好几个小时没来电。",
	}
	arrive := func(i int, at time.Time, township, text string) *duplicates.Alert {
		t.Helper()
		c := e.add(req{at: at, township: township, category: "1102", phone: fmt.Sprintf("1370000%04d", i), text: text})
		got, err := e.d.OnArrival(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return got.Alert
	}
	var raised []*duplicates.Alert
	n := 0
	for i := 1; i <= 20; i++ {
		at := t0.Add(time.Duration(i) * time.Hour)
		// Noise that must not count: another matter in the same township
		// and category, and the same matter in another township.
		if i%5 == 0 {
			if a := arrive(100+i, at, "330402010", "清河苑我家电费突然比上个月翻了一倍，怀疑电表有问题。"); a != nil {
				t.Fatalf("unrelated case raised %+v", a)
			}
			if a := arrive(200+i, at, "330402007", fmt.Sprintf(phrasings[0], i)); a != nil {
				t.Fatalf("another township raised %+v", a)
			}
		}
		n++
		if a := arrive(i, at.Add(time.Minute), "330402010", fmt.Sprintf(phrasings[i%3], i)); a != nil {
			raised = append(raised, a)
			if a.Count != n || len(a.CaseIDs) != n {
				t.Fatalf("alert at case %d counts %d (%d ids)", n, a.Count, len(a.CaseIDs))
			}
		}
		switch {
		case n < 10 && len(raised) != 0, n >= 10 && n < 20 && len(raised) != 1, n == 20 && len(raised) != 2:
			t.Fatalf("after %d similar cases: %d alerts", n, len(raised))
		}
	}
	if raised[0].Count != 10 || raised[1].Count != 20 {
		t.Fatalf("alerts at %d and %d cases", raised[0].Count, raised[1].Count)
	}
	stored := alerts(t, e)
	if len(stored) != 2 || stored[0].ID != raised[1].ID || stored[1].Count != 10 || stored[1].Kind != duplicates.KindHotspot ||
		stored[1].TownshipCode != "330402010" || stored[1].CountyCode != "330402" || stored[1].Category != "1102" ||
		len(stored[1].TrackingNos) != 10 {
		t.Fatalf("stored alerts %+v", stored)
	}
	var tx string
	if err := e.db.QueryRow(ctx, `SELECT tx::text FROM console_alerts WHERE id = $1`, stored[0].ID).Scan(&tx); err != nil || tx == "" {
		t.Fatalf("tx %q %v", tx, err)
	}
	// A day later the same matter is news again once ten more arrive.
	later := t0.Add(50 * time.Hour)
	var again []*duplicates.Alert
	for i := 1; i <= 10; i++ {
		if a := arrive(300+i, later.Add(time.Duration(i)*time.Minute), "330402010", fmt.Sprintf(phrasings[i%3], i)); a != nil {
			again = append(again, a)
		}
	}
	if len(again) != 1 || again[0].Count != 10 {
		t.Fatalf("a day later: %+v", again)
	}
}

// Concurrent arrivals that all complete a hot spot raise it once (three
// townships at a time, ten arrivals each, on as many connections).
func TestHotSpotRaisedOnceUnderConcurrentArrivals(t *testing.T) {
	e := newEnvConns(t, 32)
	ctx := context.Background()
	townships := []string{"330602001", "330602002", "330602004"}
	var late []*cases.Case
	for k, tw := range townships {
		for i := range 19 {
			c := e.add(req{at: t0.Add(time.Duration(i) * time.Minute), township: tw, category: "0603", phone: fmt.Sprintf("136%02d00%04d", k, i),
				text: fmt.Sprintf("环山路府山公园段的路灯全部不亮了，晚上散步很不安全（%d）。", i)})
			if i >= 9 {
				late = append(late, c)
			}
		}
	}
	errs := make(chan error, len(late))
	start := make(chan struct{})
	for _, c := range late {
		go func() {
			<-start
			_, err := e.d.OnArrival(ctx, c)
			errs <- err
		}()
	}
	close(start)
	for range late {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	per := map[string]int{}
	for _, a := range alerts(t, e) {
		per[a.TownshipCode]++
	}
	for _, tw := range townships {
		if per[tw] != 1 {
			t.Errorf("%s: %d alerts", tw, per[tw])
		}
	}
}
