package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"yici/cases"
	"yici/channels"
	"yici/channels/mobile"
	"yici/internal/auth"
	"yici/internal/demo"
	"yici/internal/httpx"
	"yici/internal/schema"
	"yici/internal/workcal"
	"yici/router"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/router/triage"
)

// App is the assembled product on an open database.
type App struct {
	Env      *Env
	Log      *slog.Logger
	Cal      *workcal.Calendar
	Terr     *territory.Territory
	Tax      *taxonomy.Taxonomy
	Auth     *auth.Store
	AuthHTTP *auth.HTTP
	Cases    *cases.Store
	Units    router.Units
	Router   *router.Service
	Triage   *triage.Triager
	Intake   *channels.Intake
	Keys     *channels.Keys
	Files    *channels.Files
	// Mux holds every route; packages add theirs (tests may too) before
	// serving. Handler is Mux behind the session and safety middleware.
	Mux     *http.ServeMux
	Handler http.Handler
}

// New assembles the product on env.
func New(ctx context.Context, env *Env) (*App, error) {
	a := &App{Env: env, Log: env.Log}
	var err error
	if a.Cal, err = env.Calendar(ctx); err != nil {
		return nil, err
	}
	if a.Terr, err = territory.Load(env.Cfg.Province); err != nil {
		return nil, fmt.Errorf("YICI_PROVINCE: %w", err)
	}
	a.Tax = taxonomy.Default()
	a.Auth = auth.NewStore(env.Pool)
	a.AuthHTTP = &auth.HTTP{Store: a.Auth, Secure: env.Cfg.SecureCookies, Origins: env.Cfg.OriginList()}
	a.Cases = cases.NewStore(env.Pool, cases.Options{Calendar: a.Cal, ClassOf: a.classOf})
	a.Units = router.Units{DB: env.Pool}
	if a.Triage, err = triage.New(a.Tax, a.Terr); err != nil {
		return nil, err
	}
	if a.Router, err = router.NewService(ctx, env.Pool, a.Cases, a.Tax, a.Terr, a.Triage, a.Log); err != nil {
		return nil, err
	}
	a.Cases.SetReroute(a.Router.Reroute)
	a.Files = &channels.Files{Blobs: channels.LocalBlobs{Dir: env.FilesDir()}, Cases: a.Cases}
	a.Keys = &channels.Keys{DB: env.Pool}
	a.Intake = &channels.Intake{Cases: a.Cases, Router: a.Router, Validate: channels.NewValidator(a.Tax, a.Terr), Files: a.Files, Log: a.Log}
	a.Mux = http.NewServeMux()
	a.Handler = a.routes(a.Mux)
	return a, nil
}

func (a *App) classOf(category string) string {
	if c := a.Tax.Category(category); c != nil {
		return c.SLAClass
	}
	return taxonomy.SLANormal
}

// Seed loads the reference data (the units of the territory) and, when
// demo is set, the demo accounts and cases.
func (a *App) Seed(ctx context.Context, withDemo bool) error {
	n, err := router.SyncUnits(ctx, a.Env.Pool, router.GenerateUnits(a.Terr, a.Tax))
	if err != nil {
		return fmt.Errorf("units: %w", err)
	}
	a.Log.Info("units loaded", "new", n)
	if err := a.Router.Reload(ctx); err != nil {
		return err
	}
	if !withDemo {
		return nil
	}
	if err := demo.Users(ctx, a.Auth); err != nil {
		return err
	}
	return demo.Cases(ctx, a.Cases, a.Auth, a.Router)
}

func (a *App) routes(mux *http.ServeMux) http.Handler {
	// GET /healthz  anyone: the process is up.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.JSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// GET /readyz   anyone: the database answers and the schema is current.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := schema.Check(ctx, a.Env.Pool); err != nil {
			w.Header().Set("Retry-After", "5")
			httpx.JSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"status": "ready", "schema": schema.Latest()})
	})
	a.AuthHTTP.Routes(mux)
	a.Cases.Routes(mux)
	a.Router.Routes(mux)
	a.Files.Routes(mux)
	mobile.New(a.Intake, a.Keys, a.Files, a.Cases, mobile.Options{}).Register(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>一次 Yici · 12345</title>
<h1>一次 Yici · 12345 政务服务便民热线</h1><p>最多跑一次。</p>`)
	})
	return a.middleware(a.AuthHTTP.Middleware(mux))
}

// middleware adds security headers, logs requests and turns panics into a
// logged 500 that says nothing of its cause.
func (a *App) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.Log.Error("panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					httpx.Error(sw, http.StatusInternalServerError, httpx.FieldError{Rule: "internal", MessageZH: "服务器内部错误", MessageEN: "internal error"})
				}
			}
			a.Log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "dur", time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
	w.ResponseWriter.WriteHeader(s)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (websockets).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Serve answers HTTP on ln until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           a.Handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go a.Router.Run(ctx, 500*time.Millisecond)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), a.Env.Cfg.ShutdownWait)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		srv.Close()
	}
	return nil
}
