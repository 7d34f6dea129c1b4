package stats

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
)

// Filter selects what a question counts: the days From to To (inclusive,
// civil dates in Asia/Shanghai, as midnight UTC) and optionally one
// county, township, unit or category.
type Filter struct {
	From, To                         time.Time
	County, Township, Unit, Category string
}

// Dimensions a table can be broken down by.
const (
	ByUnit     = "unit"
	ByTownship = "township"
	ByCounty   = "county"
	ByCategory = "category"
)

var byColumn = map[string]string{ByUnit: "unit_id", ByTownship: "township_code", ByCounty: "county_code", ByCategory: "category"}

// ErrUnsupported means no rollup holds the combination of breakdown and
// filters asked for (a unit together with a category).
var ErrUnsupported = fmt.Errorf("stats: no rollup combines a unit with a category")

// grainFor picks the smallest rollup grain that has every dimension the
// question needs: 'k' (county), 'c' (county, category), 'u' (county,
// township, unit), 't' (county, township, category).
func grainFor(by string, f Filter) (byte, error) {
	need := map[string]bool{}
	if by != "" {
		need[by] = true
	}
	if f.County != "" {
		need[ByCounty] = true
	}
	if f.Township != "" {
		need[ByTownship] = true
	}
	if f.Unit != "" {
		need[ByUnit] = true
	}
	if f.Category != "" {
		need[ByCategory] = true
	}
	for _, g := range []struct {
		grain byte
		has   []string
	}{
		{'k', []string{ByCounty}},
		{'c', []string{ByCounty, ByCategory}},
		{'u', []string{ByCounty, ByTownship, ByUnit}},
		{'t', []string{ByCounty, ByTownship, ByCategory}},
	} {
		ok := true
		for d := range need {
			ok = ok && slices.Contains(g.has, d)
		}
		if ok {
			return g.grain, nil
		}
	}
	return 0, ErrUnsupported
}

// cover splits the days from..to (inclusive) into the fewest rollup
// periods: the whole months inside, then whole weeks (Monday to Sunday)
// inside what is left, then single days. Each day is in exactly one.
func cover(from, to time.Time) (months, weeks, days []time.Time) {
	first := periodStart("month", from)
	if !first.Equal(from) {
		first = first.AddDate(0, 1, 0)
	}
	end := first // one past the last whole month
	for !end.AddDate(0, 1, -1).After(to) {
		months = append(months, end)
		end = end.AddDate(0, 1, 0)
	}
	rest := func(a, b time.Time) { // whole weeks and days of a..b
		for d := a; !d.After(b); {
			if d.Weekday() == time.Monday && !d.AddDate(0, 0, 6).After(b) {
				weeks = append(weeks, d)
				d = d.AddDate(0, 0, 7)
				continue
			}
			days = append(days, d)
			d = d.AddDate(0, 0, 1)
		}
	}
	if len(months) == 0 {
		rest(from, to)
		return
	}
	rest(from, first.AddDate(0, 0, -1))
	rest(end, to)
	return
}

// span is a set of rollup periods to add up, and days to take away.
type span struct{ months, weeks, days, minus []time.Time }

// add adds the days from..to. When to is today or later, the days after it
// are (nearly) empty: up to limit, the span takes the whole week or month
// rows that end there and takes those days away again — so “this month to
// date” is one monthly row less a few future sign-for deadlines, not a row
// per day. Either way each day from..to counts exactly once.
func (sp *span) add(from, to, limit, today time.Time) {
	end := to
	if !to.Before(today) && limit.After(to) {
		end = limit
	}
	m, w, d := cover(from, end)
	sp.months, sp.weeks, sp.days = append(sp.months, m...), append(sp.weeks, w...), append(sp.days, d...)
	for x := to.AddDate(0, 0, 1); !x.After(end); x = x.AddDate(0, 0, 1) {
		sp.minus = append(sp.minus, x)
	}
}

