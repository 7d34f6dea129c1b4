package stats

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/internal/workcal"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// GenOptions tune Generate.
type GenOptions struct {
	Calendar  *workcal.Calendar    // the working calendar; workcal.Default()
	Territory *territory.Territory // the province; Zhejiang
	Taxonomy  *taxonomy.Taxonomy   // categories and the routing matrix; the default taxonomy
	Seed      uint64               // the same seed gives the same cases (ids and tracking numbers aside)
	Workers   int                  // concurrent COPY streams; 2
	Chunk     int                  // cases per transaction; 20,000
	// Cutoff: no event after this instant (the cases are left where they
	// were then); the month's end plus 20 days, or now if earlier.
	Cutoff time.Time
	// Progress, when set, is called after every chunk with the cases written.
	Progress func(done int)
}

// GenResult says what Generate wrote.
type GenResult struct {
	Cases, Assignments, Events int64
	Took                       time.Duration
}

// Generate fills the database with n cases registered in the month of
// month (Asia/Shanghai) across the province, each with a realistic trail:
// registration by channel, answers at first contact, dispatch by the
// default routing matrix, sign-for on time or late, returns and
// re-dispatch, escalation by the deadline scheduler, notes, urging,
// replies on time or late, review, callbacks with their satisfaction and
// redo rounds. Rows go in with COPY (cases, assignments, case_events), in
// chunks of one transaction each. The units must be loaded (yici seed).
// Meant for benchmarks and demonstrations, not for a production database.
func Generate(ctx context.Context, db *pgxpool.Pool, n int, month time.Time, o GenOptions) (*GenResult, error) {
	start := time.Now()
	if o.Calendar == nil {
		o.Calendar = workcal.Default()
	}
	if o.Territory == nil {
		o.Territory = territory.Zhejiang()
	}
	if o.Taxonomy == nil {
		o.Taxonomy = taxonomy.Default()
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.Chunk <= 0 {
		o.Chunk = 20000
	}
	loc := o.Calendar.Location()
	from := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	if o.Cutoff.IsZero() {
		o.Cutoff = to.AddDate(0, 0, 20)
		if now := time.Now(); now.Before(o.Cutoff) {
			o.Cutoff = now
		}
	}
	g, err := newGenerator(ctx, db, o, from, to)
	if err != nil {
		return nil, err
	}
	g.n = n
	// Tracking-number serials: blocks of 1000 from the shared sequence.
	var blocks []int64
	rows, err := db.Query(ctx, `SELECT nextval('tracking_serial') FROM generate_series(1, $1)`, n/1000+1)
	if err != nil {
		return nil, err
	}
	if blocks, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return nil, err
	}
	res := &GenResult{}
	var done atomic.Int64
	var progressMu sync.Mutex
	jobs := make(chan int)
	errc := make(chan error, o.Workers)
	var wg sync.WaitGroup
	for w := 0; w < o.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for first := range jobs {
				cnt := min(o.Chunk, n-first)
				c, a, e, err := g.chunk(ctx, first, cnt, blocks)
				if err != nil {
					errc <- err
					return
				}
				atomic.AddInt64(&res.Cases, c)
				atomic.AddInt64(&res.Assignments, a)
				atomic.AddInt64(&res.Events, e)
				if o.Progress != nil {
					progressMu.Lock()
					o.Progress(int(done.Add(int64(cnt))))
					progressMu.Unlock()
				}
			}
		}()
	}
	var ferr error
