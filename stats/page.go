package stats

import (
	"context"
	"errors"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"sort"

	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/internal/webui"
	"yici/router/territory"
)

type option struct {
	Value, Label string
	Selected     bool
}

type optgroup struct {
	Label   string
	Options []option
}

type card struct {
	Figure
	Text  string // the value
	Frac  string // numerator / denominator
	Spark template.HTML
}

// topRow is a township with its three busiest categories (“—” for none).
type topRow struct {
	Name  string
	Total int64
	Cells [3]string
}

type trendRow struct {
	Period string
	Cells  []string
}

type dashboard struct {
	Actor       auth.Actor
	From, To    string
	County      string
	Township    string
	By          string
	ByOptions   []option
	RankMetric  string
	RankOpts    []option
	Counties    []optgroup
	Townships   []option
	Cards       []card
	TrendChart  template.HTML
	TrendHead   []string
	TrendRows   []trendRow
	Table       *Table
	TableHead   []string
	TableRows   []trendRow
	RankFig     Figure
	RankChart   template.HTML
	RankBest    []Ranked
	RankWorst   []Ranked
	RankMin     int64
	Overdue     []OverdueItem
	OverdueN    int
	OverdueMore bool
	Top         []topRow
	WeekFrom    string
	WeekTo      string
	Figures     []Figure
	Query       template.URL // the filters as a query string, for export links
	Error       string
}

func pageFuncs() template.FuncMap {
	return template.FuncMap{
		"hours": trimFloat,
		"fig": func(f Figure, c Counts) string {
			return f.Format(c)
		},
	}
}

// trimFloat writes v with at most two decimals.
func trimFloat(v float64) string {
	return cellText(math.Round(v*100) / 100)
}

// trendFigures are the figures drawn in the trend chart.
var trendFigures = []string{"response_rate", "solve_rate", "satisfaction_rate"}

