package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"yici/channels"
	"yici/internal/app"
	"yici/internal/apptest"
)

// The authorization matrix: every surface's routes against every role,
// including an officer of the neighbouring township and revoked keys. The
// expected allowances are written as a table; a call is "denied" when it
// answers 401, 403 or 404 (officers learn nothing of other units' cases),
// or, for pages, a redirect to the sign-in page.

type caller struct {
	name   string
	client *apptest.Client
	header http.Header // machine credentials
}

// route is one call; allow lists the callers it is for ("*" everyone).
type route struct {
	method, path string
	body         any
	allow        string
}

func TestAuthorizationMatrix(t *testing.T) {
	s := apptest.StartConfigured(t, func(c *app.Config) { c.MetricsToken = "metrics-token-for-the-test" })
	ctx := context.Background()
	// A case of 文新街道综合执法平台 with an attachment.
	agent := s.Login("agent")
	var c struct {
		ID         string `json:"id"`
		TrackingNo string `json:"tracking_no"`
	}
	agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "category": "0104", "township_code": "330106013",
		"content": "文新街道丰潭路烧烤店油烟直排", "citizen_phone": "13812340001"}, &c)
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID+"/route", map[string]any{}, nil); code != 200 {
		t.Fatalf("route: %d", code)
	}
	var att struct {
		Attachments []struct {
			ID string `json:"id"`
		} `json:"attachments"`
	}
	{
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "现场.png")
		fw.Write(pngBytes())
		mw.Close()
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/cases/"+c.ID+"/attachments", &b)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.Header.Set("X-CSRF-Token", agent.CSRF)
		if code := agent.Send(req, &att); code != http.StatusCreated {
			t.Fatalf("attachment: %d", code)
		}
	}
	keys := map[string]string{}
	for _, k := range []struct{ kind, name, township string }{
		{channels.KeyApp, "app", ""}, {channels.KeyApp, "app-revoked", ""}, {channels.KeyKiosk, "kiosk", "330106013"},
		{channels.KeyOpen311, "open311", ""}, {channels.KeyCTI, "cti", ""}, {channels.KeyCTI, "cti-revoked", ""},
	} {
		_, secret, err := s.App.Keys.Create(ctx, k.kind, k.name, k.township)
		if err != nil {
			t.Fatal(err)
		}
		keys[k.name] = secret
	}
	s.App.Keys.Revoke(ctx, "app-revoked")
	s.App.Keys.Revoke(ctx, "cti-revoked")

	callers := []caller{
		{name: "anon", client: s.Anon()},
		{name: "agent", client: agent},
		{name: "dispatcher", client: s.Login("dispatcher")},
		{name: "supervisor", client: s.Login("supervisor")},
		{name: "admin", client: s.Login("admin")},
		{name: "grid", client: s.Login("grid")},
		{name: "wenxin", client: s.Login("wenxin-zf")},   // the case's unit
		{name: "beishan", client: s.Login("beishan-zf")}, // the neighbouring township
		{name: "app", client: s.Anon(), header: http.Header{"Authorization": {"Bearer " + keys["app"]}}},
		{name: "app-revoked", client: s.Anon(), header: http.Header{"Authorization": {"Bearer " + keys["app-revoked"]}}},
		{name: "kiosk", client: s.Anon(), header: http.Header{"Authorization": {"Bearer " + keys["kiosk"]}}},
	}
	id, no := c.ID, c.TrackingNo
	centre := "agent dispatcher supervisor"
	caseReaders := centre + " wenxin"
	routes := []route{
		// The case API.
		{"GET", "/api/v1/cases/" + id, nil, caseReaders},
		{"GET", "/api/v1/cases/" + id + "/events", nil, caseReaders},
		{"GET", "/api/v1/cases/" + id + "/attachments", nil, caseReaders},
		{"GET", "/api/v1/attachments/" + att.Attachments[0].ID, nil, caseReaders},
		{"POST", "/api/v1/cases/" + id + "/note", map[string]any{"reason": "补充"}, caseReaders},
		{"POST", "/api/v1/cases/" + id + "/sign", map[string]any{}, "wenxin"},
		{"POST", "/api/v1/cases", map[string]any{"kind": "咨询", "content": "想问社保"}, centre},
		// Routing and duplicates.
		{"GET", "/api/v1/cases/" + id + "/route", nil, centre},
		{"GET", "/api/v1/cases/" + id + "/duplicates", nil, centre},
		{"POST", "/api/v1/cases/" + id + "/escalate", map[string]any{"reason": "测试"}, "dispatcher supervisor"},
		{"POST", "/api/v1/triage", map[string]any{"text": "油烟"}, "*"},
		{"GET", "/api/v1/divisions?parent=330106", nil, "*"},
		// Queues.
		{"GET", "/api/v1/queues/dispatch", nil, centre},
		{"GET", "/api/v1/queues/callbacks", nil, centre},
		{"GET", "/api/v1/queues/returns", nil, "dispatcher supervisor"},
		{"GET", "/api/v1/queues/overdue", nil, "dispatcher supervisor"},
		{"GET", "/api/v1/queues/unit", nil, "wenxin beishan"},
		// Administration.
		{"GET", "/api/v1/admin/rules", nil, "admin supervisor"},
		{"POST", "/api/v1/admin/rules", map[string]any{"rules": []any{}}, "admin"},
		{"GET", "/api/v1/admin/units?territory=330106013", nil, "admin supervisor dispatcher"},
		{"PATCH", "/api/v1/admin/units/330106013-ZF", map[string]any{"name": "文新街道综合执法平台"}, "admin"},
		{"GET", "/api/v1/admin/policies", nil, "admin supervisor"},
		{"POST", "/api/v1/admin/policies", map[string]any{"set": map[string]any{"rules": []any{}}}, "admin"},
		{"GET", "/api/v1/admin/cti/blocklist", nil, "admin supervisor"},
		{"GET", "/api/v1/alerts", nil, "dispatcher supervisor"},
		// Phone line, knowledge.
		{"GET", "/api/v1/cti/screenpops", nil, centre},
		{"GET", "/api/v1/kb/search?q=" + url.QueryEscape("社保"), nil, "*"},
		{"GET", "/api/v1/kb/stats", nil, "admin supervisor"},
		// Apps and grid workers.
		{"POST", "/api/v1/requests", map[string]any{"content": "路灯坏了", "phone": "13812340002"}, "app grid"},
		{"GET", "/api/v1/requests?phone=13812340002", nil, "app grid"},
		// Kiosks.
		{"GET", "/api/v1/kiosk/categories", nil, "kiosk"},
		// Public tracking (the right digits).
		{"POST", "/api/v1/track", map[string]any{"tracking_no": no, "phone_last4": "0001"}, "*"},
		// Statistics and exports; operators' metrics (token only).
		{"GET", "/api/v1/stats?by=unit", nil, "dispatcher supervisor admin wenxin beishan"},
		{"GET", "/api/v1/stats?by=unit&format=csv", nil, "dispatcher supervisor admin wenxin beishan"},
		{"GET", "/api/v1/stats?by=township&format=csv", nil, "dispatcher supervisor admin"},
		{"GET", "/api/v1/stats?by=unit&format=xlsx", nil, "dispatcher supervisor admin wenxin beishan"},
		{"GET", "/api/v1/stats/ranking", nil, "dispatcher supervisor admin"},
		{"GET", "/stats", nil, "dispatcher supervisor admin"},
		{"GET", "/metrics", nil, ""},
		// Pages.
		{"GET", "/console", nil, centre},
		{"GET", "/work", nil, "wenxin beishan"},
		{"GET", "/work/cases/" + id, nil, "wenxin"},
		{"GET", "/track", nil, "*"},
		{"GET", "/kb", nil, "*"},
		{"GET", "/report", nil, "*"},
	}
	noRedirect := func(c *http.Client) *http.Client {
		cc := *c
		cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &cc
	}
	var failures []string
	for i, r := range routes {
		allowed := map[string]bool{}
		for _, n := range strings.Fields(r.allow) {
			allowed[n] = true
		}
		for _, who := range callers {
			var body io.Reader
			if r.body != nil {
				b, _ := json.Marshal(r.body)
				body = bytes.NewReader(b)
			}
			req, _ := http.NewRequest(r.method, s.URL+r.path, body)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", fmt.Sprint("authz-", i, "-", who.name))
			if who.client.CSRF != "" {
				req.Header.Set("X-CSRF-Token", who.client.CSRF)
			}
			for k, v := range who.header {
				req.Header[k] = v
			}
			resp, err := noRedirect(who.client.HTTP).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			code := resp.StatusCode
			if code >= 500 {
				failures = append(failures, fmt.Sprintf("%s %s as %s: %d %s", r.method, r.path, who.name, code, b))
				continue
			}
			denied := code == 401 || code == 403 || code == 404 || (code == 303 && strings.Contains(resp.Header.Get("Location"), "/login"))
			if want := allowed["*"] || allowed[who.name]; want == denied {
				failures = append(failures, fmt.Sprintf("%s %s as %s: %d (want %s)", r.method, r.path, who.name, code, map[bool]string{true: "allowed", false: "denied"}[want]))
			}
		}
	}
	// Metrics with the token.
	{
		req, _ := http.NewRequest("GET", s.URL+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer metrics-token-for-the-test")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			failures = append(failures, fmt.Sprintf("/metrics with the token: %v %v", err, resp))
		} else {
			resp.Body.Close()
		}
	}
	// The websocket stream.
	for _, who := range callers {
		ws, resp, err := dialAs(s, who)
		want := strings.Contains(centre+" wenxin beishan", who.name) && who.header == nil && who.name != "anon"
		if err == nil {
			ws.Close()
		}
		if (err == nil) != want {
			code := 0
			if resp != nil {
				code = resp.StatusCode
			}
			failures = append(failures, fmt.Sprintf("websocket as %s: %v %d (want %v)", who.name, err, code, want))
		}
	}
	sort.Strings(failures)
	for _, f := range failures {
		t.Error(f)
	}
	t.Logf("%d routes × %d callers and the websocket checked", len(routes), len(callers))
}

func dialAs(s *apptest.Server, who caller) (*websocket.Conn, *http.Response, error) {
	h := http.Header{"Origin": {s.URL}}
	if who.client.HTTP.Jar != nil {
		req, _ := http.NewRequest("GET", s.URL, nil)
		for _, c := range who.client.HTTP.Jar.Cookies(req.URL) {
			h.Add("Cookie", c.Name+"="+c.Value)
		}
	}
	for k, v := range who.header {
		h[k] = v
	}
	return websocket.DefaultDialer.Dial(strings.Replace(s.URL, "http://", "ws://", 1)+"/console/ws", h)
}

func pngBytes() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{200, 0, 0, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}