feed:
	for first := 0; first < n; first += o.Chunk {
		select {
		case jobs <- first:
		case ferr = <-errc:
			break feed
		case <-ctx.Done():
			ferr = ctx.Err()
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if ferr == nil {
		select {
		case ferr = <-errc:
		default:
		}
	}
	res.Took = time.Since(start)
	return res, ferr
}

type genTownship struct {
	code, county, name string
	weight             float64 // cumulative
}

type generator struct {
	n          int // cases in all
	db         *pgxpool.Pool
	o          GenOptions
	cal        *workcal.Calendar
	from, to   time.Time
	units      map[string]bool
	townships  []genTownship
	cats       []*taxonomy.Category
	catWeights []float64 // cumulative
	policies   cases.PolicySet
}

func newGenerator(ctx context.Context, db *pgxpool.Pool, o GenOptions, from, to time.Time) (*generator, error) {
	g := &generator{db: db, o: o, cal: o.Calendar, from: from, to: to, units: map[string]bool{}, policies: cases.DefaultPolicies()}
	rows, err := db.Query(ctx, `SELECT id FROM units WHERE active`)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		g.units[id] = true
	}
	if len(g.units) == 0 {
		return nil, fmt.Errorf("stats: generate: no units; load them first (yici seed)")
	}
	r := rand.New(rand.NewPCG(o.Seed, 1))
	// Townships: a skewed, log-normal weight, heavier in city districts.
	total := 0.0
	for _, city := range o.Territory.Cities() {
		for _, cty := range o.Territory.Counties(city.Code) {
			for _, tw := range o.Territory.Townships(cty.Code) {
				if territory.Placeholder(tw.Name) || !g.units[tw.Code+"-ZF"] {
					continue
				}
				w := math.Exp(r.NormFloat64() * 0.8)
				if cty.Code[4:6] < "20" { // 市辖区
					w *= 2.5
				}
				total += w
				g.townships = append(g.townships, genTownship{code: tw.Code, county: cty.Code, name: tw.Name, weight: total})
			}
		}
	}
	if len(g.townships) == 0 {
		return nil, fmt.Errorf("stats: generate: the territory has no township with units")
	}
	// Categories: Zipf-like over a seeded order.
	g.cats = o.Taxonomy.Categories()
	sort.Slice(g.cats, func(i, j int) bool { return g.cats[i].Code < g.cats[j].Code })
	r.Shuffle(len(g.cats), func(i, j int) { g.cats[i], g.cats[j] = g.cats[j], g.cats[i] })
	total = 0
	for i := range g.cats {
		total += 1 / math.Pow(float64(i+1), 0.9)
		g.catWeights = append(g.catWeights, total)
	}
	return g, nil
}

func pick(r *rand.Rand, cum []float64) int {
	x := r.Float64() * cum[len(cum)-1]
	return sort.SearchFloat64s(cum, x)
}

// gcase is a case being simulated, written out as its final row.
type gcase struct {
	id                                              uuid.UUID
	no, county, township, kind, category, title     string
	content, address, urgency, name, phone, channel string
	state                                           string
	policy                                          cases.Policy
	round, returns, redos, urges, version           int
	dispatchedAt, signDue, dueAt, returnUntil       *time.Time
	satisfaction                                    string
	solved                                          *bool
	ratedAt, closedAt                               *time.Time
	created, updated                                time.Time
	reply                                           string
	asg                                             []*gasg
	events                                          []gevent
	stopped                                         bool
}

type gasg struct {
	id              uuid.UUID
	unit, role      string
	round           int
	state           string
	dispatched      time.Time
	signed, replied *time.Time
	reply           string
}

type gevent struct {
	at                             time.Time
	action, role, name, unit, from string
	to, reason                     string
	public                         bool
	data                           []byte
	apply                          func() // what the step changes, once written
}

var channels = []struct {
	ch string
	w  float64
}{{"phone", 0.60}, {"app", 0.15}, {"web", 0.10}, {"grid", 0.08}, {"console", 0.04}, {"kiosk", 0.02}, {"open311", 0.01}}

var surnames = []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")

// chunk simulates and writes cases first to first+cnt-1.
func (g *generator) chunk(ctx context.Context, first, cnt int, blocks []int64) (c, a, e int64, err error) {
	r := rand.New(rand.NewPCG(g.o.Seed, uint64(first)+2))
	all := make([]*gcase, 0, cnt)
	for i := first; i < first+cnt; i++ {
		serial := blocks[i/1000] + int64(i%1000)
		all = append(all, g.simulate(r, serial, float64(i)/float64(g.n)))
	}
	return g.write(ctx, all)
}

