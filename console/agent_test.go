package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"golang.org/x/net/html"

	"yici/channels"
	"yici/internal/app"
	"yici/internal/apptest"
	"yici/internal/auth"
	"yici/internal/browsertest"
	"yici/internal/demo"
	"yici/internal/webui"
)

// agVisitor is a browser without JavaScript: its own cookies, redirects not
// followed, forms posted as a browser posts them (with this site's Origin
// unless told otherwise).
type agVisitor struct {
	t   *testing.T
	s   *apptest.Server
	jar *cookiejar.Jar
	c   *http.Client
}

func agNewVisitor(t *testing.T, s *apptest.Server) *agVisitor {
	jar, _ := cookiejar.New(nil)
	return &agVisitor{t: t, s: s, jar: jar, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type agAnswer struct {
	code int
	hdr  http.Header
	body string
}

func (v *agVisitor) do(req *http.Request) agAnswer {
	v.t.Helper()
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		v.t.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return agAnswer{resp.StatusCode, resp.Header, string(b)}
}

func (v *agVisitor) get(path string) agAnswer {
	v.t.Helper()
	req, _ := http.NewRequest("GET", v.s.URL+path, nil)
	return v.do(req)
}

// post sends a form; origin "" sends none, "self" this site's.
func (v *agVisitor) post(path string, form url.Values, origin string) agAnswer {
	v.t.Helper()
	req, _ := http.NewRequest("POST", v.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	switch origin {
	case "":
	case "self":
		req.Header.Set("Origin", v.s.URL)
	default:
		req.Header.Set("Origin", origin)
	}
	return v.do(req)
}

func (v *agVisitor) cookie(name string) string {
	u, _ := url.Parse(v.s.URL + "/login")
	for _, c := range v.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

var agCSRFField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken opens the sign-in page and returns its form's token.
func (v *agVisitor) formToken() string {
	v.t.Helper()
	a := v.get("/login")
	if a.code != 200 {
		v.t.Fatalf("GET /login: %d", a.code)
	}
	return agTokenIn(v.t, a.body)
}

func agTokenIn(t *testing.T, body string) string {
	t.Helper()
	m := agCSRFField.FindAllStringSubmatch(body, -1)
	if len(m) == 0 {
		t.Fatalf("no csrf field in the page:\n%s", body)
	}
	return m[len(m)-1][1]
}

// signIn posts the sign-in form as a browser would.
func (v *agVisitor) signIn(user, password string) agAnswer {
	v.t.Helper()
	tok := v.formToken()
	return v.post("/login", url.Values{"csrf": {tok}, "username": {user}, "password": {password}}, "self")
}

// agCheckPage fails unless the page has the strict CSP and nothing inline:
// no inline script or style, no event handler attributes, no javascript: URLs.
func agCheckPage(t *testing.T, what string, a agAnswer) {
	t.Helper()
	if got := a.hdr.Get("Content-Security-Policy"); got != webui.CSP {
		t.Errorf("%s: CSP %q, want %q", what, got, webui.CSP)
	}
	if !strings.Contains(webui.CSP, "script-src 'self'") || strings.Contains(webui.CSP, "unsafe-inline") {
		t.Errorf("the CSP allows inline code: %s", webui.CSP)
	}
	z := html.NewTokenizer(strings.NewReader(a.body))
	inScript := false
	scripts := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if tok.Data == "style" {
				t.Errorf("%s: inline <style>", what)
			}
			hasSrc := false
			for _, at := range tok.Attr {
				k, val := strings.ToLower(at.Key), strings.ToLower(strings.TrimSpace(at.Val))
				if strings.HasPrefix(k, "on") {
					t.Errorf("%s: event handler attribute %s on <%s>", what, at.Key, tok.Data)
				}
				if k == "style" {
					t.Errorf("%s: style attribute on <%s>", what, tok.Data)
				}
				if (k == "href" || k == "src" || k == "action") && strings.HasPrefix(val, "javascript:") {
					t.Errorf("%s: javascript: URL on <%s>", what, tok.Data)
				}
				hasSrc = hasSrc || k == "src"
			}
			if tok.Data == "script" {
				scripts++
				inScript = true
				if !hasSrc {
					t.Errorf("%s: <script> without src", what)
				}
			}
		case html.TextToken:
			if inScript && strings.TrimSpace(tok.Data) != "" {
				t.Errorf("%s: inline script %q", what, tok.Data)
			}
		case html.EndTagToken:
			if tok.Data == "script" {
				inScript = false
			}
		}
	}
	if what == "console" && scripts != 1 {
		t.Errorf("console: %d scripts, want the one module", scripts)
	}
}

// The sign-in form works without JavaScript: the cookie is set and each
// role lands on its own page; wrong passwords are refused alike for known
// and unknown users; cross-site and token-less posts are refused; the
// console refuses anonymous users and other roles; sign-out needs the
// session's token; attempts are limited per address.
func TestLoginAndConsoleWithoutJavaScript(t *testing.T) {
	s := apptest.Start(t)

	anon := agNewVisitor(t, s)
	page := anon.get("/login")
	if page.code != 200 || !strings.Contains(page.body, `action="/login"`) || !strings.Contains(page.body, "用户名") {
		t.Fatalf("GET /login: %d\n%s", page.code, page.body)
	}
	agCheckPage(t, "login", page)
	if a := anon.get("/console"); a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/login" {
		t.Fatalf("anonymous /console: %d %q", a.code, a.hdr.Get("Location"))
	}

	homes := []struct {
		user, home string
		console    bool
	}{
		{"agent", "/console", true}, {"dispatcher", "/console", true}, {"supervisor", "/console", true},
		{"wenxin-zf", "/work", false}, {"grid", "/", false}, {"admin", "/", false},
	}
	var agent *agVisitor
	for _, h := range homes {
		v := agNewVisitor(t, s)
		a := v.signIn(h.user, demo.Password)
		if a.code != http.StatusSeeOther || a.hdr.Get("Location") != h.home {
			t.Fatalf("%s signs in: %d %q, want 303 to %s", h.user, a.code, a.hdr.Get("Location"), h.home)
		}
		if v.cookie("yici_session") == "" {
			t.Fatalf("%s: no session cookie", h.user)
		}
		c := v.get("/console")
		switch {
		case h.console && c.code != 200:
			t.Fatalf("%s: /console %d", h.user, c.code)
		case !h.console && c.code != http.StatusForbidden:
			t.Fatalf("%s: /console %d, want 403", h.user, c.code)
		case !h.console && strings.Contains(c.body, "agent.js"):
			t.Fatalf("%s: the refused page carries the console", h.user)
		}
		if h.console {
			agCheckPage(t, "console", c)
			if !strings.Contains(c.body, `id="queue-list"`) || !strings.Contains(c.body, "Alt+N") {
				t.Fatalf("%s: the console page lacks its parts", h.user)
			}
			// The page holds no case data: it is loaded over the API.
			for _, secret := range []string{"陈女士", "13857101234", "烧烤店"} {
				if strings.Contains(c.body, secret) {
					t.Fatalf("%s: the console page contains case data %q", h.user, secret)
				}
			}
		}
		if h.user == "agent" {
			agent = v
			// Queues the agent may not open are not offered.
			if strings.Contains(c.body, `data-queue="returns"`) || strings.Contains(c.body, `data-queue="overdue"`) {
				t.Fatal("the agent is offered the dispatchers' queues")
			}
		}
		if h.user == "supervisor" && !strings.Contains(c.body, `data-queue="overdue"`) {
			t.Fatal("the supervisor has no overdue queue")
		}
	}

	// Wrong passwords: 401, the same page for a known and an unknown
	// user, and no session.
	wrong := func(user string) agAnswer {
		v := agNewVisitor(t, s)
		a := v.signIn(user, "not-the-password")
		if v.cookie("yici_session") != "" {
			t.Fatalf("%s: a failed sign-in set a session", user)
		}
		a.body = strings.ReplaceAll(a.body, `value="`+user+`"`, `value="USER"`)
		a.body = strings.ReplaceAll(a.body, agTokenIn(t, a.body), "TOKEN")
		return a
	}
	known, unknown := wrong("agent"), wrong("nobody-here")
	if known.code != http.StatusUnauthorized || unknown.code != http.StatusUnauthorized {
		t.Fatalf("wrong password: %d, unknown user: %d, want 401", known.code, unknown.code)
	}
	if !strings.Contains(known.body, "用户名或密码错误") {
		t.Fatalf("no clear error:\n%s", known.body)
	}
	if known.body != unknown.body {
		t.Fatal("a wrong password and an unknown user answer differently")
	}
	agCheckPage(t, "login error", known)

	// Login CSRF: another site's form is refused, with or without our token.
	v := agNewVisitor(t, s)
	tok := v.formToken()
	form := url.Values{"csrf": {tok}, "username": {"agent"}, "password": {demo.Password}}
	if a := v.post("/login", form, "https://evil.example"); a.code != http.StatusForbidden || v.cookie("yici_session") != "" {
		t.Fatalf("cross-site sign-in: %d", a.code)
	}
	req, _ := http.NewRequest("POST", s.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", "https://evil.example/page")
	if a := v.do(req); a.code != http.StatusForbidden || v.cookie("yici_session") != "" {
		t.Fatalf("cross-site sign-in by referer: %d", a.code)
	}
	// Without the form's cookie (a forged form posted from elsewhere
	// whose Origin the browser left out): refused.
	bare := agNewVisitor(t, s)
	if a := bare.post("/login", form, ""); a.code != http.StatusForbidden || bare.cookie("yici_session") != "" {
		t.Fatalf("sign-in without the form's token: %d", a.code)
	}
	// Another token than the cookie's: refused.
	form.Set("csrf", strings.Repeat("A", 32))
	if a := v.post("/login", form, "self"); a.code != http.StatusForbidden || v.cookie("yici_session") != "" {
		t.Fatalf("sign-in with a wrong token: %d", a.code)
	}

	// A signed-in browser signs in as someone else with its session's
	// token; the old session ends.
	sw := agNewVisitor(t, s)
	if a := sw.signIn("supervisor", demo.Password); a.code != http.StatusSeeOther {
		t.Fatalf("supervisor: %d", a.code)
	}
	oldCookie := sw.cookie("yici_session")
	switchPage := sw.get("/login")
	if !strings.Contains(switchPage.body, "您已登录") {
		t.Fatal("the sign-in page does not say who is signed in")
	}
	if a := sw.post("/login", url.Values{"csrf": {agTokenIn(t, switchPage.body)}, "username": {"dispatcher"}, "password": {demo.Password}}, "self"); a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/console" {
		t.Fatalf("switching account: %d %q", a.code, a.hdr.Get("Location"))
	}
	if sw.cookie("yici_session") == oldCookie {
		t.Fatal("switching account kept the old session cookie")
	}
	oldReq, _ := http.NewRequest("GET", s.URL+"/api/v1/session", nil)
	oldReq.AddCookie(&http.Cookie{Name: "yici_session", Value: oldCookie})
	if a := agNewVisitor(t, s).do(oldReq); a.code != http.StatusUnauthorized {
		t.Fatalf("the replaced session still works: %d", a.code)
	}

	// Sign-out needs the session's token.
	ag := agent.get("/console")
	sessTok := agTokenIn(t, ag.body)
	if a := agent.post("/logout", url.Values{}, "self"); a.code != http.StatusForbidden {
		t.Fatalf("sign-out without the token: %d", a.code)
	}
	if a := agent.post("/logout", url.Values{"csrf": {sessTok}}, "https://evil.example"); a.code != http.StatusForbidden {
		t.Fatalf("cross-site sign-out: %d", a.code)
	}
	if a := agent.get("/console"); a.code != 200 {
		t.Fatalf("refused sign-outs ended the session: %d", a.code)
	}
	if a := agent.post("/logout", url.Values{"csrf": {sessTok}}, "self"); a.code != http.StatusSeeOther || a.hdr.Get("Location") != "/login" {
		t.Fatalf("sign-out: %d %q", a.code, a.hdr.Get("Location"))
	}
	if a := agent.get("/console"); a.code != http.StatusSeeOther {
		t.Fatalf("/console after sign-out: %d", a.code)
	}
	if a := agent.get("/api/v1/session"); a.code != http.StatusUnauthorized {
		t.Fatalf("the session outlived the sign-out: %d", a.code)
	}

	// Attempts from one address are limited, the right password included.
	limited := false
	for i := 0; i < 40 && !limited; i++ {
		a := agNewVisitor(t, s).signIn("agent", "guess-"+string(rune('a'+i%26)))
		switch a.code {
		case http.StatusUnauthorized:
		case http.StatusTooManyRequests:
			limited = true
			if a.hdr.Get("Retry-After") == "" || !strings.Contains(a.body, "过于频繁") {
				t.Fatalf("429 without Retry-After or message:\n%s", a.body)
			}
		default:
			t.Fatalf("attempt %d: %d", i, a.code)
		}
	}
	if !limited {
		t.Fatal("40 wrong passwords from one address were all checked")
	}
	late := agNewVisitor(t, s)
	if a := late.signIn("agent", demo.Password); a.code != http.StatusTooManyRequests || late.cookie("yici_session") != "" {
		t.Fatalf("the right password while limited: %d", a.code)
	}
}

// ---------------------------------------------------------------- in Chromium

// agBrowser is a browser whose first tab is kept to close the browser
// gracefully when the test passed (a killed Chromium may still be writing
// its profile while the test's temporary directory is removed). After a
// failure browsertest takes its screenshots and closes it.
type agBrowser struct {
	*browsertest.Browser
	first *browsertest.Tab
}

func agNewBrowser(t *testing.T) *agBrowser {
	b := &agBrowser{Browser: browsertest.New(t)}
	t.Cleanup(func() {
		if b.first != nil && !t.Failed() {
			chromedp.Cancel(b.first.Ctx)
		}
	})
	return b
}

func (b *agBrowser) tab(name string) *browsertest.Tab {
	tab := b.Tab(name)
	if b.first == nil {
		b.first = tab
	}
	return tab
}

// agSignIn opens a tab, signs in through the form and waits for the
// console to be loaded and online.
func agSignIn(t *testing.T, s *apptest.Server, b *agBrowser, user string) *browsertest.Tab {
	t.Helper()
	tab := b.tab(user)
	tab.FailOnScriptErrors(t, user)
	tab.Run(t, 30*time.Second,
		chromedp.Navigate(s.URL+"/login"),
		chromedp.WaitVisible(`#username`, chromedp.ByID),
		chromedp.SendKeys(`#username`, user, chromedp.ByID),
		chromedp.SendKeys(`#password`, demo.Password, chromedp.ByID),
		chromedp.Click(`#login-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#main[data-ready="true"]`, chromedp.ByQuery),
		agPoll(`document.getElementById('conn').dataset.state === 'online'`),
	)
	return tab
}

func agPoll(expr string) chromedp.Action {
	return chromedp.Poll(expr, nil, chromedp.WithPollingTimeout(15*time.Second), chromedp.WithPollingInterval(100*time.Millisecond))
}

// agAlt presses Alt and a key (keydown and keyup only: no character is typed).
func agAlt(key string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		code, vk := "Key"+strings.ToUpper(key), int64(strings.ToUpper(key)[0])
		if key[0] >= '0' && key[0] <= '9' {
			code = "Digit" + key
		}
		for _, typ := range []input.KeyType{input.KeyRawDown, input.KeyUp} {
			if err := input.DispatchKeyEvent(typ).WithKey(key).WithCode(code).WithModifiers(input.ModifierAlt).
				WithWindowsVirtualKeyCode(vk).WithNativeVirtualKeyCode(vk).Do(ctx); err != nil {
				return err
			}
		}
		return nil
	})
}

