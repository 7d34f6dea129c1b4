package console_test

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"golang.org/x/net/html"

	"yici/cases"
	"yici/internal/apptest"
	"yici/internal/auth"
	"yici/internal/browsertest"
	"yici/internal/webui"
)

// wbFetch sends a request as the client (its cookies, no redirects
// followed) and returns the answer with its body.
func wbFetch(t *testing.T, c *apptest.Client, method, path string, body io.Reader, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.S.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Jar: c.HTTP.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wbStrictPage checks an HTML answer against the strict policy: the CSP
// header, and no inline script, style or event handler in the markup.
func wbStrictPage(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if got := resp.Header.Get("Content-Security-Policy"); got != webui.CSP {
		t.Errorf("%s: Content-Security-Policy %q", what, got)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("%s: Content-Type %q", what, resp.Header.Get("Content-Type"))
	}
	z := html.NewTokenizer(strings.NewReader(body))
	scripts := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		src := false
		for _, a := range tok.Attr {
			switch {
			case a.Key == "style":
				t.Errorf("%s: inline style on <%s>", what, tok.Data)
			case strings.HasPrefix(a.Key, "on"):
				t.Errorf("%s: inline event handler %s on <%s>", what, a.Key, tok.Data)
			case a.Key == "src":
				src = true
			case a.Key == "href" && strings.HasPrefix(strings.TrimSpace(strings.ToLower(a.Val)), "javascript:"):
				t.Errorf("%s: javascript: link", what)
			}
		}
		switch tok.Data {
		case "style":
			t.Errorf("%s: inline <style>", what)
		case "script":
			scripts++
			if !src {
				t.Errorf("%s: inline <script>", what)
			}
		}
	}
	if scripts == 0 && resp.StatusCode == http.StatusOK {
		t.Errorf("%s: no script at all (the check would not see one)", what)
	}
}

// wbText is the visible text of an HTML page, spaces collapsed.
func wbText(body string) string {
	z := html.NewTokenizer(strings.NewReader(body))
	var b strings.Builder
	skip := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			return strings.Join(strings.Fields(b.String()), " ")
		case html.StartTagToken:
			if n, _ := z.TagName(); string(n) == "script" || string(n) == "style" || string(n) == "title" {
				skip++
			}
		case html.EndTagToken:
			if n, _ := z.TagName(); string(n) == "script" || string(n) == "style" || string(n) == "title" {
				skip--
			}
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
				b.WriteByte(' ')
			}
		}
	}
}

// wbNewCase registers a case as the agent and routes it to the township's
// platform for the category; it returns the case as routed.
func wbNewCase(t *testing.T, agent *apptest.Client, township, content, phone string) cases.CaseJSON {
	t.Helper()
	var c cases.CaseJSON
	if code := agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "category": "0104", "content": content,
		"address": "杭州市西湖区", "township_code": township, "citizen_name": "陈女士", "citizen_phone": phone}, &c); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	var routed struct {
		Case cases.CaseJSON `json:"case"`
	}
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID.String()+"/route", map[string]any{"township_code": township, "category": "0104"}, &routed); code != http.StatusOK {
		t.Fatalf("route: %d", code)
	}
	if routed.Case.State != cases.PendingSign {
		t.Fatalf("routed case is %s", routed.Case.State)
	}
	return routed.Case
}

