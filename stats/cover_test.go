package stats

import (
	"math/rand/v2"
	"testing"
	"time"
)

// cover covers every day of a range exactly once, with whole months where
// they fit and whole weeks in what is left.
func TestCover(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse(time.DateOnly, s); return d }
	for _, tt := range []struct {
		from, to string
		m, w, d  int
	}{
		{"2026-10-01", "2026-10-31", 1, 0, 0},
		{"2026-09-29", "2026-11-02", 1, 0, 4}, // Tue 29, Wed 30 of September and Sun 1, Mon 2 of November: days; October whole
		{"2026-03-02", "2026-03-08", 0, 1, 0},
		{"2026-03-03", "2026-03-08", 0, 0, 6},
		{"2026-01-01", "2026-12-31", 12, 0, 0},
		{"2026-11-01", "2026-11-27", 0, 3, 6}, // Sun 1; weeks of 2, 9, 16; 23–27
		{"2026-11-27", "2026-11-27", 0, 0, 1},
	} {
		m, w, d := cover(day(tt.from), day(tt.to))
		if len(m) != tt.m || len(w) != tt.w || len(d) != tt.d {
			t.Errorf("%s..%s: %d months, %d weeks, %d days; want %d, %d, %d", tt.from, tt.to, len(m), len(w), len(d), tt.m, tt.w, tt.d)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	base := day("2025-01-01")
	for range 2000 {
		from := base.AddDate(0, 0, r.IntN(700))
		to := from.AddDate(0, 0, r.IntN(200))
		seen := map[time.Time]int{}
		m, w, d := cover(from, to)
		for _, x := range m {
			if x.Day() != 1 {
				t.Fatalf("month row %v", x)
			}
			for y := x; y.Month() == x.Month(); y = y.AddDate(0, 0, 1) {
				seen[y]++
			}
		}
		for _, x := range w {
			if x.Weekday() != time.Monday {
				t.Fatalf("week row %v", x)
			}
			for i := range 7 {
				seen[x.AddDate(0, 0, i)]++
			}
		}
		for _, x := range d {
			seen[x]++
		}
		for y := from; !y.After(to); y = y.AddDate(0, 0, 1) {
			if seen[y] != 1 {
				t.Fatalf("%v..%v: %v covered %d times", from, to, y, seen[y])
			}
			delete(seen, y)
		}
		if len(seen) != 0 {
			t.Fatalf("%v..%v: covers days outside: %v", from, to, seen)
		}
	}
}
