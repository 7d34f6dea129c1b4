package stats_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"testing"
	"time"

	"yici/internal/app"
	"yici/internal/apptest"
	"yici/internal/clock"
	"yici/stats"
)

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()

// env is the whole app with the statistics service mounted on it.
type env struct {
	srv *apptest.Server
	svc *stats.Service
	now *clock.Fake // the statistics' clock (today, overdue lists)
}

// start runs Yici (demo data included) with the statistics routes; the
// service's clock stands at now.
func start(t *testing.T, now time.Time) *env {
	t.Helper()
	e := &env{now: clock.NewFake(now)}
	e.srv = apptest.Start(t, func(a *app.App) {
		e.svc = stats.New(a.Env.Pool, a.Cal, stats.Options{Clock: e.now})
		a.Replace("stats", e.svc.Routes)
	})
	return e
}

func (e *env) fold(t *testing.T) {
	t.Helper()
	if _, err := e.svc.Fold(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// raw fetches a path with a client and returns the status, headers and body.
func raw(t *testing.T, c *apptest.Client, path string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", c.S.URL+path, nil)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// near reports whether a figure equals the expected value (to 1e-9).
func near(got *float64, want float64) bool { return got != nil && math.Abs(*got-want) < 1e-9 }
