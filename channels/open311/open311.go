// Package open311 is the Open311 GeoReport v2 channel at /open311/v2/:
// existing Open311 clients list our services (the categories of the
// taxonomy), file requests with an api_key, and follow them and everyone's
// public requests, in XML or JSON.
//
// It follows the GeoReport v2 specification (wiki.open311.org/GeoReport_v2,
// as published in github.com/open311/open311.github.io, GeoReport_v2/index.md),
// its Service Discovery (Service_Discovery.md), the extensions documented
// at wiki.open311.org/GeoReport_v2/Extensions (page and page_size,
// extensions=true with notes and extended attributes), and mySociety's
// servicerequestupdates extension as FixMyStreet consumes it and
// mysociety/open311-adapter serves it (Open311::Endpoint::Role::mySociety:
// service_request_updates / request_update with update_id,
// service_request_id, status, updated_datetime, description, media_url).
// docs/open311.md says what we decided where they are silent.
//
// The package reads the case tables directly (cases, assignments, units,
// case_events), read-only, and files requests through channels.Intake.
package open311

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/router/taxonomy"
)

// Options configure the endpoint.
type Options struct {
	// Jurisdictions are the jurisdiction_id values this endpoint answers
	// to (compared without regard to case). The endpoint serves one
	// jurisdiction, so jurisdiction_id is optional; any other value is
	// answered 404. Default: "zhejiang.gov.cn" and "33" (the province code).
	Jurisdictions []string
	// PublicURL is the base URL of the server for discovery
	// ("https://12345.zj.gov.cn"); default: taken from the request.
	PublicURL string
	// Contact and KeyService are the discovery texts.
	Contact, KeyService string
	// Requests a minute (and burst) allowed per client IP on every
	// endpoint, and per api_key on POST requests. Defaults: 120 (60) per
	// IP, 600 (120) per key.
	IPPerMinute  float64
	IPBurst      int
	KeyPerMinute float64
	KeyBurst     int
	// Now is the clock of the idempotency day; default: the case store's.
	Now func() time.Time
	// Log; default: intake's.
	Log *slog.Logger
}

// Handler serves Open311 GeoReport v2.
type Handler struct {
	in    *channels.Intake
	keys  *channels.Keys
	cases *cases.Store
	tax   *taxonomy.Taxonomy
	opts  Options
	now   func() time.Time
	log   *slog.Logger
	ipLim *channels.Limiter
	keyLm *channels.Limiter
}

// New returns the Open311 handler. It touches nothing until it serves.
func New(in *channels.Intake, keys *channels.Keys, cs *cases.Store, tax *taxonomy.Taxonomy, opts Options) *Handler {
	if len(opts.Jurisdictions) == 0 {
		opts.Jurisdictions = []string{"zhejiang.gov.cn", "33"}
	}
	if opts.Contact == "" {
		opts.Contact = "12345 政务服务便民热线（Yici）接口运维：请联系热线中心信息科"
	}
	if opts.KeyService == "" {
		opts.KeyService = "提交诉求需要 api_key：由热线中心管理员签发（yici keys create --kind open311 --name 接入方名称）"
	}
	if opts.IPPerMinute <= 0 {
		opts.IPPerMinute = 120
	}
	if opts.IPBurst <= 0 {
		opts.IPBurst = 60
	}
	if opts.KeyPerMinute <= 0 {
		opts.KeyPerMinute = 600
	}
	if opts.KeyBurst <= 0 {
		opts.KeyBurst = 120
	}
	h := &Handler{in: in, keys: keys, cases: cs, tax: tax, opts: opts, now: opts.Now, log: opts.Log,
		ipLim: channels.NewLimiter(opts.IPPerMinute, opts.IPBurst), keyLm: channels.NewLimiter(opts.KeyPerMinute, opts.KeyBurst)}
	if h.now == nil {
		h.now = func() time.Time {
			if cs != nil {
				return cs.Now()
			}
			return time.Now()
		}
	}
	if h.log == nil {
		if in != nil && in.Log != nil {
			h.log = in.Log
		} else {
			h.log = slog.Default()
		}
	}
	return h
}