// hours is a random duration from lo to hi hours.
func (g *generator) hours(r *rand.Rand, lo, hi float64) time.Duration {
	return time.Duration((lo + r.Float64()*(hi-lo)) * float64(time.Hour))
}

// within is t plus a share of the time limit sp (working or plain time).
func (g *generator) within(t time.Time, sp workcal.Span, frac float64) time.Time {
	due := g.cal.Deadline(t, sp)
	if sp.Unit == workcal.Hours {
		return t.Add(time.Duration(frac * float64(due.Sub(t))))
	}
	return g.cal.AddWorkingHours(t, time.Duration(frac*float64(g.cal.WorkingBetween(t, due))))
}

// simulate makes one case registered at about the share at of the month
// (so that the trail is written roughly in time order, as it would be).
func (g *generator) simulate(r *rand.Rand, serial int64, at float64) *gcase {
	tw := g.townships[pickTownship(r, g.townships)]
	cat := g.cats[pick(r, g.catWeights)]
	c := &gcase{county: tw.county, township: tw.code, category: cat.Code, urgency: "normal", state: ""}
	c.id, _ = uuid.NewV7()
	c.kind = cat.TypicalKind
	if !cases.Kind(c.kind).Valid() {
		c.kind = "求助"
	}
	if x := r.Float64(); x < 0.03 {
		c.urgency = "urgent"
	} else if x < 0.035 {
		c.urgency = "emergency"
	}
	cw := r.Float64()
	for _, ch := range channels {
		if cw -= ch.w; cw <= 0 {
			c.channel = ch.ch
			break
		}
	}
	if c.channel == "" {
		c.channel = "phone"
	}
	// Registration: the day the case's place in the month says, mostly in
	// office hours; up to the cutoff in the current month.
	last := g.to
	if g.o.Cutoff.Before(last) {
		last = g.o.Cutoff
	}
	days := max(int(last.Sub(g.from).Hours()/24), 1)
	day := g.from.AddDate(0, 0, min(int(at*float64(days)), days-1))
	hour := 8 + r.Float64()*10
	if r.Float64() < 0.25 {
		hour = r.Float64() * 24
	}
	c.created = day.Add(time.Duration(hour * float64(time.Hour)))
	if c.created.After(g.o.Cutoff) {
		c.created = g.o.Cutoff.Add(-time.Duration(r.Float64() * float64(time.Hour)))
	}
	c.no = cases.TrackingNoFrom(c.created, serial)
	c.name = string(surnames[r.IntN(len(surnames))]) + []string{"先生", "女士"}[r.IntN(2)]
	c.phone = "1" + strconv.Itoa(3+r.IntN(7)) + fmt.Sprintf("%09d", r.IntN(1_000_000_000))
	c.address = g.o.Territory.NameOf(tw.county) + tw.name
	c.content = c.address + "群众反映" + cat.Name + "问题，希望有关部门尽快核实处理。"
	c.title = cases.TitleOf(c.content)
	c.policy = g.policies.Resolve(cases.Kind(c.kind), cat.SLAClass, cases.Urgency(c.urgency), c.county)

	agent := "agent"
	if c.channel != "phone" && c.channel != "console" {
		agent = "system"
	}
	g.emit(c, c.created, "register", agent, "", "registered", "", true, obj("channel", c.channel, "kind", c.kind, "category", c.category, "township", c.township, "county", c.county))
	if (cat.SLAClass == taxonomy.SLAConsult && r.Float64() < 0.7) || r.Float64() < 0.04 {
		t := c.created.Add(g.hours(r, 0.03, 0.3))
		answer := "已答复：" + cat.Name + "相关政策和办理渠道已告知来电人。"
		if g.emit(c, t, "answer", "agent", "", "answered", answer, true, obj()) {
			c.reply, c.closedAt = answer, &t
		}
		return c
	}
	lead := g.o.Taxonomy.DefaultUnitID(cat.Lead, c.township, c.county)
	if !g.units[lead] {
		lead = g.fallback(c)
	}
	var co []string
	if len(cat.Co) > 0 && r.Float64() < 0.25 {
		if u := g.o.Taxonomy.DefaultUnitID(cat.Co[0], c.township, c.county); g.units[u] && u != lead {
			co = append(co, u)
		}
	}
	t := g.cal.AddWorkingHours(c.created, g.hours(r, 0.05, 1.0))
	g.round(c, t, "dispatch", "dispatcher", lead, co, "")
	returned := false
	for !c.stopped {
		t = *c.dispatchedAt
		leadA := c.lead()
		// 退单: the lead asks to return it before signing.
		if !returned && r.Float64() < 0.04 {
			returned = true
			tr := g.cal.AddWorkingHours(t, g.hours(r, 0.2, 1.8))
			if !g.emit(c, tr, "request_return", "officer", leadA.unit, "return_requested", "不属于本单位职责", false, obj("assignment", leadA.id.String(), "unit", leadA.unit)) {
				break
			}
			leadA.state = "return_requested"
			ta := g.cal.AddWorkingHours(tr, g.hours(r, 0.5, 4))
			if r.Float64() < 0.8 {
				if !g.emit(c, ta, "approve_return", "dispatcher", "", "pending_dispatch", "同意退单", false, obj("unit", leadA.unit, "returns", c.returns+1)) {
					break
				}
				c.returns++
				for _, a := range c.asg {
					if a.round == c.round && a.state != "returned" && a.state != "closed" {
						a.state = "closed"
					}
				}
				leadA.state = "returned"
				c.signDue = nil
				lead, co = g.countyUnit(c, lead, "SHZL"), nil
				g.round(c, g.cal.AddWorkingHours(ta, g.hours(r, 0.2, 2)), "dispatch", "dispatcher", lead, nil, "退单后重新派单")
				continue
			}
			if !g.emit(c, ta, "reject_return", "dispatcher", "", "pending_sign", "属于本单位职责，请签收办理", false, obj("unit", leadA.unit)) {
				break
			}
			leadA.state = "pending_sign"
		}
		// Sign-for: on time, late, or never (the scheduler escalates).
		x := r.Float64()
		if x < 0.02 && c.round < 3 {
			if !g.emit(c, *c.signDue, "deadline_overdue", "system", "", c.state, "签收超时", false, obj("kind", "sign")) {
				break
			}
			te := g.cal.AddWorkingHours(*c.signDue, g.hours(r, 1, 7.5))
			up := g.countyUnit(c, lead, "")
			lead, co = up, []string{leadA.unit}
			g.round(c, te, "escalate", "system", up, co, "签收超时，升级至县级办理")
			continue
		}
		var ts time.Time
		if x < 0.9 {
			ts = g.within(t, c.policy.Sign, 0.05+r.Float64()*0.9)
		} else {
			ts = g.cal.AddWorkingHours(*c.signDue, g.hours(r, 0.1, 6))
		}
		late := ts.After(*c.signDue)
		if !g.emit(c, ts, "sign", "officer", leadA.unit, "in_progress", "", true, obj("assignment", leadA.id.String(), "unit", leadA.unit, "role", "lead", "late", late)) {
			break
		}
		leadA.state, leadA.signed = "signed", &ts
		// The reply, and what happens in between (in time order).
		var tr time.Time
		onTime := r.Float64() < 0.85
		if onTime {
			tr = g.within(ts, c.policy.Resolve, 0.05+r.Float64()*0.9)
			if !tr.Before(*c.dueAt) {
				tr = c.dueAt.Add(-time.Minute)
			}
			if tr.Before(ts) {
				tr = ts.Add(time.Minute)
			}
		} else {
			tr = g.cal.AddWorkingHours(*c.dueAt, g.hours(r, 0.5, 30))
		}
		var mid []gevent
		for _, a := range c.asg {
			if a.round == c.round && a.role == "co" {
				at := ts.Add(time.Duration(r.Float64() * float64(tr.Sub(ts)) / 2))
				rt := at.Add(time.Duration(r.Float64() * float64(tr.Sub(at))))
				mid = append(mid, gevent{at: at, action: "sign", role: "officer", unit: a.unit, data: obj("assignment", a.id.String(), "unit", a.unit, "role", "co", "late", at.After(*c.signDue)),
					apply: func() { a.state, a.signed = "signed", &at }})
				mid = append(mid, gevent{at: rt, action: "reply", role: "officer", unit: a.unit, reason: "已配合主办单位处理", data: obj("assignment", a.id.String(), "unit", a.unit, "role", "co"),
					apply: func() { a.state, a.replied, a.reply = "replied", &rt, "已配合主办单位处理" }})
			}
		}
		if r.Float64() < 0.3 {
			mid = append(mid, gevent{at: ts.Add(time.Duration(r.Float64() * float64(tr.Sub(ts)))), action: "note", role: "officer", unit: leadA.unit, reason: "已联系来电人，正在现场核实。", public: true, data: obj()})
		}
		if !onTime {
			mid = append(mid, gevent{at: *c.dueAt, action: "deadline_overdue", role: "system", reason: "办理超期", data: obj("kind", "resolve")})
			if r.Float64() < 0.3 {
				mid = append(mid, gevent{at: c.dueAt.Add(g.hours(r, 0.5, 4)), action: "urge", role: "supervisor", reason: "请加快办理"})
			}
		}
		if onTime || r.Float64() < 0.5 {
			warn := g.within(t, c.policy.Resolve, 0.8)
			if warn.Before(tr) && warn.After(ts) {
				mid = append(mid, gevent{at: warn, action: "deadline_warning", role: "system", reason: "办理时限将到", data: obj("kind", "resolve")})
			}
		}
		sort.SliceStable(mid, func(i, j int) bool { return mid[i].at.Before(mid[j].at) })
		for _, ev := range mid {
			if ev.at.After(tr) {
				continue
			}
			if ev.action == "urge" {
				c.urges++
				ev.data = obj("urge", c.urges)
			}
			if !g.emit(c, ev.at, ev.action, ev.role, ev.unit, c.state, ev.reason, ev.public, ev.data) {
				break
			}
			if ev.apply != nil {
				ev.apply()
			}
		}
		if c.stopped {
			break
		}
		answer := "经核实，" + cat.Name + "问题已处理，并已告知来电人。"
		if !g.emit(c, tr, "reply", "officer", leadA.unit, "pending_review", answer, true, obj("assignment", leadA.id.String(), "unit", leadA.unit, "role", "lead", "late", tr.After(*c.dueAt))) {
			break
		}
		c.reply = answer
		leadA.state, leadA.replied, leadA.reply = "replied", &tr, c.reply
		tv := g.cal.AddWorkingHours(tr, g.hours(r, 0.3, 4))
		if r.Float64() < 0.04 {
			if !g.emit(c, tv, "reject_review", "agent", "", "in_progress", "答复不完整，请补充办理情况", false, obj("unit", leadA.unit)) {
				break
			}
			leadA.state = "signed"
			tr = g.cal.AddWorkingHours(tv, g.hours(r, 1, 6))
			if !g.emit(c, tr, "reply", "officer", leadA.unit, "pending_review", c.reply, true, obj("assignment", leadA.id.String(), "unit", leadA.unit, "role", "lead", "late", tr.After(*c.dueAt))) {
				break
			}
			leadA.state, leadA.replied = "replied", &tr
			tv = g.cal.AddWorkingHours(tr, g.hours(r, 0.3, 4))
		}
		if !g.emit(c, tv, "approve_review", "agent", "", "pending_callback", "", true, obj()) {
			break
		}
		for _, a := range c.asg {
			if a.round == c.round && a.state != "returned" && a.state != "closed" {
				a.state = "closed"
			}
		}
		// The callback.
		tc := g.cal.AddWorkingHours(tv, g.hours(r, 1, 12))
		sat := "satisfied"
		switch y := r.Float64(); {
		case y < 0.07:
			sat = "unreachable"
		case y < 0.13:
			sat = "dissatisfied"
		case y < 0.30:
			sat = "basic"
		}
		var solved *bool
		if sat != "unreachable" && r.Float64() < 0.6 {
			v := sat != "dissatisfied" && r.Float64() < 0.97 || sat == "dissatisfied" && r.Float64() < 0.3
			solved = &v
		}
		if c.round >= 3 && (sat == "dissatisfied" || solved != nil && !*solved) {
			sat, solved = "basic", nil
		}
		fail := sat == "dissatisfied" || solved != nil && !*solved
		var sv any
		if solved != nil {
			sv = *solved
		}
		to := "archived"
		if fail {
			to = "pending_callback"
		}
		if !g.emit(c, tc, "callback", "agent", "", to, "", true, obj("satisfaction", sat, "solved", sv, "by", "agent")) {
			break
		}
		c.satisfaction, c.solved, c.ratedAt = sat, solved, &tc
		if !fail {
			c.closedAt = &tc
			break
		}
		c.redos++
		c.satisfaction = ""
		g.round(c, tc, "redo", "agent", lead, co, "回访不满意或未解决，重办")
	}
	return c
}

