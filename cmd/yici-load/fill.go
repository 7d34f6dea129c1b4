package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/internal/app"
	"yici/internal/workcal"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/stats"
)

// The filler: N cases with their assignments, events and timers, as two
// years of a provincial line would leave them, written with COPY in
// batches (one transaction each, fewer than 2^16 events, which the console
// stream needs), by several connections at once.
//
// Distribution: townships by city population; categories by the weights
// of content.go; channels phone 50 %, app 20 %, web 12 %, grid 8 %, kiosk
// 3 %, console 5 %, Open311 2 %; urgent 6 %, emergencies 1 %. About a
// third are answered at first contact (consultations mostly); the rest are
// dispatched, and a case is archived with a probability growing with its
// age (most within 15 working days), so the open ones are mostly recent.
// Tracking numbers come from the same sequence and function as the server's
// (a block of the sequence is reserved), phones are mobile numbers. The
// last -fill-wenxin cases are open cases of the last 30 days in 文新街道, at
// its 综合执法 and 综治 platforms, so that the demo officers' queues have a
// realistic depth.

// FillConfig are the -fill flags.
type FillConfig struct {
	N           int
	DataDir     string
	DatabaseURL string
	Days        int
	Wenxin      int
	Sample      string
	SampleN     int
	Workers     int
	Batch       int
	Seed        uint64
	Analyze     bool
	Vacuum      bool
	DropIndexes string
	Reindex     bool
	Fold        bool
}

func (f *FillConfig) flags(fs *flag.FlagSet) {
	fs.IntVar(&f.N, "fill", 0, "fill the database with this many cases (instead of a load run)")
	fs.StringVar(&f.DataDir, "data", os.Getenv("YICI_DATA"), "with -fill or -check-acked: the data directory of the private cluster (as yici --data; env YICI_DATA)")
	fs.StringVar(&f.DatabaseURL, "database-url", os.Getenv("DATABASE_URL"), "with -fill or -check-acked: an external database (env DATABASE_URL)")
	fs.IntVar(&f.Days, "fill-days", 730, "with -fill: the cases' dates span this many days up to now")
	fs.IntVar(&f.Wenxin, "fill-wenxin", 3000, "with -fill: of the N, open cases of the last 30 days at 文新街道's platforms")
	fs.StringVar(&f.Sample, "fill-sample", "", "with -fill: write 'tracking_no last4' of a sample of the cases here (for -track-file)")
	fs.IntVar(&f.SampleN, "fill-sample-n", 100_000, "with -fill: size of the sample")
	fs.IntVar(&f.Workers, "fill-workers", 3, "with -fill: concurrent COPY connections")
	fs.IntVar(&f.Batch, "fill-batch", 5000, "with -fill: cases per transaction")
	fs.Uint64Var(&f.Seed, "fill-seed", 12345, "with -fill: random seed")
	fs.BoolVar(&f.Analyze, "fill-analyze", true, "with -fill: ANALYZE the tables at the end")
	fs.BoolVar(&f.Vacuum, "fill-vacuum", true, "with -fill: VACUUM the tables at the end (hint bits and visibility map, as an aged database has)")
	fs.StringVar(&f.DropIndexes, "fill-drop-indexes", "auto", "with -fill: drop the secondary indexes during the load and build them after: yes, no, "+
		"or auto (yes for a million cases or more when the filler starts the cluster itself, i.e. no server uses it)")
	fs.BoolVar(&f.Reindex, "fill-reindex", false, "only build the indexes an interrupted fill left dropped")
	fs.BoolVar(&f.Fold, "fill-fold", false, "with -fill: fold the filled events into the statistics (≈30 min for 10 M cases on 2 cores); "+
		"without it they are marked folded and the statistics do not count them, so that a server started on the database is not busy folding")
}