// spanOf covers the days of f.
func (s *Service) spanOf(f Filter) *span {
	weekEnd := nextPeriod("week", periodStart("week", f.To)).AddDate(0, 0, -1)
	monthEnd := nextPeriod("month", periodStart("month", f.To)).AddDate(0, 0, -1)
	sp := &span{}
	sp.add(f.From, f.To, maxTime(weekEnd, monthEnd), s.today())
	return sp
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// arms are the rollup slices of a span: its months, weeks and days added,
// its minus days taken away; sel renders one with the placeholder of its
// day array and the sign of its counters.
func (sp *span) arms(first int, sel func(period string, param int, neg bool) string) (parts []string, args []any) {
	for _, a := range []struct {
		period string
		days   []time.Time
		neg    bool
	}{{"m", sp.months, false}, {"w", sp.weeks, false}, {"d", sp.days, false}, {"d", sp.minus, true}} {
		if len(a.days) == 0 {
			continue
		}
		args = append(args, a.days)
		parts = append(parts, sel(a.period, first+len(args)-1, a.neg))
	}
	return parts, args
}

// sums runs one aggregate over the rollups: the counters of f grouped by
// the SQL expression group (a column, a date_trunc of day, or ” for one
// total), over the periods of sp (by default the cover of f's days).
func (s *Service) sums(ctx context.Context, by, group string, f Filter, sp *span) (map[string]*Counts, error) {
	grain, err := grainFor(by, f)
	if err != nil {
		return nil, err
	}
	if sp == nil {
		sp = s.spanOf(f)
	}
	args := []any{string(grain)}
	where := ""
	for _, c := range []struct{ col, v string }{{"county_code", f.County}, {"township_code", f.Township}, {"unit_id", f.Unit}, {"category", f.Category}} {
		if c.v != "" {
			args = append(args, c.v)
			where += fmt.Sprintf(" AND %s = $%d", c.col, len(args))
		}
	}
	if group == "" {
		group = "''"
	}
	arms, days := sp.arms(len(args)+1, func(period string, param int, neg bool) string {
		return fmt.Sprintf(`SELECT (%s)::text AS k, %s FROM stats_rollup WHERE period = '%s' AND grain = $1::"char" AND day = ANY($%d::date[])%s GROUP BY 1`,
			group, aliasedSums(neg), period, param, where)
	})
	args = append(args, days...)
	if len(arms) == 0 {
		return map[string]*Counts{}, nil
	}
	var sel strings.Builder
	sel.WriteString("SELECT k")
	for i := range counterCols {
		fmt.Fprintf(&sel, ", sum(c%d)::bigint", i)
	}
	q := sel.String() + " FROM (" + strings.Join(arms, " UNION ALL ") + ") x GROUP BY k"
	out := map[string]*Counts{}
	err = s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			c := new(Counts)
			dest := []any{&k}
			for i := range c {
				dest = append(dest, &c[i])
			}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			out[k] = c
		}
		return rows.Err()
	})
	return out, err
}