func pickTownship(r *rand.Rand, ts []genTownship) int {
	x := r.Float64() * ts[len(ts)-1].weight
	return sort.Search(len(ts), func(i int) bool { return ts[i].weight >= x })
}

// countyUnit is the county unit above a township unit (its county line),
// or the county's social governance centre.
func (g *generator) countyUnit(c *gcase, unit, typ string) string {
	if typ == "" {
		if ut := g.o.Taxonomy.UnitType(taxonomy.UnitTypeOf(unit)); ut != nil && ut.CountyLine != "" {
			typ = ut.CountyLine
		} else {
			typ = "SHZL"
		}
	}
	if u := c.county + "-" + typ; g.units[u] && u != unit {
		return u
	}
	return g.fallback(c)
}

func (g *generator) fallback(c *gcase) string {
	for _, u := range []string{c.county + "-SHZL", c.county[:4] + "-HC"} {
		if g.units[u] {
			return u
		}
	}
	for u := range g.units {
		return u
	}
	return ""
}

// round opens a dispatch round (dispatch, escalate, redo) at t.
func (g *generator) round(c *gcase, t time.Time, action, role, lead string, co []string, reason string) {
	if c.stopped || t.After(g.o.Cutoff) {
		c.stopped = true
		return
	}
	for _, a := range c.asg {
		if a.round == c.round && a.state != "returned" && a.state != "closed" {
			a.state = "closed"
		}
	}
	c.round++
	c.dispatchedAt = &t
	sd, due, ru := g.cal.Deadline(t, c.policy.Sign), g.cal.Deadline(t, c.policy.Resolve), g.cal.Deadline(t, c.policy.Return)
	c.signDue, c.dueAt, c.returnUntil = &sd, &due, &ru
	for i, u := range append([]string{lead}, co...) {
		id, _ := uuid.NewV7()
		rl := "co"
		if i == 0 {
			rl = "lead"
		}
		c.asg = append(c.asg, &gasg{id: id, unit: u, role: rl, round: c.round, state: "pending_sign", dispatched: t})
	}
	if co == nil {
		co = []string{}
	}
	d := obj("lead", lead, "co", co, "round", c.round, "category", c.category, "township", c.township, "county", c.county, "sign_due", sd, "due_at", due)
	switch action {
	case "escalate":
		d = merge(d, obj("escalated", true))
	case "redo":
		d = merge(d, obj("redo", c.redos))
	}
	g.emit(c, t, action, role, "", "pending_sign", reason, true, d)
}

