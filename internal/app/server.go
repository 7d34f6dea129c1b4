package app

import (
	"context"

	"errors"
	"fmt"
	"github.com/google/uuid"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"yici/cases"
	"yici/cases/duplicates"
	"yici/channels"
	"yici/channels/cti"
	"yici/channels/kiosk"
	"yici/channels/mobile"
	"yici/channels/open311"
	"yici/channels/web"
	"yici/console"
	"yici/internal/auth"
	"yici/internal/demo"
	"yici/internal/httpx"
	"yici/internal/schema"
	"yici/internal/workcal"
	"yici/knowledge"
	"yici/router"
	"yici/router/taxonomy"
	"yici/router/territory"
	"yici/router/triage"
	"yici/stats"
)

// App is the assembled product on an open database.
type App struct {
	Env        *Env
	Log        *slog.Logger
	Cal        *workcal.Calendar
	Terr       *territory.Territory
	Tax        *taxonomy.Taxonomy
	Auth       *auth.Store
	AuthHTTP   *auth.HTTP
	Cases      *cases.Store
	Units      router.Units
	Router     *router.Service
	Triage     *triage.Triager
	Hub        *console.Hub
	Scheduler  *cases.Scheduler
	KB         *knowledge.Store
	Stats      *stats.Service
	Metrics    *stats.Metrics
	Duplicates *duplicates.Detector
	Intake     *channels.Intake
	Keys       *channels.Keys
	Files      *channels.Files
	// Mux holds every route; packages add theirs (tests may too) before
	// serving. Handler is Mux behind the session and safety middleware.
	Mux     *http.ServeMux
	Handler http.Handler

	surfaces map[string]*surface
}

// New assembles the product on env.
func New(ctx context.Context, env *Env) (*App, error) {
	a := &App{Env: env, Log: env.Log}
	var err error
	if a.Cal, err = env.Calendar(ctx); err != nil {
		return nil, err
	}
	if env.Cfg.Province == "33" {
		a.Terr = territory.Zhejiang() // loaded once per process
	} else if a.Terr, err = territory.Load(env.Cfg.Province); err != nil {
		return nil, fmt.Errorf("YICI_PROVINCE: %w", err)
	}
	a.Tax = taxonomy.Default()
	a.Auth = auth.NewStore(env.Pool)
	a.AuthHTTP = &auth.HTTP{Store: a.Auth, Secure: env.Cfg.SecureCookies, Origins: env.Cfg.OriginList()}
	a.Cases = cases.NewStore(env.Pool, cases.Options{Calendar: a.Cal, ClassOf: a.classOf, Clock: env.Cfg.Clock,
		TrackPerMinute: env.Cfg.TrackRate})
	if err := a.Cases.UsePolicyStore(ctx); err != nil {
		return nil, fmt.Errorf("deadline policy: %w", err)
	}
	a.Units = router.Units{DB: env.Pool}
	if env.Cfg.Province == "33" {
		a.Triage, err = triage.Default() // trained once per process
	} else {
		a.Triage, err = triage.New(a.Tax, a.Terr)
	}
	if err != nil {
		return nil, err
	}
	if a.Router, err = router.NewService(ctx, env.Pool, a.Cases, a.Tax, a.Terr, a.Triage, a.Log); err != nil {
		return nil, err
	}
	a.Cases.SetReroute(a.Router.Reroute)
	a.Cases.SetRedoPlan(a.Router.RedoPlan)
	a.Scheduler = &cases.Scheduler{Store: a.Cases, Log: a.Log, Escalate: func(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) error {
		_, err := a.Router.Escalate(ctx, actor, id, reason)
		return err
	}}
	if a.KB, err = knowledge.NewStore(env.Pool, knowledge.Options{Log: a.Log, Clock: env.Cfg.Clock, Territory: a.Terr,
		MeiliURL: env.Cfg.MeiliURL, MeiliKey: env.Cfg.MeiliKey}); err != nil {
		return nil, fmt.Errorf("knowledge: %w", err)
	}
	a.Files = &channels.Files{Blobs: channels.LocalBlobs{Dir: env.FilesDir()}, Cases: a.Cases}
	a.Keys = &channels.Keys{DB: env.Pool}
	a.Intake = &channels.Intake{Cases: a.Cases, Router: a.Router, Validate: channels.NewValidator(a.Tax, a.Terr), Files: a.Files, Log: a.Log}
	host, _ := os.Hostname()
	a.Hub = console.NewHub(env.Pool, a.Log, console.Options{Node: fmt.Sprintf("%s:%d:%s", host, os.Getpid(), uuid.NewString()[:8]),
		SendBuffer: env.Cfg.WSSendBuffer, WriteTimeout: env.Cfg.WSWriteWait})
	a.Hub.SetCanSee(func(actor auth.Actor, id uuid.UUID) bool {
		c, err := a.Cases.Get(context.Background(), id)
		return err == nil && cases.CanSee(c, actor)
	})
	a.Cases.SetCommitted(a.Hub.Poke)
	a.Duplicates = duplicates.New(env.Pool, a.Cases, duplicates.Options{Log: a.Log, OnAlert: a.Hub.Poke,
		TownshipName: func(code string) string { return a.divisionName(code) },
		CategoryName: func(code string) string {
			if c := a.Tax.Category(code); c != nil {
				return c.Name
			}
			return code
		}})
	a.Cases.SetOnCreate(func(ctx context.Context, c *cases.Case) error {
		_, err := a.Duplicates.OnArrival(ctx, c)
		return err
	})
	a.Stats = stats.New(env.Pool, a.Cal, stats.Options{Log: a.Log, Clock: env.Cfg.Clock, Territory: a.Terr, Taxonomy: a.Tax})
	a.Mux = http.NewServeMux()
	a.Metrics = stats.NewMetrics(stats.MetricsOptions{DB: env.Pool, Hub: a.Hub, Token: env.Cfg.MetricsToken, Mux: a.Mux})
	a.Handler = a.routes(a.Mux)
	return a, nil
}

