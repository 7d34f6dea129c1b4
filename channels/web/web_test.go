package web_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"yici/cases"
	"yici/channels/web"
	"yici/internal/app"
	"yici/internal/apptest"
)

// publicURL is the site's public address in these tests: an origin other
// than the test server's that form posts may come from.
const publicURL = "https://12345.zj.example"

// site is the whole app with the public site mounted.
type site struct {
	*apptest.Server
	t *testing.T
}

// start runs the app with the site built with opts.
func start(t *testing.T, opts web.Options) *site {
	t.Helper()
	if opts.RatePerMinute == 0 {
		opts.RatePerMinute, opts.Burst = 1e6, 1e6
	}
	if opts.PublicURL == "" {
		opts.PublicURL = publicURL
	}
	s := apptest.Start(t, func(a *app.App) {
		opts.Territory, opts.Taxonomy, opts.Log = a.Terr, a.Tax, a.Log
		a.Replace("web", web.New(a.Intake, a.Files, opts).Routes)
	})
	return &site{Server: s, t: t}
}

// response is an answer, read.
type response struct {
	status int
	header http.Header
	body   string
}

func (s *site) do(req *http.Request, client *http.Client) response {
	s.t.Helper()
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	if resp.StatusCode >= 500 {
		s.t.Fatalf("%s %s: %d\n%s", req.Method, req.URL, resp.StatusCode, b)
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (s *site) get(path string) response {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	return s.do(req, nil)
}

var tokenRe = regexp.MustCompile(`<input type="hidden" name="token" value="([^"]*)"`)

// token renders the form and returns its token.
func (s *site) token() string {
	s.t.Helper()
	r := s.get("/report")
	m := tokenRe.FindStringSubmatch(r.body)
	if r.status != 200 || m == nil {
		s.t.Fatalf("GET /report: %d, no token\n%s", r.status, r.body)
	}
	return m[1]
}

// field is one form field, in the order sent.
type field struct{ name, value string }

// photo is one file sent in the photos field.
type photo struct {
	name string
	data []byte
}

// multipartBody encodes fields and photos as a browser would, fields first.
func multipartBody(fields []field, photos []photo) (io.Reader, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for _, f := range fields {
		_ = w.WriteField(f.name, f.value)
	}
	for _, p := range photos {
		pw, _ := w.CreateFormFile("photos", p.name)
		_, _ = pw.Write(p.data)
	}
	_ = w.Close()
	return &b, w.FormDataContentType()
}

// post sends the form from a page of the site (Origin is the server).
func (s *site) post(fields []field, photos ...photo) response {
	s.t.Helper()
	body, ct := multipartBody(fields, photos)
	req, _ := http.NewRequest("POST", s.URL+"/report", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", s.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return s.do(req, nil)
}

// form is a complete, valid form with the token.
func form(token string, overrides ...field) []field {
	fs := []field{
		{"token", token}, {"kind", "投诉"}, {"content", "小区门口的路灯坏了三天，晚上很黑，老人出门不方便"},
		{"city", "3301"}, {"county_code", "330106"}, {"township_code", "330106005"}, {"address", "翠苑一区 12 幢旁"},
		{"citizen_name", "王芳"}, {"phone", "138 1234 5678"},
	}
	for _, o := range overrides {
		found := false
		for i := range fs {
			if fs[i].name == o.name {
				fs[i].value, found = o.value, true
			}
		}
		if !found {
			fs = append(fs, o)
		}
	}
	return fs
}

// without drops fields from a form.
func without(fs []field, names ...string) []field {
	var out []field
	for _, f := range fs {
		drop := false
		for _, n := range names {
			drop = drop || f.name == n
		}
		if !drop {
			out = append(out, f)
		}
	}
	return out
}

func pngImage(t testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := 0; x < w; x++ {
		img.Set(x, 0, color.RGBA{200, 30, 30, 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var trackingRe = regexp.MustCompile(`<p class="tracking-no" id="tracking-no" data-no="(\d{15})">(\d{6} \d{4} \d{4} \d)</p>`)

// trackingNo returns the tracking number of a result page.
func (s *site) trackingNo(r response) string {
	s.t.Helper()
	m := trackingRe.FindStringSubmatch(r.body)
	if r.status != 200 || m == nil {
		s.t.Fatalf("not a result page: %d\n%s", r.status, r.body)
	}
	if strings.ReplaceAll(m[2], " ", "") != m[1] {
		s.t.Fatalf("grouped %q is not %q", m[2], m[1])
	}
	return m[1]
}

func (s *site) webCases() int {
	s.t.Helper()
	var n int
	if err := s.App.Env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE channel = 'web' AND channel_ref LIKE 'web:%'`).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

var (
	scriptTagRe = regexp.MustCompile(`(?is)<script\b[^>]*>`)
	inlineRe    = regexp.MustCompile(`(?is)<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	controlRe   = regexp.MustCompile(`(?is)<(input|select|textarea)\b[^>]*>`)
	idRe        = regexp.MustCompile(`\sid="([^"]+)"`)
	typeRe      = regexp.MustCompile(`\stype="([^"]+)"`)
)

// checkPage checks what every HTML page must be: the CSP of the brief,
// no inline script or style, Chinese, every control labelled.
func checkPage(t *testing.T, path string, r response) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'self'", "img-src 'self' data: blob:", "style-src 'self'", "script-src 'self'",
		"form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: CSP %q lacks %q", path, csp, d)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP %q allows inline code", path, csp)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if !strings.Contains(r.body, `<html lang="zh-CN">`) {
		t.Errorf("%s: not lang=zh-CN", path)
	}
	for _, tag := range scriptTagRe.FindAllString(r.body, -1) {
		if !strings.Contains(tag, ` src="/static/web/`) || !strings.Contains(tag, `type="module"`) {
			t.Errorf("%s: inline or foreign script %s", path, tag)
		}
	}
	if m := inlineRe.FindString(r.body); m != "" {
		t.Errorf("%s: inline style or handler %q", path, m)
	}
	if strings.Contains(r.body, "http://") || strings.Contains(r.body, "https://") && !strings.Contains(r.body, publicURL) {
		t.Errorf("%s: refers to another site", path)
	}
	for _, tag := range controlRe.FindAllString(r.body, -1) {
		if m := typeRe.FindStringSubmatch(tag); m != nil && m[1] == "hidden" {
			continue
		}
		id := idRe.FindStringSubmatch(tag)
		if id == nil {
			t.Errorf("%s: control without id: %s", path, tag)
			continue
		}
		if !strings.Contains(r.body, `<label for="`+id[1]+`"`) {
			t.Errorf("%s: no label for #%s", path, id[1])
		}
	}
}

func TestPages(t *testing.T) {
	s := start(t, web.Options{})

	home := s.get("/")
	if home.status != 200 {
		t.Fatalf("GET /: %d", home.status)
	}
	checkPage(t, "/", home)
	for _, link := range []string{`href="/report"`, `href="/track"`, `href="/kb"`, `href="tel:12345"`, "最多跑一次"} {
		if !strings.Contains(home.body, link) {
			t.Errorf("GET /: no %s", link)
		}
	}
	if strings.Contains(home.body, "<script") {
		t.Error("GET /: the landing page needs no script")
	}

	r := s.get("/report")
	if r.status != 200 {
		t.Fatalf("GET /report: %d", r.status)
	}
	checkPage(t, "/report", r)
	if !strings.Contains(r.body, `<form class="report" id="report" method="post" action="/report" enctype="multipart/form-data"`) {
		t.Error("the form does not post multipart to /report")
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("the form (with its token) must not be cached: Cache-Control %q", cc)
	}
	t1, t2 := s.token(), s.token()
	if !web.ValidToken(t1) || t1 == t2 {
		t.Errorf("tokens %q, %q: want fresh valid ones", t1, t2)
	}
	for _, want := range []string{`<legend>诉求类型</legend>`, `<legend>发生地点</legend>`, `<legend>联系方式</legend>`,
		`<option value="3301">杭州市</option>`, `<optgroup label="杭州市" data-city="3301">`, `<option value="330106">西湖区</option>`,
		`<select id="f-township" name="township_code" disabled>`, `name="photos" multiple accept="image/jpeg,image/png,image/gif,image/webp"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("GET /report: no %s", want)
		}
	}
	if strings.Contains(r.body, "error-summary") || strings.Contains(r.body, `checked`) {
		t.Error("the empty form shows errors or a choice")
	}

	// ?kind= preselects the kind; 举报 opens the confidentiality note.
	const note = "举报人信息严格保密，承办单位看不到您的姓名和电话"
	openNote := regexp.MustCompile(`<div class="note note-report is-open" id="note-report">\s*<p><strong>` + note)
	for kind, open := range map[string]bool{"举报": true, "咨询": false, "闲聊": false} {
		r := s.get("/report?kind=" + url.QueryEscape(kind))
		checkPage(t, "/report?kind="+kind, r)
		checked := regexp.MustCompile(`value="` + kind + `" checked`).MatchString(r.body)
		if checked != (kind != "闲聊") {
			t.Errorf("?kind=%s: checked %v", kind, checked)
		}
		if openNote.MatchString(r.body) != open {
			t.Errorf("?kind=%s: confidentiality note open %v, want %v", kind, !open, open)
		}
		if !strings.Contains(r.body, note) {
			t.Errorf("?kind=%s: the note must be in the page (CSS shows it when 举报 is chosen)", kind)
		}
	}
}

var assetRe = regexp.MustCompile(`(?:href|src)="(/static/web/[a-z]+\.(?:css|js)\?v=[0-9a-f]{12})"`)

func TestStaticFiles(t *testing.T) {
	s := start(t, web.Options{})
	page := s.get("/report")
	urls := assetRe.FindAllStringSubmatch(page.body, -1)
	if len(urls) != 2 {
		t.Fatalf("want the stylesheet and the script, got %v", urls)
	}
	for _, u := range urls {
		r := s.get(u[1])
		want := map[bool]string{true: "text/css; charset=utf-8", false: "text/javascript; charset=utf-8"}[strings.Contains(u[1], ".css")]
		if r.status != 200 || r.header.Get("Content-Type") != want {
			t.Errorf("%s: %d %q", u[1], r.status, r.header.Get("Content-Type"))
		}
		if cc := r.header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
			t.Errorf("%s: Cache-Control %q", u[1], cc)
		}
		if len(r.body) > 16<<10 {
			t.Errorf("%s: %d bytes; keep it small for cheap phones", u[1], len(r.body))
		}
		req, _ := http.NewRequest("GET", s.URL+u[1], nil)
		req.Header.Set("If-None-Match", r.header.Get("ETag"))
		if again := s.do(req, nil); again.status != http.StatusNotModified {
			t.Errorf("%s with its ETag: %d", u[1], again.status)
		}
		stale := s.get(strings.Split(u[1], "?")[0] + "?v=000000000000")
		if stale.status != 200 || stale.header.Get("Cache-Control") != "public, max-age=300" {
			t.Errorf("%s under another version: %d %q", u[1], stale.status, stale.header.Get("Cache-Control"))
		}
	}
	if r := s.get("/static/web/nothing.js"); r.status != 404 {
		t.Errorf("unknown static file: %d", r.status)
	}
	if r := s.get("/static/web/..%2fweb.go"); r.status != 404 {
		t.Errorf("traversal: %d", r.status)
	}

	// Contrast of the colours of the stylesheet (WCAG: 4.5:1 for text,
	// 3:1 for the focus outline).
	css := s.get(urls[0][1]).body
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6});`).FindAllStringSubmatch(css, -1) {
		vars[m[1]] = m[2]
	}
	for _, p := range []struct {
		fg, bg string
		min    float64
	}{
		{"fg", "bg", 4.5}, {"fg", "surface", 4.5}, {"fg", "note-bg", 4.5}, {"muted", "bg", 4.5}, {"muted", "surface", 4.5},
		{"primary", "bg", 4.5}, {"primary", "surface", 4.5}, {"on-primary", "primary", 4.5}, {"on-primary", "header", 4.5},
		{"error", "bg", 4.5}, {"error", "error-bg", 4.5}, {"note-fg", "note-bg", 4.5}, {"success", "bg", 4.5},
		{"focus", "bg", 3}, {"focus-alt", "header", 3},
	} {
		fg, bg := vars[p.fg], vars[p.bg]
		if fg == "" || bg == "" {
			t.Errorf("no --%s or --%s in the stylesheet", p.fg, p.bg)
			continue
		}
		if c := contrast(fg, bg); c < p.min {
			t.Errorf("--%s %s on --%s %s: contrast %.2f < %.1f", p.fg, fg, p.bg, bg, c, p.min)
		}
	}
}

// contrast is the WCAG 2 contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	lum := func(h string) float64 {
		var l float64
		for i, w := range []float64{0.2126, 0.7152, 0.0722} {
			v, _ := strconv.ParseUint(h[1+2*i:3+2*i], 16, 8)
			c := float64(v) / 255
			if c <= 0.03928 {
				c /= 12.92
			} else {
				c = math.Pow((c+0.055)/1.055, 2.4)
			}
			l += w * c
		}
		return l
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func TestSubmitCreatesCaseOnce(t *testing.T) {
	s := start(t, web.Options{})
	ctx := context.Background()
	token := s.token()
	fs := form(token)
	img := pngImage(t, 4, 3)

	first := s.post(fs, photo{"路灯.png", img})
	checkPage(t, "POST /report", first)
	no := s.trackingNo(first)
	for _, want := range []string{"提交成功", `href="` + publicURL + `/track?no=` + no + `"`, "手机号的后四位", "投诉"} {
		if !strings.Contains(first.body, want) {
			t.Errorf("result page: no %q", want)
		}
	}
	if strings.Contains(first.body, "举报人信息严格保密") {
		t.Error("a complaint's result shows the 举报 note")
	}
	c, err := s.App.Cases.GetByTrackingNo(ctx, no)
	if err != nil {
		t.Fatal(err)
	}
	if c.Channel != cases.ChannelWeb || c.ChannelRef != "web:"+token || c.Reporter != "" {
		t.Errorf("case channel %q ref %q reporter %q", c.Channel, c.ChannelRef, c.Reporter)
	}
	if c.Kind != cases.Complaint || c.TownshipCode != "330106005" || c.CountyCode != "330106" || c.CitizenPhone != "13812345678" ||
		c.CitizenName != "王芳" || c.Address != "翠苑一区 12 幢旁" || c.Anonymous {
		t.Errorf("case %+v", c)
	}
	atts, err := s.App.Files.List(ctx, c.ID)
	if err != nil || len(atts) != 1 || atts[0].ContentType != "image/png" || atts[0].Size != int64(len(img)) || atts[0].Name != "路灯.png" {
		t.Errorf("attachments %+v, %v", atts, err)
	}

	// A double click or a browser retry: the same case, the same page.
	again := s.post(fs, photo{"路灯.png", img})
	if got := s.trackingNo(again); got != no {
		t.Errorf("retry: %s, want %s", got, no)
	}
	if strings.Contains(again.body, "之前已经提交过") {
		t.Error("an identical retry is told it differs")
	}
	// The back button and an edit: the same case, and the person is told.
	edited := s.post(form(token, field{"content", "路灯坏了，另外垃圾桶也满了"}))
	if got := s.trackingNo(edited); got != no {
		t.Errorf("edited retry: %s, want %s", got, no)
	}
	if !strings.Contains(edited.body, "之前已经提交过") {
		t.Error("an edited retry is not told that nothing new was filed")
	}
	// Even emptied: the form was filed, its case is shown (not errors).
	if got := s.trackingNo(s.post(form(token, field{"content", ""}))); got != no {
		t.Errorf("emptied retry: %s, want %s", got, no)
	}
	if n := s.webCases(); n != 1 {
		t.Errorf("%d web cases, want 1", n)
	}
	if atts, _ := s.App.Files.List(ctx, c.ID); len(atts) != 1 {
		t.Errorf("%d attachments after retries", len(atts))
	}

	// Another form (another token) is another case; 举报 is confidential.
	report := s.post(form(s.token(), field{"kind", "举报"}, field{"content", "某饭店长期无证经营，后厨卫生很差"}))
	rno := s.trackingNo(report)
	if rno == no {
		t.Fatal("a new form got the old case")
	}
	if !strings.Contains(report.body, `<div class="note note-report is-open" id="note-report">`) ||
		!strings.Contains(report.body, "举报人信息严格保密，承办单位看不到您的姓名和电话") {
		t.Error("a 举报 result does not say the reporter's identity stays confidential")
	}
	if rc, _ := s.App.Cases.GetByTrackingNo(ctx, rno); rc == nil || !rc.Confidential {
		t.Errorf("举报 case not confidential: %+v", rc)
	}
}

func TestPlaceFromAddress(t *testing.T) {
	s := start(t, web.Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name                  string
		set                   []field
		wantTownship, wantCty string
	}{
		{"address only", []field{{"city", ""}, {"county_code", ""}, {"township_code", ""}, {"address", "杭州市西湖区西溪街道文三路 100 号"}}, "330106004", "330106"},
		{"county and address", []field{{"city", ""}, {"township_code", ""}, {"address", "古荡街道文二西路口"}}, "330106007", "330106"},
		// the address names a township of another county: the county picked stands
		{"county and another county's township", []field{{"township_code", ""}, {"address", "上城区小营街道"}}, "", "330106"},
		{"township picked", []field{{"city", ""}, {"county_code", ""}, {"address", "上城区小营街道"}}, "330106005", "330106"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := form(s.token(), append(tc.set, field{"content", "楼下的垃圾好几天没人清运，味道很大"})...)
			no := s.trackingNo(s.post(fs))
			c, err := s.App.Cases.GetByTrackingNo(ctx, no)
			if err != nil {
				t.Fatal(err)
			}
			if c.TownshipCode != tc.wantTownship || c.CountyCode != tc.wantCty {
				t.Errorf("township %q county %q, want %q %q", c.TownshipCode, c.CountyCode, tc.wantTownship, tc.wantCty)
			}
		})
	}
}

var errorRe = regexp.MustCompile(`<p class="field-error" id="err-([a-z]+)">([^<]*)</p>`)

// TestBadInputShowsTheFormAgain is the table of messages shown: each bad
// input answers 4xx with the form again, the field's message next to it
// and in the summary (linked to the field), the input kept, no case.
func TestBadInputShowsTheFormAgain(t *testing.T) {
	s := start(t, web.Options{})
	img := pngImage(t, 2, 2)
	long := strings.Repeat("路", 4001)
	seven := make([]photo, 7)
	for i := range seven {
		seven[i] = photo{fmt.Sprintf("%d.png", i), pngImage(t, i+1, 1)}
	}
	huge := append(append([]byte{}, img...), make([]byte, 10<<20)...)
	token := s.token()
	for _, tc := range []struct {
		name   string
		fields []field
		photos []photo
		status int
		field  string // the id suffix of the message: err-<field>; "" for the summary only
		msg    string
		kept   []string // in the page again
	}{
		{"empty content", form(token, field{"content", "  "}), nil, 400, "content", "诉求内容不能为空", []string{`value="138 1234 5678"`, `value="王芳"`}},
		{"content too long", form(token, field{"content", long}), nil, 400, "content", "诉求内容不能超过 4000 个字", []string{">" + long + "</textarea>"}},
		{"bad phone", form(token, field{"phone", "12345"}), nil, 400, "phone", "联系电话格式不正确，请填写手机号（如 13812345678）或带区号的固话（如 0571-88001234）", []string{`value="12345"`}},
		{"no phone", without(form(token), "phone"), nil, 400, "phone", "联系电话不能为空", []string{"小区门口的路灯坏了三天"}},
		{"invalid UTF-8 content", form(token, field{"content", "路灯坏了\xff\xfe三天"}), nil, 400, "content", "诉求内容不是有效的 UTF-8 文本", []string{"路灯坏了\uFFFD三天"}},
		{"invalid UTF-8 address", form(token, field{"address", "翠苑\xc3"}), nil, 400, "address", "地址不是有效的 UTF-8 文本", []string{`value="翠苑` + "\uFFFD" + `"`}},
		{"unknown township", form(token, field{"township_code", "330106999"}), nil, 400, "township", "乡镇（街道）代码不存在", []string{"小区门口的路灯坏了三天"}},
		{"township of another county", form(token, field{"township_code", "330102004"}), nil, 400, "township", "所选乡镇（街道）不属于所选县（市、区），请重新选择", nil},
		{"county of another city", form(token, field{"county_code", "330203"}, field{"township_code", ""}), nil, 400, "county", "所选县（市、区）不属于所选的市，请重新选择", nil},
		{"unknown county", form(token, field{"county_code", "339999"}, field{"township_code", ""}), nil, 400, "county", "县（市、区）代码不存在", nil},
		{"unknown city", form(token, field{"city", "9999"}), nil, 400, "city", "所选的市不存在，请重新选择", nil},
		{"unknown kind", form(token, field{"kind", "闲聊"}), nil, 400, "kind", "诉求类型必须是以下之一：咨询、求助、投诉、举报、建议、表扬、其他", nil},
		{"unknown category", form(token, field{"category", "9999"}), nil, 400, "category", "诉求类别代码不存在", nil},
		{"name too long", form(token, field{"citizen_name", strings.Repeat("名", 51)}), nil, 400, "name", "姓名不能超过 50 个字", nil},
		{"bad anonymous", form(token, field{"anonymous", "maybe"}), nil, 400, "anonymous", "匿名选项无效", nil},
		{"no token", without(form(token), "token"), nil, 400, "", "页面已过期或不完整，请检查后再次点击“提交”", []string{"小区门口的路灯坏了三天"}},
		{"forged token", form("not-a-token"), nil, 400, "", "页面已过期或不完整，请检查后再次点击“提交”", nil},
		{"text file", form(token), []photo{{"a.png", []byte("hello, this is not a photo at all")}}, 422, "photos", "只能上传图片（JPG、PNG、GIF、WebP）", []string{"浏览器不会保留已选择的照片"}},
		{"pdf", form(token), []photo{{"a.pdf", []byte("%PDF-1.4\n1 0 obj\n<<>>\nendobj\n")}}, 422, "photos", "只能上传图片（JPG、PNG、GIF、WebP）", nil},
		{"corrupt image", form(token), []photo{{"a.png", img[:20]}}, 422, "photos", "图片文件已损坏", []string{"小区门口的路灯坏了三天"}},
		{"seven photos", form(token), seven, 422, "photos", "最多上传 6 张照片", nil},
		{"photo over 10 MB", form(token), []photo{{"big.png", huge}}, 413, "photos", "每张照片不能超过 10 MB", []string{"小区门口的路灯坏了三天"}},
		{"several problems", form(token, field{"content", ""}, field{"phone", "1"}), []photo{{"a.txt", []byte("text")}}, 400, "phone", "联系电话格式不正确", []string{"诉求内容不能为空", "只能上传图片"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// each row its own form: a row that wrongly files a case
			// does not turn the next ones into retries
			fields := append([]field(nil), tc.fields...)
			for i := range fields {
				if fields[i].name == "token" && fields[i].value == token {
					fields[i].value = s.token()
				}
			}
			before := s.webCases()
			r := s.post(fields, tc.photos...)
			checkBadInput(t, s, r, tc.status, tc.field, tc.msg, tc.kept)
			if n := s.webCases(); n != before {
				t.Errorf("bad input filed a case (%d → %d)", before, n)
			}
		})
	}

	// The same as a plain urlencoded post, and bodies that are no form.
	post := func(ct, body string) response {
		req, _ := http.NewRequest("POST", s.URL+"/report", strings.NewReader(body))
		req.Header.Set("Content-Type", ct)
		return s.do(req, nil)
	}
	vals := url.Values{"token": {token}, "content": {""}, "phone": {"13812345678"}}
	checkBadInput(t, s, post("application/x-www-form-urlencoded", vals.Encode()), 400, "content", "诉求内容不能为空", []string{`value="13812345678"`})
	checkBadInput(t, s, post("application/x-www-form-urlencoded", "content=%ff%fe&phone=13812345678&token="+token), 400, "content", "诉求内容不是有效的 UTF-8 文本", nil)
	checkBadInput(t, s, post("text/plain", "content=hello"), 400, "", "提交的格式不正确，请通过本页面的表单提交", nil)
	checkBadInput(t, s, post("multipart/form-data; boundary=xyz", "--xyz\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\nhello"), 400, "", "提交的内容不完整或格式不正确，请重新提交", nil)
	checkBadInput(t, s, post("multipart/form-data", "--xyz--"), 400, "", "提交的内容不完整或格式不正确，请重新提交", nil)
}

func checkBadInput(t *testing.T, s *site, r response, status int, fieldID, msg string, kept []string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, want %d", r.status, status)
	}
	checkPage(t, "POST /report", r)
	if !strings.Contains(r.body, `<form class="report"`) {
		t.Fatalf("not the form again:\n%s", r.body)
	}
	i := strings.Index(r.body, `<div class="error-summary"`)
	if i < 0 {
		t.Fatalf("no error summary:\n%s", r.body)
	}
	summary := r.body[i:]
	summary = summary[:strings.Index(summary, "</div>")]
	if !strings.Contains(summary, msg) {
		t.Errorf("the error summary lacks %q:\n%s", msg, summary)
	}
	if fieldID != "" {
		found := false
		for _, m := range errorRe.FindAllStringSubmatch(r.body, -1) {
			if m[1] == fieldID && strings.Contains(html.UnescapeString(m[2]), msg) {
				found = true
			}
		}
		if !found {
			t.Errorf("no %q next to #f-%s; messages: %q", msg, fieldID, errorRe.FindAllString(r.body, -1))
		}
		if !regexp.MustCompile(`<a href="#f-` + fieldID + `(-0)?">[^<]*` + regexp.QuoteMeta(msg)).MatchString(summary) {
			t.Errorf("the summary does not link %q to its field", msg)
		}
		if !regexp.MustCompile(`id="f-` + fieldID + `(-0)?"[^>]*aria-describedby="[^"]*err-` + fieldID).MatchString(r.body) {
			t.Errorf("#f-%s is not described by its error", fieldID)
		}
	}
	for _, k := range kept {
		if !strings.Contains(r.body, k) {
			t.Errorf("the page lacks %q", k)
		}
	}
	if m := tokenRe.FindStringSubmatch(r.body); m == nil || !web.ValidToken(m[1]) {
		t.Error("the form shown again has no valid token")
	}
}

func TestBodyTooLarge(t *testing.T) {
	s := start(t, web.Options{MaxBody: 64 << 10})
	big := append(pngImage(t, 2, 2), make([]byte, 100<<10)...)
	r := s.post(form(s.token()), photo{"big.png", big})
	checkBadInput(t, s, r, 413, "", "提交的内容超过 64 KB，照片未能上传：请减少照片数量或压缩后重新选择",
		[]string{"小区门口的路灯坏了三天", `value="138 1234 5678"`, "浏览器不会保留已选择的照片"})
	if n := s.webCases(); n != 0 {
		t.Errorf("%d cases", n)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	s := start(t, web.Options{})
	token := s.token()
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"another site's Origin", map[string]string{"Origin": "http://evil.example"}, 403},
		{"Origin null", map[string]string{"Origin": "null"}, 403},
		{"another site's Referer", map[string]string{"Referer": "http://evil.example/form.html"}, 403},
		{"the browser says cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"another host of the site", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://other.127.0.0.1.example"}, 403},
		{"this site's Referer", map[string]string{"Referer": "{url}/report"}, 200},
		{"the public address", map[string]string{"Origin": publicURL, "Sec-Fetch-Site": "cross-site"}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(form(token, field{"content", "测试来源检查：" + tc.name}), nil)
			req, _ := http.NewRequest("POST", s.URL+"/report", body)
			req.Header.Set("Content-Type", ct)
			for k, v := range tc.headers {
				req.Header.Set(k, strings.ReplaceAll(v, "{url}", s.URL))
			}
			before := s.webCases()
			r := s.do(req, nil)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.want, r.body)
			}
			if tc.want == 403 {
				checkPage(t, "403", r)
				if !strings.Contains(r.body, "请求来源无效") {
					t.Error("no explanation")
				}
				if n := s.webCases(); n != before {
					t.Error("a cross-origin post filed a case")
				}
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	s := start(t, web.Options{RatePerMinute: 0.001, Burst: 2})
	token := s.token()
	var r response
	for i := 0; i < 3; i++ {
		r = s.post(form(token, field{"content", ""}))
		if i < 2 && r.status != 400 {
			t.Fatalf("post %d: %d, want the form again", i+1, r.status)
		}
	}
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("third post: %d, want 429", r.status)
	}
	checkPage(t, "429", r)
	if secs, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || secs < 1 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, "提交过于频繁") || !strings.Contains(r.body, "后再试") {
		t.Errorf("no friendly message:\n%s", r.body)
	}
	if g := s.get("/report"); g.status != 200 {
		t.Errorf("the form itself is limited: %d", g.status)
	}
}

// A signed-in member of staff filling the public form: the session
// middleware asks for the session's CSRF token, which the form carries.
func TestStaffSessionCanSubmit(t *testing.T) {
	s := start(t, web.Options{})
	agent := s.Login("agent")
	get := func() response {
		req, _ := http.NewRequest("GET", s.URL+"/report", nil)
		return s.do(req, agent.HTTP)
	}
	page := get()
	if !strings.Contains(page.body, `<input type="hidden" name="csrf" value="`+agent.CSRF+`"`) {
		t.Fatal("the form lacks the session's CSRF token")
	}
	token := tokenRe.FindStringSubmatch(page.body)[1]
	body, ct := multipartBody(append(form(token), field{"csrf", agent.CSRF}), []photo{{"a.png", pngImage(t, 2, 2)}})
	req, _ := http.NewRequest("POST", s.URL+"/report", body)
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Origin", s.URL)
	s.trackingNo(s.do(req, agent.HTTP))
	if strings.Contains(s.get("/report").body, `name="csrf"`) {
		t.Error("an anonymous visitor's form carries a CSRF field")
	}
}
