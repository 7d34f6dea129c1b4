// Package integration holds the end-to-end tests: the real binary's
// wiring (internal/app) on a real PostgreSQL, driven over real HTTP.
package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"testing"

	"yici/internal/app"
	"yici/internal/pgtest"
)

// server is one running Yici on a fresh database with the demo data.
type server struct {
	t   *testing.T
	URL string
	App *app.App
}

func startServer(t *testing.T) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	url := pgtest.NewDatabase(t, pgtest.Schema)
	cfg := app.FromEnv()
	cfg.DatabaseURL = url
	cfg.DataDir = t.TempDir()
	cfg.MaxConns = 8
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	env, err := app.Open(ctx, cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Seed(ctx, true); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; env.Close() })
	return &server{t: t, URL: "http://" + ln.Addr().String(), App: a}
}

// client is a browser-like session: cookies and the CSRF token.
type client struct {
	s    *server
	http *http.Client
	csrf string
}

func (s *server) login(user, password string) *client {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{s: s, http: &http.Client{Jar: jar}}
	var out struct {
		CSRF string `json:"csrf"`
	}
	if code := c.do("POST", "/api/v1/session", map[string]string{"username": user, "password": password}, &out); code != 200 {
		s.t.Fatalf("login %s: %d", user, code)
	}
	c.csrf = out.CSRF
	return c
}

func (s *server) anon() *client { return &client{s: s, http: &http.Client{}} }

// do sends a JSON request and decodes the answer into out; it returns the
// status code.
func (c *client) do(method, path string, body, out any) int {
	c.s.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.s.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, b, err)
		}
	}
	if resp.StatusCode >= 500 {
		c.s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode
}
