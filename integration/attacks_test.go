package integration

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"yici/channels"
	"yici/internal/app"
	"yici/internal/apptest"
	"yici/internal/demo"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func postRaw(t *testing.T, s *apptest.Server, path, ctype string, body []byte, hdr http.Header) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Hostile input on every kind of decoder: never a 500, always a field.
func TestHostileInput(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	_, appKey, _ := s.App.Keys.Create(ctx, channels.KeyApp, "app", "")
	app := http.Header{"Authorization": {"Bearer " + appKey}, "Idempotency-Key": {"x1"}}
	deep := strings.Repeat(`{"a":`, 200) + "1" + strings.Repeat("}", 200)
	cases := []struct {
		name, path, ctype string
		body              []byte
		hdr               http.Header
		want              int
	}{
		{"oversized JSON", "/api/v1/requests", "application/json", []byte(`{"content":"` + strings.Repeat("长", 800000) + `"}`), app, 413},
		{"deep JSON", "/api/v1/requests", "application/json", []byte(deep), app, 400},
		{"invalid UTF-8", "/api/v1/requests", "application/json", []byte("{\"content\":\"\xff\xfe\",\"phone\":\"13812345678\"}"), app, 400},
		{"not JSON", "/api/v1/requests", "application/json", []byte("content=1"), app, 400},
		{"JSON array", "/api/v1/track", "application/json", []byte(`[1,2,3]`), nil, 400},
		{"huge tracking body", "/api/v1/track", "application/json", bytes.Repeat([]byte("9"), 1<<20), nil, 413},
		{"oversized login", "/api/v1/session", "application/json", []byte(`{"username":"` + strings.Repeat("a", 10000) + `"}`), nil, 413},
		{"forged CTI token", "/api/v1/cti/yk_cti_forged", "application/json", []byte(`{"cmd":"newCall","callId":"c1","from":"13812345678"}`), nil, 403},
		{"Open311 without key", "/open311/v2/requests.json", "application/x-www-form-urlencoded", []byte("service_code=0104&description=x&lat=30&long=120"), nil, 403},
	}
	for _, tc := range cases {
		code, body := postRaw(t, s, tc.path, tc.ctype, tc.body, tc.hdr)
		if code != tc.want {
			t.Errorf("%s: %d, want %d: %.200s", tc.name, code, tc.want, body)
		}
		if code >= 500 {
			t.Errorf("%s: a server error: %.200s", tc.name, body)
		}
	}

	// Attachments: path traversal in names, an image bomb, a zip.
	upload := func(name string, data []byte) (int, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("request", `{"content":"附件测试","phone":"13812345678"}`)
		fw, _ := mw.CreateFormFile("photo", name)
		fw.Write(data)
		mw.Close()
		h := http.Header{"Authorization": {"Bearer " + appKey}, "Idempotency-Key": {"up-" + name + fmt.Sprint(len(data))}}
		return postRaw(t, s, "/api/v1/requests", mw.FormDataContentType(), b.Bytes(), h)
	}
	if code, body := upload("../../../../etc/cron.d/evil.png", pngBytes()); code != 201 {
		t.Fatalf("traversal name: %d %s", code, body)
	}
	var name string
	s.App.Env.Pool.QueryRow(ctx, `SELECT name FROM attachments ORDER BY uploaded_at DESC LIMIT 1`).Scan(&name)
	if name != "evil.png" {
		t.Errorf("stored name %q", name)
	}
	filepath.Walk(s.App.Env.FilesDir(), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && !strings.HasPrefix(p, s.App.Env.FilesDir()) {
			t.Errorf("a file outside the store: %s", p)
		}
		return nil
	})
	if code, _ := upload("bomb.png", pngHeader(100000, 100000)); code != 422 {
		t.Errorf("image bomb: %d", code)
	}
	if code, _ := upload("a.zip", append([]byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 200)...)); code != 422 {
		t.Errorf("zip: %d", code)
	}
}