// read runs fn in a read-only transaction set for the rollups' queries:
// their plans are cheap, so compiling them (JIT) would cost more than
// running them, and their sorts and window functions fit in 32 MB.
func (s *Service) read(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginTxFunc(ctx, s.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off; SET LOCAL work_mem = '32MB'`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// aliasedSums sums the counters as c0, c1, ... (negated for days taken away).
func aliasedSums(neg bool) string {
	var b strings.Builder
	sign := ""
	if neg {
		sign = "-"
	}
	for i, c := range counterCols {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%ssum(%s)::bigint AS c%d", sign, c, i)
	}
	return b.String()
}

// Row is one line of a statistics table.
type Row struct {
	Key     string              `json:"key"`
	Name    string              `json:"name"`
	Counts  Counts              `json:"counts"`
	Figures map[string]*float64 `json:"figures"` // by Figure.Key; null without a denominator
}

func newRow(key, name string, c Counts) Row {
	r := Row{Key: key, Name: name, Counts: c, Figures: map[string]*float64{}}
	for _, f := range Figures {
		if v, _, _, ok := f.Value(c); ok {
			r.Figures[f.Key] = &v
		} else {
			r.Figures[f.Key] = nil
		}
	}
	return r
}

// Table is a breakdown of the figures.
type Table struct {
	By    string `json:"by"`
	From  string `json:"from"`
	To    string `json:"to"`
	Rows  []Row  `json:"rows"`
	Total Row    `json:"total"`
}

// Table breaks the figures of f down by unit, township, county or
// category, the rows ordered by key. By unit, the hotline centre's own
// work (registrations and answers before any dispatch) is in the total
// only.
func (s *Service) Table(ctx context.Context, by string, f Filter) (*Table, error) {
	col, ok := byColumn[by]
	if !ok {
		return nil, fmt.Errorf("stats: unknown breakdown %q", by)
	}
	m, err := s.sums(ctx, by, col, f, nil)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	var total Counts
	for k, c := range m {
		total.add(*c)
		if by == ByUnit && k == "" {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	names, err := s.names(ctx, by, keys)
	if err != nil {
		return nil, err
	}
	t := &Table{By: by, From: dateString(f.From), To: dateString(f.To), Rows: []Row{}, Total: newRow("", "合计", total)}
	for _, k := range keys {
		t.Rows = append(t.Rows, newRow(k, names[k], *m[k]))
	}
	return t, nil
}

// names returns the display names of keys of a dimension.
func (s *Service) names(ctx context.Context, by string, keys []string) (map[string]string, error) {
	out := map[string]string{}
	switch by {
	case ByUnit:
		rows, err := s.db.Query(ctx, `SELECT id, name FROM units WHERE id = ANY($1)`, keys)
		if err != nil {
			return nil, err
		}
		var id, name string
		if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
			// A township's platforms share their names across counties: say which county.
			if code, _, _ := strings.Cut(id, "-"); len(code) == 9 {
				if county := s.opts.Territory.NameOf(code[:6]); county != "" && !strings.HasPrefix(name, county) {
					name = county + name
				}
			}
			out[id] = name
			return nil
		}); err != nil {
			return nil, err
		}
	case ByTownship:
		for _, k := range keys {
			out[k] = s.townshipName(k)
		}
	case ByCounty:
		for _, k := range keys {
			out[k] = s.countyName(k)
		}
	case ByCategory:
		for _, k := range keys {
			out[k] = s.categoryName(k)
		}
	}
	for _, k := range keys {
		if out[k] == "" {
			if k == "" {
				out[k] = "（未确定）"
			} else {
				out[k] = k
			}
		}
	}
	return out, nil
}

func (s *Service) countyName(code string) string {
	if code == "" {
		return "（未定位）"
	}
	t := s.opts.Territory
	if n := t.NameOf(code); n != "" {
		if city := t.NameOf(code[:min(4, len(code))]); city != "" && city != "市辖区" && !strings.HasPrefix(city, "省直辖") {
			return city + n
		}
		return n
	}
	return code
}

func (s *Service) townshipName(code string) string {
	if code == "" {
		return "（未定位到乡镇街道）"
	}
	t := s.opts.Territory
	if n := t.NameOf(code); n != "" {
		return t.NameOf(code[:min(6, len(code))]) + n
	}
	return code
}

func (s *Service) categoryName(code string) string {
	if code == "" {
		return "（未分类）"
	}
	if c := s.opts.Taxonomy.Category(code); c != nil {
		return c.Group + "·" + c.Name
	}
	return code
}

// Point is one period of a trend.
type Point struct {
	Period string `json:"period"` // the first day of the period
	Row
}

// Trend returns the figures of f for every day, week (Monday first) or
// month from f.From to f.To, periods without events included.
func (s *Service) Trend(ctx context.Context, step string, f Filter) ([]Point, error) {
	var group string
	switch step {
	case "day":
		group = "day"
	case "week", "month":
		group = "date_trunc('" + step + "', day)::date"
	default:
		return nil, fmt.Errorf("stats: unknown step %q", step)
	}
	// Each period of the trend is added up from the rollup periods inside
	// it (a whole week from its weekly row, a partial one from its days).
	sp := &span{}
	today := s.today()
	for p := periodStart(step, f.From); !p.After(f.To); p = nextPeriod(step, p) {
		a, b := p, nextPeriod(step, p).AddDate(0, 0, -1)
		end := b
		if a.Before(f.From) {
			a = f.From
		}
		if b.After(f.To) {
			b = f.To
		}
		sp.add(a, b, end, today)
	}
	m, err := s.sums(ctx, "", group, f, sp)
	if err != nil {
		return nil, err
	}
	var out []Point
	for p := periodStart(step, f.From); !p.After(f.To); p = nextPeriod(step, p) {
		k := dateString(p)
		var c Counts
		if x := m[k]; x != nil {
			c = *x
		}
		out = append(out, Point{Period: k, Row: newRow(k, k, c)})
	}
	return out, nil
}

func periodStart(step string, d time.Time) time.Time {
	switch step {
	case "week":
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	case "month":
		return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}

func nextPeriod(step string, d time.Time) time.Time {
	switch step {
	case "week":
		return d.AddDate(0, 0, 7)
	case "month":
		return d.AddDate(0, 1, 0)
	}
	return d.AddDate(0, 0, 1)
}

// Ranked is a unit in a ranking.
type Ranked struct {
	Rank  int     `json:"rank"`
	Value float64 `json:"value"`
	Num   float64 `json:"numerator"`
	Den   int64   `json:"denominator"`
	Row
}

// Ranking orders the units of f by a figure, best first (or worst first
// with worst), leaving out units with fewer than min in the figure's
// denominator; ties go to the larger denominator.
func (s *Service) Ranking(ctx context.Context, metric string, f Filter, minDen int64, worst bool, limit int) ([]Ranked, error) {
	fig, ok := FigureByKey(metric)
	if !ok {
		return nil, fmt.Errorf("stats: unknown figure %q", metric)
	}
	t, err := s.Table(ctx, ByUnit, f)
	if err != nil {
		return nil, err
	}
	out := []Ranked{}
	for _, r := range t.Rows {
		v, num, den, ok := fig.Value(r.Counts)
		if !ok || den < max(minDen, 1) {
			continue
		}
		out = append(out, Ranked{Value: v, Num: num, Den: den, Row: r})
	}
	better := func(a, b float64) bool {
		if fig.LowerBest {
			return a < b
		}
		return a > b
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Value != b.Value {
			return better(a.Value, b.Value)
		}
		if a.Den != b.Den {
			return a.Den > b.Den
		}
		return a.Key < b.Key
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	if worst {
		slices.Reverse(out)
	}
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// CategoryCount is a category's number of registered cases.
type CategoryCount struct {
	Category string `json:"category"`
	Name     string `json:"name"`
	N        int64  `json:"n"`
}

// TownshipTop is a township's busiest categories.
type TownshipTop struct {
	Township string          `json:"township"`
	Name     string          `json:"name"`
	Total    int64           `json:"total"`
	Top      []CategoryCount `json:"top"`
}

// TopCategories returns, for the townships of f (the busiest first, at
// most townships of them), the n categories with the most cases
// registered in the period.
func (s *Service) TopCategories(ctx context.Context, f Filter, n, townships int) ([]TownshipTop, error) {
	args := []any{n}
	where := ""
	if f.County != "" {
		args = append(args, f.County)
		where += fmt.Sprintf(" AND county_code = $%d", len(args))
	}
	if f.Township != "" {
		args = append(args, f.Township)
		where += fmt.Sprintf(" AND township_code = $%d", len(args))
	}
	arms, days := s.spanOf(f).arms(len(args)+1, func(period string, param int, neg bool) string {
		sign := ""
		if neg {
			sign = "-"
		}
		return fmt.Sprintf(`SELECT township_code, category, %sregistered AS registered FROM stats_rollup
			WHERE period = '%s' AND grain = 't' AND day = ANY($%d::date[]) AND township_code <> ''%s`, sign, period, param, where)
	})
	args = append(args, days...)
	args = append(args, townships)
	out := []TownshipTop{}
	if len(arms) == 0 {
		return out, nil
	}
	err := s.read(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
		WITH x AS (SELECT township_code, category, sum(registered)::bigint AS n FROM (`+strings.Join(arms, " UNION ALL ")+`) u
		           GROUP BY 1, 2 HAVING sum(registered) > 0),
		     r AS (SELECT *, row_number() OVER (PARTITION BY township_code ORDER BY n DESC, category) AS rn,
		                  sum(n) OVER (PARTITION BY township_code)::bigint AS total FROM x),
		     t AS (SELECT township_code, total FROM r WHERE rn = 1 ORDER BY total DESC, township_code LIMIT $`+fmt.Sprint(len(args))+`)
		SELECT r.township_code, r.total, r.category, r.n FROM r JOIN t USING (township_code)
		WHERE r.rn <= $1 ORDER BY r.total DESC, r.township_code, r.rn`, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var tw, cat string
			var total, cnt int64
			if err := rows.Scan(&tw, &total, &cat, &cnt); err != nil {
				return err
			}
			if len(out) == 0 || out[len(out)-1].Township != tw {
				out = append(out, TownshipTop{Township: tw, Name: s.townshipName(tw), Total: total})
			}
			last := &out[len(out)-1]
			last.Top = append(last.Top, CategoryCount{Category: cat, Name: s.categoryName(cat), N: cnt})
		}
		return rows.Err()
	})
	return out, err
}