func TestWorkbenchIsForOfficersOnly(t *testing.T) {
	s := apptest.Start(t)
	anon, agent, zf, bs := s.Anon(), s.Login("agent"), s.Login("wenxin-zf"), s.Login("beishan-zf")
	c := wbNewCase(t, agent, "330106013", "文新街道丰潭路烧烤店油烟直排，影响居民开窗", "13957105678")

	// Anonymous: to the sign-in page, back here afterwards.
	for _, p := range []string{"/work", "/work/cases/" + c.ID.String()} {
		resp, _ := wbFetch(t, anon, "GET", p, nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login?next="+url.QueryEscape(p) {
			t.Errorf("anonymous %s: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Hotline centre staff: 403, a page that says so, and no case data.
	for _, p := range []string{"/work", "/work/cases/" + c.ID.String()} {
		resp, body := wbFetch(t, agent, "GET", p, nil, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "无权使用工作台") || strings.Contains(body, c.Title) {
			t.Errorf("agent %s: %d %s", p, resp.StatusCode, wbText(body))
		}
		wbStrictPage(t, "agent "+p, resp, body)
	}
	// The officer: the workbench, strict, with the unit's name and the CSRF token.
	resp, body := wbFetch(t, zf, "GET", "/work", nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("officer /work: %d", resp.StatusCode)
	}
	wbStrictPage(t, "/work", resp, body)
	if !strings.Contains(body, "文新街道综合执法平台") || !strings.Contains(body, `content="`+zf.CSRF+`"`) {
		t.Errorf("/work lacks the unit or the CSRF token: %s", wbText(body))
	}
	resp, body = wbFetch(t, zf, "GET", "/work/cases/"+c.ID.String(), nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `data-case="`+c.ID.String()+`"`) {
		t.Errorf("officer's own case page: %d", resp.StatusCode)
	}
	wbStrictPage(t, "/work/cases/{id}", resp, body)
	// Another township's officer: the case does not exist for them.
	for _, p := range []string{"/work/cases/" + c.ID.String(), "/work/cases/not-a-uuid", "/work/cases/00000000-0000-0000-0000-000000000000"} {
		resp, body := wbFetch(t, bs, "GET", p, nil, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "工单不存在") || strings.Contains(body, c.ID.String()) {
			t.Errorf("北山 %s: %d", p, resp.StatusCode)
		}
	}
	if code := bs.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, nil); code != http.StatusNotFound {
		t.Errorf("北山 reads 文新's case over the API: %d", code)
	}
	// The page's files are served, versioned.
	for _, f := range []string{"work.js", "work.css"} {
		resp, body := wbFetch(t, anon, "GET", "/static/console/"+f, nil, nil)
		if resp.StatusCode != http.StatusOK || len(body) < 500 {
			t.Errorf("%s: %d (%d bytes)", f, resp.StatusCode, len(body))
		}
	}
}

// wbSignIn signs a demo account in over the JSON API and gives the
// browser tab its session cookie (the sign-in page is not needed).
func wbSignIn(t *testing.T, s *apptest.Server, tab *browsertest.Tab, user string) *apptest.Client {
	t.Helper()
	return wbSignInAt(t, s, tab, user, s.URL)
}

// wbSignInAt is wbSignIn for a browser that reaches the server at site.
func wbSignInAt(t *testing.T, s *apptest.Server, tab *browsertest.Tab, user, site string) *apptest.Client {
	t.Helper()
	c := s.Login(user)
	u, _ := url.Parse(s.URL)
	var value string
	for _, ck := range c.HTTP.Jar.Cookies(u) {
		if ck.Name == auth.CookieName {
			value = ck.Value
		}
	}
	if value == "" {
		t.Fatalf("%s: no session cookie", user)
	}
	tab.Run(t, 40*time.Second, chromedp.ActionFunc(func(ctx context.Context) error {
		return network.SetCookie(auth.CookieName, value).WithURL(site).WithPath("/").WithHTTPOnly(true).Do(ctx)
	}))
	return c
}

// wbPNG writes a small photo for the upload.
func wbPNG(t *testing.T) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 48))
	for x := 0; x < 64; x++ {
		for y := 0; y < 48; y++ {
			img.Set(x, y, color.RGBA{uint8(x * 4), uint8(y * 5), 120, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "现场照片.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// The whole loop in the browser: a case dispatched to 文新 appears live
// on its officer's open workbench (and never on 北山's), the officer signs
// for it and resolves it with a photo, the centre approves, and the
// citizen follows it on /track and rates it.
func TestWorkbenchLiveLoopInBrowser(t *testing.T) {
	s := apptest.Start(t)
	b := browsertest.New(t)
	agent := s.Login("agent")

	zfTab, bsTab := b.Tab("wenxin-zf"), b.Tab("beishan-zf")
	wbSignIn(t, s, zfTab, "wenxin-zf")
	bs := wbSignIn(t, s, bsTab, "beishan-zf")
	for _, tab := range []*browsertest.Tab{zfTab, bsTab} {
		tab.Run(t, 40*time.Second,
			chromedp.Navigate(s.URL+"/work"),
			chromedp.WaitVisible(`#live[data-state="live"]`),
			chromedp.WaitVisible(`#queue-summary`),
			// Set on this document: gone if the page reloads.
			chromedp.Evaluate(`window.yiciNoReload = 'still here'`, nil),
		)
	}

	// Dispatched to 文新's 综合执法平台 while the page is open: it appears.
	c := wbNewCase(t, agent, "330106013", "文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味", "13957105678")
	if l := c.Assignments; len(l) == 0 || l[0].UnitID != "330106013-ZF" {
		t.Fatalf("routed to %+v, want 330106013-ZF", l)
	}
	card := `#queue .card-link[data-id="` + c.ID.String() + `"]`
	var marker, announced, cardText string
	zfTab.Run(t, 40*time.Second,
		chromedp.WaitVisible(card),
		chromedp.Evaluate(`window.yiciNoReload || ''`, &marker),
		chromedp.Text(`#announce`, &announced),
		chromedp.Text(card, &cardText),
	)
	if marker != "still here" {
		t.Error("the workbench reloaded to show the new case")
	}
	if !strings.Contains(announced, "新工单") || !strings.Contains(announced, webui.GroupTrackingNo(c.TrackingNo)) {
		t.Errorf("not announced: %q", announced)
	}
	if !strings.Contains(cardText, "剩 ") || !strings.Contains(cardText, "待签收") {
		t.Errorf("card without the time left in words or the state: %q", cardText)
	}

	// 北山's open workbench: a case dispatched to 北山 after 文新's appears
	// there, so its stream and queue are live, and 文新's case is not.
	other := wbNewCase(t, agent, "330106002", "北山街道保俶路餐馆油烟扰民，晚上气味很重", "13957109999")
	var bsHTML string
	bsTab.Run(t, 40*time.Second,
		chromedp.WaitVisible(`#queue .card-link[data-id="`+other.ID.String()+`"]`),
		chromedp.OuterHTML(`#main`, &bsHTML),
	)
	if strings.Contains(bsHTML, c.ID.String()) || strings.Contains(bsHTML, c.TrackingNo) || strings.Contains(bsHTML, webui.GroupTrackingNo(c.TrackingNo)) {
		t.Error("北山's workbench shows 文新's case")
	}
	var bsTitle string
	bsTab.Run(t, 40*time.Second,
		chromedp.Navigate(s.URL+"/work/cases/"+c.ID.String()),
		chromedp.Text(`h1`, &bsTitle),
	)
	if bsTitle != "工单不存在" {
		t.Errorf("北山 opens 文新's case page: %q", bsTitle)
	}
	if code := bs.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, nil); code != http.StatusNotFound {
		t.Errorf("北山 reads 文新's case over the API: %d", code)
	}

	// The officer opens the case, signs for it, and resolves it with a reply and a photo.
	reply := "经现场核查，该烧烤店已安装油烟净化设备并改为高空排放，执法队员将持续跟踪检查。"
	var path, title, state, signed string
	zfTab.Run(t, 40*time.Second,
		chromedp.Click(card),
		chromedp.WaitVisible(`#do-sign`),
		chromedp.Evaluate(`location.pathname`, &path),
		chromedp.Text(`#case-title`, &title),
		chromedp.Click(`#do-sign`),
		chromedp.Poll(`document.querySelector('#c-state').textContent === '办理中'`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#action-status`, &signed),
		chromedp.WaitVisible(`[data-open="f-reply"]`),
		chromedp.Click(`[data-open="f-reply"]`),
		chromedp.WaitVisible(`#reply-text`),
		chromedp.SendKeys(`#reply-text`, reply),
		chromedp.SendKeys(`#reply-note`, "已拍照取证，内部存档"),
		chromedp.SetUploadFiles(`#reply-photos`, []string{wbPNG(t)}),
		chromedp.Click(`#f-reply button[type="submit"]`),
		chromedp.Poll(`document.querySelector('#c-state').textContent === '办结审核中'`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Poll(`(() => { const i = document.querySelector('#c-files img'); return !!i && i.complete && i.naturalWidth === 64; })()`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#c-state`, &state),
	)
	if path != "/work/cases/"+c.ID.String() || title != c.Title {
		t.Errorf("case panel: path %q, title %q (want %q)", path, title, c.Title)
	}
	if !strings.Contains(signed, "已签收") {
		t.Errorf("sign-for not confirmed: %q", signed)
	}
	var after cases.CaseJSON
	agent.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, &after)
	if after.State != cases.PendingReview || after.Reply != reply {
		t.Fatalf("after the reply: %s %q", after.State, after.Reply)
	}
	var files struct {
		Attachments []struct {
			ContentType string `json:"content_type"`
		} `json:"attachments"`
	}
	agent.Do("GET", "/api/v1/cases/"+c.ID.String()+"/attachments", nil, &files)
	if len(files.Attachments) != 1 || files.Attachments[0].ContentType != "image/png" {
		t.Errorf("attachments: %+v", files.Attachments)
	}

	// The centre approves; the case leaves the unit's queue, live.
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID.String()+"/approve_review", map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("approve_review: %d", code)
	}
	zfTab.Run(t, 40*time.Second,
		chromedp.WaitNotPresent(card),
		chromedp.Poll(`document.querySelector('#c-state').textContent === '待回访'`, nil, chromedp.WithPollingTimeout(20*time.Second)),
	)

	// The citizen, in another window, follows it on /track and rates it.
	cit := b.Tab("citizen")
	var status, shownReply, phone, pageText string
	cit.Run(t, 40*time.Second,
		chromedp.Navigate(s.URL+"/track"),
		chromedp.WaitVisible(`#tracking_no`),
		chromedp.SendKeys(`#tracking_no`, webui.GroupTrackingNo(c.TrackingNo)),
		chromedp.SendKeys(`#phone_last4`, "5678"),
		chromedp.Click(`#track-form button[type="submit"]`),
		chromedp.WaitVisible(`#t-status`),
		chromedp.Text(`#t-status`, &status),
		chromedp.Text(`#t-reply`, &shownReply),
		chromedp.Text(`#t-phone`, &phone),
		chromedp.Text(`body`, &pageText),
	)
	if status != "已办结，等待回访" || shownReply != reply || phone != "139****5678" {
		t.Errorf("tracking: status %q, reply %q, phone %q", status, shownReply, phone)
	}
	for _, secret := range []string{"赵磊", "已拍照取证", "13957105678", "陈女士"} {
		if strings.Contains(pageText, secret) {
			t.Errorf("the tracking page shows %q", secret)
		}
	}
	var rated, satisfaction, finalStatus string
	cit.Run(t, 40*time.Second,
		chromedp.Click(`input[name="satisfaction"][value="satisfied"]`),
		chromedp.Click(`input[name="solved"][value="yes"]`),
		chromedp.Click(`#rate-form button[type="submit"]`),
		chromedp.WaitVisible(`#t-rated`),
		chromedp.Text(`#t-rated`, &rated),
		chromedp.Text(`#t-satisfaction`, &satisfaction),
		chromedp.Text(`#t-status`, &finalStatus),
		chromedp.WaitNotPresent(`#rate-form`),
	)
	if !strings.Contains(rated, "感谢您的评价") || satisfaction != "满意" || finalStatus != "已办结" {
		t.Errorf("after rating: %q %q %q", rated, satisfaction, finalStatus)
	}
	agent.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, &after)
	if after.State != cases.Archived || after.Satisfaction != cases.Satisfied || after.Solved == nil || !*after.Solved {
		t.Errorf("stored rating: %s %s %v", after.State, after.Satisfaction, after.Solved)
	}
}

// A co-handling unit in the browser, on a 举报 case: the reporter stays
// hidden, the unit signs for and answers its part only, and the page
// follows the lead unit's step live.
func TestWorkbenchCoHandlingInBrowser(t *testing.T) {
	s := apptest.Start(t)
	b := browsertest.New(t)
	agent, zf := s.Login("agent"), s.Login("wenxin-zf")
	var c cases.CaseJSON
	if code := agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "举报", "category": "0501",
		"content": "文新街道一处工地每晚十一点后还在打桩，噪音扰民，怀疑没有夜间施工许可", "address": "杭州市西湖区文新街道",
		"township_code": "330106013", "citizen_name": "孙先生", "citizen_phone": "13812349876"}, &c); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	var routed struct {
		Case cases.CaseJSON `json:"case"`
	}
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID.String()+"/route", map[string]any{}, &routed); code != http.StatusOK {
		t.Fatalf("route: %d", code)
	}
	co := false
	for _, a := range routed.Case.Assignments {
		co = co || (a.UnitID == "330106-ZJJ" && a.Role == cases.Co)
	}
	if !co {
		t.Fatalf("住建局 is not co-handling: %+v", routed.Case.Assignments)
	}

	tab := b.Tab("xihu-zjj")
	wbSignIn(t, s, tab, "xihu-zjj")
	var citizen, phone, role, body string
	var returnHidden, replyHidden bool
	tab.Run(t, 40*time.Second,
		chromedp.Navigate(s.URL+"/work/cases/"+c.ID.String()),
		chromedp.WaitVisible(`#do-sign`),
		chromedp.WaitVisible(`#live[data-state="live"]`),
		chromedp.Text(`#c-citizen`, &citizen),
		chromedp.Text(`#c-phone`, &phone),
		chromedp.Click(`#do-sign`),
		chromedp.Poll(`document.querySelector('#c-role').textContent.includes('已签收')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#c-role`, &role),
		chromedp.Evaluate(`document.querySelector('[data-act="request_return"]').hidden`, &returnHidden),
		chromedp.Evaluate(`document.querySelector('[data-act="reply"]').hidden`, &replyHidden),
		chromedp.OuterHTML(`html`, &body),
	)
	if citizen != cases.ConfidentialName || !strings.Contains(phone, "保密") || strings.Contains(body, "孙先生") || strings.Contains(body, "13812349876") {
		t.Errorf("the reporter of a 举报 shows: %q %q", citizen, phone)
	}
	if !strings.Contains(role, "协办") || !returnHidden || !replyHidden {
		t.Errorf("co-handling unit: role %q, 退单 hidden %v, 反馈 hidden before the lead signs %v", role, returnHidden, replyHidden)
	}

	// The lead signs elsewhere: the co unit's open page offers its answer, live.
	if code := zf.Do("POST", "/api/v1/cases/"+c.ID.String()+"/sign", map[string]any{}, nil); code != http.StatusOK {
		t.Fatalf("lead sign: %d", code)
	}
	var label string
	tab.Run(t, 40*time.Second,
		chromedp.WaitVisible(`[data-open="f-reply"]`),
		chromedp.Text(`[data-open="f-reply"]`, &label),
		chromedp.Click(`[data-open="f-reply"]`),
		chromedp.SendKeys(`#reply-text`, "经核查，该工地未办理夜间施工许可，已移交执法部门处理。"),
		chromedp.Click(`#f-reply button[type="submit"]`),
		chromedp.Poll(`document.querySelector('#c-role').textContent.includes('已反馈')`, nil, chromedp.WithPollingTimeout(20*time.Second)),
	)
	if label != "协办反馈" {
		t.Errorf("the co unit's reply button says %q", label)
	}
	var after cases.CaseJSON
	agent.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, &after)
	replied := false
	for _, a := range after.Assignments {
		replied = replied || (a.UnitID == "330106-ZJJ" && a.State == cases.AReplied)
	}
	if after.State != cases.InProgress || after.Reply != "" || !replied {
		t.Errorf("after the co unit's answer: %s, reply %q, part replied %v", after.State, after.Reply, replied)
	}
}

