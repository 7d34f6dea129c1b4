package stats_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/pgtest"
	"yici/router/routertest"
	"yici/stats"
)

// BenchmarkProvinceMonth answers the dashboard's questions about one month
// of the whole province with 3 million cases (docs/bench-stats.md). It
// runs only with YICI_BENCH_STATS=1: generating and folding the month
// takes a long time.
//
//	YICI_BENCH_STATS=1 go test -run XXX -bench ProvinceMonth -benchtime 20x -timeout 120m ./stats/
//
// YICI_BENCH_STATS_CASES sets another number of cases; YICI_BENCH_STATS_DB
// names a database already filled by `yici gen` (its month in
// YICI_BENCH_STATS_MONTH, default 2026-10), which is then only queried.
func BenchmarkProvinceMonth(b *testing.B) {
	if os.Getenv("YICI_BENCH_STATS") == "" {
		b.Skip("set YICI_BENCH_STATS=1 to generate a province month and time it")
	}
	ctx := context.Background()
	month, err := time.Parse("2006-01", envOr("YICI_BENCH_STATS_MONTH", "2026-10"))
	if err != nil {
		b.Fatal(err)
	}
	var db *pgxpool.Pool
	if url := os.Getenv("YICI_BENCH_STATS_DB"); url != "" {
		if db, err = pgxpool.New(ctx, url); err != nil {
			b.Fatal(err)
		}
		defer db.Close()
	} else {
		n, err := strconv.Atoi(envOr("YICI_BENCH_STATS_CASES", "3000000"))
		if err != nil {
			b.Fatal(err)
		}
		db = pgtest.Pool(b, routertest.Zhejiang)
		res, err := stats.Generate(ctx, db, n, time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, shanghai), stats.GenOptions{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d cases, %d events in %s", res.Cases, res.Events, res.Took.Round(time.Second))
	}
	svc := stats.New(db, nil, stats.Options{BatchSize: 200000})
	start := time.Now()
	folded, err := svc.Fold(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("folded %d events in %s", folded, time.Since(start).Round(time.Second))
	if _, err := db.Exec(ctx, `VACUUM ANALYZE stats_rollup`); err != nil {
		b.Fatal(err)
	}
	f := stats.Filter{From: time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)}
	f.To = f.From.AddDate(0, 1, -1)
	list, err := svc.Timings(ctx, f, 1) // the names, and the caches warmed once
	if err != nil {
		b.Fatal(err)
	}
	for i, q := range list {
		b.Run(q.Name, func(b *testing.B) {
			for range b.N {
				ts, err := svc.TimeQuestion(ctx, f, i)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(ts.Rows), "rows")
			}
		})
	}
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
