package stats_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/internal/pgtest"
	"yici/internal/workcal"
	"yici/router/routertest"
	"yici/stats"
)

// snapshot reads every rollup row, in order.
func snapshot(t *testing.T, db *pgxpool.Pool) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	for _, q := range []string{
		`SELECT concat_ws('|', period, grain, day, county_code, township_code, unit_id, category, registered, answered, dispatched, sign_due, signed,
			signed_ontime, sign_secs, replied, replied_ontime, reply_secs, returned, resolved, redone, escalated, urged, rated, satisfied,
			basic, dissatisfied, unreachable, solved) FROM stats_rollup ORDER BY period, grain, day, county_code, township_code, unit_id, category`,
		`SELECT concat_ws('|', day, name, label, n) FROM stats_counts ORDER BY day, name, label`,
	} {
		rows, err := db.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		s, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s...)
	}
	return out
}

// The generated trail: the generator writes cases the state machine could
// have written (the trail replays to the stored rows); the rollup job is
// incremental and idempotent (folding in many batches, again with nothing
// new, after new events, and from two nodes at once gives what one fold of
// the whole trail gives); and the rollups agree with the same counts
// computed directly in SQL from case_events.
func TestGeneratedTrail(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Pool(t, routertest.Zhejiang)
	month := time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai)
	cutoff := time.Date(2026, 11, 3, 12, 0, 0, 0, shanghai) // some cases still open, a few overdue
	res, err := stats.Generate(ctx, db, 1200, month, stats.GenOptions{Seed: 7, Chunk: 400, Cutoff: cutoff})
	if err != nil {
		t.Fatal(err)
	}
	if res.Cases != 1200 || res.Events < 4*res.Cases {
		t.Fatalf("generated %+v", res)
	}
	checkGenerated(t, db, cutoff)

	svc := stats.New(db, nil, stats.Options{BatchSize: 997})
	n, err := svc.Fold(ctx)
	if err != nil || int64(n) != res.Events {
		t.Fatalf("first fold: %d of %d events, %v", n, res.Events, err)
	}
	if n, err := svc.Fold(ctx); err != nil || n != 0 {
		t.Fatalf("second fold: %d, %v", n, err)
	}
	// More events, folded by two nodes at once.
	more, err := stats.Generate(ctx, db, 500, month, stats.GenOptions{Seed: 8, Chunk: 250, Cutoff: cutoff})
	if err != nil {
		t.Fatal(err)
	}
	other := stats.New(db, nil, stats.Options{BatchSize: 113})
	var wg sync.WaitGroup
	var folded [2]int
	var errs [2]error
	for i, s := range []*stats.Service{svc, other} {
		wg.Add(1)
		go func() { defer wg.Done(); folded[i], errs[i] = s.Fold(ctx) }()
	}
	wg.Wait()
	for {
		// A node that found the other folding skipped its turn; the next turn finishes.
		n, err := svc.Fold(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		folded[0] += n
	}
	if errs[0] != nil || errs[1] != nil || int64(folded[0]+folded[1]) != more.Events {
		t.Fatalf("concurrent folds: %v of %d events, %v %v", folded, more.Events, errs[0], errs[1])
	}
	incremental := snapshot(t, db)
	checkAgainstSQL(t, db, svc)

	total, err := svc.Rebuild(ctx)
	if err != nil || int64(total) != res.Events+more.Events {
		t.Fatalf("rebuild folded %d of %d: %v", total, res.Events+more.Events, err)
	}
	if full := snapshot(t, db); !reflect.DeepEqual(incremental, full) {
		t.Fatalf("incremental and full folds differ: %d and %d rows", len(incremental), len(full))
	}

	// The benchmark's questions answer (the numbers are for docs/bench-stats.md).
	ts, err := svc.Timings(ctx, stats.Filter{From: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC)}, 1)
	if err != nil || len(ts) < 8 {
		t.Fatalf("timings: %v, %v", ts, err)
	}
	for _, x := range ts {
		if x.Rows == 0 {
			t.Errorf("%s: no rows", x.Name)
		}
	}

	checkMetrics(t, db, 1700)
}

