package stats

import (
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"yici/internal/auth"
	"yici/internal/httpx"
)

// readers may read every figure; officers read only their own unit's.
var readers = []auth.Role{auth.Supervisor, auth.Dispatcher, auth.Admin}

// Routes registers the statistics API, the dashboard and its files:
//
//	GET /api/v1/stats                 supervisors, dispatchers, admins: the figures by=unit|township|county|category
//	                                  (from, to | month, county, township, unit, category; format=json|csv|xlsx);
//	                                  officers: by=unit only, their own unit's row; other roles 403, no session 401
//	GET /api/v1/stats/trend           supervisors, dispatchers, admins: one figure (metric=, or all) by=day|week|month;
//	                                  officers: their own unit's trend only
//	GET /api/v1/stats/ranking         supervisors, dispatchers, admins: units ranked by metric= (min=, order=best|worst, limit=)
//	GET /api/v1/stats/overdue         supervisors, dispatchers, admins: open cases past their deadline (county, township, unit),
//	                                  with their number up to 2,000 (more: true beyond);
//	                                  officers: their own unit's
//	GET /api/v1/stats/top-categories  supervisors, dispatchers, admins: the busiest categories per township (this week by default)
//	GET /stats                        supervisors, dispatchers, admins: the dashboard; without a session 303 to /login
//	GET /static/stats/{file}          anyone: the dashboard's CSS and JavaScript
func (s *Service) Routes(mux *http.ServeMux) {
	staffAndOfficers := append([]auth.Role{auth.Officer}, readers...)
	mux.Handle("GET /api/v1/stats", auth.Require(http.HandlerFunc(s.handleTable), staffAndOfficers...))
	mux.Handle("GET /api/v1/stats/trend", auth.Require(http.HandlerFunc(s.handleTrend), staffAndOfficers...))
	mux.Handle("GET /api/v1/stats/ranking", auth.Require(http.HandlerFunc(s.handleRanking), readers...))
	mux.Handle("GET /api/v1/stats/overdue", auth.Require(http.HandlerFunc(s.handleOverdue), staffAndOfficers...))
	mux.Handle("GET /api/v1/stats/top-categories", auth.Require(http.HandlerFunc(s.handleTop), readers...))
	mux.Handle("GET /stats", loginFirst(auth.Require(http.HandlerFunc(s.handleDashboard), readers...)))
	mux.Handle("GET /static/stats/", s.assets)
}

// loginFirst sends a browser without a session to the sign-in page.
func loginFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := auth.FromContext(r.Context()); !ok {
			http.Redirect(w, r, "/login?next="+r.URL.EscapedPath(), http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var (
	reCounty   = regexp.MustCompile(`^[0-9]{6}$`)
	reTownship = regexp.MustCompile(`^[0-9]{9}$`)
	reCategory = regexp.MustCompile(`^[0-9]{4}$`)
	reUnit     = regexp.MustCompile(`^[0-9A-Za-z_-]{1,40}$`)
)

func bad(field, zh, en string) error {
	return httpx.NewProblem(http.StatusBadRequest, field, "invalid", zh, en)
}

// maxDays bounds a period (three years of days).
const maxDays = 3 * 366

// filter reads the period and the filters of a request: from and to
// (YYYY-MM-DD, inclusive), or month (YYYY-MM); by default the current
// month up to today. Officers are held to their own unit.
func (s *Service) filter(r *http.Request) (Filter, error) {
	q := r.URL.Query()
	var f Filter
	today := s.today()
	f.From = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, time.UTC)
	f.To = today
	if m := q.Get("month"); m != "" {
		t, err := time.Parse("2006-01", m)
		if err != nil {
			return f, bad("month", "月份格式应为 YYYY-MM", "month must be YYYY-MM")
		}
		f.From, f.To = t, t.AddDate(0, 1, -1)
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &f.From}, {"to", &f.To}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return f, bad(p.name, "日期格式应为 YYYY-MM-DD", p.name+" must be a date YYYY-MM-DD")
			}
			*p.dst = t
		}
	}
	if f.To.Before(f.From) {
		return f, bad("to", "结束日期不能早于开始日期", "to must not be before from")
	}
	if f.To.Sub(f.From) > maxDays*24*time.Hour {
		return f, bad("from", "统计区间不能超过三年", "the period may not exceed three years")
	}
	for _, p := range []struct {
		name string
		re   *regexp.Regexp
		dst  *string
		zh   string
	}{
		{"county", reCounty, &f.County, "县（市、区）代码应为 6 位数字"},
		{"township", reTownship, &f.Township, "乡镇（街道）代码应为 9 位数字"},
		{"category", reCategory, &f.Category, "分类代码应为 4 位数字"},
		{"unit", reUnit, &f.Unit, "单位编码无效"},
	} {
		if v := q.Get(p.name); v != "" {
			if !p.re.MatchString(v) {
				return f, bad(p.name, p.zh, p.name+" is not a valid code")
			}
			*p.dst = v
		}
	}
	if f.Township != "" && f.County == "" {
		f.County = f.Township[:6]
	}
	if a, _ := auth.FromContext(r.Context()); a.Role == auth.Officer {
		f.Unit = a.UnitID
	}
	return f, nil
}