// Fill writes fc.N cases.
func Fill(ctx context.Context, fc FillConfig, stdout, stderr io.Writer) error {
	if fc.Reindex && fc.N == 0 {
		fc.N = -1
	}
	if fc.Batch < 1 || fc.Batch > 10000 {
		return errors.New("-fill-batch must be 1…10000 (a transaction's events must stay below 65536)")
	}
	fc.Workers = max(1, fc.Workers)
	fc.Wenxin = min(fc.Wenxin, fc.N)
	cfg := app.FromEnv()
	if fc.DataDir != "" {
		cfg.DataDir = fc.DataDir
	}
	cfg.DatabaseURL = fc.DatabaseURL
	cfg.MaxConns = fc.Workers + 2
	cfg.LogLevel = "warn"
	env, err := app.Open(ctx, cfg, cfg.Logger(), true)
	if err != nil {
		return err
	}
	defer env.Close()
	db := env.Pool
	if fc.N < 0 { // -fill-reindex
		return buildIndexes(ctx, db, stderr)
	}
	drop := fc.DropIndexes == "yes" || fc.DropIndexes == "auto" && fc.N >= 1_000_000 && env.PG != nil && env.PG.Owned()
	units, err := loadUnits(ctx, db)
	if err != nil {
		return err
	}
	if len(units) == 0 {
		return errors.New("no units in the database: run `yici seed` (or `yici serve`) on it first")
	}
	f, err := newFiller(fc, units)
	if err != nil {
		return err
	}
	// Reserve N serials of the tracking-number sequence (it counts in
	// steps of 1000; servers take a block at a time): fill with no
	// submissions running.
	block := int64((fc.N + 999) / 1000 * 1000)
	var top int64
	if err := db.QueryRow(ctx, `SELECT setval('tracking_serial', nextval('tracking_serial') + $1)`, block).Scan(&top); err != nil {
		return fmt.Errorf("reserving tracking serials: %w", err)
	}
	f.serial0 = top - block

	var sample *bufio.Writer
	if fc.Sample != "" {
		sf, err := os.Create(fc.Sample)
		if err != nil {
			return err
		}
		defer sf.Close()
		sample = bufio.NewWriter(sf)
		defer sample.Flush()
		f.sample = sample
		f.sampleEvery = max(1, fc.N/max(1, fc.SampleN))
	}

	t0 := time.Now()
	if drop {
		if err := dropIndexes(ctx, db, stderr); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "filling %d cases over %d days (%d open at 文新街道 on top of the drawn ones), %d connections, %d cases a transaction\n",
		fc.N, fc.Days, fc.Wenxin, fc.Workers, fc.Batch)
	batches := make(chan [2]int)
	errc := make(chan error, fc.Workers)
	var wg sync.WaitGroup
	for w := 0; w < fc.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := db.Acquire(ctx)
			if err != nil {
				errc <- err
				return
			}
			defer conn.Release()
			f.prepare(ctx, conn.Conn(), stderr)
			for b := range batches {
				if err := f.writeBatch(ctx, conn.Conn(), b[0], b[1]); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				n := f.done.Load()
				el := time.Since(t0).Seconds()
				rate := float64(n) / el
				fmt.Fprintf(stderr, "  %6.0fs  %d cases (%.0f/s, %d events, %d assignments), ETA %.0fs\n", el, n, rate,
					f.events.Load(), f.assigns.Load(), float64(int64(fc.N)-n)/max(rate, 1))
			}
		}
	}()
	var ferr error
feed:
	for from := 0; from < fc.N; from += fc.Batch {
		select {
		case batches <- [2]int{from, min(from+fc.Batch, fc.N)}:
		case ferr = <-errc:
			break feed
		case <-ctx.Done():
			ferr = ctx.Err()
			break feed
		}
	}
	close(batches)
	wg.Wait()
	close(done)
	if ferr == nil {
		select {
		case ferr = <-errc:
		default:
		}
	}
	if ferr != nil {
		return ferr
	}
	copyTime := time.Since(t0)
	fmt.Fprintf(stderr, "copied %d cases, %d events, %d assignments, %d timers in %.0fs (%.0f cases/s)\n",
		fc.N, f.events.Load(), f.assigns.Load(), f.timers.Load(), copyTime.Seconds(), float64(fc.N)/copyTime.Seconds())
	// Indexes left by an interrupted fill are built too.
	t := time.Now()
	if err := buildIndexes(ctx, db, stderr); err != nil {
		return fmt.Errorf("building the indexes again (run -fill-reindex to finish): %w", err)
	}
	if drop {
		fmt.Fprintf(stderr, "indexes built in %.0fs\n", time.Since(t).Seconds())
	}
	for _, step := range []struct {
		on  bool
		sql string
	}{{fc.Vacuum, "VACUUM"}, {fc.Analyze && !fc.Vacuum, "ANALYZE"}, {fc.Vacuum && fc.Analyze, "ANALYZE"}} {
		if !step.on {
			continue
		}
		t := time.Now()
		for _, table := range []string{"cases", "assignments", "case_events", "case_timers"} {
			if _, err := db.Exec(ctx, step.sql+" "+table); err != nil {
				return fmt.Errorf("%s %s: %w", step.sql, table, err)
			}
		}
		fmt.Fprintf(stderr, "%s in %.0fs\n", step.sql, time.Since(t).Seconds())
	}
	if err := foldOrSkip(ctx, db, fc.Fold, stderr); err != nil {
		return err
	}
	var size string
	_ = db.QueryRow(ctx, `SELECT pg_size_pretty(pg_database_size(current_database()))`).Scan(&size)
	fmt.Fprintf(stdout, "filled %d cases in %.0fs (copy %.0fs); database size %s\n", fc.N, time.Since(t0).Seconds(), copyTime.Seconds(), size)
	return nil
}

