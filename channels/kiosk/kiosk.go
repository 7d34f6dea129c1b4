// Package kiosk is the channel of the self-service terminals (自助终端) in
// service halls and villages. A kiosk is a registered device with its own
// machine key (kind kiosk, sent as Authorization: Bearer <secret>) and a
// home township. It offers a category-first flow with big buttons, files
// requests one at a time or, after working offline, in batches that are
// idempotent on the device-generated UUID of each request, and prints a
// receipt (text for the printer's own font, PNG with the tracking QR code).
//
//	GET  /api/v1/kiosk/categories               a kiosk: the big buttons for its township
//	GET  /api/v1/kiosk/townships                a kiosk: its township first, then the rest of its county
//	POST /api/v1/kiosk/requests                 a kiosk: file one request
//	POST /api/v1/kiosk/batch                    a kiosk: file up to 100 requests queued offline
//	GET  /api/v1/kiosk/receipts/{tracking_no}   the kiosk that filed the case: its receipt (?format=text|png)
//
// Every route is rate-limited per client address (before the key is
// checked) and per kiosk key; a missing, wrong or revoked key is a 403.
package kiosk

import (
	"errors"
	"log/slog"
	"net/http"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// Defaults of Options.
const (
	DefaultMaxBatch      = 100
	DefaultMaxBatchBytes = 2 << 20
	// MaxRequestBytes caps the body of one request (content is at most
	// 4000 characters).
	MaxRequestBytes = 64 << 10

	defaultKeyPerMinute = 60
	defaultKeyBurst     = 20
	defaultIPPerMinute  = 300
	defaultIPBurst      = 60
)

// Options configure the kiosk channel. Zero values take the defaults.
type Options struct {
	// PublicURL is the base of the tracking link printed on receipts
	// (YICI_PUBLIC_URL), e.g. https://12345.example.gov.cn; when empty,
	// http://<the request's Host> is used.
	PublicURL string
	// Log receives the failures that are not the kiosk's fault.
	Log *slog.Logger

	// Per kiosk key: requests a minute and burst (default 60, 20).
	KeyPerMinute float64
	KeyBurst     int
	// Per client address, checked before the key (default 300, 60: a
	// service hall's kiosks may share one address).
	IPPerMinute float64
	IPBurst     int

	// MaxBatch is the most items of one batch (default 100);
	// MaxBatchBytes the largest batch body (default 2 MiB).
	MaxBatch      int
	MaxBatchBytes int64
}

// Handler serves the kiosk API.
type Handler struct {
	in   *channels.Intake
	keys *channels.Keys
	cs   *cases.Store
	tax  *taxonomy.Taxonomy
	terr *territory.Territory
	opts Options
	log  *slog.Logger

	byKey *channels.Limiter
	byIP  *channels.Limiter
}

// New returns the kiosk channel.
func New(in *channels.Intake, keys *channels.Keys, cs *cases.Store, tax *taxonomy.Taxonomy, terr *territory.Territory, opts Options) *Handler {
	if opts.KeyPerMinute <= 0 {
		opts.KeyPerMinute = defaultKeyPerMinute
	}
	if opts.KeyBurst <= 0 {
		opts.KeyBurst = defaultKeyBurst
	}
	if opts.IPPerMinute <= 0 {
		opts.IPPerMinute = defaultIPPerMinute
	}
	if opts.IPBurst <= 0 {
		opts.IPBurst = defaultIPBurst
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = DefaultMaxBatchBytes
	}
	log := opts.Log
	if log == nil {
		log = slog.Default()
	}
	return &Handler{in: in, keys: keys, cs: cs, tax: tax, terr: terr, opts: opts, log: log,
		byKey: channels.NewLimiter(opts.KeyPerMinute, opts.KeyBurst),
		byIP:  channels.NewLimiter(opts.IPPerMinute, opts.IPBurst)}
}

// Routes registers the kiosk endpoints. Every one of them is for kiosks
// only: a valid, unrevoked machine key of kind kiosk.
func (h *Handler) Routes(mux *http.ServeMux) {
	// GET /api/v1/kiosk/categories  a kiosk: the ten most common categories of its township (then county, then defaults)
	mux.Handle("GET /api/v1/kiosk/categories", h.kiosk(h.handleCategories))
	// GET /api/v1/kiosk/townships  a kiosk: its home township first, then the other townships of its county
	mux.Handle("GET /api/v1/kiosk/townships", h.kiosk(h.handleTownships))
	// POST /api/v1/kiosk/requests  a kiosk: file one request, idempotent on its device UUID
	mux.Handle("POST /api/v1/kiosk/requests", h.kiosk(h.handleRequest))
	// POST /api/v1/kiosk/batch  a kiosk: file up to 100 requests queued offline, each idempotent on its device UUID
	mux.Handle("POST /api/v1/kiosk/batch", h.kiosk(h.handleBatch))
	// GET /api/v1/kiosk/receipts/{tracking_no}  the kiosk that filed the case only (any other caller: 404)
	mux.Handle("GET /api/v1/kiosk/receipts/{tracking_no}", h.kiosk(h.handleReceipt))
}

type kioskHandler func(w http.ResponseWriter, r *http.Request, key channels.Key)

// kiosk admits requests with a kiosk key, within the rate limits: the
// client address is throttled before the key is looked up (so guessing
// keys is throttled too), the key after.
func (h *Handler) kiosk(next kioskHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := h.byIP.Allow(channels.ClientIP(r)); !ok {
			channels.TooMany(w, wait)
			return
		}
		key, err := h.keys.Verify(r.Context(), channels.BearerKey(r), channels.KeyKiosk)
		if errors.Is(err, channels.ErrNoKey) {
			channels.Forbidden(w)
			return
		}
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if ok, wait := h.byKey.Allow(key.ID.String()); !ok {
			channels.TooMany(w, wait)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		next(w, r.WithContext(channels.WithKey(r.Context(), key)), key)
	})
}

// actor is who files a kiosk's requests in the case trail.
func actor(key channels.Key) auth.Actor { return auth.SystemActor("自助终端 " + key.Name) }

// reporter is the Reporter of a kiosk's cases.
func reporter(key channels.Key) string { return "kiosk:" + key.ID.String() }

// home returns the kiosk's home township, nil when its code is not (or no
// longer) a township of the territory.
func (h *Handler) home(key channels.Key) *territory.Division {
	d := h.terr.Get(key.TownshipCode)
	if d == nil || d.Level != territory.LevelTownship {
		return nil
	}
	return d
}