func isOfficer(r *http.Request) bool {
	a, _ := auth.FromContext(r.Context())
	return a.Role == auth.Officer
}

func fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, ErrUnsupported) {
		err = bad("category", "按单位统计时不能再按分类筛选", "a unit and a category cannot be combined")
	}
	httpx.Fail(w, r, err)
}

func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, bad(name, name+" 应为 "+strconv.Itoa(lo)+"–"+strconv.Itoa(hi)+" 的整数", name+" must be an integer from "+strconv.Itoa(lo)+" to "+strconv.Itoa(hi))
	}
	return n, nil
}

func (s *Service) handleTable(w http.ResponseWriter, r *http.Request) {
	f, err := s.filter(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	by := r.URL.Query().Get("by")
	if by == "" {
		by = ByCounty
		if isOfficer(r) {
			by = ByUnit
		}
	}
	if _, ok := byColumn[by]; !ok {
		fail(w, r, bad("by", "by 应为 unit、township、county 或 category", "by must be unit, township, county or category"))
		return
	}
	if isOfficer(r) && by != ByUnit {
		httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "by", Rule: "role", MessageZH: "承办单位只能查看本单位的统计", MessageEN: "officers may read their own unit's row only"})
		return
	}
	t, err := s.Table(r.Context(), by, f)
	if err != nil {
		fail(w, r, err)
		return
	}
	s.answer(w, r, t, func() *sheet { return tableSheet(t) })
}