// Routes registers the endpoint. Who may call what:
//
//	GET  /open311/v2/discovery.{json|xml}                 anyone
//	GET  /open311/v2/services.{json|xml}                  anyone
//	GET  /open311/v2/services/{service_code}.{json|xml}   anyone
//	POST /open311/v2/requests.{json|xml}                  Open311 clients holding a valid, unrevoked api_key of kind open311
//	GET  /open311/v2/tokens/{token}.{json|xml}            anyone
//	GET  /open311/v2/requests.{json|xml}                  anyone: public data only (no citizen's name, phone or e-mail)
//	GET  /open311/v2/requests/{id}.{json|xml}             anyone: public data only
//	GET  /open311/v2/servicerequestupdates.{json|xml}     anyone: public data only
//	     /open311/v2/...                                  anyone: a spec-format 404 (or 405) for everything else
//
// Every endpoint is rate limited per client IP; POST requests also per api_key.
func (h *Handler) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /open311/v2/{file}", h.limited(h.getTop))
	mux.HandleFunc("POST /open311/v2/{file}", h.limited(h.postTop))
	mux.HandleFunc("GET /open311/v2/services/{file}", h.limited(h.getService))
	mux.HandleFunc("GET /open311/v2/requests/{file}", h.limited(h.getRequest))
	mux.HandleFunc("GET /open311/v2/tokens/{file}", h.limited(h.getToken))
	mux.HandleFunc("/open311/v2/", h.limited(h.other))
}

// limited applies the per-IP rate limit.
func (h *Handler) limited(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := h.ipLim.Allow("ip:" + channels.ClientIP(r)); !ok {
			tooMany(w, formatOf(r.URL.Path), wait)
			return
		}
		next(w, r)
	}
}

// tooMany answers 429 with Retry-After, in the spec's error format.
func tooMany(w http.ResponseWriter, format string, wait time.Duration) {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	p := problem(http.StatusTooManyRequests, "请求过于频繁，请 "+strconv.Itoa(secs)+" 秒后再试 (too many requests, retry in "+strconv.Itoa(secs)+"s)")
	write(w, format, p.Status, p.doc())
}

// fail answers an error: a *Problem as it is, anything else as a 500 in
// the spec's format that says nothing of its cause (which is logged).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, format string, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		h.log.ErrorContext(r.Context(), "open311: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		p = problem(http.StatusInternalServerError, "服务器内部错误，请稍后再试 (internal error, please try again later)")
		if httpx.Unavailable(err) {
			w.Header().Set("Retry-After", "2")
			p = problem(http.StatusServiceUnavailable, "服务暂时不可用，请稍后重试 (service temporarily unavailable, retry)")
		}
	}
	write(w, format, p.Status, p.doc())
}

// jurisdiction checks jurisdiction_id: "Implementations can ignore this
// parameter and treat it as an Optional Argument if the implementation
// only serves one jurisdiction"; one that is given must be ours: "404 -
// jurisdiction_id provided was not found (specify in error response)".
func (h *Handler) jurisdiction(v url.Values) *Problem {
	j := single(v, "jurisdiction_id")
	if j == "" {
		return nil
	}
	for _, ours := range h.opts.Jurisdictions {
		if strings.EqualFold(j, ours) {
			return nil
		}
	}
	return problem(http.StatusNotFound, "jurisdiction_id "+shortName(j)+" 不存在，本接口服务 "+h.opts.Jurisdictions[0]+
		" (jurisdiction_id "+shortName(j)+" was not found; this endpoint serves "+h.opts.Jurisdictions[0]+")")
}

func notFound(what string) *Problem {
	return problem(http.StatusNotFound, what)
}

// file splits the {file} of the path into its name and format, or answers
// 404 for a format other than .xml and .json.
func (h *Handler) file(w http.ResponseWriter, r *http.Request) (name, format string, ok bool) {
	name, format, ok = splitFormat(r.PathValue("file"))
	if !ok {
		h.fail(w, r, formatOf(r.URL.Path), notFound("只支持 .xml 和 .json (not found: use .xml or .json)"))
	}
	return name, format, ok
}

