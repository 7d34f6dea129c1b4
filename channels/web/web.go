// Package web is the public web site of the hotline: the landing page and
// the report form (我要反映) through which anyone files a consultation,
// complaint, suggestion, request for help, report of wrongdoing or praise.
//
// The pages are rendered on the server (html/template) and work without
// JavaScript; one small module (static/report.js) adds the triage
// suggestion as the person types, the city → county → township picker and
// photo checks. A strict Content-Security-Policy forbids inline scripts
// and styles: CSS and JavaScript are embedded files under /static/web/.
//
// A submission is idempotent on the random token of the rendered form
// (channel reference "web:<token>"): a double click or a browser retry
// shows the same case. Form posts from other sites are refused (Origin,
// else Referer, must be this site), and each client is rate-limited.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"yici/channels"
	"yici/internal/auth"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// Defaults of Options.
const (
	// DefaultMaxBody caps a form post: six photos of a phone camera and the
	// text (each photo at most channels.MaxFileSize).
	DefaultMaxBody = 40 << 20

	defaultPerMinute = 10
	defaultBurst     = 5
)

// Hotline is the number shown on every page.
const Hotline = "12345"

// CSP is the Content-Security-Policy of every page: no inline script or
// style, nothing from elsewhere, forms post only here, no framing.
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Options configure the site. Zero values take the defaults.
type Options struct {
	// RatePerMinute and Burst limit form posts per client (default 10 a
	// minute, bursts of 5).
	RatePerMinute float64
	Burst         int
	// ClientIP names the client for the rate limit (default
	// channels.ClientIP, the connection's address; behind a trusted
	// reverse proxy, read its header here).
	ClientIP func(*http.Request) string
	// PublicURL is the site's public address (e.g.
	// https://12345.example.gov.cn): the tracking link on the result page
	// is absolute under it, and it is an accepted origin of form posts.
	// When empty the link is relative and only the request's own host is
	// accepted.
	PublicURL string
	// Origins are further accepted origins of form posts.
	Origins []string
	// MaxBody caps a form post in bytes (default DefaultMaxBody).
	MaxBody int64
	// Territory and Taxonomy fill the pickers on the server; they must be
	// the ones the intake validates against (default: Zhejiang and the
	// default taxonomy).
	Territory *territory.Territory
	Taxonomy  *taxonomy.Taxonomy
	// Log receives the failures that are not the person's fault (default:
	// the intake's logger).
	Log *slog.Logger
}

// Handler serves the public site.
type Handler struct {
	in    *channels.Intake
	files *channels.Files
	opts  Options
	terr  *territory.Territory
	tax   *taxonomy.Taxonomy
	log   *slog.Logger
	limit *channels.Limiter
	// origins checks the origin of form posts (no session involved).
	origins *auth.HTTP

	pages  map[string]*template.Template
	assets map[string]asset
	// Static data of the form, computed once.
	cities     []*territory.Division
	categories []categoryGroup
}

type asset struct {
	data  []byte
	ctype string
	hash  string // first 12 hex digits of the SHA-256: the ?v= of its URL
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// New returns the public site.
func New(in *channels.Intake, files *channels.Files, opts Options) *Handler {
	if opts.RatePerMinute <= 0 {
		opts.RatePerMinute = defaultPerMinute
	}
	if opts.Burst <= 0 {
		opts.Burst = defaultBurst
	}
	if opts.ClientIP == nil {
		opts.ClientIP = channels.ClientIP
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.Territory == nil {
		opts.Territory = territory.Zhejiang()
	}
	if opts.Taxonomy == nil {
		opts.Taxonomy = taxonomy.Default()
	}
	opts.PublicURL = strings.TrimRight(opts.PublicURL, "/")
	log := opts.Log
	if log == nil {
		log = in.Log
	}
	if log == nil {
		log = slog.Default()
	}
	origins := append([]string(nil), opts.Origins...)
	if u, err := url.Parse(opts.PublicURL); err == nil && u.Scheme != "" && u.Host != "" {
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	h := &Handler{in: in, files: files, opts: opts, terr: opts.Territory, tax: opts.Taxonomy, log: log,
		limit:   channels.NewLimiter(opts.RatePerMinute, opts.Burst),
		origins: &auth.HTTP{Origins: origins},
		assets:  loadAssets(),
	}
	h.cities = h.terr.Cities()
	h.categories = groupCategories(h.tax)
	h.pages = h.parsePages()
	return h
}

// Routes registers the public site. Every route is for anyone:
//
//	GET  /{$}                the landing page: 12345, links to report, tracking and policy Q&A
//	GET  /report             anyone: the report form (?kind=咨询 preselects the kind)
//	POST /report             anyone, from a page of this site (Origin/Referer checked), rate-limited per client: file it
//	GET  /static/web/{file}  anyone: the site's CSS and JavaScript
func (h *Handler) Routes(mux *http.ServeMux) {
	// GET / — anyone: the landing page.
	mux.Handle("GET /{$}", h.secure(http.HandlerFunc(h.handleHome)))
	// GET /report — anyone: the empty form.
	mux.Handle("GET /report", h.secure(http.HandlerFunc(h.handleForm)))
	// POST /report — anyone from this site (origin checked), rate-limited per client.
	mux.Handle("POST /report", h.secure(http.HandlerFunc(h.handleSubmit)))
	// GET /static/web/{file} — anyone: embedded CSS and JavaScript.
	mux.Handle("GET /static/web/{file}", h.secure(http.HandlerFunc(h.handleStatic)))
}

// secure sets the security headers of every response of the site.
func (h *Handler) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func loadAssets() map[string]asset {
	out := map[string]asset{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		ctype := "application/octet-stream"
		switch path.Ext(p) {
		case ".css":
			ctype = "text/css; charset=utf-8"
		case ".js":
			ctype = "text/javascript; charset=utf-8"
		case ".svg":
			ctype = "image/svg+xml"
		}
		sum := sha256.Sum256(data)
		out[path.Base(p)] = asset{data: data, ctype: ctype, hash: hex.EncodeToString(sum[:])[:12]}
		return nil
	})
	if err != nil {
		panic("web: embedded static files: " + err.Error())
	}
	return out
}

// assetURL is the versioned address of a static file.
func (h *Handler) assetURL(name string) string {
	a, ok := h.assets[name]
	if !ok {
		panic("web: no static file " + name)
	}
	return "/static/web/" + name + "?v=" + a.hash
}

// handleStatic serves an embedded file; the versioned address (the one
// the pages use) is cached for a year, any other for five minutes.
func (h *Handler) handleStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := h.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.ctype)
	hd.Set("ETag", `"`+a.hash+`"`)
	if r.URL.Query().Get("v") == a.hash {
		hd.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hd.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
}