func (s *Service) handleDashboard(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	d := &dashboard{Actor: actor, Figures: Figures}
	f, err := s.filter(r)
	if err != nil {
		var p *httpx.Problem
		if errors.As(err, &p) && len(p.Errs) > 0 {
			d.Error = p.Errs[0].MessageZH
		}
		f, _ = s.filter(&http.Request{URL: &url.URL{}})
	}
	q := r.URL.Query()
	d.From, d.To, d.County, d.Township = dateString(f.From), dateString(f.To), f.County, f.Township
	d.By = q.Get("by")
	if _, ok := byColumn[d.By]; !ok {
		d.By = ByCounty
		if f.County != "" {
			d.By = ByTownship
		}
		if f.Township != "" {
			d.By = ByUnit
		}
	}
	d.RankMetric = q.Get("rank")
	if _, ok := FigureByKey(d.RankMetric); !ok {
		d.RankMetric = "response_rate"
	}
	d.RankFig, _ = FigureByKey(d.RankMetric)
	for _, b := range []string{ByCounty, ByTownship, ByUnit, ByCategory} {
		d.ByOptions = append(d.ByOptions, option{b, "按" + byLabel[b], b == d.By})
	}
	for _, fg := range Figures {
		d.RankOpts = append(d.RankOpts, option{fg.Key, fg.Label, fg.Key == d.RankMetric})
	}
	s.territoryOptions(d)
	v := url.Values{}
	v.Set("from", d.From)
	v.Set("to", d.To)
	if f.County != "" {
		v.Set("county", f.County)
	}
	if f.Township != "" {
		v.Set("township", f.Township)
	}
	d.Query = template.URL(v.Encode()) // codes and dates only, validated by filter
	if err := s.fillDashboard(r.Context(), d, f); err != nil {
		s.log.Error("stats: dashboard", "err", err)
		d.Error = "统计数据暂时无法读取，请稍后再试"
	}
	webui.Secure(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.pages["dashboard"].Execute(w, d); err != nil {
		s.log.Error("stats: render", "err", err)
	}
}

func (s *Service) fillDashboard(ctx context.Context, d *dashboard, f Filter) error {
	step := "day"
	if f.To.Sub(f.From).Hours() > 92*24 {
		step = "week"
	}
	pts, err := s.Trend(ctx, step, f)
	if err != nil {
		return err
	}
	var total Counts
	for _, p := range pts {
		total.add(p.Counts)
	}
	labels := make([]string, len(pts))
	for i, p := range pts {
		labels[i] = p.Period
	}
	for _, fg := range Figures {
		c := card{Figure: fg, Text: fg.Format(total)}
		_, num, den, _ := fg.Value(total)
		if fg.Hours {
			c.Frac = "共 " + cellText(int64(den)) + " 次"
		} else {
			c.Frac = trimFloat(num) + " / " + cellText(den)
		}
		vals := make([]*float64, len(pts))
		for i, p := range pts {
			vals[i] = p.Figures[fg.Key]
		}
		c.Spark = sparkline(vals, fg.Hours)
		d.Cards = append(d.Cards, c)
	}
	var ss []series
	d.TrendHead = []string{"期间"}
	for i, key := range trendFigures {
		fg, _ := FigureByKey(key)
		vals := make([]*float64, len(pts))
		for j, p := range pts {
			vals[j] = p.Figures[key]
		}
		ss = append(ss, series{Name: fg.Label, Class: []string{"s1", "s2", "s3"}[i], Values: vals})
		d.TrendHead = append(d.TrendHead, fg.Label)
	}
	unit := map[string]string{"day": "每日", "week": "每周"}[step]
	d.TrendChart = lineChart("trend", "三率"+unit+"趋势（"+d.From+" 至 "+d.To+"）",
		"折线图：响应率（实线）、解决率（虚线）、满意率（点线），纵轴 0–100%。数据见下方表格。", labels, ss)
	for _, p := range pts {
		row := trendRow{Period: p.Period}
		for _, key := range trendFigures {
			fg, _ := FigureByKey(key)
			row.Cells = append(row.Cells, fg.Format(p.Counts))
		}
		d.TrendRows = append(d.TrendRows, row)
	}

	if d.Table, err = s.Table(ctx, d.By, f); err != nil {
		return err
	}
	for _, fg := range Figures {
		d.TableHead = append(d.TableHead, fg.Label)
	}
	for _, row := range append(append([]Row(nil), d.Table.Rows...), d.Table.Total) {
		tr := trendRow{Period: row.Name}
		for _, fg := range Figures {
			tr.Cells = append(tr.Cells, fg.Format(row.Counts))
		}
		tr.Cells = append(tr.Cells, cellText(row.Counts[kRegistered]))
		d.TableRows = append(d.TableRows, tr)
	}

	d.RankMin = 5
	if d.RankBest, err = s.Ranking(ctx, d.RankMetric, f, d.RankMin, false, 10); err != nil {
		return err
	}
	if d.RankWorst, err = s.Ranking(ctx, d.RankMetric, f, d.RankMin, true, 10); err != nil {
		return err
	}
	var bars []bar
	for _, r := range d.RankBest {
		bars = append(bars, bar{Label: r.Name, Value: r.Value, Text: d.RankFig.Format(r.Counts)})
	}
	if len(bars) > 0 {
		d.RankChart = barChart("rank", "单位排名前 "+cellText(int64(len(bars)))+" 名："+d.RankFig.Label,
			"条形图，每个单位一条，长度表示"+d.RankFig.Label+"；数据见下方表格。", bars, d.RankFig.Hours)
	}

	if d.Overdue, d.OverdueN, d.OverdueMore, err = s.Overdue(ctx, f, 20); err != nil {
		return err
	}
	wf, wt := s.thisWeek()
	d.WeekFrom, d.WeekTo = dateString(wf), dateString(wt)
	tf := f
	tf.From, tf.To = wf, wt
	top, err := s.TopCategories(ctx, tf, 3, 15)
	if err != nil {
		return err
	}
	for _, t := range top {
		row := topRow{Name: t.Name, Total: t.Total, Cells: [3]string{"—", "—", "—"}}
		for i, c := range t.Top[:min(3, len(t.Top))] {
			row.Cells[i] = c.Name + "（" + cellText(c.N) + "）"
		}
		d.Top = append(d.Top, row)
	}
	return nil
}

// territoryOptions fills the county and township choices.
func (s *Service) territoryOptions(d *dashboard) {
	t := s.opts.Territory
	cities := t.Cities()
	sort.Slice(cities, func(i, j int) bool { return cities[i].Code < cities[j].Code })
	for _, c := range cities {
		g := optgroup{Label: c.Name}
		for _, co := range t.Counties(c.Code) {
			g.Options = append(g.Options, option{co.Code, co.Name, co.Code == d.County})
		}
		if len(g.Options) > 0 {
			d.Counties = append(d.Counties, g)
		}
	}
	if d.County != "" {
		for _, tw := range t.Townships(d.County) {
			if territory.Placeholder(tw.Name) {
				continue
			}
			d.Townships = append(d.Townships, option{tw.Code, tw.Name, tw.Code == d.Township})
		}
	}
}