// emit appends an event unless it falls after the cutoff, which stops the
// case where it is.
func (g *generator) emit(c *gcase, at time.Time, action, role, unit, to, reason string, public bool, data []byte) bool {
	if c.stopped || at.After(g.o.Cutoff) {
		c.stopped = true
		return false
	}
	if n := len(c.events); n > 0 && at.Before(c.events[n-1].at) {
		at = c.events[n-1].at
	}
	name := map[string]string{"agent": "话务员", "dispatcher": "派单员", "supervisor": "督办员", "officer": "承办人", "system": "系统"}[role]
	c.events = append(c.events, gevent{at: at, action: action, role: role, name: name, unit: unit, from: c.state, to: to, reason: reason, public: public, data: data})
	c.state = to
	c.version++
	c.updated = at
	return true
}

func obj(kv ...any) []byte {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	b, _ := json.Marshal(m)
	return b
}

func merge(a, b []byte) []byte {
	var m, n map[string]any
	_ = json.Unmarshal(a, &m)
	_ = json.Unmarshal(b, &n)
	for k, v := range n {
		m[k] = v
	}
	out, _ := json.Marshal(m)
	return out
}

// lead is the lead assignment of the current round.
func (c *gcase) lead() *gasg {
	for _, a := range c.asg {
		if a.round == c.round && a.role == "lead" {
			return a
		}
	}
	return nil
}

