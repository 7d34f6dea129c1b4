package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"yici/internal/app"
	"yici/router"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/stats"
)

func init() {
	commands["gen"] = command{"generate a month of cases across Zhejiang for benchmarks, fold the statistics, time them", gen}
}

// gen fills a database with generated cases (stats.Generate), folds them
// into the statistics rollups and times the province-month questions.
// Not for a production database: the cases are invented.
func gen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg := app.FromEnv()
	fs := flags("gen", stderr)
	cfg.DBFlags(fs)
	n := fs.Int("cases", 3_000_000, "number of cases to generate")
	prev := time.Now().AddDate(0, -1, 0)
	monthFlag := fs.String("month", prev.Format("2006-01"), "month of registration (YYYY-MM, Asia/Shanghai)")
	seed := fs.Uint64("seed", 1, "random seed")
	workers := fs.Int("workers", 2, "concurrent COPY streams")
	fold := fs.Bool("fold", true, "fold the new events into the statistics rollups")
	measure := fs.Int("measure", 5, "time each province-month question this many times (0: not at all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	month, err := time.Parse("2006-01", *monthFlag)
	if err != nil {
		return fmt.Errorf("--month: %q is not YYYY-MM", *monthFlag)
	}
	log := cfg.Logger()
	env, err := app.Open(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer env.Close()
	var units int
	if err := env.Pool.QueryRow(ctx, `SELECT count(*) FROM units`).Scan(&units); err != nil {
		return err
	}
	if units == 0 {
		if _, err := router.SyncUnits(ctx, env.Pool, router.GenerateUnits(territory.Zhejiang(), taxonomy.Default())); err != nil {
			return fmt.Errorf("units: %w", err)
		}
	}
	cal, err := env.Calendar(ctx)
	if err != nil {
		return err
	}
	step := max(*n/20, 1)
	next := step
	res, err := stats.Generate(ctx, env.Pool, *n, month, stats.GenOptions{Calendar: cal, Seed: *seed, Workers: *workers,
		Progress: func(done int) {
			if done >= next {
				fmt.Fprintf(stderr, "generated %d of %d cases\n", done, *n)
				next = done + step
			}
		}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generated %d cases, %d assignments, %d events in %s (%.0f events/s)\n",
		res.Cases, res.Assignments, res.Events, res.Took.Round(time.Second), float64(res.Events)/res.Took.Seconds())
	svc := stats.New(env.Pool, cal, stats.Options{BatchSize: 200000, Log: log})
	if *fold {
		start := time.Now()
		folded, err := svc.Fold(ctx)
		if err != nil {
			return err
		}
		took := time.Since(start)
		fmt.Fprintf(stdout, "folded %d events into the rollups in %s (%.0f events/s)\n", folded, took.Round(time.Second), float64(folded)/took.Seconds())
	}
	if *measure <= 0 {
		return nil
	}
	if _, err := env.Pool.Exec(ctx, `ANALYZE stats_daily`); err != nil {
		return err
	}
	from := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	ts, err := svc.Timings(ctx, stats.Filter{From: from, To: from.AddDate(0, 1, -1)}, *measure)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nthe month %s of the province, %d runs each:\n", month.Format("2006-01"), *measure)
	for _, t := range ts {
		fmt.Fprintf(stdout, "  %-44s first %8s  median %8s  best %8s  (%d rows)\n", t.Name, t.First.Round(10*time.Microsecond),
			t.Median.Round(10*time.Microsecond), t.Best.Round(10*time.Microsecond), t.Rows)
	}
	return nil
}