// wbProxy stands between the browser and the server: it can cut every
// connection and refuse new ones for a while (a phone losing its
// network), and it records the request line of every connection.
type wbProxy struct {
	URL    string
	ln     net.Listener
	target string

	mu     sync.Mutex
	down   bool
	conns  []net.Conn
	starts []string
}

func wbStartProxy(t *testing.T, serverURL string) *wbProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &wbProxy{URL: "http://" + ln.Addr().String(), ln: ln, target: strings.TrimPrefix(serverURL, "http://")}
	t.Cleanup(func() { ln.Close(); p.cut(false) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *wbProxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, c, up)
	p.mu.Unlock()
	go func() { io.Copy(c, up); c.Close() }()
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err == nil {
		p.mu.Lock()
		p.starts = append(p.starts, strings.TrimSpace(line))
		p.mu.Unlock()
		up.Write([]byte(line))
	}
	io.Copy(up, br)
	up.Close()
}

// cut closes every connection; down refuses new ones until cut(false).
func (p *wbProxy) cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *wbProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.starts...)
}

// The workbench loses its connection, a case is dispatched meanwhile, and
// when the network is back the page reconnects from where it was
// (?last=) and shows the case without a reload.
func TestWorkbenchReconnectsAndResumes(t *testing.T) {
	s := apptest.Start(t)
	b := browsertest.New(t)
	agent := s.Login("agent")
	proxy := wbStartProxy(t, s.URL)
	tab := b.Tab("wenxin-zf")
	wbSignInAt(t, s, tab, "wenxin-zf", proxy.URL)
	tab.Run(t, 40*time.Second,
		chromedp.Navigate(proxy.URL+"/work"),
		chromedp.WaitVisible(`#live[data-state="live"]`),
		chromedp.Evaluate(`window.yiciNoReload = 'still here'`, nil),
	)

	proxy.cut(true)
	tab.Run(t, 40*time.Second, chromedp.WaitVisible(`#live[data-state="offline"]`))
	missed := wbNewCase(t, agent, "330106013", "文新街道学院路夜宵摊油烟直排，楼上住户无法开窗", "13957101111")
	proxy.cut(false)

	var marker string
	tab.Run(t, 40*time.Second,
		chromedp.WaitVisible(`#queue .card-link[data-id="`+missed.ID.String()+`"]`),
		chromedp.WaitVisible(`#live[data-state="live"]`),
		chromedp.Evaluate(`window.yiciNoReload || ''`, &marker),
	)
	if marker != "still here" {
		t.Error("the page reloaded")
	}
	resumed := false
	for _, line := range proxy.requests() {
		if rest, ok := strings.CutPrefix(line, "GET /console/ws?last="); ok {
			n, err := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			resumed = resumed || (err == nil && n > 0)
		}
	}
	if !resumed {
		t.Errorf("no reconnection with ?last=: %q", proxy.requests())
	}
}