// checkGenerated replays a sample of generated cases and checks the rows'
// consistency.
func checkGenerated(t *testing.T, db *pgxpool.Pool, cutoff time.Time) {
	ctx := context.Background()
	var bad, after int
	if err := db.QueryRow(ctx, `SELECT count(*) FILTER (WHERE c.version <> (SELECT count(*) FROM case_events e WHERE e.case_id = c.id)),
		(SELECT count(*) FROM case_events WHERE at > $1) FROM cases c`, cutoff).Scan(&bad, &after); err != nil {
		t.Fatal(err)
	}
	if bad != 0 || after != 0 {
		t.Errorf("%d cases whose version is not their number of events; %d events after the cutoff", bad, after)
	}
	var states []string
	rows, _ := db.Query(ctx, `SELECT DISTINCT state FROM cases ORDER BY 1`)
	states, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(states, ","), "archived") || !strings.Contains(strings.Join(states, ","), "answered") || len(states) < 4 {
		t.Errorf("states: %v", states)
	}
	st := cases.NewStore(db, cases.Options{})
	rows, _ = db.Query(ctx, `SELECT id FROM cases ORDER BY tracking_no LIMIT 300`)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		c, err := st.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		evs, err := st.Events(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cases.Replay(evs)
		if err != nil {
			t.Fatalf("case %s: %v", c.TrackingNo, err)
		}
		if want := cases.Snapshot(c); !reflect.DeepEqual(got, want) {
			t.Fatalf("case %s rebuilt from %d events:\n%+v\nstored:\n%+v", c.TrackingNo, len(evs), got, want)
		}
	}
}

// directSQL computes counters per day straight from the trail, in SQL,
// independently of the fold: the event counters on the event's day, the
// sign-for counters on the day of the round's sign-for deadline.
const directSQL = `
WITH ev AS (SELECT e.*, (e.at AT TIME ZONE 'Asia/Shanghai')::date AS d FROM case_events e),
rounds AS (
    SELECT e.id, e.action, e.at, e.data, x.seq AS xseq, x.at AS xat, x.data AS xdata
    FROM case_events e
    CROSS JOIN LATERAL (SELECT d.seq, d.at, d.data FROM case_events d WHERE d.case_id = e.case_id AND d.seq < e.seq
                        AND d.action IN ('dispatch','redo','escalate') ORDER BY d.seq DESC LIMIT 1) x
    WHERE e.action = 'sign' AND e.data->>'role' = 'lead'
       OR e.action = 'approve_return' AND NOT EXISTS (SELECT 1 FROM case_events s WHERE s.case_id = e.case_id AND s.seq > x.seq
                        AND s.seq < e.seq AND s.action = 'sign' AND s.data->>'role' = 'lead')),
per_event AS (
    SELECT d,
        count(*) FILTER (WHERE action = 'register') AS registered,
        count(*) FILTER (WHERE action = 'answer') AS answered,
        count(*) FILTER (WHERE action IN ('dispatch','redo','escalate')) AS dispatched,
        count(*) FILTER (WHERE action = 'reply' AND data->>'role' = 'lead') AS replied,
        count(*) FILTER (WHERE action = 'reply' AND data->>'role' = 'lead' AND data->>'late' = 'false') AS replied_ontime,
        count(*) FILTER (WHERE action = 'approve_return') AS returned,
        count(*) FILTER (WHERE action = 'approve_review') AS resolved,
        count(*) FILTER (WHERE action = 'redo') AS redone,
        count(*) FILTER (WHERE action = 'escalate') AS escalated,
        count(*) FILTER (WHERE action = 'urge') AS urged,
        count(*) FILTER (WHERE action = 'callback' AND data->>'satisfaction' <> 'unreachable') AS rated,
        count(*) FILTER (WHERE action = 'callback' AND data->>'satisfaction' = 'satisfied') AS satisfied,
        count(*) FILTER (WHERE action = 'callback' AND data->>'satisfaction' = 'basic') AS basic,
        count(*) FILTER (WHERE action = 'callback' AND data->>'satisfaction' = 'dissatisfied') AS dissatisfied,
        count(*) FILTER (WHERE action = 'callback' AND data->>'satisfaction' = 'unreachable') AS unreachable,
        count(*) FILTER (WHERE action = 'callback' AND data->>'satisfaction' <> 'unreachable' AND (data->>'solved' = 'true'
            OR data->>'solved' IS NULL AND data->>'satisfaction' <> 'dissatisfied')) AS solved
    FROM ev GROUP BY d),
due AS (
    SELECT d, sum(n) AS sign_due FROM (
        SELECT ((data->>'sign_due')::timestamptz AT TIME ZONE 'Asia/Shanghai')::date AS d, 1 AS n FROM case_events WHERE action IN ('dispatch','redo','escalate')
        UNION ALL
        SELECT ((xdata->>'sign_due')::timestamptz AT TIME ZONE 'Asia/Shanghai')::date, -1 FROM rounds WHERE action = 'approve_return') u GROUP BY d),
signs AS (
    SELECT ((xdata->>'sign_due')::timestamptz AT TIME ZONE 'Asia/Shanghai')::date AS d, count(*) AS signed,
        count(*) FILTER (WHERE data->>'late' = 'false') AS signed_ontime
    FROM rounds WHERE action = 'sign' GROUP BY 1)
SELECT concat_ws('|', dd, coalesce(registered, 0), coalesce(answered, 0), coalesce(dispatched, 0), coalesce(sign_due, 0), coalesce(signed, 0),
    coalesce(signed_ontime, 0), coalesce(replied, 0), coalesce(replied_ontime, 0), coalesce(returned, 0), coalesce(resolved, 0),
    coalesce(redone, 0), coalesce(escalated, 0), coalesce(urged, 0), coalesce(rated, 0), coalesce(satisfied, 0), coalesce(basic, 0),
    coalesce(dissatisfied, 0), coalesce(unreachable, 0), coalesce(solved, 0))
FROM (SELECT d AS dd FROM per_event UNION SELECT d FROM due UNION SELECT d FROM signs) days
LEFT JOIN per_event p ON p.d = dd LEFT JOIN due ON due.d = dd LEFT JOIN signs s ON s.d = dd
ORDER BY dd`