// agSlash presses "/" as a keyboard does: one keydown carrying the text,
// so that a handled keydown types nothing (chromedp's KeyEvent sends the
// character as a separate event that would be typed regardless).
func agSlash() chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		if err := input.DispatchKeyEvent(input.KeyDown).WithKey("/").WithCode("Slash").WithText("/").WithUnmodifiedText("/").
			WithWindowsVirtualKeyCode(191).WithNativeVirtualKeyCode(191).Do(ctx); err != nil {
			return err
		}
		return input.DispatchKeyEvent(input.KeyUp).WithKey("/").WithCode("Slash").WithWindowsVirtualKeyCode(191).WithNativeVirtualKeyCode(191).Do(ctx)
	})
}

// agCTI posts a telephony event as the PBX does.
func agCTI(t *testing.T, s *apptest.Server, token string, form url.Values) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/api/v1/cti/"+token, form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("cti %s: %d %s", form.Get("cmd"), resp.StatusCode, b)
	}
}

func agJS(expr string, out any) chromedp.Action { return chromedp.Evaluate(expr, out) }

// The hotline agent's call in a real browser: the agent signs in through
// the form; a call is answered and its screen-pop arrives live with the
// caller's earlier case; the agent starts a case from it with the keyboard,
// types the content and triage pre-selects category and township; the case
// is saved linked to the call; 派单 shows the decision with its reasons,
// an override without a reason is refused next to the field, and the
// dispatch by the decision goes through. A dispatcher's console sees the
// case arrive in and leave the dispatch queue live, without reloading and
// across a dropped connection; two agents on the case see each other.
func TestAgentConsoleCallToDispatchInBrowser(t *testing.T) {
	s := apptest.Start(t)
	ctx := context.Background()
	_, token, err := s.App.Keys.Create(ctx, channels.KeyCTI, "pbx", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.App.Auth.CreateUser(ctx, auth.NewUser{Username: "agent2", DisplayName: "陈静", Password: demo.Password,
		Role: auth.Agent, UnitID: "3301-HC"}); err != nil {
		t.Fatal(err)
	}
	b := agNewBrowser(t)
	agent := agSignIn(t, s, b, "agent")
	disp := agSignIn(t, s, b, "dispatcher")
	disp.Run(t, 10*time.Second,
		agJS(`window.yiciNoReload = 1`, nil),
		agPoll(`document.querySelector('#queue-list li') !== null`))

	// The call rings and the agent picks up: the screen-pop arrives live.
	agCTI(t, s, token, url.Values{"cmd": {"newCall"}, "callId": {"call-ui-1"}, "from": {"13857101234"}, "to": {"12345"}, "direction": {"in"}})
	agCTI(t, s, token, url.Values{"cmd": {"answer"}, "callId": {"call-ui-1"}, "agent": {"agent"}})
	var pop string
	agent.Run(t, 15*time.Second,
		chromedp.WaitVisible(`#pops li.pop`, chromedp.ByQuery),
		chromedp.Text(`#pops li.pop`, &pop, chromedp.ByQuery))
	if !strings.Contains(pop, "13857101234") || !strings.Contains(pop, "烧烤店") {
		t.Fatalf("screen-pop without the caller or their earlier case: %q", pop)
	}

	// Alt+P, Enter: a new case with the caller's number and the call.
	const content = "文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味"
	var phone, callTag, category, township, kind, focused string
	agent.Run(t, 20*time.Second,
		agAlt("p"),
		agPoll(`document.activeElement && document.activeElement.classList.contains('pop-open')`),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(`#case-form`, chromedp.ByID),
		agJS(`document.activeElement.id`, &focused),
		chromedp.Value(`#f-phone`, &phone, chromedp.ByID),
		chromedp.Text(`#form-call`, &callTag, chromedp.ByID),
		chromedp.SendKeys(`#f-content`, content, chromedp.ByID),
		agPoll(`document.getElementById('f-township').value === '330106013'`),
		chromedp.Value(`#f-category`, &category, chromedp.ByID),
		chromedp.Value(`#f-township`, &township, chromedp.ByID),
		chromedp.Value(`#f-kind`, &kind, chromedp.ByID),
	)
	if phone != "13857101234" || !strings.Contains(callTag, "call-ui-1") || focused != "f-content" {
		t.Fatalf("case from the call: phone %q, call %q, focus on %q", phone, callTag, focused)
	}
	if category != "0104" || township != "330106013" || kind != "投诉" {
		t.Fatalf("triage pre-selected category %q, township %q, kind %q; want 0104 餐饮油烟, 330106013 文新街道, 投诉", category, township, kind)
	}

	// Alt+S saves it.
	var caseNo, caseState string
	agent.Run(t, 15*time.Second,
		agAlt("s"),
		chromedp.WaitVisible(`#case-view`, chromedp.ByID),
		chromedp.Text(`#case-no`, &caseNo, chromedp.ByID),
		chromedp.Text(`#case-state`, &caseState, chromedp.ByID))
	trackingNo := strings.ReplaceAll(caseNo, " ", "")
	if len(trackingNo) != 15 || caseState != "已受理" {
		t.Fatalf("saved case %q in state %q", caseNo, caseState)
	}
	api := s.Login("supervisor")
	var call struct {
		Case *struct {
			ID         string `json:"id"`
			TrackingNo string `json:"tracking_no"`
		} `json:"case"`
	}
	if code := api.Do("GET", "/api/v1/cti/calls/call-ui-1", nil, &call); code != 200 || call.Case == nil || call.Case.TrackingNo != trackingNo {
		t.Fatalf("the call is not linked to the case: %d %+v", code, call.Case)
	}
	caseID := call.Case.ID

	// The dispatcher's open console shows it in the dispatch queue, live.
	rowOf := `[...document.querySelectorAll('#queue-list button.row')].some((b) => b.dataset.id === '` + caseID + `')`
	disp.Run(t, 15*time.Second, agPoll(rowOf))

	// Alt+D: the decision with its explanation.
	var summary, lead string
	var steps int
	agent.Run(t, 15*time.Second,
		agAlt("d"),
		chromedp.WaitVisible(`#route`, chromedp.ByID),
		chromedp.Text(`#route-summary`, &summary, chromedp.ByID),
		chromedp.Text(`#route-lead`, &lead, chromedp.ByID),
		agJS(`document.querySelectorAll('#route-steps li').length`, &steps),
		agPoll(`document.activeElement.id === 'btn-route-go'`))
	if summary == "" || !strings.Contains(lead, "330106013-ZF") || steps == 0 {
		t.Fatalf("decision: summary %q, lead %q, %d steps", summary, lead, steps)
	}
	// An override without a reason: the API's refusal next to the field.
	var reasonErr, invalid string
	agent.Run(t, 15*time.Second,
		chromedp.SendKeys(`#ov-lead`, "330106-SHZL", chromedp.ByID),
		chromedp.Click(`#btn-override`, chromedp.ByID),
		chromedp.WaitVisible(`#err-ov-reason`, chromedp.ByID),
		chromedp.Text(`#err-ov-reason`, &reasonErr, chromedp.ByID),
		agJS(`document.getElementById('ov-reason').getAttribute('aria-invalid') + '/' + document.activeElement.id`, &invalid))
	if !strings.Contains(reasonErr, "理由") || invalid != "true/ov-reason" {
		t.Fatalf("override without a reason: %q, %q", reasonErr, invalid)
	}

	// The dispatcher's connection drops, and stays down over the dispatch.
	disp.Run(t, 5*time.Second, agJS(`window.yiciConsole.stream.pause(), true`, nil),
		agPoll(`document.getElementById('conn').dataset.state === 'offline'`))

	// Dispatch by the decision (Enter on 按此派单).
	agent.Run(t, 15*time.Second,
		chromedp.Focus(`#btn-route-go`, chromedp.ByID),
		chromedp.KeyEvent("\r"),
		agPoll(`document.getElementById('case-state').textContent === '待签收'`),
		agPoll(`document.getElementById('dispatch').hidden`))
	var c struct {
		State       string `json:"state"`
		Assignments []struct {
			UnitID string `json:"unit_id"`
			Role   string `json:"role"`
		} `json:"assignments"`
	}
	api.Do("GET", "/api/v1/cases/"+caseID, nil, &c)
	if c.State != "pending_sign" || len(c.Assignments) == 0 || c.Assignments[0].UnitID != "330106013-ZF" {
		t.Fatalf("after dispatch: %+v", c)
	}

	// Offline, the dispatcher's queue still shows it; back online, it
	// resumes after the last position seen and lets it go, without a
	// reload and without duplicate rows.
	var stillThere, dupes, noReload bool
	disp.Run(t, 20*time.Second,
		agJS(rowOf, &stillThere),
		agJS(`window.yiciConsole.stream.resume(), true`, nil),
		agPoll(`document.getElementById('conn').dataset.state === 'online'`),
		agPoll(`!(`+rowOf+`)`),
		agJS(`(() => { const ids = [...document.querySelectorAll('#queue-list button.row')].map((b) => b.dataset.id);
			const pos = [...document.querySelectorAll('#feed li[data-pos]')].map((l) => l.dataset.pos).filter(Boolean);
			return new Set(ids).size !== ids.length || new Set(pos).size !== pos.length; })()`, &dupes),
		agJS(`window.yiciNoReload === 1`, &noReload))
	if !stillThere {
		t.Fatal("the dispatcher's queue changed while offline")
	}
	if dupes || !noReload {
		t.Fatalf("dispatcher's console: duplicates %v, kept without reload %v", dupes, noReload)
	}
	var feed string
	disp.Run(t, 5*time.Second, chromedp.Text(`#feed`, &feed, chromedp.ByID))
	if !strings.Contains(feed, webuiGroup(trackingNo)) || !strings.Contains(feed, "派单") {
		t.Fatalf("the dispatcher's feed lacks the dispatch: %q", feed)
	}

	// Collision: a second agent opens the same case; each sees the other.
	agent2 := agSignIn(t, s, b, "agent2")
	agent2.Run(t, 15*time.Second,
		chromedp.Navigate(s.URL+"/console#case="+caseID),
		chromedp.WaitVisible(`#case-view`, chromedp.ByID),
		agPoll(`document.getElementById('case-presence').textContent.includes('王晓燕')`))
	agent.Run(t, 15*time.Second,
		agPoll(`document.getElementById('case-presence').textContent.includes('陈静 正在处理此工单')`))
	// Typing shows as editing on the other side.
	agent2.Run(t, 15*time.Second,
		chromedp.Click(`#act-note`, chromedp.ByID),
		chromedp.SendKeys(`#act-reason`, "来电人补充：周末也有油烟", chromedp.ByID))
	agent.Run(t, 15*time.Second,
		agPoll(`document.getElementById('case-presence').textContent.includes('陈静 正在编辑此工单')`))
}

func webuiGroup(no string) string { return webui.GroupTrackingNo(no) }

// agKB stands in for the knowledge base API (another package's) in front
// of the app: down (404) until up is set, then two answers, one of them
// with markup in its text that must stay text.
type agKB struct {
	up   atomic.Bool
	mu   sync.Mutex
	uses []string // the use records posted, as "case article version csrf?"
}

func (k *agKB) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/v1/kb/search":
			if !k.up.Load() {
				http.NotFound(w, r)
				return
			}
			hits := []map[string]any{}
			if strings.Contains(r.URL.Query().Get("q"), "社保") {
				hits = append(hits, map[string]any{"id": "KB-0001", "version": 3, "type": "qa",
					"title":   []map[string]any{{"text": "灵活就业人员"}, {"text": "社保", "hit": true}, {"text": "缴费"}},
					"snippet": []map[string]any{{"text": "可在“浙里办”搜索“灵活就业人员参保登记”，登记后"}, {"text": "社保", "hit": true}, {"text": "费按月或按年缴纳。"}}},
					map[string]any{"id": "KB-0002", "version": 1, "type": "guide",
						"title":   []map[string]any{{"text": `<img src=x id=kb-injected>`, "hit": true}},
						"snippet": []map[string]any{{"text": "<b>不是标签</b>"}}})
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"query": r.URL.Query().Get("q"), "hits": hits})
		case r.Method == "GET" && r.URL.Path == "/api/v1/kb/articles/KB-0001/versions/3":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"id": "KB-0001", "version": 3, "type": "qa", "title": "灵活就业人员社保缴费",
				"answer": "灵活就业人员可在“浙里办”办理参保登记，登记后按月或按年缴纳社保费。"})
		case r.Method == "POST" && r.URL.Path == "/api/v1/kb/uses":
			var u struct {
				CaseID    string `json:"case_id"`
				ArticleID string `json:"article_id"`
				Version   int    `json:"version"`
			}
			json.NewDecoder(r.Body).Decode(&u)
			k.mu.Lock()
			k.uses = append(k.uses, fmt.Sprintf("%s %s %d %v", u.CaseID, u.ArticleID, u.Version, r.Header.Get("X-CSRF-Token") != ""))
			k.mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// A consultation answered at first contact in the browser: the knowledge