var (
	genCaseCols = []string{"id", "tracking_no", "county_code", "city_code", "township_code", "kind", "category", "title", "content",
		"address", "urgency", "citizen_name", "citizen_phone", "phone_last4", "confidential", "channel", "state", "policy",
		"dispatch_round", "dispatched_at", "sign_due", "due_at", "return_until", "return_count", "redo_count", "urge_count",
		"reply", "satisfaction", "solved", "rated_at", "version", "created_at", "updated_at", "closed_at"}
	genAsgCols   = []string{"id", "case_id", "county_code", "unit_id", "role", "round", "state", "dispatched_at", "signed_at", "replied_at", "reply"}
	genEventCols = []string{"case_id", "county_code", "seq", "at", "action", "actor_name", "actor_role", "actor_unit", "from_state",
		"to_state", "reason", "public", "data"}
)

// write copies a chunk of simulated cases in one transaction.
func (g *generator) write(ctx context.Context, all []*gcase) (nc, na, ne int64, err error) {
	var cs, as, es [][]any
	for _, c := range all {
		pol, _ := json.Marshal(c.policy)
		cs = append(cs, []any{c.id, c.no, c.county, c.county[:4], c.township, c.kind, c.category, c.title, c.content,
			c.address, c.urgency, c.name, c.phone, cases.PhoneLast4(c.phone), c.kind == string(cases.Report), c.channel, c.state, pol,
			c.round, c.dispatchedAt, c.signDue, c.dueAt, c.returnUntil, c.returns, c.redos, c.urges,
			c.reply, c.satisfaction, c.solved, c.ratedAt, c.version, c.created, c.updated, c.closedAt})
		for _, a := range c.asg {
			as = append(as, []any{a.id, c.id, c.county, a.unit, a.role, a.round, a.state, a.dispatched, a.signed, a.replied, a.reply})
		}
		for i, e := range c.events {
			es = append(es, []any{c.id, c.county, i + 1, e.at, e.action, e.name, e.role, e.unit, e.from, e.to, e.reason, e.public, e.data})
		}
	}
	err = pgx.BeginFunc(ctx, g.db, func(tx pgx.Tx) error {
		for _, t := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{{"cases", genCaseCols, cs}, {"assignments", genAsgCols, as}, {"case_events", genEventCols, es}} {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.table}, t.cols, pgx.CopyFromRows(t.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", t.table, err)
			}
		}
		return nil
	})
	return int64(len(cs)), int64(len(as)), int64(len(es)), err
}