// OverdueItem is an open case past its deadline (no citizen identity).
type OverdueItem struct {
	ID           uuid.UUID  `json:"id"`
	TrackingNo   string     `json:"tracking_no"`
	Title        string     `json:"title"`
	Kind         string     `json:"kind"`
	Category     string     `json:"category"`
	CategoryName string     `json:"category_name"`
	Township     string     `json:"township_code"`
	TownshipName string     `json:"township_name"`
	County       string     `json:"county_code"`
	State        string     `json:"state"`
	StateLabel   string     `json:"state_label"`
	Lead         string     `json:"lead"`
	LeadName     string     `json:"lead_name"`
	What         string     `json:"what"` // 签收超时 | 办理超期
	Deadline     time.Time  `json:"deadline"`
	DispatchedAt *time.Time `json:"dispatched_at,omitempty"`
	OverdueHours float64    `json:"overdue_working_hours"` // working hours since the deadline
	UrgeCount    int        `json:"urge_count"`
}

// overdueExpr is the deadline that counts now (the cases_overdue index).
const overdueExpr = `(CASE WHEN c.state = 'pending_sign' THEN least(c.sign_due, c.due_at) ELSE c.due_at END)`

// OverdueCountCap bounds the count of overdue cases (each costs a visit
// to its row): past it, Overdue says “more”.
const OverdueCountCap = 2000

