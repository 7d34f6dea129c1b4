package console_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"yici/cases"
	"yici/internal/apptest"
)

const trNotFound = "未找到与该受理编号和手机号后四位相符的工单"

// trPost posts the tracking form as a browser on a page of the site does
// (Origin: the server), with extra headers. Each post comes from another
// loopback address, so that only the limits a test is about apply.
func trPost(t *testing.T, s *apptest.Server, path string, form url.Values, hdr map[string]string) (*http.Response, string) {
	t.Helper()
	trNext++
	req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := trFrom("127.0.1." + strconv.Itoa(1+trNext%250)).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var trNext int

// trResolved is the demo case that waits for the citizen's rating: 文新's
// answer about night-time construction noise, with an internal note.
func trResolved(t *testing.T, s *apptest.Server) (*cases.Case, string) {
	t.Helper()
	var q struct {
		Items []cases.QueueItem `json:"items"`
	}
	s.Login("dispatcher").Do("GET", "/api/v1/queues/callbacks", nil, &q)
	for _, it := range q.Items {
		if it.Category == "0501" {
			c, err := s.App.Cases.Get(t.Context(), it.ID)
			if err != nil {
				t.Fatal(err)
			}
			return c, cases.PhoneLast4(c.CitizenPhone)
		}
	}
	t.Fatal("no demo case awaits its callback")
	return nil, ""
}

// trMissing is a well-formed tracking number that no case has.
func trMissing(t *testing.T, s *apptest.Server) string {
	t.Helper()
	for n := int64(900000); ; n++ {
		no := cases.TrackingNoFrom(time.Now(), n)
		if _, err := s.App.Cases.GetByTrackingNo(t.Context(), no); errors.Is(err, cases.ErrNotFound) {
			return no
		}
	}
}

func TestTrackWithoutJavaScript(t *testing.T) {
	s := apptest.Start(t)
	c, last4 := trResolved(t, s)
	wrong := "0000"
	if last4 == wrong {
		wrong = "9999"
	}

	// The form, prefilled from a receipt's QR code; what is given is escaped.
	resp, body := wbFetch(t, s.Anon(), "GET", "/track?no="+c.TrackingNo, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `value="`+c.TrackingNo+`"`) || !strings.Contains(body, `action="/track"`) {
		t.Fatalf("GET /track?no=: %d", resp.StatusCode)
	}
	wbStrictPage(t, "GET /track", resp, body)
	_, body = wbFetch(t, s.Anon(), "GET", "/track?no="+url.QueryEscape(`"><script>alert(1)</script>`), nil, nil)
	if strings.Contains(body, "<script>alert") {
		t.Error("?no= is not escaped")
	}

	// The right digits: the public view, and nothing more.
	resp, body = trPost(t, s, "/track", url.Values{"tracking_no": {c.TrackingNo}, "phone_last4": {last4}}, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /track: %d %s", resp.StatusCode, wbText(body))
	}
	wbStrictPage(t, "POST /track", resp, body)
	text := wbText(body)
	for _, want := range []string{"已办结，等待回访", c.Reply, "派单", "签收", "办结反馈", "文新街道综合执法平台", cases.MaskPhone(c.CitizenPhone), "请您评价", "满意", "基本满意", "不满意"} {
		if !strings.Contains(text, want) {
			t.Errorf("the result lacks %q", want)
		}
	}
	for _, secret := range []string{"赵磊", "王晓燕", "已拍照取证", c.CitizenPhone, c.CitizenName} {
		if strings.Contains(body, secret) {
			t.Errorf("the result shows %q", secret)
		}
	}

	// Wrong digits and a number that does not exist: the same answer.
	missing := trMissing(t, s)
	r1, b1 := trPost(t, s, "/track", url.Values{"tracking_no": {c.TrackingNo}, "phone_last4": {wrong}}, nil)
	r2, b2 := trPost(t, s, "/track", url.Values{"tracking_no": {missing}, "phone_last4": {last4}}, nil)
	if r1.StatusCode != http.StatusNotFound || r2.StatusCode != http.StatusNotFound {
		t.Errorf("not found: %d and %d", r1.StatusCode, r2.StatusCode)
	}
	if !strings.Contains(b1, trNotFound) || strings.Contains(b1, c.Reply) || strings.Contains(b1, "等待回访") {
		t.Errorf("wrong digits: %s", wbText(b1))
	}
	if strings.ReplaceAll(b1, c.TrackingNo, "N") != strings.ReplaceAll(b2, missing, "N") {
		t.Errorf("wrong digits and a missing number answer differently:\n%s\n%s", wbText(b1), wbText(b2))
	}
	for _, k := range []string{"Content-Type", "Cache-Control", "Retry-After"} {
		if r1.Header.Get(k) != r2.Header.Get(k) {
			t.Errorf("header %s differs: %q %q", k, r1.Header.Get(k), r2.Header.Get(k))
		}
	}
	// A malformed number is pointed out as such (it says nothing of any case).
	resp, body = trPost(t, s, "/track", url.Values{"tracking_no": {"12345"}, "phone_last4": {"12"}}, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || strings.Contains(body, trNotFound) ||
		!strings.Contains(body, "15 位数字") || !strings.Contains(body, "后四位") {
		t.Errorf("malformed: %d %s", resp.StatusCode, wbText(body))
	}

	// A signed-in member of staff can use the page too: the form carries
	// the session's CSRF token, which the session layer asks for.
	zf := s.Login("wenxin-zf")
	_, page := wbFetch(t, zf, "GET", "/track", nil, nil)
	if !strings.Contains(page, `name="csrf" value="`+zf.CSRF+`"`) {
		t.Error("the form lacks the session's CSRF token")
	}
	resp, body = wbFetch(t, zf, "POST", "/track", strings.NewReader(url.Values{"tracking_no": {c.TrackingNo}, "phone_last4": {last4}, "csrf": {zf.CSRF}}.Encode()),
		map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Origin": s.URL})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="csrf" value="`+zf.CSRF+`"`) {
		t.Errorf("tracking with a staff session: %d", resp.StatusCode)
	}

	// Posts from other sites are refused before anything is looked up.
	for name, hdr := range map[string]map[string]string{
		"another site's Origin": {"Origin": "http://evil.example"},
		"Origin null":           {"Origin": "null"},
		"cross-site fetch":      {"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"},
	} {
		resp, body := trPost(t, s, "/track", url.Values{"tracking_no": {c.TrackingNo}, "phone_last4": {last4}}, hdr)
		if resp.StatusCode != http.StatusForbidden || strings.Contains(body, c.Reply) {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}

	// Rating: both answers are asked for, then taken once.
	rate := url.Values{"tracking_no": {c.TrackingNo}, "phone_last4": {last4}}
	resp, body = trPost(t, s, "/track/rating", rate, nil)
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "请选择您对办理结果是否满意") || !strings.Contains(body, `id="rate-form"`) {
		t.Errorf("rating without answers: %d %s", resp.StatusCode, wbText(body))
	}
	bad := url.Values{"tracking_no": {c.TrackingNo}, "phone_last4": {wrong}, "satisfaction": {"satisfied"}, "solved": {"yes"}}
	if resp, body := trPost(t, s, "/track/rating", bad, nil); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, trNotFound) {
		t.Errorf("rating with wrong digits: %d", resp.StatusCode)
	}
	rate.Set("satisfaction", "satisfied")
	rate.Set("solved", "yes")
	rate.Set("comment", "处理及时，谢谢")
	resp, body = trPost(t, s, "/track/rating", rate, nil)
	text = wbText(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(text, "感谢您的评价") || !strings.Contains(text, "您的评价 满意") ||
		!strings.Contains(text, "当前状态 已办结") || strings.Contains(body, `id="rate-form"`) {
		t.Errorf("rating: %d %s", resp.StatusCode, text)
	}
	wbStrictPage(t, "POST /track/rating", resp, body)
	after, _ := s.App.Cases.Get(t.Context(), c.ID)
	if after.State != cases.Archived || after.Satisfaction != cases.Satisfied || after.Solved == nil || !*after.Solved {
		t.Errorf("stored: %s %s %v", after.State, after.Satisfaction, after.Solved)
	}
	rate.Set("satisfaction", "dissatisfied")
	resp, body = trPost(t, s, "/track/rating", rate, nil)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "已经评价过") || strings.Contains(body, `id="rate-form"`) {
		t.Errorf("second rating: %d %s", resp.StatusCode, wbText(body))
	}
	if again, _ := s.App.Cases.Get(t.Context(), c.ID); again.Satisfaction != cases.Satisfied || again.State != cases.Archived {
		t.Errorf("the second rating changed the case: %s %s", again.State, again.Satisfaction)
	}
}

// trFrom is a client whose connections come from the given loopback
// address, as another citizen's phone would.
func trFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}}
}