func (s *Service) handleTrend(w http.ResponseWriter, r *http.Request) {
	f, err := s.filter(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	step := r.URL.Query().Get("by")
	if step == "" {
		step = "day"
	}
	if step != "day" && step != "week" && step != "month" {
		fail(w, r, bad("by", "by 应为 day、week 或 month", "by must be day, week or month"))
		return
	}
	metric := r.URL.Query().Get("metric")
	var fig *Figure
	if metric != "" {
		x, ok := FigureByKey(metric)
		if !ok {
			fail(w, r, bad("metric", "没有这个指标", "unknown metric"))
			return
		}
		fig = &x
	}
	if step == "day" && f.To.Sub(f.From) > 400*24*time.Hour {
		fail(w, r, bad("by", "按日趋势的区间不能超过 400 天", "a daily trend may span at most 400 days"))
		return
	}
	pts, err := s.Trend(r.Context(), step, f)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := map[string]any{"by": step, "from": dateString(f.From), "to": dateString(f.To)}
	if fig != nil {
		type pt struct {
			Period string   `json:"period"`
			Value  *float64 `json:"value"`
			Num    float64  `json:"numerator"`
			Den    int64    `json:"denominator"`
		}
		series := make([]pt, 0, len(pts))
		for _, p := range pts {
			v, num, den, ok := fig.Value(p.Counts)
			x := pt{Period: p.Period, Num: num, Den: den}
			if ok {
				x.Value = &v
			}
			series = append(series, x)
		}
		out["metric"], out["label"], out["points"] = fig.Key, fig.Label, series
	} else {
		out["points"] = pts
	}
	s.answer(w, r, out, func() *sheet { return trendSheet(step, fig, pts) })
}

func (s *Service) handleRanking(w http.ResponseWriter, r *http.Request) {
	f, err := s.filter(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	metric := r.URL.Query().Get("metric")
	if metric == "" {
		metric = "response_rate"
	}
	fig, ok := FigureByKey(metric)
	if !ok {
		fail(w, r, bad("metric", "没有这个指标", "unknown metric"))
		return
	}
	minDen, err := intParam(r, "min", 5, 1, 1_000_000)
	if err != nil {
		fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 50, 1, 10000)
	if err != nil {
		fail(w, r, err)
		return
	}
	order := r.URL.Query().Get("order")
	if order != "" && order != "best" && order != "worst" {
		fail(w, r, bad("order", "order 应为 best 或 worst", "order must be best or worst"))
		return
	}
	rk, err := s.Ranking(r.Context(), metric, f, int64(minDen), order == "worst", limit)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := map[string]any{"metric": fig.Key, "label": fig.Label, "from": dateString(f.From), "to": dateString(f.To), "min": minDen, "units": rk}
	s.answer(w, r, out, func() *sheet { return rankingSheet(fig, rk) })
}

func (s *Service) handleOverdue(w http.ResponseWriter, r *http.Request) {
	f, err := s.filter(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	limit, err := intParam(r, "limit", 100, 1, 5000)
	if err != nil {
		fail(w, r, err)
		return
	}
	items, total, more, err := s.Overdue(r.Context(), f, limit)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := map[string]any{"total": total, "more": more, "items": items, "now": s.opts.Clock.Now()}
	s.answer(w, r, out, func() *sheet { return overdueSheet(items) })
}

func (s *Service) handleTop(w http.ResponseWriter, r *http.Request) {
	f, err := s.filter(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	q := r.URL.Query()
	if q.Get("from") == "" && q.Get("to") == "" && q.Get("month") == "" {
		f.From, f.To = s.thisWeek()
	}
	n, err := intParam(r, "n", 3, 1, 20)
	if err != nil {
		fail(w, r, err)
		return
	}
	tw, err := intParam(r, "townships", 30, 1, 2000)
	if err != nil {
		fail(w, r, err)
		return
	}
	top, err := s.TopCategories(r.Context(), f, n, tw)
	if err != nil {
		fail(w, r, err)
		return
	}
	out := map[string]any{"from": dateString(f.From), "to": dateString(f.To), "townships": top}
	s.answer(w, r, out, func() *sheet { return topSheet(top) })
}

// thisWeek is Monday of the current week to today.
func (s *Service) thisWeek() (time.Time, time.Time) {
	t := s.today()
	return periodStart("week", t), t
}

// answer writes v as JSON, or the table as CSV or XLSX (format=).
func (s *Service) answer(w http.ResponseWriter, r *http.Request, v any, table func() *sheet) {
	switch r.URL.Query().Get("format") {
	case "", "json":
		httpx.JSON(w, http.StatusOK, v)
	case "csv":
		writeCSV(w, table())
	case "xlsx":
		if err := writeXLSX(w, table()); err != nil {
			s.log.Error("stats: xlsx", "err", err)
		}
	default:
		fail(w, r, bad("format", "format 应为 json、csv 或 xlsx", "format must be json, csv or xlsx"))
	}
}
