// Package cti is the phone line's connector: the telephony system (the
// hotline's PBX or contact-centre platform) posts call events to
// POST /api/v1/cti/{token} in the style of the generic CTI interfaces of
// contact-centre systems, as a form or as JSON:
//
//	newCall     callId, from, to, direction (in|out), queue, user[] (the agents it rings at)
//	answer      callId, agent | user | answeringNumber (who picked up)
//	hangup      callId, cause (normalClearing busy cancel noAnswer congestion notFound forwarded), duration
//	transcript  callId, text (a post-call transcript)
//	voicemail   callId (of the call, or the voicemail's own id), from, text
//
// The command is cmd= or event=. Every event may also carry from, to and
// direction; they fill in what the call log does not know yet (events can
// arrive out of order). Unknown fields are ignored.
//
// The call log (cti_calls) keeps one row per call, ringing → answered →
// ended, never backwards; every event is idempotent, so the telephony
// system may retry any of them: a repeated event changes nothing and gets
// the same answer. newCall is answered {"action":"accept"}, or
// {"action":"reject","reason":"busy"} for an inbound caller on the block
// list. When a staff member answers, a screen-pop with the caller's cases
// of the last 90 days is stored for that agent (cti_screenpops) and offered
// to Options.OnScreenPop. transcript and voicemail become draft cases in
// the dispatchers' queue (待派单), never routed automatically.
//
// # Call ids
//
// A case an agent registers during a call (POST /api/v1/cases with
// call_id) has channel phone and the bare callId as its channel reference,
// which is unique per channel. So callIds are unique across installations:
// the database refuses a second installation's call with a callId already
// logged (409), rather than letting two calls share one case. Telephony
// systems' call ids (UUIDs, uniqueid with the host's prefix) are unique
// already; an installation whose are not must prefix them. The draft
// cases of transcripts and voicemails are scoped by installation:
// "<installation>:<callId>:transcript".
//
// # Authentication
//
// {token} is the secret of a machine key of kind cti (the installation).
// The installation may also sign its events: X-Yici-Timestamp (unix
// seconds, within five minutes of ours) and X-Yici-Signature:
// sha256=<hex HMAC-SHA256 of timestamp + "." + body, keyed with the token>.
// A signature that is present is always checked; Options.RequireSignature
// makes it mandatory. A wrong token, signature or timestamp is a 403, the
// same answer for each.
package cti

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
)

// MaxBody caps an event's body.
const MaxBody = 64 << 10

// MaxSkew is how far a signed event's timestamp may be from our clock.
const MaxSkew = 5 * time.Minute

// HistoryWindow is how far back a caller's cases are looked up.
const HistoryWindow = 90 * 24 * time.Hour

// MaxHistory is how many earlier cases a screen-pop shows.
const MaxHistory = 20

// Options configure the connector.
type Options struct {
	// RequireSignature refuses events without a valid X-Yici-Signature.
	RequireSignature bool
	// PerInstallation and PerIP limit the event rate. Defaults: 1,200 a
	// minute with bursts of 200 for each (a busy hotline's PBX sends a few
	// events a second).
	PerInstallation *channels.Limiter
	PerIP           *channels.Limiter
	// OnScreenPop is called with every new screen-pop after it is
	// committed, from the request that caused it: it must not block (the
	// agents' console plugs its live stream in here).
	OnScreenPop func(ctx context.Context, p ScreenPop)
	// Now is the clock of the signature check (default time.Now).
	Now func() time.Time
	// Log defaults to the intake's logger.
	Log *slog.Logger
}

// Handler serves the connector.
type Handler struct {
	in   *channels.Intake
	keys *channels.Keys
	cs   *cases.Store
	db   *pgxpool.Pool
	opts Options
	log  *slog.Logger
}

// New returns the connector.
func New(in *channels.Intake, keys *channels.Keys, cs *cases.Store, db *pgxpool.Pool, opts Options) *Handler {
	if opts.PerInstallation == nil {
		opts.PerInstallation = channels.NewLimiter(1200, 200)
	}
	if opts.PerIP == nil {
		opts.PerIP = channels.NewLimiter(1200, 200)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Log
	if log == nil && in != nil {
		log = in.Log
	}
	if log == nil {
		log = slog.Default()
	}
	return &Handler{in: in, keys: keys, cs: cs, db: db, opts: opts, log: log}
}

// centre are the hotline centre's roles.
var centre = []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}

