package stats

import (
	"context"
	"slices"
	"time"
)

// Timing is how long one of the dashboard's questions took.
type Timing struct {
	Name                string
	First, Median, Best time.Duration
	Rows                int
}

// Timings asks the dashboard's questions about f runs times each and says
// how long they took (the first run apart: its pages may not be cached).
// For benchmarks (yici gen, the gated benchmark of this package).
func (s *Service) Timings(ctx context.Context, f Filter, runs int) ([]Timing, error) {
	var out []Timing
	for _, q := range s.questions(ctx, f) {
		var ds []time.Duration
		t := Timing{Name: q.name}
		for i := 0; i < max(runs, 1); i++ {
			start := time.Now()
			n, err := q.fn()
			if err != nil {
				return nil, err
			}
			ds = append(ds, time.Since(start))
			t.Rows = n
		}
		t.First = ds[0]
		slices.Sort(ds)
		t.Median, t.Best = ds[len(ds)/2], ds[0]
		out = append(out, t)
	}
	return out, nil
}

// TimeQuestion asks the i-th of the questions of Timings once.
func (s *Service) TimeQuestion(ctx context.Context, f Filter, i int) (Timing, error) {
	q := s.questions(ctx, f)[i]
	start := time.Now()
	n, err := q.fn()
	d := time.Since(start)
	return Timing{Name: q.name, First: d, Median: d, Best: d, Rows: n}, err
}

type question struct {
	name string
	fn   func() (int, error)
}

func (s *Service) questions(ctx context.Context, f Filter) []question {
	week := f // the last whole week (Monday to Sunday) of f
	week.To = f.To.AddDate(0, 0, -(int(f.To.Weekday())+7)%7)
	week.From = week.To.AddDate(0, 0, -6)
	county := f
	county.County = "330106"
	today := s.today()
	mtd := Filter{From: periodStart("month", today), To: today} // the dashboard's default
	return []question{
		{"figures by county (whole province)", func() (int, error) { t, err := s.Table(ctx, ByCounty, f); return rowsOf(t), err }},
		{"figures by township (whole province)", func() (int, error) { t, err := s.Table(ctx, ByTownship, f); return rowsOf(t), err }},
		{"figures by unit (whole province)", func() (int, error) { t, err := s.Table(ctx, ByUnit, f); return rowsOf(t), err }},
		{"figures by category (whole province)", func() (int, error) { t, err := s.Table(ctx, ByCategory, f); return rowsOf(t), err }},
		{"figures by township (county 330106)", func() (int, error) { t, err := s.Table(ctx, ByTownship, county); return rowsOf(t), err }},
		{"daily trend (whole province)", func() (int, error) { p, err := s.Trend(ctx, "day", f); return len(p), err }},
		{"unit ranking by response rate", func() (int, error) { r, err := s.Ranking(ctx, "response_rate", f, 5, false, 0); return len(r), err }},
		{"top 3 categories per township (last whole week)", func() (int, error) { r, err := s.TopCategories(ctx, week, 3, 2000); return len(r), err }},
		{"overdue cases, first 100 (whole province)", func() (int, error) { r, _, _, err := s.Overdue(ctx, Filter{}, 100); return len(r), err }},
		{"this month to date by unit (the dashboard's default)", func() (int, error) { t, err := s.Table(ctx, ByUnit, mtd); return rowsOf(t), err }},
	}
}

func rowsOf(t *Table) int {
	if t == nil {
		return 0
	}
	return len(t.Rows)
}
