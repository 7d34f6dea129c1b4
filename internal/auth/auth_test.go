package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"yici/internal/auth"
	"yici/internal/pgtest"
)

func TestPasswordHash(t *testing.T) {
	h, err := auth.HashPassword("正确的密码")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") || strings.Contains(h, "正确的密码") {
		t.Fatalf("hash %q", h)
	}
	if !auth.CheckPassword(h, "正确的密码") || auth.CheckPassword(h, "错误的密码") || auth.CheckPassword("garbage", "x") {
		t.Fatal("check disagrees")
	}
}

func newHTTP(t *testing.T) (*auth.HTTP, http.Handler) {
	db := pgtest.Pool(t)
	st := auth.NewStore(db)
	if _, err := st.CreateUser(context.Background(), auth.NewUser{Username: "agent", DisplayName: "话务员", Password: "pw-123456", Role: auth.Agent}); err != nil {
		t.Fatal(err)
	}
	h := &auth.HTTP{Store: st}
	mux := http.NewServeMux()
	h.Routes(mux)
	mux.Handle("POST /protected", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), auth.Agent))
	mux.Handle("POST /supervisors", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) }), auth.Supervisor))
	return h, h.Middleware(mux)
}

func TestSessionsCSRFAndRoles(t *testing.T) {
	_, h := newHTTP(t)
	srv := httptest.NewServer(h)
	defer srv.Close()
	post := func(path, body string, hdr map[string]string) *http.Response {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/api/v1/session", `{"username":"agent","password":"wrong"}`, nil); r.StatusCode != 401 {
		t.Fatalf("wrong password: %d", r.StatusCode)
	}
	if r := post("/api/v1/session", `{"username":"nobody","password":"wrong"}`, nil); r.StatusCode != 401 {
		t.Fatalf("unknown user: %d", r.StatusCode)
	}
	login := post("/api/v1/session", `{"username":"agent","password":"pw-123456"}`, nil)
	if login.StatusCode != 200 {
		t.Fatalf("login: %d", login.StatusCode)
	}
	var cookie *http.Cookie
	for _, c := range login.Cookies() {
		if c.Name == auth.CookieName {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v", cookie)
	}
	ck := map[string]string{"Cookie": auth.CookieName + "=" + cookie.Value}
	if r := post("/protected", `{}`, nil); r.StatusCode != 401 {
		t.Fatalf("no session: %d", r.StatusCode)
	}
	if r := post("/protected", `{}`, ck); r.StatusCode != 403 {
		t.Fatalf("no CSRF token: %d", r.StatusCode)
	}
	// Find the CSRF token through GET /api/v1/session.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/session", nil)
	req.Header.Set("Cookie", ck["Cookie"])
	resp, _ := http.DefaultClient.Do(req)
	var me struct {
		CSRF string `json:"csrf"`
	}
	decode(t, resp, &me)
	ok := map[string]string{"Cookie": ck["Cookie"], "X-CSRF-Token": me.CSRF}
	if r := post("/protected", `{}`, ok); r.StatusCode != 204 {
		t.Fatalf("with session and token: %d", r.StatusCode)
	}
	cross := map[string]string{"Cookie": ck["Cookie"], "X-CSRF-Token": me.CSRF, "Origin": "https://evil.example"}
	if r := post("/protected", `{}`, cross); r.StatusCode != 403 {
		t.Fatalf("cross-site origin: %d", r.StatusCode)
	}
	if r := post("/supervisors", `{}`, ok); r.StatusCode != 403 {
		t.Fatalf("agent on a supervisors' route: %d", r.StatusCode)
	}
}

func TestUsernamesAreUnique(t *testing.T) {
	st := auth.NewStore(pgtest.Pool(t))
	n := auth.NewUser{Username: "x", DisplayName: "x", Password: "p", Role: auth.Admin}
	if _, err := st.CreateUser(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(context.Background(), n); !errors.Is(err, auth.ErrUserExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := st.CreateUser(context.Background(), auth.NewUser{Username: "o", Password: "p", Role: auth.Officer}); err == nil {
		t.Fatal("an officer without a unit was created")
	}
}
