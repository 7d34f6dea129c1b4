// Package stats is what supervisors read: the 三率 (响应率, 解决率, 满意率)
// and the other rates of the hotline per unit, township, county, category
// and period, computed from the event trail; the supervisor dashboard
// (/stats) with its charts drawn on the server; exports as CSV and XLSX;
// and the operators' /metrics in the Prometheus text format.
//
// Figures come from rollups (stats_rollup: per day, week and month, at
// four grains of territory, unit and category; stats_counts) that a
// periodic job (Run, Fold) folds from case_events incrementally, in
// commit-safe order, exactly once (see fold.go); a question adds up the
// fewest periods that cover its days, so a month of the whole province is
// a sum over at most a few ten thousand rows. The definitions are in
// Figures, on the dashboard and in docs/stats.md.
//
// Wiring (internal/app):
//
//	svc := stats.New(pool, cal, stats.Options{Log: log})
//	svc.Routes(mux)                 // the API, the dashboard, its static files
//	go svc.Run(ctx)                 // the rollup job, on every node
//	m := stats.NewMetrics(stats.MetricsOptions{DB: pool, Hub: hub, Token: os.Getenv("YICI_METRICS_TOKEN"), Mux: mux})
//	m.Routes(mux)                   // GET /metrics
//	handler = m.Middleware(handler) // request latencies
package stats

import (
	"context"
	"embed"
	"html/template"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/clock"
	"yici/internal/webui"
	"yici/internal/workcal"
	"yici/router/taxonomy"
	"yici/router/territory"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the Service; every field has a default.
type Options struct {
	Clock     clock.Clock          // “today” for default periods and overdue lists; the system clock
	Log       *slog.Logger         // discarded when nil
	Territory *territory.Territory // names of counties and townships; Zhejiang
	Taxonomy  *taxonomy.Taxonomy   // names of categories; the default taxonomy
	Interval  time.Duration        // how often Run folds new events; 30 s
	BatchSize int                  // events per fold transaction; 1,000 (its writes hold back the console stream)
}

// Service answers the statistics and runs the rollup job.
type Service struct {
	db   *pgxpool.Pool
	cal  *workcal.Calendar
	opts Options
	log  *slog.Logger

	calPrint  string
	calWarned atomic.Bool

	assets *webui.Assets
	pages  map[string]*template.Template
}

// New returns the statistics service on db; cal must be the calendar the
// deadlines are computed with (internal/app's, with the operator's days).
func New(db *pgxpool.Pool, cal *workcal.Calendar, opts Options) *Service {
	if cal == nil {
		cal = workcal.Default()
	}
	if opts.Clock == nil {
		opts.Clock = clock.Real{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Territory == nil {
		opts.Territory = territory.Zhejiang()
	}
	if opts.Taxonomy == nil {
		opts.Taxonomy = taxonomy.Default()
	}
	if opts.Interval <= 0 {
		opts.Interval = 30 * time.Second
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 1000
	}
	s := &Service{db: db, cal: cal, opts: opts, log: opts.Log, calPrint: calendarPrint(cal)}
	s.assets = webui.NewAssets(staticFS, "static", "/static/stats/")
	funcs := webui.Funcs(s.assets)
	for k, v := range pageFuncs() {
		funcs[k] = v
	}
	s.pages = webui.Parse(templateFS, funcs, "templates/layout.html", "templates/dashboard.html")
	return s
}

// Run folds new events into the rollups every Options.Interval until ctx
// ends. Every node may run it: one folds at a time.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opts.Interval)
	defer t.Stop()
	for {
		start := time.Now()
		n, err := s.Fold(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Warn("stats: fold", "err", err)
		} else if n > 0 {
			s.log.Debug("stats: folded", "events", n, "dur", time.Since(start))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// today is the current civil date in the calendar's zone.
func (s *Service) today() time.Time {
	y, m, d := s.opts.Clock.Now().In(s.cal.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
