package duplicates_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/cases/duplicates"
	"yici/internal/auth"
	"yici/internal/clock"
	"yici/internal/pgtest"
)

// The benchmark's city: YICI_DUP_BENCH_CASES cases (default 300 000) over
// the last 60 days in 60 townships × 40 categories, skewed (the township
// and category of a case are drawn as ⌊n·u²⌋, so the busiest pair gets
// about 2 % of all cases: some 100 a day, against 2 a day for the median
// pair); 40 % with a point in a 25 × 25 km square; a tenth of the cases in
// the last 20 days still open; 150 000 distinct phones. Contents are the
// fixture's, with a number appended.
//
//	go test ./cases/duplicates -run '^$' -bench OnArrival -benchtime 2000x
const (
	benchTownships  = 60
	benchCategories = 40
	benchDays       = 60
)

func benchTexts(b *testing.B) []string {
	f, err := os.Open("testdata/fixture.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r struct{ Content string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			b.Fatal(err)
		}
		out = append(out, r.Content)
	}
	return out
}

func benchTownship(k int) string { return fmt.Sprintf("330106%03d", 100+k) }
func benchCategory(k int) string { return fmt.Sprintf("%04d", 5000+k) }

func populate(b *testing.B, db *pgxpool.Pool, now time.Time, n int, texts []string) {
	ctx := context.Background()
	start := time.Now()
	_, err := db.Exec(ctx, `INSERT INTO cases (id, tracking_no, county_code, city_code, township_code, kind, category, title, content,
		lat, lon, citizen_phone, phone_last4, channel, state, policy, created_at, updated_at)
	SELECT gen_random_uuid(), 'B' || i, '330106', '3301', '330106' || (100 + floor($3::int * u1 * u1))::int,
		'投诉', (5000 + floor($4::int * u2 * u2))::int::text, left(txt, 30), txt,
		CASE WHEN has THEN 30.15 + random() * 0.225 END, CASE WHEN has THEN 120.0 + random() * 0.26 END,
		phone, right(phone, 4), 'web',
		CASE WHEN created > $5::timestamptz - interval '20 days' AND random() < 0.1 THEN 'in_progress' ELSE 'archived' END,
		'{}', created, created
	FROM (SELECT i, random() AS u1, random() AS u2, random() < 0.4 AS has,
		$5::timestamptz - random() * ($6::int * interval '1 day') AS created,
		'13' || lpad((floor(random() * 150000))::int::text, 9, '0') AS phone,
		($2::text[])[1 + floor(random() * array_length($2::text[], 1))::int] || '（' || i || '）' AS txt
		FROM generate_series(1, $1::int) i) g`,
		n, texts, benchTownships, benchCategories, now, benchDays)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(ctx, `ANALYZE cases`); err != nil {
		b.Fatal(err)
	}
	b.Logf("populated %d cases in %v", n, time.Since(start).Round(time.Millisecond))
}

func BenchmarkOnArrival(b *testing.B) {
	n := 300000
	if v, err := strconv.Atoi(os.Getenv("YICI_DUP_BENCH_CASES")); err == nil && v > 0 {
		n = v
	}
	now := time.Now()
	clk := clock.NewFake(now)
	db := pgtest.Pool(b)
	cs := cases.NewStore(db, cases.Options{Clock: clk})
	d := duplicates.New(db, cs, duplicates.Options{})
	texts := benchTexts(b)
	populate(b, db, now, n, texts)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	arrive := func(township, category string) *cases.Case {
		nc := cases.NewCase{Kind: cases.Complaint, Category: category, TownshipCode: township,
			Content: texts[rng.IntN(len(texts))], CitizenPhone: fmt.Sprintf("13%09d", rng.IntN(150000)), Channel: cases.ChannelWeb,
			ChannelRef: strconv.FormatUint(rng.Uint64(), 36)}
		if rng.Float64() < 0.4 {
			nc.Point = &cases.Point{Lat: 30.15 + rng.Float64()*0.225, Lon: 120.0 + rng.Float64()*0.26}
		}
		c, _, err := cs.Create(ctx, auth.SystemActor("bench"), nc)
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	skew := func(k int) int { u := rng.Float64(); return int(float64(k) * u * u) }
	typical := make([]*cases.Case, 500)
	for i := range typical {
		typical[i] = arrive(benchTownship(skew(benchTownships)), benchCategory(skew(benchCategories)))
	}
	busiest := make([]*cases.Case, 50)
	for i := range busiest {
		busiest[i] = arrive(benchTownship(0), benchCategory(0))
	}
	var rows int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM cases WHERE township_code = $1 AND category = $2 AND created_at > $3`,
		benchTownship(0), benchCategory(0), now.Add(-7*24*time.Hour)).Scan(&rows); err != nil {
		b.Fatal(err)
	}
	b.Logf("busiest township and category: %d cases in the last 7 days", rows)

	b.Run("Create (for scale)", func(b *testing.B) {
		timed(b, func(int) { arrive(benchTownship(skew(benchTownships)), benchCategory(skew(benchCategories))) })
	})
	b.Run("Find", func(b *testing.B) {
		timed(b, func(i int) {
			if _, err := d.Find(ctx, typical[i%len(typical)]); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("OnArrival own transaction", func(b *testing.B) {
		timed(b, func(i int) {
			if _, err := d.OnArrival(ctx, typical[i%len(typical)]); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("empty InTx (baseline for the next)", func(b *testing.B) {
		timed(b, func(int) {
			if err := cs.InTx(ctx, func(ctx context.Context) error { return nil }); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("OnArrival in the intake transaction", func(b *testing.B) {
		timed(b, func(i int) {
			err := cs.InTx(ctx, func(ctx context.Context) error {
				_, err := d.OnArrival(ctx, typical[i%len(typical)])
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("OnArrival busiest township and category", func(b *testing.B) {
		timed(b, func(i int) {
			if _, err := d.OnArrival(ctx, busiest[i%len(busiest)]); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// timed runs fn b.N times and reports the median and tail latencies too
// (on a shared machine the mean says little).
func timed(b *testing.B, fn func(i int)) {
	var ds []time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		fn(i)
		ds = append(ds, time.Since(t))
		i++
	}
	slices.Sort(ds)
	q := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.9), "p90-µs")
	b.ReportMetric(q(0.99), "p99-µs")
}