// The other actions of the lead unit in the browser: a reason is asked
// for before anything is sent; 申请延期, 挂起, 恢复 and 退单 reach the API.
func TestWorkbenchActionsInBrowser(t *testing.T) {
	s := apptest.Start(t)
	b := browsertest.New(t)
	agent := s.Login("agent")
	c := wbNewCase(t, agent, "330106013", "文新街道古墩路一家饭店油烟管道破损，油烟飘进小区", "13957102222")
	tab := b.Tab("wenxin-zf")
	wbSignIn(t, s, tab, "wenxin-zf")
	state := func(want string) chromedp.Action {
		return chromedp.Poll(`document.querySelector('#c-state').textContent === '`+want+`'`, nil, chromedp.WithPollingTimeout(20*time.Second))
	}
	var emptyErr, focused string
	tab.Run(t, 40*time.Second,
		chromedp.Navigate(s.URL+"/work/cases/"+c.ID.String()),
		chromedp.WaitVisible(`#do-sign`),
		// 退单 without a reason: refused in the page, nothing sent.
		chromedp.Click(`[data-open="f-return"]`),
		chromedp.WaitVisible(`#return-reason`),
		chromedp.Click(`#f-return button[type="submit"]`),
		chromedp.WaitVisible(`#return-reason-err`),
		chromedp.Text(`#return-reason-err`, &emptyErr),
		chromedp.Evaluate(`document.activeElement.id`, &focused),
		chromedp.Click(`#f-return [data-close]`),
		chromedp.Click(`#do-sign`),
		state("办理中"),
	)
	if emptyErr != "请填写退单理由" || focused != "return-reason" {
		t.Errorf("退单 without a reason: %q, focus on %q", emptyErr, focused)
	}
	var got cases.CaseJSON
	agent.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, &got)
	if got.DueAt == nil {
		t.Fatal("no deadline")
	}
	until := got.DueAt.In(webui.Shanghai).AddDate(0, 0, 5).Format("2006-01-02")
	var ext string
	tab.Run(t, 40*time.Second,
		chromedp.Click(`[data-open="f-extension"]`),
		chromedp.WaitVisible(`#ext-date`),
		chromedp.SetValue(`#ext-date`, until),
		chromedp.SetValue(`#ext-time`, "16:00"),
		chromedp.SendKeys(`#ext-reason`, "需协调商户更换油烟管道，施工需要一周"),
		chromedp.Click(`#f-extension button[type="submit"]`),
		chromedp.WaitVisible(`#c-ext`),
		chromedp.Text(`#c-ext`, &ext),
		chromedp.Click(`[data-open="f-suspend"]`),
		chromedp.SendKeys(`#suspend-reason`, "商户停业装修，待复业后处理"),
		chromedp.Click(`#f-suspend button[type="submit"]`),
		state("已挂起"),
		chromedp.Click(`[data-open="f-resume"]`),
		chromedp.Click(`#f-resume button[type="submit"]`),
		state("办理中"),
		chromedp.Click(`[data-open="f-return"]`),
		chromedp.SendKeys(`#return-reason`, "该饭店位于三墩镇辖区，应由三墩镇综合执法平台办理"),
		chromedp.Click(`#f-return button[type="submit"]`),
		state("退单审核中"),
	)
	if !strings.Contains(ext, until+" 16:00") {
		t.Errorf("extension shown as %q, want %s 16:00", ext, until)
	}
	agent.Do("GET", "/api/v1/cases/"+c.ID.String(), nil, &got)
	if got.State != cases.ReturnRequested || got.ExtUntil == nil || got.ExtUntil.In(webui.Shanghai).Format("2006-01-02 15:04") != until+" 16:00" {
		t.Errorf("stored: %s, ext %v", got.State, got.ExtUntil)
	}
	var evs struct {
		Events []cases.Event `json:"events"`
	}
	agent.Do("GET", "/api/v1/cases/"+c.ID.String()+"/events", nil, &evs)
	var seen []string
	for _, e := range evs.Events {
		seen = append(seen, string(e.Action))
	}
	if got := strings.Join(seen, ","); got != "register,dispatch,sign,request_extension,suspend,resume,request_return" {
		t.Errorf("events %s", got)
	}
}