// Overdue lists the open cases past their deadline (the sign-for deadline
// while waiting for sign-for, else the resolution deadline; suspended
// cases are not overdue), the most overdue first, with the number of all
// such cases up to OverdueCountCap (more: there are more than that).
// Filters: county, township, unit (the lead unit).
func (s *Service) Overdue(ctx context.Context, f Filter, limit int) (items []OverdueItem, total int, more bool, err error) {
	now := s.opts.Clock.Now()
	args := []any{now}
	where := `c.state IN ('pending_sign', 'in_progress', 'return_requested') AND ` + overdueExpr + ` < $1`
	join := "LEFT JOIN"
	if f.County != "" {
		args = append(args, f.County)
		where += fmt.Sprintf(" AND c.county_code = $%d", len(args))
	}
	if f.Township != "" {
		args = append(args, f.Township)
		where += fmt.Sprintf(" AND c.township_code = $%d", len(args))
	}
	if f.Unit != "" {
		args = append(args, f.Unit)
		where += fmt.Sprintf(" AND a.unit_id = $%d", len(args))
		join = "JOIN"
	}
	from := ` FROM cases c ` + join + ` assignments a ON a.case_id = c.id AND a.round = c.dispatch_round AND a.role = 'lead' AND a.state NOT IN ('returned', 'closed')
		LEFT JOIN units u ON u.id = a.unit_id WHERE ` + where
	count := `SELECT count(*) FROM (SELECT 1 FROM cases c WHERE ` + where + fmt.Sprintf(` LIMIT %d) x`, OverdueCountCap+1)
	if f.Unit != "" {
		count = `SELECT count(*) FROM (SELECT 1` + from + fmt.Sprintf(` LIMIT %d) x`, OverdueCountCap+1)
	}
	if err := s.db.QueryRow(ctx, count, args...).Scan(&total); err != nil {
		return nil, 0, false, err
	}
	if total > OverdueCountCap {
		total, more = OverdueCountCap, true
	}
	args = append(args, limit)
	rows, err := s.db.Query(ctx, `SELECT c.id, c.tracking_no, c.title, c.kind, c.category, c.township_code, c.county_code, c.state,
		coalesce(a.unit_id, ''), coalesce(u.name, ''), `+overdueExpr+`, c.dispatched_at, c.urge_count,
		c.state = 'pending_sign' AND c.sign_due < $1`+from+` ORDER BY `+overdueExpr+`, c.id LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return nil, 0, false, err
	}
	defer rows.Close()
	items = []OverdueItem{}
	for rows.Next() {
		var it OverdueItem
		var signLate bool
		if err := rows.Scan(&it.ID, &it.TrackingNo, &it.Title, &it.Kind, &it.Category, &it.Township, &it.County, &it.State,
			&it.Lead, &it.LeadName, &it.Deadline, &it.DispatchedAt, &it.UrgeCount, &signLate); err != nil {
			return nil, 0, false, err
		}
		it.What = "办理超期"
		if signLate {
			it.What = "签收超时"
		}
		it.StateLabel = cases.State(it.State).Label()
		it.CategoryName = s.categoryName(it.Category)
		it.TownshipName = s.townshipName(it.Township)
		it.OverdueHours = s.cal.WorkingBetween(it.Deadline, now).Hours()
		items = append(items, it)
	}
	return items, total, more, rows.Err()
}

func dateString(t time.Time) string { return t.Format(time.DateOnly) }