// Routes registers the connector. Who may call what:
//
//	POST   /api/v1/cti/{token}                 a telephony installation: its cti key's secret as {token} (and, if it signs, a valid signature)
//	GET    /api/v1/cti/screenpops?after=ID     centre staff (agent, dispatcher, supervisor): their own screen-pops after ID
//	GET    /api/v1/cti/calls/{callId}          centre staff: one call of the log, with the case registered during it
//	GET    /api/v1/admin/cti/blocklist         admin, supervisor: the blocked numbers
//	POST   /api/v1/admin/cti/blocklist         admin, supervisor: block a number (JSON phone, reason)
//	DELETE /api/v1/admin/cti/blocklist/{phone} admin, supervisor: unblock a number (also ?phone=)
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/cti/{token}", h.handleEvent)
	mux.Handle("GET /api/v1/cti/screenpops", auth.Require(http.HandlerFunc(h.handleScreenPops), centre...))
	mux.Handle("GET /api/v1/cti/calls/{callId}", auth.Require(http.HandlerFunc(h.handleCall), centre...))
	admins := []auth.Role{auth.Admin, auth.Supervisor}
	mux.Handle("GET /api/v1/admin/cti/blocklist", auth.Require(http.HandlerFunc(h.handleBlockList), admins...))
	mux.Handle("POST /api/v1/admin/cti/blocklist", auth.Require(http.HandlerFunc(h.handleBlock), admins...))
	mux.Handle("DELETE /api/v1/admin/cti/blocklist", auth.Require(http.HandlerFunc(h.handleUnblock), admins...))
	mux.Handle("DELETE /api/v1/admin/cti/blocklist/{phone}", auth.Require(http.HandlerFunc(h.handleUnblock), admins...))
}

// forbidden is the one answer to a wrong token, signature or timestamp.
func forbidden(w http.ResponseWriter) {
	httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "token", Rule: "auth",
		MessageZH: "接入令牌或签名无效", MessageEN: "invalid token or signature"})
}

// fail answers err; a 500 is logged without the token in the path.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.PathValue("token") != "" {
		r = r.Clone(r.Context())
		r.URL.Path, r.URL.RawPath = "/api/v1/cti/{token}", ""
	}
	var te *cases.TransitionError
	if errors.As(err, &te) {
		cases.Failure(w, r, err)
		return
	}
	httpx.Fail(w, r, err)
}

func (h *Handler) handleEvent(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if ok, wait := h.opts.PerIP.Allow("ip:" + channels.ClientIP(r)); !ok {
		channels.TooMany(w, wait)
		return
	}
	key, err := h.keys.Verify(ctx, r.PathValue("token"), channels.KeyCTI)
	if errors.Is(err, channels.ErrNoKey) {
		h.log.Warn("cti: unknown or revoked token", "ip", channels.ClientIP(r))
		forbidden(w)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.fail(w, r, httpx.NewProblem(http.StatusRequestEntityTooLarge, "body", "max_bytes",
				"请求内容过大（上限 "+strconv.Itoa(MaxBody)+" 字节）", "request body too large (limit "+strconv.Itoa(MaxBody)+" bytes)"))
			return
		}
		h.fail(w, r, httpx.NewProblem(http.StatusBadRequest, "body", "read", "无法读取请求内容", "could not read the request body"))
		return
	}
	if why := h.checkSignature(r.Header, r.PathValue("token"), body); why != "" {
		h.log.Warn("cti: signature refused", "installation", key.Name, "why", why)
		forbidden(w)
		return
	}
	if ok, wait := h.opts.PerInstallation.Allow("cti:" + key.ID.String()); !ok {
		channels.TooMany(w, wait)
		return
	}
	ev, err := DecodeEvent(r.Header.Get("Content-Type"), body)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	switch ev.Cmd {
	case CmdNewCall:
		err = h.newCall(w, r, key, ev)
	case CmdAnswer:
		err = h.answer(w, r, key, ev)
	case CmdHangup:
		err = h.hangup(w, r, key, ev)
	case CmdTranscript, CmdVoicemail:
		err = h.draft(w, r, key, ev)
	}
	if err != nil {
		h.fail(w, r, mapDBError(err))
	}
}

// checkSignature returns why the request's signature is refused ("" when
// it is valid, or absent and not required).
func (h *Handler) checkSignature(hd http.Header, secret string, body []byte) string {
	sig := hd.Get("X-Yici-Signature")
	if sig == "" {
		if h.opts.RequireSignature {
			return "missing"
		}
		return ""
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	if !ok {
		return "not sha256="
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return "malformed"
	}
	ts := hd.Get("X-Yici-Timestamp")
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "no timestamp"
	}
	now := h.opts.Now().Unix()
	if skew := now - t; skew > int64(MaxSkew/time.Second) || skew < -int64(MaxSkew/time.Second) {
		return "stale timestamp"
	}
	if !hmac.Equal(got, Sign(secret, ts, body)) {
		return "mismatch"
	}
	return ""
}

// Sign returns the HMAC-SHA256 of timestamp + "." + body keyed with the
// token: what X-Yici-Signature carries, hex-encoded after "sha256=".
func Sign(token, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// mapDBError turns the refusal of a callId another installation logged
// into a 409.
func mapDBError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "cti_calls_call_id" {
		return &httpx.Problem{Status: http.StatusConflict, Errs: httpx.Errors{{Field: "callId", Rule: "unique",
			MessageZH: "该通话编号已被另一接入系统使用，通话编号须全局唯一", MessageEN: "another installation has logged this callId; callIds must be unique across installations"}}}
	}
	return err
}