func checkAgainstSQL(t *testing.T, db *pgxpool.Pool, svc *stats.Service) {
	ctx := context.Background()
	rows, err := db.Query(ctx, directSQL)
	if err != nil {
		t.Fatal(err)
	}
	all, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var want []string // days where something counts (a round due and taken back nets 0)
	for _, w := range all {
		if strings.Trim(strings.Join(strings.Split(w, "|")[1:], ""), "0") != "" {
			want = append(want, w)
		}
	}
	first, _ := time.Parse(time.DateOnly, strings.SplitN(want[0], "|", 2)[0])
	last, _ := time.Parse(time.DateOnly, strings.SplitN(want[len(want)-1], "|", 2)[0])
	pts, err := svc.Trend(ctx, "day", stats.Filter{From: first, To: last})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pts {
		vals := []string{p.Period}
		for _, k := range []string{"registered", "answered", "dispatched", "sign_due", "signed", "signed_ontime", "replied", "replied_ontime",
			"returned", "resolved", "redone", "escalated", "urged", "rated", "satisfied", "basic", "dissatisfied", "unreachable", "solved"} {
			vals = append(vals, fmt.Sprint(p.Counts.Get(k)))
		}
		if strings.Trim(strings.Join(vals[1:], ""), "0") != "" {
			got = append(got, strings.Join(vals, "|"))
		}
	}
	if !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("day %d:\nrollup %s\nSQL    %s", i, got[i], want[i])
			}
		}
		t.Fatalf("rollup and direct SQL differ (%d and %d days)", len(got), len(want))
	}
	// Every grain sums to the same totals.
	f := stats.Filter{From: first, To: last}
	var totals []stats.Counts
	for _, by := range []string{stats.ByUnit, stats.ByTownship, stats.ByCounty, stats.ByCategory} {
		tb, err := svc.Table(ctx, by, f)
		if err != nil {
			t.Fatal(err)
		}
		var sum stats.Counts
		for _, r := range tb.Rows {
			for i := range sum {
				sum[i] += r.Counts[i]
			}
		}
		if by != stats.ByUnit && sum != tb.Total.Counts {
			t.Errorf("by %s: rows sum to %v, total %v", by, sum, tb.Total.Counts)
		}
		totals = append(totals, tb.Total.Counts)
	}
	for i := 1; i < len(totals); i++ {
		if totals[i] != totals[0] {
			t.Errorf("grain totals differ: %v and %v", totals[0], totals[i])
		}
	}
	// Working hours: the sum over lead sign-fors of workcal's working time
	// from the round's dispatch.
	rows, err = db.Query(ctx, `SELECT x.at, e.at FROM case_events e
		CROSS JOIN LATERAL (SELECT d.at FROM case_events d WHERE d.case_id = e.case_id AND d.seq < e.seq
		                    AND d.action IN ('dispatch','redo','escalate') ORDER BY d.seq DESC LIMIT 1) x
		WHERE e.action = 'sign' AND e.data->>'role' = 'lead'`)
	if err != nil {
		t.Fatal(err)
	}
	var secs int64
	var a, b time.Time
	cal := workcal.Default()
	if _, err := pgx.ForEachRow(rows, []any{&a, &b}, func() error { secs += int64(cal.WorkingBetween(a, b) / time.Second); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := totals[0].Get("sign_secs"); got != secs || secs == 0 {
		t.Errorf("sign_secs %d, workcal says %d", got, secs)
	}
}

// checkMetrics reads /metrics and checks its syntax line by line.
func checkMetrics(t *testing.T, db *pgxpool.Pool, created int) {
	hub := fakeHub{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	m := stats.NewMetrics(stats.MetricsOptions{DB: db, Hub: hub, Mux: mux})
	m.Routes(mux)
	// Like the session middleware, hand the mux a copy of the request.
	copying := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mux.ServeHTTP(w, r.WithContext(r.Context())) })
	srv := httptest.NewServer(m.Middleware(copying))
	defer srv.Close()
	for _, p := range []string{"/things/1", "/things/2", "/nothing"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	body := scrape(t, srv.URL, nil, 200)
	checkExposition(t, body)
	for _, want := range []string{
		`yici_http_request_duration_seconds_count{method="GET",route="/things/{id}",code="2xx"} 2`,
		`yici_http_request_duration_seconds_count{method="GET",route="unmatched",code="4xx"} 1`,
		`yici_ws_connections 3`, `yici_ws_lagged_total 1`,
		`# TYPE yici_cases_created_total counter`, `yici_cases_created_total{channel="phone"} `,
		`yici_case_events_total{action="register"} ` + fmt.Sprint(created),
		`yici_deadlines_fired_total{action="deadline_overdue"} `,
		`yici_db_pool_connections{state="idle"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	sum := 0
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "yici_cases_created_total{") {
			var n int
			fmt.Sscan(l[strings.LastIndexByte(l, ' ')+1:], &n)
			sum += n
		}
	}
	if sum != created {
		t.Errorf("cases created by channel sum to %d, want %d", sum, created)
	}
	// Not from behind a proxy; with a token, only with the token.
	scrape(t, srv.URL, http.Header{"X-Forwarded-For": {"203.0.113.9"}}, 403)
	tm := stats.NewMetrics(stats.MetricsOptions{DB: db, Token: "s3cret"})
	tsrv := httptest.NewServer(tm)
	defer tsrv.Close()
	scrape(t, tsrv.URL, nil, 401)
	scrape(t, tsrv.URL, http.Header{"Authorization": {"Bearer wrong"}}, 401)
	checkExposition(t, scrape(t, tsrv.URL, http.Header{"Authorization": {"Bearer s3cret"}}, 200))
}

type fakeHub struct{}

func (fakeHub) Stats() (int, int64, int64, int64) { return 3, 100, 2, 1 }

func scrape(t *testing.T, base string, h http.Header, want int) string {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != want {
		t.Fatalf("metrics %v: %d, want %d", h, resp.StatusCode, want)
	}
	if want == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Errorf("content type %q", resp.Header.Get("Content-Type"))
	}
	return b.String()
}

// MarkFolded skips what is there (counted, never folded) and leaves later
// events to the fold.
func TestMarkFolded(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Pool(t, routertest.Zhejiang)
	month := time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai)
	cutoff := time.Date(2026, 11, 3, 12, 0, 0, 0, shanghai)
	res, err := stats.Generate(ctx, db, 200, month, stats.GenOptions{Seed: 3, Chunk: 100, Cutoff: cutoff})
	if err != nil {
		t.Fatal(err)
	}
	skipped, err := stats.MarkFolded(ctx, db)
	if err != nil || skipped != res.Events {
		t.Fatalf("skipped %d of %d events: %v", skipped, res.Events, err)
	}
	svc := stats.New(db, nil, stats.Options{})
	if n, err := svc.Fold(ctx); err != nil || n != 0 {
		t.Fatalf("fold after MarkFolded: %d, %v", n, err)
	}
	more, err := stats.Generate(ctx, db, 50, month, stats.GenOptions{Seed: 4, Chunk: 50, Cutoff: cutoff})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := svc.Fold(ctx); err != nil || int64(n) != more.Events {
		t.Fatalf("fold of the later events: %d of %d, %v", n, more.Events, err)
	}
	var rows int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM stats_rollup`).Scan(&rows); err != nil || rows == 0 {
		t.Fatalf("rollups after the later fold: %d rows, %v", rows, err)
	}
}