func loadUnits(ctx context.Context, db *pgxpool.Pool) (map[string]string, error) {
	rows, err := db.Query(ctx, `SELECT id, name FROM units WHERE active`)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

type filler struct {
	fc      FillConfig
	geo     *geo
	tax     *taxonomy.Taxonomy
	cal     *workcal.Calendar
	units   map[string]string
	pols    sync.Map // kind|class|urgency → policy JSON and policy
	serial0 int64
	now     time.Time
	start   time.Time
	step    time.Duration

	// topics whose lead is a township platform of 文新 (ZF, ZZ).
	wenxinTopics []int

	sampleMu    sync.Mutex
	sample      *bufio.Writer
	sampleEvery int

	done, events, assigns, timers atomic.Int64
}

func newFiller(fc FillConfig, units map[string]string) (*filler, error) {
	g, err := newGeo(territory.Zhejiang())
	if err != nil {
		return nil, err
	}
	f := &filler{fc: fc, geo: g, tax: taxonomy.Default(), cal: workcal.Default(), units: units, now: time.Now()}
	f.start = f.now.Add(-time.Duration(fc.Days) * 24 * time.Hour)
	normal := max(1, fc.N-fc.Wenxin)
	f.step = f.now.Sub(f.start) / time.Duration(normal)
	for i, t := range topics {
		if c := f.tax.Category(t.cat); c != nil && (c.Lead == "ZF" || c.Lead == "ZZ") {
			f.wenxinTopics = append(f.wenxinTopics, i)
		}
	}
	if len(f.wenxinTopics) == 0 {
		return nil, errors.New("no topic is led by a township platform")
	}
	return f, nil
}

// prepare sets the session up for bulk loading: commits need not wait for
// the disk (the data is re-creatable; the last commit is flushed by the
// VACUUM/ANALYZE after), and as superuser the foreign-key triggers are
// skipped (the filler writes consistent rows).
func (f *filler) prepare(ctx context.Context, conn *pgx.Conn, stderr io.Writer) {
	conn.Exec(ctx, `SET synchronous_commit = off`)
	if _, err := conn.Exec(ctx, `SET session_replication_role = replica`); err != nil {
		fmt.Fprintf(stderr, "  (not superuser: foreign keys are checked row by row: %v)\n", err)
	}
}

// Column lists of the COPYs.
var (
	caseCopyCols = []string{"id", "tracking_no", "county_code", "city_code", "township_code", "kind", "category", "title", "content",
		"address", "lat", "lon", "urgency", "citizen_name", "citizen_phone", "phone_last4", "anonymous", "confidential", "channel",
		"channel_ref", "reporter", "state", "resume_state", "policy", "dispatch_round", "dispatched_at", "sign_due", "due_at",
		"return_until", "suspended_at", "reply", "satisfaction", "solved", "rated_at", "version", "created_at", "updated_at", "closed_at"}
	eventCopyCols = []string{"case_id", "county_code", "seq", "at", "action", "actor_name", "actor_role", "actor_unit",
		"from_state", "to_state", "reason", "public", "data"}
	assignCopyCols = []string{"id", "case_id", "county_code", "unit_id", "role", "round", "state", "dispatched_at", "signed_at",
		"replied_at", "reply"}
	timerCopyCols = []string{"case_id", "county_code", "kind", "fire_at", "fired_at"}
)

// writeBatch generates cases [from, to) and COPYs them in one transaction.
func (f *filler) writeBatch(ctx context.Context, conn *pgx.Conn, from, to int) error {
	r := rand.New(rand.NewPCG(f.fc.Seed, uint64(from)))
	ge := newGen(f.geo, f.fc.Seed^uint64(from)*0x9e3779b97f4a7c15, 0)
	ge.r = r
	var cs, evs, as, ts [][]any
	for i := from; i < to; i++ {
		c := f.makeCase(r, ge, i)
		cs = append(cs, c.row)
		evs = append(evs, c.events...)
		as = append(as, c.assigns...)
		ts = append(ts, c.timers...)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, cp := range []struct {
		table string
		cols  []string
		rows  [][]any
	}{{"cases", caseCopyCols, cs}, {"assignments", assignCopyCols, as}, {"case_events", eventCopyCols, evs}, {"case_timers", timerCopyCols, ts}} {
		if len(cp.rows) == 0 {
			continue
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{cp.table}, cp.cols, pgx.CopyFromRows(cp.rows)); err != nil {
			return fmt.Errorf("copy %s: %w", cp.table, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	f.done.Add(int64(to - from))
	f.events.Add(int64(len(evs)))
	f.assigns.Add(int64(len(as)))
	f.timers.Add(int64(len(ts)))
	return nil
}

// genCase is one case's rows.
type genCase struct {
	row                     []any
	events, assigns, timers [][]any
}

// uuidV7 makes a UUIDv7 of time t (the server's ids are v7 too), as the
// driver's own UUID type (a uuid.UUID would be encoded through its text
// form: a third of the filler's CPU).
func uuidV7(t time.Time, r *rand.Rand) pgtype.UUID {
	var u [16]byte
	ms := uint64(t.UnixMilli())
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], ms)
	copy(u[0:6], b[2:8])
	binary.LittleEndian.PutUint64(u[6:14], r.Uint64())
	x := r.Uint32()
	u[14], u[15] = byte(x), byte(x>>8)
	u[6] = 0x70 | u[6]&0x0f
	u[8] = 0x80 | u[8]&0x3f
	return pgtype.UUID{Bytes: u, Valid: true}
}

type polEntry struct {
	pol  cases.Policy
	json []byte
}

func (f *filler) policy(kind, class, urg string) polEntry {
	key := kind + "|" + class + "|" + urg
	if v, ok := f.pols.Load(key); ok {
		return v.(polEntry)
	}
	p := cases.DefaultPolicies().Resolve(cases.Kind(kind), class, cases.Urgency(urg), "")
	b, _ := json.Marshal(p)
	e := polEntry{p, b}
	f.pols.Store(key, e)
	return e
}

var (
	channelCum = []struct {
		ch  string
		cum int
	}{{"phone", 50}, {"app", 70}, {"web", 82}, {"grid", 90}, {"kiosk", 93}, {"console", 98}, {"open311", 100}}
	openStates = []struct {
		st  string
		cum int
	}{{"pending_dispatch", 5}, {"pending_sign", 17}, {"in_progress", 70}, {"return_requested", 72}, {"suspended", 75}, {"pending_review", 86}, {"pending_callback", 100}}
	officerNames = []string{"赵磊", "孙丽", "钱峰", "吴刚", "郑洁", "冯涛", "周勇", "陈静", "林涛", "黄敏"}
	agentNames   = []string{"王晓燕", "李建国", "周敏", "张丽华", "刘洋", "陈晨"}
	replies      = []string{"经现场核实，已责令当事人整改完毕。", "已联系相关单位处理，问题已解决。", "已安排维修人员到场修复。",
		"经调解双方已达成一致。", "已依法立案查处，后续将加强巡查。", "已向来电人解释相关政策，来电人表示理解。"}
	answers = []string{"已告知办理流程及所需材料。", "已解释相关政策规定，来电人表示理解。", "已告知可通过浙里办线上办理。", "已提供相关部门联系电话。"}
)

func pickCum[T any](r *rand.Rand, items []T, cum func(T) int) T {
	n := r.IntN(cum(items[len(items)-1]))
	for _, it := range items {
		if n < cum(it) {
			return it
		}
	}
	return items[len(items)-1]
}

func tp(t time.Time) *time.Time { return &t }

// makeCase draws case i with its events, assignments and timers.
func (f *filler) makeCase(r *rand.Rand, ge *gen, i int) genCase {
	wenxin := i >= f.fc.N-f.fc.Wenxin
	var created time.Time
	var rq request
	if wenxin {
		created = f.now.Add(-time.Duration(r.Int64N(int64(30 * 24 * time.Hour))))
		t := &topics[f.wenxinTopics[r.IntN(len(f.wenxinTopics))]]
		ge.wenxin = 1
		rq = ge.requestOf(t)
		ge.wenxin = 0
	} else {
		created = f.start.Add(time.Duration(i)*f.step + time.Duration(r.Int64N(int64(max(f.step, 1)))))
		rq = ge.request()
	}
	cat := f.tax.Category(rq.Cat)
	kind := rq.Kind
	if r.IntN(5) == 0 { // the agent or the person chose another kind
		kind = []string{"咨询", "求助", "投诉", "举报", "建议"}[r.IntN(5)]
	}
	urg := "normal"
	switch n := r.IntN(100); {
	case n < 1:
		urg = "emergency"
	case n < 7:
		urg = "urgent"
	}
	ch := pickCum(r, channelCum, func(x struct {
		ch  string
		cum int
	}) int {
		return x.cum
	}).ch
	p := rq.Place
	serial := f.serial0 + int64(i)
	no := cases.TrackingNoFrom(created, serial)
	id := uuidV7(created, r)
	pol := f.policy(kind, cat.SLAClass, urg)
	phone := rq.Phone
	last4 := phone[len(phone)-4:]
	reporter := ""
	switch ch {
	case "app":
		reporter = "app:fill:" + phone
	case "grid":
		reporter = "grid:fill"
	}
	var lat, lon *float64
	if rq.HasGeo && (ch == "app" || ch == "grid") {
		lat, lon = &rq.Lat, &rq.Lon
	}
	if f.sample != nil && i%f.sampleEvery == 0 {
		f.sampleMu.Lock()
		fmt.Fprintf(f.sample, "%s %s\n", no, last4)
		f.sampleMu.Unlock()
	}

	// State: answered at first contact, else dispatched and, with a
	// probability growing with age, archived.
	age := f.now.Sub(created)
	ageDays := age.Hours() / 24
	state := ""
	answered := r.Float64() < map[bool]float64{true: 0.7, false: 0.22}[kind == "咨询"]
	switch {
	case wenxin:
		state = []string{"pending_sign", "in_progress", "in_progress", "in_progress", "return_requested", "suspended", "pending_review"}[r.IntN(7)]
		if ageDays > 3 && state == "pending_sign" {
			state = "in_progress"
		}
	case answered:
		state = "answered"
	case r.Float64() < min(0.995, ageDays/21):
		state = "archived"
	default:
		state = pickCum(r, openStates, func(x struct {
			st  string
			cum int
		}) int {
			return x.cum
		}).st
		if state == "pending_sign" && ageDays > 2 {
			state = "in_progress"
		}
	}

	gc := genCase{}
	seq := int32(0)
	county := p.County
	ev := func(at time.Time, action, actorName, actorRole, actorUnit, from, to, reason string, public bool, data string) {
		seq++
		gc.events = append(gc.events, []any{id, county, seq, at, action, actorName, actorRole, actorUnit, from, to, reason, public, []byte(data)})
	}
	regActor, regRole := "市民", "citizen"
	switch ch {
	case "phone", "console":
		regActor, regRole = agentNames[r.IntN(len(agentNames))], "agent"
	case "grid":
		regActor, regRole = "网格员", "grid"
	}
	ev(created, "register", regActor, regRole, "", "", "registered", "", true,
		`{"channel":"`+ch+`","kind":"`+kind+`","category":"`+rq.Cat+`","township":"`+p.Township+`","county":"`+county+`"}`)

	var round int32
	var dispatched, signDue, dueAt, returnUntil, suspendedAt, ratedAt, closed *time.Time
	var solved *bool
	reply, satisfaction, resume := "", "", ""
	updated := created
	// clamp keeps a later step in the past.
	clamp := func(t time.Time) time.Time {
		if t.After(f.now) {
			return f.now.Add(-time.Duration(r.IntN(600)) * time.Second)
		}
		return t
	}
	switch state {
	case "answered":
		at := clamp(created.Add(time.Duration(2+r.IntN(10)) * time.Minute))
		reply = answers[r.IntN(len(answers))]
		ev(at, "answer", agentNames[r.IntN(len(agentNames))], "agent", "", "registered", "answered", reply, true, `{}`)
		closed, updated = &at, at
	case "pending_dispatch":
		at := clamp(created.Add(time.Second))
		ev(at, "submit", "待人工派单", "system", "", "registered", "pending_dispatch", "待人工派单", false, `{}`)
		updated = at
	default:
		// Dispatch: at once by the router on unattended channels, within
		// the hour by a dispatcher for calls.
		at := created.Add(time.Second)
		actor, role := "自动派单", "system"
		if ch == "phone" || ch == "console" {
			at = created.Add(time.Duration(5+r.IntN(55)) * time.Minute)
			actor, role = "李建国", "dispatcher"
		}
		at = clamp(at)
		lead := f.unit(cat.Lead, p)
		co := ""
		if len(cat.Co) > 0 && r.IntN(4) == 0 {
			if u := f.unit(cat.Co[0], p); u != lead {
				co = u
			}
		}
		round, dispatched = 1, &at
		exact := state != "archived"
		if exact {
			signDue, dueAt, returnUntil = tp(f.cal.Deadline(at, pol.pol.Sign)), tp(f.cal.Deadline(at, pol.pol.Resolve)), tp(f.cal.Deadline(at, pol.pol.Return))
		} else {
			signDue, dueAt, returnUntil = tp(at.Add(2*time.Hour)), tp(at.Add(spanApprox(pol.pol.Resolve))), tp(at.Add(2*24*time.Hour))
		}
		coJSON := "[]"
		if co != "" {
			coJSON = `["` + co + `"]`
		}
		ev(at, "dispatch", actor, role, "", "registered", "pending_sign", "主办："+f.units[lead], true,
			`{"lead":"`+lead+`","co":`+coJSON+`,"round":1,"category":"`+rq.Cat+`","township":"`+p.Township+`","county":"`+county+`"}`)
		updated = at
		officer := officerNames[r.IntN(len(officerNames))]
		leadState, coState := "pending_sign", "pending_sign"
		var signed, replied *time.Time
		leadReply := ""
		if state != "pending_sign" {
			st := clamp(at.Add(time.Duration(10+r.IntN(110)) * time.Minute))
			signed = &st
			ev(st, "sign", officer, "officer", lead, "pending_sign", "in_progress", "", true, `{"unit":"`+lead+`","role":"lead"}`)
			updated, leadState = st, "signed"
			if co != "" {
				coState = "signed"
			}
		}
		switch state {
		case "return_requested":
			rt := clamp(updated.Add(time.Duration(1+r.IntN(20)) * time.Hour))
			ev(rt, "request_return", officer, "officer", lead, "in_progress", "return_requested", "不属于本单位职责范围", false, `{"unit":"`+lead+`"}`)
			updated, leadState, resume = rt, "return_requested", "in_progress"
		case "suspended":
			sp := clamp(updated.Add(time.Duration(1+r.IntN(48)) * time.Hour))
			ev(sp, "suspend", "李建国", "dispatcher", "", "in_progress", "suspended", "等待相关部门鉴定结果", false, `{}`)
			updated, suspendedAt, resume = sp, &sp, "in_progress"
		case "pending_review", "pending_callback", "archived":
			work := time.Duration(float64(spanApprox(pol.pol.Resolve)) * (0.2 + 0.7*r.Float64()))
			rp := clamp(updated.Add(work))
			leadReply = replies[r.IntN(len(replies))]
			reply = leadReply
			ev(rp, "reply", officer, "officer", lead, "in_progress", "pending_review", leadReply, true, `{"unit":"`+lead+`","role":"lead"}`)
			replied, updated, leadState = &rp, rp, "replied"
			if state != "pending_review" {
				ap := clamp(rp.Add(time.Duration(1+r.IntN(20)) * time.Hour))
				ev(ap, "approve_review", "李建国", "dispatcher", "", "pending_review", "pending_callback", "", false, `{}`)
				updated, leadState, coState = ap, "closed", "closed"
				if state == "archived" {
					cb := clamp(ap.Add(time.Duration(2+r.IntN(40)) * time.Hour))
					satisfaction = []string{"satisfied", "satisfied", "satisfied", "satisfied", "satisfied", "satisfied", "satisfied", "basic", "basic", "dissatisfied"}[r.IntN(10)]
					ok := satisfaction != "dissatisfied" || r.IntN(2) == 0
					solved, ratedAt, closed = &ok, &cb, &cb
					ev(cb, "callback", agentNames[r.IntN(len(agentNames))], "agent", "", "pending_callback", "archived", "", false,
						`{"satisfaction":"`+satisfaction+`","solved":`+strconv.FormatBool(ok)+`}`)
					updated = cb
				}
			}
		}
		aid := uuidV7(at, r)
		gc.assigns = append(gc.assigns, []any{aid, id, county, lead, "lead", int32(1), leadState, at, signed, replied, leadReply})
		if co != "" {
			gc.assigns = append(gc.assigns, []any{uuidV7(at, r), id, county, co, "co", int32(1), coState, at, signed, nil, ""})
		}
		// Timers of the running clocks (fired when already past).
		if state == "pending_sign" || state == "in_progress" || state == "return_requested" {
			township := len(lead) > 10 && lead[9] == '-'
			add := func(kind string, at time.Time) {
				var fired *time.Time
				if !at.After(f.now) {
					fired = &at
				}
				gc.timers = append(gc.timers, []any{id, county, kind, at, fired})
			}
			if state == "pending_sign" {
				add(cases.TimerSignWarn, at.Add(signDue.Sub(at)*8/10))
				add(cases.TimerSignDue, *signDue)
				if township && pol.pol.SignGrace.N > 0 {
					add(cases.TimerSignEscalate, f.cal.Deadline(*signDue, pol.pol.SignGrace))
				}
			}
			add(cases.TimerResolveWarn, at.Add(dueAt.Sub(at)*8/10))
			add(cases.TimerResolveDue, *dueAt)
			if township && pol.pol.ResolveGrace.N > 0 {
				add(cases.TimerResolveEscalate, f.cal.Deadline(*dueAt, pol.pol.ResolveGrace))
			}
		}
	}
	var cityCode = p.City
	gc.row = []any{id, no, county, cityCode, p.Township, kind, rq.Cat, cases.TitleOf(rq.Content), rq.Content, rq.Address, lat, lon,
		urg, rq.Name, phone, last4, false, kind == "举报", ch, "fill-" + strconv.FormatInt(serial, 10), reporter, state, resume, pol.json,
		round, dispatched, signDue, dueAt, returnUntil, suspendedAt, reply, satisfaction, solved, ratedAt, seq, created, updated, closed}
	return gc
}

// spanApprox is a span in wall time, roughly (a working day is 1.4 days).
func spanApprox(s workcal.Span) time.Duration {
	switch s.Unit {
	case workcal.WorkingDays:
		return time.Duration(s.N) * 34 * time.Hour
	case workcal.WorkingHours:
		return time.Duration(s.N) * 3 * time.Hour
	}
	return time.Duration(s.N) * time.Hour
}

// unit resolves a unit type at the place, as the default matrix does,
// falling back to the county's 社会治理中心 and the city's hotline centre.
func (f *filler) unit(unitType string, p place) string {
	for _, id := range []string{f.tax.DefaultUnitID(unitType, p.Township, p.County), p.County + "-SHZL", p.City + "-HC"} {
		if _, ok := f.units[id]; ok {
			return id
		}
	}
	return "HC"
}

// foldOrSkip folds the events written so far into the statistics, or moves
// the fold's watermark past them.
func foldOrSkip(ctx context.Context, db *pgxpool.Pool, fold bool, stderr io.Writer) error {
	t := time.Now()
	if fold {
		n, err := stats.New(db, nil, stats.Options{}).Fold(ctx)
		if err != nil {
			return fmt.Errorf("folding the statistics: %w", err)
		}
		fmt.Fprintf(stderr, "folded %d events into the statistics in %.0fs\n", n, time.Since(t).Seconds())
		return nil
	}
	n, err := stats.MarkFolded(ctx, db)
	if err != nil {
		return fmt.Errorf("moving the statistics watermark: %w", err)
	}
	fmt.Fprintf(stderr, "%d events marked folded: the statistics do not count them (-fill-fold to fold them)\n", n)
	return nil
}
