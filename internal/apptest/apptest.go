// Package apptest starts the whole product for end-to-end tests: the real
// wiring (internal/app) on a fresh database with the Zhejiang units and
// the demo data, served over real HTTP on a loopback port.
package apptest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"testing"

	"yici/internal/app"
	"yici/internal/demo"
	"yici/internal/pgtest"

	"github.com/jackc/pgx/v5/pgxpool"
	"yici/router/routertest"
)

// Server is one running Yici.
type Server struct {
	T   testing.TB
	URL string
	App *app.App
	// DBURL is the database, for a second instance on the same one.
	DBURL string
}

// Option changes the configuration or the app before it serves.
type Option func(*app.Config)

// Demo is a template database with the units of Zhejiang and the demo
// data (accounts, cases), loaded once per test process.
var Demo = pgtest.Template{Name: "zhejiang_demo", Setup: func(ctx context.Context, db *pgxpool.Pool) error {
	if err := routertest.Zhejiang.Setup(ctx, db); err != nil {
		return err
	}
	cfg := app.FromEnv()
	cfg.DatabaseURL = db.Config().ConnString()
	cfg.DataDir = os.TempDir()
	env, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), true)
	if err != nil {
		return err
	}
	defer env.Close()
	a, err := app.New(ctx, env)
	if err != nil {
		return err
	}
	return a.Seed(ctx, true)
}}

// Start runs Yici on a fresh database (cloned from the Demo template);
// register adds routes to the mux before serving.
func Start(t testing.TB, register ...func(a *app.App)) *Server {
	t.Helper()
	return StartWith(t, pgtest.NewDatabase(t, Demo), false, nil, register...)
}

// StartConfigured is Start with a change to the configuration.
func StartConfigured(t testing.TB, configure func(*app.Config)) *Server {
	t.Helper()
	return StartWith(t, pgtest.NewDatabase(t, Demo), false, configure)
}

// StartOn runs another instance on an existing database (seed: load the
// demo data, for the first instance only).
func StartOn(t testing.TB, dbURL string, seed bool, register ...func(a *app.App)) *Server {
	return StartWith(t, dbURL, seed, nil, register...)
}

// StartWith is StartOn with a change to the configuration.
func StartWith(t testing.TB, dbURL string, seed bool, configure func(*app.Config), register ...func(a *app.App)) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := app.FromEnv()
	cfg.DatabaseURL = dbURL
	cfg.DataDir = t.TempDir()
	cfg.MaxConns = 16
	if configure != nil {
		configure(&cfg)
	}
	var log *slog.Logger
	if cfg.LogOutput != nil {
		cfg.LogLevel, cfg.LogFormat = "debug", "json"
		log = cfg.Logger()
	} else if os.Getenv("YICI_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	env, err := app.Open(ctx, cfg, log, true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	if seed {
		if err := a.Seed(ctx, true); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range register {
		r(a)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { a.Serve(ctx, ln); close(done) }()
	t.Cleanup(func() { cancel(); <-done; env.Close() })
	return &Server{T: t, URL: "http://" + ln.Addr().String(), App: a, DBURL: dbURL}
}

// Client is a browser-like session: cookies and the CSRF token.
type Client struct {
	S      *Server
	HTTP   *http.Client
	CSRF   string
	Header http.Header // sent with every request
}

// Login signs in a demo account.
func (s *Server) Login(user string) *Client {
	s.T.Helper()
	jar, _ := cookiejar.New(nil)
	c := &Client{S: s, HTTP: &http.Client{Jar: jar}, Header: http.Header{}}
	var out struct {
		CSRF string `json:"csrf"`
	}
	if code := c.Do("POST", "/api/v1/session", map[string]string{"username": user, "password": demo.Password}, &out); code != 200 {
		s.T.Fatalf("login %s: %d", user, code)
	}
	c.CSRF = out.CSRF
	return c
}

// Anon is a client without a session.
func (s *Server) Anon() *Client { return &Client{S: s, HTTP: &http.Client{}, Header: http.Header{}} }

// Do sends a JSON request (body nil for none) and decodes the answer into
// out; it returns the status. A 5xx fails the test.
func (c *Client) Do(method, path string, body, out any) int {
	c.S.T.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.S.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.Header {
		req.Header[k] = v
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	return c.Send(req, out)
}

// Send sends a prepared request and decodes the JSON answer into out.
func (c *Client) Send(req *http.Request, out any) int {
	c.S.T.Helper()
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.S.T.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			c.S.T.Fatalf("%s %s: %d %s: %v", req.Method, req.URL.Path, resp.StatusCode, b, err)
		}
	}
	if resp.StatusCode >= 500 {
		c.S.T.Fatalf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return resp.StatusCode
}