func (a *App) divisionName(code string) string {
	if d := a.Terr.Get(code); d != nil {
		return d.Name
	}
	return code
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
	if n, err := a.KB.LoadSeed(ctx); err != nil {
		return fmt.Errorf("knowledge seed: %w", err)
	} else {
		a.Log.Info("knowledge articles loaded", "new", n)
	}
	if err := demo.Users(ctx, a.Auth); err != nil {
		return err
	}
	return demo.Cases(ctx, a.Cases, a.Auth, a.Router)
}

// surface is a part of the site mounted under its patterns whose handler
// can be rebuilt (with other options, in tests) without touching the rest.
type surface struct{ mux atomic.Pointer[http.ServeMux] }

func (s *surface) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.Load().ServeHTTP(w, r) }

func (a *App) mount(mux *http.ServeMux, name string, patterns []string, build func(*http.ServeMux)) {
	s := &surface{}
	m := http.NewServeMux()
	build(m)
	s.mux.Store(m)
	for _, p := range patterns {
		mux.Handle(p, s)
	}
	if a.surfaces == nil {
		a.surfaces = map[string]*surface{}
	}
	a.surfaces[name] = s
}

// Replace rebuilds a mounted surface (web, cti, kiosk, open311) with
// build, which registers the surface's routes on the mux it is given.
func (a *App) Replace(name string, build func(*http.ServeMux)) {
	m := http.NewServeMux()
	build(m)
	a.surfaces[name].mux.Store(m)
}

func (a *App) routes(mux *http.ServeMux) http.Handler {
	cfg := a.Env.Cfg
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
	a.Duplicates.Routes(mux)
	a.KB.Routes(mux)
	a.mount(mux, "stats", []string{"/api/v1/stats", "/api/v1/stats/", "/stats", "/static/stats/"}, a.Stats.Routes)
	a.Metrics.Routes(mux)
	(&console.Pages{Cases: a.Cases, Auth: a.AuthHTTP, Tax: a.Tax, Terr: a.Terr, Log: a.Log}).Routes(mux)
	// GET /console/ws  agents, dispatchers, supervisors, officers (session cookie, allowed origin): the live stream
	mux.Handle("GET /console/ws", a.Hub.WS(a.Env.Cfg.OriginList()))
	mobile.New(a.Intake, a.Keys, a.Files, a.Cases, mobile.Options{}).Register(mux)
	a.mount(mux, "kiosk", []string{"/api/v1/kiosk/"}, func(m *http.ServeMux) {
		kiosk.New(a.Intake, a.Keys, a.Cases, a.Tax, a.Terr, kiosk.Options{PublicURL: cfg.PublicURL, Log: a.Log,
			KeyPerMinute: float64(cfg.KioskKeyRate), KeyBurst: max(1, cfg.KioskKeyRate/3),
			IPPerMinute: float64(cfg.KioskIPRate), IPBurst: max(1, cfg.KioskIPRate/5)}).Routes(m)
	})
	a.mount(mux, "web", []string{"GET /{$}", "/report", "/static/web/"}, func(m *http.ServeMux) {
		web.New(a.Intake, a.Files, web.Options{PublicURL: cfg.PublicURL, Origins: cfg.OriginList(), Territory: a.Terr,
			Taxonomy: a.Tax, Log: a.Log, RatePerMinute: float64(cfg.WebRate), Burst: max(1, cfg.WebRate/2)}).Routes(m)
	})
	a.mount(mux, "open311", []string{"/open311/"}, func(m *http.ServeMux) {
		open311.New(a.Intake, a.Keys, a.Cases, a.Tax, open311.Options{PublicURL: cfg.PublicURL, Log: a.Log}).Routes(m)
	})
	a.mount(mux, "cti", []string{"/api/v1/cti/", "/api/v1/admin/cti/"}, func(m *http.ServeMux) {
		cti.New(a.Intake, a.Keys, a.Cases, a.Env.Pool, cti.Options{RequireSignature: cfg.CTIRequireSignature, Log: a.Log,
			OnScreenPop: func(context.Context, cti.ScreenPop) { a.Hub.Poke() }}).Routes(m)
	})
	return a.Metrics.Middleware(a.middleware(a.AuthHTTP.Middleware(mux)))
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
		sw := httpx.Recording(w)
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				a.Log.Error("panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				if sw.Status == 0 {
					httpx.Error(sw, http.StatusInternalServerError, httpx.FieldError{Rule: "internal", MessageZH: "服务器内部错误", MessageEN: "internal error"})
				}
			}
			a.Log.Debug("request", "method", r.Method, "path", logPath(r.URL.Path), "status", sw.Status, "dur", time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// logPath hides secrets that travel in paths (the CTI installation token).
func logPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/api/v1/cti/"); ok && !strings.Contains(rest, "/") && rest != "screenpops" {
		return "/api/v1/cti/{token}"
	}
	return p
}

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
	if addr := a.Env.Cfg.PprofAddr; addr != "" {
		go a.servePprof(ctx, addr)
	}
	go a.Router.Run(ctx, 500*time.Millisecond)
	go a.Cases.RunPolicies(ctx, 500*time.Millisecond)
	go a.KB.Run(ctx)
	go a.Stats.Run(ctx)
	if every := a.Env.Cfg.SchedulerEvery; every > 0 {
		go a.Scheduler.Run(ctx, every)
	}
	hubDone := make(chan struct{})
	go func() { a.Hub.Run(ctx); close(hubDone) }()
	defer func() { <-hubDone }()
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