// getTop answers GET /open311/v2/{discovery|services|requests|servicerequestupdates}.{fmt}.
func (h *Handler) getTop(w http.ResponseWriter, r *http.Request) {
	name, format, ok := h.file(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if name == "discovery" {
		write(w, format, http.StatusOK, h.discovery(r))
		return
	}
	if p := h.jurisdiction(q); p != nil {
		h.fail(w, r, format, p)
		return
	}
	switch name {
	case "services":
		write(w, format, http.StatusOK, h.servicesDoc())
	case "requests":
		d, err := h.listRequests(r.Context(), q)
		if err != nil {
			h.fail(w, r, format, err)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		write(w, format, http.StatusOK, d)
	case "servicerequestupdates":
		d, err := h.listUpdates(r.Context(), q)
		if err != nil {
			h.fail(w, r, format, err)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", "*")
		write(w, format, http.StatusOK, d)
	default:
		h.fail(w, r, format, notFound("资源不存在 (not found): "+shortName(name)))
	}
}

// discovery is the Service Discovery document (Service_Discovery.md: all
// fields required; formats are MIME types).
func (h *Handler) discovery(r *http.Request) doc {
	base := strings.TrimRight(h.opts.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	ep := object{
		{"specification", "http://wiki.open311.org/GeoReport_v2"},
		{"url", base + "/open311/v2"},
		{"changeset", Changeset},
		{"type", "production"},
		{"formats", list{item: "format", elems: []any{"text/xml", "application/json"}}},
	}
	return doc{root: "discovery", val: object{
		{"changeset", Changeset},
		{"contact", h.opts.Contact},
		{"key_service", h.opts.KeyService},
		{"endpoints", list{item: "endpoint", elems: []any{ep}}},
	}}
}

// Changeset marks the version of the service list and definitions:
// clients refresh their cached copies when it changes.
const Changeset = "2026-11-27T00:00:00+08:00"

// getService answers GET services/{service_code}.{fmt}.
func (h *Handler) getService(w http.ResponseWriter, r *http.Request) {
	code, format, ok := h.file(w, r)
	if !ok {
		return
	}
	if p := h.jurisdiction(r.URL.Query()); p != nil {
		h.fail(w, r, format, p)
		return
	}
	if h.tax.Category(code) == nil {
		h.fail(w, r, format, notFound("服务类别 "+shortName(code)+" 不存在 (service_code "+shortName(code)+" was not found)"))
		return
	}
	write(w, format, http.StatusOK, definitionDoc(code))
}

// maxForm bounds a POST body: the fields are short but for the
// description; files sent as multipart parts are not taken (media come as
// media_url).
const maxForm = 256 << 10

// postTop answers POST requests.{fmt}.
func (h *Handler) postTop(w http.ResponseWriter, r *http.Request) {
	name, format, ok := splitFormat(r.PathValue("file"))
	if !ok || name != "requests" {
		h.other(w, r)
		return
	}
	form, p := readForm(w, r)
	if p != nil {
		h.fail(w, r, format, p)
		return
	}
	if p := h.jurisdiction(form); p != nil {
		h.fail(w, r, format, p)
		return
	}
	secret := single(form, "api_key")
	if secret == "" {
		secret = channels.BearerKey(r)
	}
	if secret == "" {
		h.fail(w, r, format, problem(http.StatusForbidden, "缺少 api_key (api_key is missing)"))
		return
	}
	key, err := h.keys.Verify(r.Context(), secret, channels.KeyOpen311)
	if errors.Is(err, channels.ErrNoKey) {
		h.fail(w, r, format, problem(http.StatusForbidden, "api_key 无效或已吊销，无法提交诉求 (invalid or revoked api_key received -- can't proceed with create_request)"))
		return
	}
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	if ok, wait := h.keyLm.Allow("key:" + key.ID.String()); !ok {
		tooMany(w, format, wait)
		return
	}
	d, err := h.decode(form, key, r.Header.Get("Idempotency-Key"))
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	c, created, err := h.submit(r.Context(), key, d)
	if err != nil {
		h.fail(w, r, format, intakeProblem(err))
		return
	}
	req, err := h.requestByNo(r.Context(), c.TrackingNo)
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	if !created {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	write(w, format, http.StatusOK, doc{root: "service_requests", val: list{item: "request", elems: []any{object{
		{"service_request_id", c.TrackingNo},
		{"service_notice", "您的诉求已受理，受理编号 " + c.TrackingNo + "。" + req.notice()},
		{"account_id", nil},
	}}}})
}

// submit files the request; a retry (the same reference, or the previous
// day's shortly after midnight) returns the first case and created=false.
func (h *Handler) submit(ctx context.Context, key channels.Key, d decoded) (*cases.Case, bool, error) {
	if d.prevRef != "" {
		c, err := h.cases.GetByChannelRef(ctx, cases.ChannelOpen311, d.prevRef)
		switch {
		case err == nil && h.now().Sub(c.CreatedAt) < retryAcrossMidnight:
			return c, false, nil
		case err != nil && !errors.Is(err, cases.ErrNotFound):
			return nil, false, err
		}
	}
	actor := auth.Actor{Name: "Open311：" + key.Name, Role: auth.Citizen}
	res, err := h.in.Submit(ctx, actor, d.sub)
	if err != nil {
		return nil, false, err
	}
	return res.Case, res.Created, nil
}

// readForm reads the POST body: application/x-www-form-urlencoded as the
// spec says, or multipart/form-data (whose file parts are ignored).
func readForm(w http.ResponseWriter, r *http.Request) (url.Values, *Problem) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var err error
	switch ct {
	case "application/x-www-form-urlencoded":
		err = r.ParseForm()
	case "multipart/form-data":
		err = r.ParseMultipartForm(maxForm)
		if r.MultipartForm != nil {
			_ = r.MultipartForm.RemoveAll()
		}
	default:
		return nil, problem(http.StatusBadRequest, "请求须为 application/x-www-form-urlencoded 表单 (POST requests must be application/x-www-form-urlencoded)")
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, problem(http.StatusBadRequest, "请求内容过大（上限 256 KB） (request body too large: at most 256 KB)")
		}
		return nil, problem(http.StatusBadRequest, "无法解析表单 (malformed form body)")
	}
	return r.Form, nil
}

// getToken answers GET tokens/{token}.{fmt}. Requests are created at once
// (type realtime), so the token of a request is its service_request_id.
func (h *Handler) getToken(w http.ResponseWriter, r *http.Request) {
	token, format, ok := h.file(w, r)
	if !ok {
		return
	}
	if p := h.jurisdiction(r.URL.Query()); p != nil {
		h.fail(w, r, format, p)
		return
	}
	req, err := h.requestByNo(r.Context(), token)
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	write(w, format, http.StatusOK, doc{root: "service_requests", val: list{item: "request", elems: []any{object{
		{"service_request_id", req.trackingNo},
		{"token", token},
	}}}})
}

// getRequest answers GET requests/{service_request_id}.{fmt}.
func (h *Handler) getRequest(w http.ResponseWriter, r *http.Request) {
	id, format, ok := h.file(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	if p := h.jurisdiction(q); p != nil {
		h.fail(w, r, format, p)
		return
	}
	req, err := h.requestByNo(r.Context(), id)
	if err != nil {
		h.fail(w, r, format, err)
		return
	}
	rows := []*request{req}
	ext := truthy(param(q, "extensions"))
	if ext {
		if err := h.loadNotes(r.Context(), rows); err != nil {
			h.fail(w, r, format, err)
			return
		}
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	write(w, format, http.StatusOK, h.requestsDoc(rows, ext))
}

// other answers what no route above took, in the spec's format: 405 for a
// resource of ours asked with the wrong method, 404 for the rest.
func (h *Handler) other(w http.ResponseWriter, r *http.Request) {
	format := formatOf(r.URL.Path)
	rest := strings.TrimPrefix(r.URL.Path, "/open311/v2/")
	allow := ""
	if name, _, ok := splitFormat(rest); ok {
		switch name {
		case "requests":
			allow = "GET, HEAD, POST"
		case "discovery", "services", "servicerequestupdates":
			allow = "GET, HEAD"
		}
	}
	for _, dir := range []string{"services/", "requests/", "tokens/"} {
		if sub, found := strings.CutPrefix(rest, dir); found && sub != "" && !strings.Contains(sub, "/") {
			allow = "GET, HEAD"
		}
	}
	if allow != "" && !slices.Contains(strings.Split(allow, ", "), r.Method) {
		w.Header().Set("Allow", allow)
		h.fail(w, r, format, problem(http.StatusMethodNotAllowed, "不支持 "+shortName(r.Method)+" 请求 (method "+shortName(r.Method)+" not allowed; use "+allow+")"))
		return
	}
	h.fail(w, r, format, notFound("资源不存在，请从 /open311/v2/discovery.xml 开始 (not found; start at /open311/v2/discovery.xml)"))
}