// panel says quietly that it is unavailable while the knowledge API
// answers 404, then lists the top answers with highlights (markup in them
// stays text), inserts the chosen one into the reply with its source, and
// Alt+A saves the case and closes it with that answer, recording which
// article version answered it. Then a callback from the queue, by keyboard.
func TestAgentKnowledgeAnswerAndCallbackInBrowser(t *testing.T) {
	stub := &agKB{}
	s := apptest.Start(t, func(a *app.App) { a.Handler = stub.wrap(a.Handler) })
	b := agNewBrowser(t)
	agent := agSignIn(t, s, b, "agent")

	var kbStatus, kind, category, focused string
	agent.Run(t, 20*time.Second,
		agAlt("n"),
		chromedp.WaitVisible(`#case-form`, chromedp.ByID),
		agJS(`document.activeElement.id`, &focused),
		chromedp.SendKeys(`#f-phone`, "13757100000", chromedp.ByID),
		chromedp.SendKeys(`#f-content`, "想问一下灵活就业人员社保怎么缴纳", chromedp.ByID),
		agPoll(`document.getElementById('kb-status').textContent !== '' && document.getElementById('kb-status').textContent !== '正在搜索…'`),
		chromedp.Text(`#kb-status`, &kbStatus, chromedp.ByID),
		agPoll(`document.getElementById('f-kind').value !== ''`),
		chromedp.Value(`#f-kind`, &kind, chromedp.ByID),
		chromedp.Value(`#f-category`, &category, chromedp.ByID))
	if focused != "f-phone" || kbStatus != "知识库暂不可用" || kind != "咨询" || category != "0402" {
		t.Fatalf("new case: focus %q, knowledge %q, kind %q, category %q", focused, kbStatus, kind, category)
	}

	// The knowledge API is back: Alt+K, Enter searches by hand.
	stub.up.Store(true)
	var marks, injected, titles string
	agent.Run(t, 15*time.Second,
		agAlt("k"),
		agPoll(`document.activeElement.id === 'kb-q'`),
		chromedp.KeyEvent("\r"),
		agPoll(`document.querySelectorAll('#kb-results li').length === 2`),
		agJS(`[...document.querySelectorAll('#kb-results mark')].map((m) => m.textContent).join('|')`, &marks),
		agJS(`String(document.querySelectorAll('#kb-results img, #kb-results b, #kb-injected').length)`, &injected),
		chromedp.Text(`#kb-results`, &titles, chromedp.ByID))
	if !strings.HasPrefix(marks, "社保|社保") || injected != "0" || !strings.Contains(titles, "<img src=x id=kb-injected>") || !strings.Contains(titles, "<b>不是标签</b>") {
		t.Fatalf("results: marks %q, injected elements %s, text %q", marks, injected, titles)
	}

	// Insert the first answer, then Alt+A: saved and answered.
	const source = "（来源：知识库《灵活就业人员社保缴费》，编号 KB-0001，第 3 版）"
	var reply, state, caseNo string
	agent.Run(t, 15*time.Second,
		chromedp.Click(`#kb-results li:first-child .kb-insert`, chromedp.ByQuery),
		agPoll(`document.activeElement.id === 'reply' && document.getElementById('reply').value.includes('浙里办')`),
		chromedp.Value(`#reply`, &reply, chromedp.ByID),
		agAlt("a"),
		agPoll(`document.getElementById('case-state').textContent === '已直接答复'`),
		chromedp.Text(`#case-state`, &state, chromedp.ByID),
		chromedp.Text(`#case-no`, &caseNo, chromedp.ByID))
	if !strings.Contains(reply, "按月或按年缴纳社保费") || !strings.HasSuffix(strings.TrimSpace(reply), source) {
		t.Fatalf("reply %q", reply)
	}
	sup := s.Login("supervisor")
	var c struct {
		ID    string `json:"id"`
		State string `json:"state"`
		Reply string `json:"reply"`
		Phone string `json:"citizen_phone"`
	}
	var ev struct {
		Events []struct {
			Action string `json:"action"`
		} `json:"events"`
	}
	no := strings.ReplaceAll(caseNo, " ", "")
	var id string
	agent.Run(t, 5*time.Second, agJS(`location.hash.slice(6)`, &id))
	if code := sup.Do("GET", "/api/v1/cases/"+id, nil, &c); code != 200 || c.State != "answered" || !strings.Contains(c.Reply, source) || c.Phone != "13757100000" {
		t.Fatalf("case %s (%s): %d %+v", no, id, code, c)
	}
	sup.Do("GET", "/api/v1/cases/"+id+"/events", nil, &ev)
	if len(ev.Events) != 2 || ev.Events[0].Action != "register" || ev.Events[1].Action != "answer" {
		t.Fatalf("events %+v", ev.Events)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		stub.mu.Lock()
		uses := strings.Join(stub.uses, ";")
		stub.mu.Unlock()
		if uses == id+" KB-0001 3 true" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("knowledge use records %q", uses)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The callback queue (Alt+3 for an agent), filtered with /, opened with
	// Enter; Esc closes the callback form, Enter reopens it; 满意 and solved
	// archive the case and it leaves the queue live.
	var tab, row, form string
	agent.Run(t, 20*time.Second,
		agAlt("3"),
		agPoll(`document.activeElement.id === 'tab-callbacks' && document.querySelector('#queue-list button.row') !== null`),
		agSlash(),
		agPoll(`document.activeElement.id === 'queue-filter'`),
		chromedp.SendKeys(`#queue-filter`, "施工", chromedp.ByID),
		chromedp.KeyEvent(kb.ArrowDown),
		agPoll(`document.activeElement.classList.contains('row')`),
		chromedp.Text(`#queue-list`, &row, chromedp.ByID),
		agJS(`document.getElementById('tab-callbacks').getAttribute('aria-selected')`, &tab),
		chromedp.KeyEvent("\r"),
		agPoll(`document.getElementById('case-state').textContent === '待回访'`),
		chromedp.Click(`#act-callback`, chromedp.ByID),
		chromedp.WaitVisible(`#act-form`, chromedp.ByID),
		chromedp.KeyEvent(kb.Escape),
		agPoll(`document.getElementById('act-form').hidden && document.activeElement.id === 'act-callback'`),
		chromedp.KeyEvent("\r"),
		agPoll(`!document.getElementById('act-form').hidden && document.activeElement.id === 'act-sat-satisfied'`),
		chromedp.Text(`#act-form`, &form, chromedp.ByID),
		chromedp.Click(`#act-submit`, chromedp.ByID),
		agPoll(`document.getElementById('case-state').textContent === '已办结归档'`),
		agPoll(`document.getElementById('count-callbacks').textContent === '0' && document.querySelector('#queue-list button.row') === null`))
	if tab != "true" || !strings.Contains(row, "施工") || !strings.Contains(form, "基本满意") || !strings.Contains(form, "已解决") {
		t.Fatalf("callback: tab %q, row %q, form %q", tab, row, form)
	}
}
