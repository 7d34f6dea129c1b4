package stats_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"

	"yici/internal/apptest"
	"yici/internal/webui"
	"yici/stats"
)

func checkAPI(t *testing.T, e *env) {
	s := e.srv
	anon := s.Anon()
	for _, p := range []string{"/api/v1/stats", "/api/v1/stats/trend", "/api/v1/stats/ranking", "/api/v1/stats/overdue", "/api/v1/stats/top-categories"} {
		if code, _, _ := raw(t, anon, p); code != http.StatusUnauthorized {
			t.Errorf("anonymous %s: %d, want 401", p, code)
		}
		if code, _, _ := raw(t, s.Login("agent"), p); code != http.StatusForbidden {
			t.Errorf("agent %s: %d, want 403", p, code)
		}
	}
	for _, who := range []string{"supervisor", "dispatcher", "admin"} {
		var tb stats.Table
		if code := s.Login(who).Do("GET", "/api/v1/stats?by=township&month=2026-03", nil, &tb); code != 200 {
			t.Fatalf("%s: %d", who, code)
		}
		checkRow(t, rowOf(t, &tb, twA), wantTwA)
		checkRow(t, tb.Total, wantAll)
	}
	sup := s.Login("supervisor")

	// An officer of A-ZF reads its own row, whatever it asks for.
	off := s.Login("wenxin-zf")
	for _, q := range []string{"?month=2026-03", "?by=unit&month=2026-03", "?by=unit&unit=" + unitBZF + "&month=2026-03"} {
		var tb stats.Table
		if code := off.Do("GET", "/api/v1/stats"+q, nil, &tb); code != 200 {
			t.Fatalf("officer %s: %d", q, code)
		}
		if len(tb.Rows) != 1 || tb.Rows[0].Key != unitAZF {
			t.Fatalf("officer %s: rows %+v", q, tb.Rows)
		}
		checkRow(t, tb.Rows[0], wantAZF)
		checkRow(t, tb.Total, wantAZF)
	}
	for _, p := range []string{"/api/v1/stats?by=township", "/api/v1/stats?by=county", "/api/v1/stats/ranking", "/api/v1/stats/top-categories", "/stats"} {
		if code, _, _ := raw(t, off, p); code != http.StatusForbidden {
			t.Errorf("officer %s: %d, want 403", p, code)
		}
	}
	var od struct {
		Total int                 `json:"total"`
		Items []stats.OverdueItem `json:"items"`
	}
	if code := off.Do("GET", "/api/v1/stats/overdue", nil, &od); code != 200 || od.Total != 5 || len(od.Items) != 5 {
		t.Fatalf("officer overdue: %d, %d items of %d", code, len(od.Items), od.Total)
	}
	for _, it := range od.Items {
		if it.Lead != unitAZF || it.What != "签收超时" {
			t.Errorf("officer's overdue item: %+v", it)
		}
	}
	var tr struct {
		Points []struct {
			Period string   `json:"period"`
			Value  *float64 `json:"value"`
			Den    int64    `json:"denominator"`
		} `json:"points"`
	}
	if code := off.Do("GET", "/api/v1/stats/trend?metric=response_rate&by=week&month=2026-03", nil, &tr); code != 200 {
		t.Fatalf("officer trend: %d", code)
	}
	if len(tr.Points) != 6 || tr.Points[1].Period != "2026-03-02" || !near(tr.Points[1].Value, 0.5) || tr.Points[1].Den != 20 {
		t.Errorf("officer trend: %+v", tr.Points)
	}

	// Satisfaction by day. Tuesday: G1 10 satisfied, G3 4 dissatisfied + 1 basic (G4's unreachable left out) → 11/15;
	// Wednesday: G3 5 satisfied, G5 5 basic, G9 5 satisfied → 1; Thursday: G2 5 basic → 1; Monday: none.
	if code := sup.Do("GET", "/api/v1/stats/trend?metric=satisfaction_rate&from=2026-03-02&to=2026-03-05", nil, &tr); code != 200 {
		t.Fatal(code)
	}
	if len(tr.Points) != 4 || tr.Points[0].Value != nil || !near(tr.Points[1].Value, 11.0/15) || tr.Points[1].Den != 15 ||
		!near(tr.Points[2].Value, 1) || !near(tr.Points[3].Value, 1) {
		t.Errorf("satisfaction trend: %+v", tr.Points)
	}

	for _, q := range []string{"?by=nation", "?from=2026-13-01", "?from=2026-03-05&to=2026-03-01", "?county=abc", "?township=33010601",
		"?by=unit&category=0104", "?format=pdf", "/trend?metric=happiness", "/trend?by=year", "/ranking?min=0", "/overdue?limit=x", "?month=2026"} {
		p := "/api/v1/stats" + q
		if code, _, body := raw(t, sup, p); code != http.StatusBadRequest || !bytes.Contains(body, []byte(`"message_zh"`)) {
			t.Errorf("%s: %d %s, want 400", p, code, body)
		}
	}
}