// pngHeader is a PNG whose header claims w×h pixels (and no pixels).
func pngHeader(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// Script and SQL in every text field are stored as they are and shown
// escaped; the forms refuse cross-site posts.
func TestInjectionAndCSRF(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	_, appKey, _ := s.App.Keys.Create(ctx, channels.KeyApp, "app", "")
	evil := `<script>alert("x")</script>'; DROP TABLE cases; --`
	body, _ := json.Marshal(map[string]any{"content": "丰潭路油烟 " + evil, "title": evil, "address": evil, "citizen_name": evil,
		"phone": "13812340009", "township_code": "330106013", "category": "0104", "kind": "投诉"})
	code, resp := postRaw(t, s, "/api/v1/requests", "application/json", body, http.Header{"Authorization": {"Bearer " + appKey}, "Idempotency-Key": {"inj"}})
	if code != 201 {
		t.Fatalf("submit: %d %s", code, resp)
	}
	var out struct {
		TrackingNo string `json:"tracking_no"`
	}
	json.Unmarshal([]byte(resp), &out)
	c, err := s.App.Cases.GetByTrackingNo(ctx, out.TrackingNo)
	if err != nil || !strings.Contains(c.Content, evil) || c.CitizenName != evil {
		t.Fatalf("stored: %v %q", err, c.CitizenName)
	}
	// The public page renders it escaped.
	form := url.Values{"tracking_no": {out.TrackingNo}, "phone_last4": {"0009"}}
	req, _ := http.NewRequest("POST", s.URL+"/track", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.URL)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(r2.Body)
	r2.Body.Close()
	if strings.Contains(string(page), "<script>alert") {
		t.Fatal("the tracking page renders a script from the case")
	}
	if r2.StatusCode != 200 || !strings.Contains(string(page), "&lt;script&gt;") {
		t.Errorf("the title is not shown escaped on the tracking page (%d)", r2.StatusCode)
	}
	// Cross-site form posts are refused, with or without a session.
	officer := s.Login("wenxin-zf")
	for _, p := range []string{"/report", "/login", "/track", "/logout"} {
		req, _ := http.NewRequest("POST", s.URL+p, strings.NewReader("a=b"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		resp, err := officer.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("cross-site POST %s: %d", p, resp.StatusCode)
		}
	}
	// The JSON API with the cookie and without the token is refused.
	req, _ = http.NewRequest("POST", s.URL+"/api/v1/cases/"+c.ID.String()+"/sign", strings.NewReader("{}"))
	req.Header.Set("Content-Type", "application/json")
	if resp, _ := officer.HTTP.Do(req); resp.StatusCode != 403 {
		t.Errorf("staff API without CSRF token: %d", resp.StatusCode)
	}
}

// A 举报 reporter's name and phone never reach the handling unit: not in
// its API answers, pages or stream; and no secret ever reaches the logs.
func TestReporterIdentityAndSecrets(t *testing.T) {
	logs := &syncBuffer{}
	s := apptest.StartConfigured(t, func(c *app.Config) { c.LogOutput = logs })
	ctx := context.Background()
	_, appKey, _ := s.App.Keys.Create(ctx, channels.KeyApp, "app", "")
	_, ctiKey, _ := s.App.Keys.Create(ctx, channels.KeyCTI, "pbx", "")
	officer := s.Login("wenxin-zf")
	ws := mustStream(t, s, officer)
	defer ws.Close()

	const name, phone = "举报人欧阳某某", "13987654321"
	body, _ := json.Marshal(map[string]any{"kind": "举报", "content": "文新街道某小区顶楼有人违章搭建阳光房", "citizen_name": name,
		"phone": phone, "township_code": "330106013", "category": "0101"})
	code, resp := postRaw(t, s, "/api/v1/requests", "application/json", body, http.Header{"Authorization": {"Bearer " + appKey}, "Idempotency-Key": {"rep"}})
	if code != 201 {
		t.Fatalf("submit: %d %s", code, resp)
	}
	var out struct {
		TrackingNo string `json:"tracking_no"`
	}
	json.Unmarshal([]byte(resp), &out)
	c, _ := s.App.Cases.GetByTrackingNo(ctx, out.TrackingNo)
	if c.LeadAssignment() == nil || c.LeadAssignment().UnitID != "330106013-ZF" {
		t.Fatalf("not dispatched to 文新: %+v", c.Assignments)
	}
	officer.Do("POST", "/api/v1/cases/"+c.ID.String()+"/sign", map[string]any{}, nil)
	officer.Do("POST", "/api/v1/cases/"+c.ID.String()+"/reply", map[string]any{"reply": "已责令拆除", "note": "内部"}, nil)
	// Everything the unit can read.
	var everything strings.Builder
	for _, p := range []string{"/api/v1/cases/" + c.ID.String(), "/api/v1/cases/" + c.ID.String() + "/events",
		"/api/v1/cases/" + c.ID.String() + "/attachments", "/api/v1/queues/unit", "/work", "/work/cases/" + c.ID.String()} {
		req, _ := http.NewRequest("GET", s.URL+p, nil)
		resp, err := officer.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Fprintf(&everything, "%s %d\n%s\n", p, resp.StatusCode, b)
	}
	ws.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		_, b, err := ws.ReadMessage()
		if err != nil {
			break
		}
		everything.Write(b)
	}
	all := everything.String()
	for _, secret := range []string{name, phone, phone[7:] + `"`, "138****" + phone[7:], "139****" + phone[7:]} {
		if strings.Contains(all, secret) {
			t.Errorf("the unit can read %q", secret)
		}
	}
	if !strings.Contains(all, "举报人信息保密") {
		t.Error("the unit is not told the reporter is confidential")
	}
	// Secrets and the log.
	postRaw(t, s, "/api/v1/cti/"+ctiKey, "application/json", []byte(`{"cmd":"newCall","callId":"c-secret-1","from":"13812345678","user":["agent"]}`), nil)
	s.Anon().Do("POST", "/api/v1/session", map[string]string{"username": "agent", "password": demo.Password}, nil)
	s.Anon().Do("POST", "/api/v1/session", map[string]string{"username": "agent", "password": "wrong-" + demo.Password}, nil)
	time.Sleep(200 * time.Millisecond)
	log := logs.String()
	if !strings.Contains(log, `"level"`) {
		t.Fatal("nothing was logged: the check would prove nothing")
	}
	for _, secret := range []string{demo.Password, appKey, ctiKey, officer.CSRF} {
		if strings.Contains(log, secret) {
			t.Errorf("a secret is in the log: %.12s…", secret)
		}
	}
	// Stored hashed.
	var plain int
	s.App.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM users WHERE password_hash NOT LIKE '$argon2id$%'`).Scan(&plain)
	var keyRows int
	s.App.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM api_keys WHERE encode(secret_hash, 'escape') LIKE 'yk_%'`).Scan(&keyRows)
	if plain != 0 || keyRows != 0 {
		t.Errorf("%d passwords and %d keys not hashed", plain, keyRows)
	}
}

func mustStream(t *testing.T, s *apptest.Server, c *apptest.Client) *websocket.Conn {
	t.Helper()
	ws, _, err := dialAs(s, caller{name: "stream", client: c})
	if err != nil {
		t.Fatal(err)
	}
	return ws
}