func trSend(t *testing.T, hc *http.Client, s *apptest.Server, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/track", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestTrackIsThrottled(t *testing.T) {
	s := apptest.Start(t)
	c, last4 := trResolved(t, s)

	// Guessing the digits of one number, from ever new addresses: the
	// number's own limit stops it.
	form := url.Values{"tracking_no": {c.TrackingNo}}
	limited := 0
	for i := 0; i < 14 && limited == 0; i++ {
		form.Set("phone_last4", strconv.Itoa(1000+i))
		if resp := trSend(t, trFrom("127.0.0."+strconv.Itoa(20+i)), s, form); resp.StatusCode == http.StatusTooManyRequests {
			limited = i + 1
		}
	}
	if limited == 0 || limited < 5 {
		t.Fatalf("guessing one number's digits from 14 addresses: throttled at %d", limited)
	}
	// Now even the right digits wait, and the page says so (in HTML).
	form.Set("phone_last4", last4)
	resp, body := trPost(t, s, "/track", form, map[string]string{"Origin": s.URL})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "查询过于频繁") || strings.Contains(body, c.Reply) {
		t.Errorf("the right digits after the guesses: %d %q %s", resp.StatusCode, resp.Header.Get("Retry-After"), wbText(body))
	}
	wbStrictPage(t, "429", resp, body)

	// Trying many numbers from one address: the address's limit stops it,
	// on the page and on the API alike (the same buckets).
	hc := trFrom("127.0.0.99")
	limited = 0
	for i := 0; i < 14 && limited == 0; i++ {
		f := url.Values{"tracking_no": {cases.TrackingNoFrom(time.Now(), int64(500+i))}, "phone_last4": {"1234"}}
		if resp := trSend(t, hc, s, f); resp.StatusCode == http.StatusTooManyRequests {
			limited = i + 1
		}
	}
	if limited == 0 || limited < 5 {
		t.Fatalf("14 numbers from one address: throttled at %d", limited)
	}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/track", strings.NewReader(`{"tracking_no":"`+cases.TrackingNoFrom(time.Now(), 777)+`","phone_last4":"1234"}`))
	req.Header.Set("Content-Type", "application/json")
	api, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	api.Body.Close()
	if api.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the API after the page's limit: %d", api.StatusCode)
	}
}
