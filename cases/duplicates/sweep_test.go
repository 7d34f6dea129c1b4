package duplicates

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"yici/internal/pgtest"
)

// TestSweep is how the thresholds were chosen: on the tune split only, it
// tries every combination of the three similarity thresholds for several
// similarity measures (including pg_trgm on a C.UTF-8 database, where it
// sees Chinese at all), keeps the best F1 (ties: the better precision),
// and prints that choice's score on the holdout split. It runs when
// YICI_DUP_SWEEP=1:
//
//	YICI_DUP_SWEEP=1 go test ./cases/duplicates -run TestSweep -v
func TestSweep(t *testing.T) {
	if os.Getenv("YICI_DUP_SWEEP") == "" {
		t.Skip("set YICI_DUP_SWEEP=1 to sweep the thresholds")
	}
	rows := loadFixture(t)
	measures := []struct {
		name string
		sim  simFunc
	}{
		{"dice, content+address, boilerplate cut (Similarity)", fingerprintSim(true, true, false)},
		{"dice, content only, boilerplate cut", fingerprintSim(true, false, false)},
		{"dice, content+address, no cut", fingerprintSim(false, true, false)},
		{"overlap coefficient, content+address, cut", fingerprintSim(true, true, true)},
	}
	if sim, err := trgmSim(t, rows, "C.UTF-8"); err != nil {
		t.Logf("pg_trgm on C.UTF-8: %v", err)
	} else {
		measures = append(measures, struct {
			name string
			sim  simFunc
		}{"pg_trgm similarity(), content+address, C.UTF-8 database", sim})
	}
	if sim, err := trgmSim(t, rows, "C"); err == nil {
		measures = append(measures, struct {
			name string
			sim  simFunc
		}{"pg_trgm similarity(), content+address, C database (ours)", sim})
	}
	var tune []fixtureRow
	for _, r := range rows {
		if r.Split == "tune" {
			tune = append(tune, r)
		}
	}
	type result struct {
		o    Options
		tune score
	}
	for _, m := range measures {
		// Similarities are computed once per pair, then thresholded.
		cache := map[pairKey]float64{}
		sim := func(a, b fixtureRow) float64 {
			k := keyOf(a.ID, b.ID)
			if v, ok := cache[k]; ok {
				return v
			}
			v := m.sim(a, b)
			cache[k] = v
			return v
		}
		var results []result
		for th := 0.06; th <= 0.601; th += 0.02 {
			for _, pm := range []float64{0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30} {
				for _, nm := range []float64{0, 0.10, 0.15, 0.20, 0.25, 0.30, 2} {
					o := Defaults()
					o.Threshold, o.PhoneMin, o.NearMin, o.HotThreshold = th, pm, nm, th
					results = append(results, result{o, evaluate(tune, pureFlags(tune, o, sim), "tune")})
				}
			}
		}
		slices.SortStableFunc(results, func(a, b result) int {
			switch {
			case a.tune.f1() != b.tune.f1():
				return cmpDesc(a.tune.f1(), b.tune.f1())
			case a.tune.precision() != b.tune.precision():
				return cmpDesc(a.tune.precision(), b.tune.precision())
			}
			return 0
		})
		t.Logf("== %s", m.name)
		for i, r := range results[:5] {
			t.Logf("  #%d content ≥ %.2f, phone ≥ %.2f, nearby ≥ %s: tune %s", i+1, r.o.Threshold, r.o.PhoneMin, nearName(r.o.NearMin), r.tune)
		}
		best := results[0].o
		t.Logf("  chosen on tune → holdout %s", evaluate(rows, pureFlags(rows, best, sim), "holdout"))
		literal := best
		literal.PhoneMin, literal.NearMin = 0, 0
		t.Logf("  same content threshold, literal phone and nearby rules → tune %s; holdout %s",
			evaluate(rows, pureFlags(rows, literal, sim), "tune"), evaluate(rows, pureFlags(rows, literal, sim), "holdout"))
		if m.name != measures[0].name {
			continue
		}
		t.Logf("  the trade-off of the content threshold (phone and nearby minimums as chosen):")
		for th := 0.10; th <= 0.401; th += 0.02 {
			o := best
			o.Threshold = th
			f := pureFlags(rows, o, sim)
			t.Logf("    content ≥ %.2f: tune %s | holdout %s", th, evaluate(rows, f, "tune"), evaluate(rows, f, "holdout"))
		}
	}
}

func nearName(v float64) string {
	if v > 1 {
		return "same category only"
	}
	return fmt.Sprintf("%.2f", v)
}

func cmpDesc(a, b float64) int {
	if a > b {
		return -1
	}
	if a < b {
		return 1
	}
	return 0
}

// trgmSim computes pg_trgm's similarity() of every pair in a fresh
// database of the given locale.
func trgmSim(t *testing.T, rows []fixtureRow, locale string) (simFunc, error) {
	ctx := context.Background()
	admin := pgtest.URL(t, "postgres")
	name := "dup_trgm_" + map[string]string{"C": "c", "C.UTF-8": "cutf8"}[locale]
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
	if _, err := conn.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LOCALE '%s'", name, locale)); err != nil {
		return nil, err
	}
	defer conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	db, err := pgx.Connect(ctx, pgtest.URL(t, name))
	if err != nil {
		return nil, err
	}
	defer db.Close(ctx)
	if _, err := db.Exec(ctx, `CREATE EXTENSION pg_trgm; CREATE TABLE t (id text PRIMARY KEY, txt text)`); err != nil {
		return nil, err
	}
	for _, r := range rows {
		if _, err := db.Exec(ctx, `INSERT INTO t VALUES ($1, $2)`, r.ID, TextOf(r.Content, r.Address)); err != nil {
			return nil, err
		}
	}
	res, err := db.Query(ctx, `SELECT a.id, b.id, similarity(a.txt, b.txt) FROM t a JOIN t b ON a.id < b.id`)
	if err != nil {
		return nil, err
	}
	sims := map[pairKey]float64{}
	for res.Next() {
		var a, b string
		var s float32
		if err := res.Scan(&a, &b, &s); err != nil {
			return nil, err
		}
		sims[keyOf(a, b)] = float64(s)
	}
	if err := res.Err(); err != nil {
		return nil, err
	}
	return func(a, b fixtureRow) float64 { return sims[keyOf(a.ID, b.ID)] }, nil
}
