package stats

import (
	"encoding/csv"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"yici/internal/webui"
)

// sheet is a table as exported: a header row and rows of strings, int64,
// float64 or nil (empty).
type sheet struct {
	Name   string // file name without extension (ASCII)
	Title  string // sheet name (Chinese)
	Header []string
	Rows   [][]any
}

// figureCell is a figure's value as exported: percent with two decimals
// for rates, working hours with two decimals for averages; nil when there
// is no denominator.
func figureCell(f Figure, c Counts) any {
	v, _, _, ok := f.Value(c)
	if !ok {
		return nil
	}
	if !f.Hours {
		v *= 100
	}
	return math.Round(v*100) / 100
}

func figureHeader(f Figure) string {
	if f.Hours {
		return f.Label + "(工作小时)"
	}
	return f.Label + "(%)"
}

var byLabel = map[string]string{ByUnit: "单位", ByTownship: "乡镇（街道）", ByCounty: "县（市、区）", ByCategory: "分类"}

func tableSheet(t *Table) *sheet {
	sh := &sheet{Name: "stats-" + t.By + "-" + t.From + "-" + t.To, Title: "统计（" + byLabel[t.By] + "）",
		Header: []string{byLabel[t.By] + "代码", "名称"}}
	for _, f := range Figures {
		sh.Header = append(sh.Header, figureHeader(f))
	}
	sh.Header = append(sh.Header, counterLabels[:]...)
	row := func(r Row) []any {
		out := []any{r.Key, r.Name}
		for _, f := range Figures {
			out = append(out, figureCell(f, r.Counts))
		}
		for _, v := range r.Counts {
			out = append(out, v)
		}
		return out
	}
	for _, r := range t.Rows {
		sh.Rows = append(sh.Rows, row(r))
	}
	sh.Rows = append(sh.Rows, row(t.Total))
	return sh
}

func trendSheet(step string, fig *Figure, pts []Point) *sheet {
	sh := &sheet{Name: "stats-trend-" + step, Title: "趋势", Header: []string{"期间起始日"}}
	figs := Figures
	if fig != nil {
		figs = []Figure{*fig}
		sh.Name += "-" + fig.Key
		sh.Header = append(sh.Header, figureHeader(*fig), "分子", "分母")
	} else {
		for _, f := range Figures {
			sh.Header = append(sh.Header, figureHeader(f))
		}
	}
	for _, p := range pts {
		row := []any{p.Period}
		for _, f := range figs {
			row = append(row, figureCell(f, p.Counts))
		}
		if fig != nil {
			_, num, den, _ := fig.Value(p.Counts)
			row = append(row, num, den)
		}
		sh.Rows = append(sh.Rows, row)
	}
	return sh
}

func rankingSheet(fig Figure, rk []Ranked) *sheet {
	sh := &sheet{Name: "stats-ranking-" + fig.Key, Title: "单位排名（" + fig.Label + "）",
		Header: []string{"名次", "单位编码", "单位名称", figureHeader(fig), "分子", "分母"}}
	for _, r := range rk {
		sh.Rows = append(sh.Rows, []any{int64(r.Rank), r.Key, r.Name, figureCell(fig, r.Counts), r.Num, r.Den})
	}
	return sh
}

func overdueSheet(items []OverdueItem) *sheet {
	sh := &sheet{Name: "stats-overdue", Title: "超期工单",
		Header: []string{"工单编号", "标题", "类型", "分类", "乡镇（街道）", "状态", "主办单位", "超期类型", "时限", "超期(工作小时)", "督办次数"}}
	for _, it := range items {
		sh.Rows = append(sh.Rows, []any{it.TrackingNo, it.Title, it.Kind, it.CategoryName, it.TownshipName, it.StateLabel,
			it.LeadName, it.What, it.Deadline.In(webui.Shanghai).Format("2006-01-02 15:04"),
			math.Round(it.OverdueHours*100) / 100, int64(it.UrgeCount)})
	}
	return sh
}

func topSheet(top []TownshipTop) *sheet {
	sh := &sheet{Name: "stats-top-categories", Title: "乡镇高频诉求",
		Header: []string{"乡镇（街道）代码", "乡镇（街道）", "受理总量", "名次", "分类代码", "分类", "受理量"}}
	for _, t := range top {
		for i, c := range t.Top {
			sh.Rows = append(sh.Rows, []any{t.Township, t.Name, t.Total, int64(i + 1), c.Category, c.Name, c.N})
		}
	}
	return sh
}

func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func attachment(w http.ResponseWriter, name, ext, ct string) {
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"; filename*=UTF-8''%s.%s`, name, ext, url.PathEscape(name), ext))
}

// writeCSV writes UTF-8 with a byte order mark, so that Excel reads the
// Chinese text as UTF-8.
func writeCSV(w http.ResponseWriter, sh *sheet) {
	attachment(w, sh.Name, "csv", "text/csv; charset=utf-8")
	w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	cw.Write(sh.Header)
	for _, r := range sh.Rows {
		rec := make([]string, len(r))
		for i, v := range r {
			rec[i] = csvSafe(cellText(v))
		}
		cw.Write(rec)
	}
	cw.Flush()
}

// csvSafe keeps a text cell from being read as a formula by a spreadsheet
// (titles come from citizens).
func csvSafe(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '@' || s[0] == '\t' || s[0] == '\r' ||
		(s[0] == '-' && len(s) > 1 && (s[1] < '0' || s[1] > '9'))) {
		return "'" + s
	}
	return s
}

// writeXLSX writes one sheet with a bold, frozen header row; numbers are
// numbers.
func writeXLSX(w http.ResponseWriter, sh *sheet) error {
	f := excelize.NewFile()
	defer f.Close()
	name := sh.Title
	if len([]rune(name)) > 31 {
		name = string([]rune(name)[:31])
	}
	if err := f.SetSheetName("Sheet1", name); err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return err
	}
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	head := make([]any, len(sh.Header))
	for i, h := range sh.Header {
		head[i] = excelize.Cell{StyleID: bold, Value: h}
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	for i, r := range sh.Rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		row := make([]any, len(r))
		for j, v := range r {
			row[j] = v
			if v == nil {
				row[j] = ""
			}
		}
		if err := sw.SetRow(cell, row); err != nil {
			return err
		}
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	f.SetDocProps(&excelize.DocProperties{Creator: "Yici 12345", Title: sh.Title, Created: time.Now().UTC().Format(time.RFC3339)})
	attachment(w, sh.Name, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
	_, err = f.WriteTo(w)
	return err
}