// csvRows parses a CSV export (UTF-8 with a BOM).
func csvRows(t *testing.T, c *apptest.Client, path string) [][]string {
	t.Helper()
	code, h, body := raw(t, c, path)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") {
		t.Fatalf("%s: %d %v", path, code, h)
	}
	if !bytes.HasPrefix(body, []byte("\ufeff")) {
		t.Fatalf("%s: no byte order mark", path)
	}
	rows, err := csv.NewReader(bytes.NewReader(body[3:])).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

// xlsxRows parses an XLSX export's only sheet.
func xlsxRows(t *testing.T, c *apptest.Client, path string) [][]string {
	t.Helper()
	code, h, body := raw(t, c, path)
	if code != 200 || h.Get("Content-Type") != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Fatalf("%s: %d %v", path, code, h)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) != 1 {
		t.Fatalf("%s: sheets %v", path, sheets)
	}
	rows, err := f.GetRows(sheets[0])
	if err != nil {
		t.Fatal(err)
	}
	// GetRows drops empty trailing cells; pad to the header's width.
	for i := range rows {
		for len(rows[i]) < len(rows[0]) {
			rows[i] = append(rows[i], "")
		}
	}
	return rows
}

func column(t *testing.T, header []string, name string) int {
	t.Helper()
	for i, h := range header {
		if h == name {
			return i
		}
	}
	t.Fatalf("no column %q in %v", name, header)
	return -1
}

func checkExports(t *testing.T, e *env) {
	sup := e.srv.Login("supervisor")
	base := "/api/v1/stats?by=unit&month=2026-03&format="
	c := csvRows(t, sup, base+"csv")
	x := xlsxRows(t, sup, base+"xlsx")
	if len(c) != len(x) {
		t.Fatalf("csv %d rows, xlsx %d", len(c), len(x))
	}
	for i := range c {
		if strings.Join(c[i], "|") != strings.Join(x[i], "|") {
			t.Errorf("row %d: csv %v, xlsx %v", i, c[i], x[i])
		}
	}
	h := c[0]
	if h[0] != "单位代码" || h[1] != "名称" {
		t.Fatalf("header %v", h)
	}
	resp, sat, avg, reg := column(t, h, "响应率(%)"), column(t, h, "满意率(%)"), column(t, h, "平均签收用时(工作小时)"), column(t, h, "受理量")
	found := false
	for _, r := range c[1:] {
		if r[0] == unitAZF {
			found = true
			if r[resp] != "50" || r[sat] != "100" || r[avg] != "1.83" || r[1] != "西湖区文新街道综合执法平台" {
				t.Errorf("A-ZF row: %v", r)
			}
		}
	}
	last := c[len(c)-1]
	if !found || last[1] != "合计" || last[resp] != "63.64" || last[sat] != "88.57" || last[avg] != "1.8" || last[reg] != "50" {
		t.Errorf("total row %v (A-ZF found %v)", last, found)
	}
	// Every other table exports too.
	for _, p := range []struct {
		path string
		rows int // data rows, -1: any
	}{
		{"/api/v1/stats/overdue?county=330106", 10},
		{"/api/v1/stats/top-categories?county=330106&from=2026-03-02&to=2026-03-08", 4},
		{"/api/v1/stats/ranking?month=2026-03&min=10", 4},
		{"/api/v1/stats/trend?month=2026-03", 31},
		{"/api/v1/stats/trend?month=2026-03&metric=solve_rate&by=week", 6},
		{"/api/v1/stats?by=category&month=2026-03&township=" + twA, 3},
	} {
		for _, f := range []string{"csv", "xlsx"} {
			var rows [][]string
			if f == "csv" {
				rows = csvRows(t, sup, p.path+"&format=csv")
			} else {
				rows = xlsxRows(t, sup, p.path+"&format=xlsx")
			}
			if len(rows)-1 != p.rows {
				t.Errorf("%s %s: %d data rows, want %d", p.path, f, len(rows)-1, p.rows)
			}
		}
	}
}

func checkDashboard(t *testing.T, e *env) {
	s := e.srv
	noFollow := s.Anon()
	noFollow.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, h, _ := raw(t, noFollow, "/stats"); code != http.StatusSeeOther || !strings.HasPrefix(h.Get("Location"), "/login?next=") {
		t.Errorf("anonymous /stats: %d %s", code, h.Get("Location"))
	}
	code, h, body := raw(t, s.Login("supervisor"), "/stats?from=2026-03-01&to=2026-03-31&county=330106")
	if code != 200 || h.Get("Content-Security-Policy") != webui.CSP || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("dashboard: %d %v", code, h)
	}
	page := string(body)
	for _, want := range []string{"63.64%", "91.43%", "88.57%", "70.00%", "75.00%", "8.33%", "12.50%", "1.80", "10.31",
		"指标口径", stats.Figures[0].Definition, "西湖区文新街道", "签收超时", "餐饮油烟", `<svg class="chart"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %q", want)
		}
	}
	// Strict CSP: no inline script, style or handler.
	if regexp.MustCompile(`(?i)<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:`).MatchString(page) {
		t.Error("inline style or script in the dashboard")
	}
	for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(page, -1) {
		if !strings.Contains(m, ` src="/static/stats/`) {
			t.Errorf("inline script: %s", m)
		}
	}
	// Accessibility: every chart is an image with a title and a
	// description, every table has a caption, the language is set.
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var charts, tables int
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "html":
				if attr(n, "lang") != "zh-CN" {
					t.Error("no lang")
				}
			case "svg":
				if attr(n, "class") == "chart" || attr(n, "class") == "chart bars" {
					charts++
					if attr(n, "role") != "img" || child(n, "title") == nil || child(n, "desc") == nil {
						t.Errorf("chart without role, title or desc")
					}
				}
			case "table":
				tables++
				if child(n, "caption") == nil {
					t.Error("table without caption")
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	if charts != 2 || tables < 5 {
		t.Errorf("%d charts, %d tables", charts, tables)
	}
	// The page's files are served.
	for _, m := range regexp.MustCompile(`(?:href|src)="(/static/stats/[^"]+)"`).FindAllStringSubmatch(page, -1) {
		u := strings.ReplaceAll(m[1], "&amp;", "&")
		if code, h, _ := raw(t, s.Anon(), u); code != 200 || !(strings.HasPrefix(h.Get("Content-Type"), "text/css") || strings.Contains(h.Get("Content-Type"), "javascript")) {
			t.Errorf("%s: %d %s", u, code, h.Get("Content-Type"))
		}
	}
	// A bad filter is said on the page, which still answers.
	if code, _, body := raw(t, s.Login("dispatcher"), "/stats?from=yesterday"); code != 200 || !bytes.Contains(body, []byte("日期格式应为")) {
		t.Errorf("bad filter: %d", code)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func child(n *html.Node, tag string) *html.Node {
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if c.Type == html.ElementNode && c.Data == tag {
			return c
		}
	}
	return nil
}
