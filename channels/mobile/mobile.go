// Package mobile is the versioned JSON API of the province's mobile app
// and of grid workers (网格员) reporting from patrol: submit a case, list
// my cases, get one with its public timeline, add a note or photo, rate a
// resolved case. Apps authenticate with a machine key (Bearer), grid
// workers with their staff session.
package mobile

import (
	"context"
	_ "embed"
	"errors"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
)

//go:embed openapi.json
var openAPI []byte

// Options tune the API.
type Options struct {
	// PerKeyPerMinute and Burst limit each app key (and each grid worker).
	PerKeyPerMinute float64
	Burst           int
}

// Handler serves the API.
type Handler struct {
	in    *channels.Intake
	keys  *channels.Keys
	files *channels.Files
	cases *cases.Store
	limit *channels.Limiter
}

// New returns the API.
func New(in *channels.Intake, keys *channels.Keys, files *channels.Files, cs *cases.Store, o Options) *Handler {
	if o.PerKeyPerMinute == 0 {
		// One app key carries a whole province's users: 2,000 a second.
		o.PerKeyPerMinute, o.Burst = 120000, 2000
	}
	return &Handler{in: in, keys: keys, files: files, cases: cs, limit: channels.NewLimiter(o.PerKeyPerMinute, o.Burst)}
}

// Route is one operation of the API, as registered and as documented.
type Route struct{ Method, Path string }

// Routes lists the operations (the OpenAPI test checks each is documented).
var Routes = []Route{
	{"POST", "/api/v1/requests"},
	{"GET", "/api/v1/requests"},
	{"GET", "/api/v1/requests/{no}"},
	{"POST", "/api/v1/requests/{no}/notes"},
	{"POST", "/api/v1/requests/{no}/rating"},
	{"GET", "/api/v1/openapi.json"},
}

// Register adds the routes. Who may call what:
//
//	POST /api/v1/requests               an app (Bearer key, with the citizen's phone) or a grid worker (session): submit, Idempotency-Key required
//	GET  /api/v1/requests               the same: the caller's own cases (?phone= for apps)
//	GET  /api/v1/requests/{no}          the same: one own case with its public timeline
//	POST /api/v1/requests/{no}/notes    the same: a supplementary note and/or photos on an own open case
//	POST /api/v1/requests/{no}/rating   the same: rate an own resolved case, once
//	GET  /api/v1/openapi.json           anyone: this API's OpenAPI 3 document
func (h *Handler) Register(mux *http.ServeMux) {
	handlers := map[Route]http.HandlerFunc{
		Routes[0]: h.submit, Routes[1]: h.list, Routes[2]: h.get, Routes[3]: h.note, Routes[4]: h.rate,
	}
	for r, fn := range handlers {
		mux.Handle(r.Method+" "+r.Path, h.caller(fn))
	}
	mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
}

// who is the caller: an app key with the citizen it speaks for, or a grid
// worker.
type who struct {
	actor    auth.Actor
	channel  cases.Channel
	scope    string // the caller's own namespace of idempotency keys
	reporter string // the reporter of the caller's cases
	phone    string
}

type whoKey struct{}

func (h *Handler) caller(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var wh who
		var limitKey string
		if secret := channels.BearerKey(r); secret != "" {
			k, err := h.keys.Verify(r.Context(), secret, channels.KeyApp)
			if err != nil {
				channels.Forbidden(w)
				return
			}
			scope := "app:" + k.ID.String() + ":"
			wh = who{actor: auth.Actor{Role: auth.Citizen, Name: "移动应用用户"}, channel: cases.ChannelApp, scope: scope, reporter: scope}
			limitKey = "key:" + k.ID.String()
		} else if a, ok := auth.FromContext(r.Context()); ok && a.Role == auth.Grid {
			wh = who{actor: a, channel: cases.ChannelGrid, scope: "grid:" + a.ID.String() + ":", reporter: "grid:" + a.ID.String()}
			limitKey = "grid:" + a.ID.String()
		} else {
			httpx.Error(w, http.StatusUnauthorized, httpx.FieldError{Field: "Authorization", Rule: "auth",
				MessageZH: "需要移动应用密钥或网格员登录", MessageEN: "an app key (Bearer) or a grid worker's session is required"})
			return
		}
		if ok, wait := h.limit.Allow(limitKey); !ok {
			channels.TooMany(w, wait)
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), whoKey{}, wh)))
	})
}

func whoOf(r *http.Request) who { return r.Context().Value(whoKey{}).(who) }

// citizen scopes an app's request to the citizen whose phone it names.
func (wh *who) citizen(phone string) error {
	if wh.channel != cases.ChannelApp {
		return nil
	}
	p, ok := channels.NormalizePhone(phone)
	if !ok {
		return httpx.Errors{channels.Message("phone", "cnphone", "")}
	}
	wh.phone = p
	wh.reporter += p
	return nil
}

// SubmitRequest is the body of POST /api/v1/requests.
type SubmitRequest struct {
	channels.Submission
}

const maxBody = 64 << 20

func (h *Handler) submit(w http.ResponseWriter, r *http.Request) {
	wh := whoOf(r)
	idem := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if idem == "" || len(idem) > 100 {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "Idempotency-Key", Rule: "required",
			MessageZH: "请求头 Idempotency-Key 必填（每次提交一个唯一值，重试时不变），长度不超过 100", MessageEN: "the Idempotency-Key header is required (unique per submission, unchanged on retries), at most 100 characters"})
		return
	}
	var s channels.Submission
	var photos []*multipart.FileHeader
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "body", Rule: "multipart", MessageZH: "上传内容格式错误或过大", MessageEN: "malformed or oversized multipart body"})
			return
		}
		defer r.MultipartForm.RemoveAll()
		if err := httpx.Unmarshal([]byte(r.FormValue("request")), &s); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		photos = r.MultipartForm.File["photo"]
	} else if err := httpx.DecodeJSON(w, r, 64<<10, &s); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if len(photos) > channels.MaxFiles {
		httpx.Fail(w, r, channels.Unacceptable("photo", "max", "最多上传 6 张照片", "at most 6 photos"))
		return
	}
	if err := wh.citizen(s.Phone); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	s.Channel, s.Reporter = wh.channel, wh.reporter
	s.Ref = wh.scope + idem
	for _, fh := range photos {
		st, err := h.storeFile(r.Context(), fh)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		s.Attachments = append(s.Attachments, st)
	}
	res, err := h.in.Submit(r.Context(), wh.actor, s)
	if err != nil {
		fail(w, r, err)
		return
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	out := map[string]any{"tracking_no": res.Case.TrackingNo, "state": res.Case.State, "status": res.Case.State.PublicLabel(),
		"routed": res.Routed, "created": res.Created}
	if res.Routed && res.Decision != nil {
		out["unit"] = res.Decision.LeadName
	}
	httpx.JSON(w, status, out)
}

func (h *Handler) storeFile(ctx context.Context, fh *multipart.FileHeader) (channels.Stored, error) {
	f, err := fh.Open()
	if err != nil {
		return channels.Stored{}, err
	}
	defer f.Close()
	return h.files.Store(ctx, fh.Filename, f)
}

// fail maps intake and case errors to answers: bad input 400/422, refused
// transitions by the state machine, the rest 500.
func fail(w http.ResponseWriter, r *http.Request, err error) {
	var te *cases.TransitionError
	if errors.As(err, &te) {
		cases.Failure(w, r, err)
		return
	}
	httpx.Fail(w, r, err)
}

type summary struct {
	TrackingNo string     `json:"tracking_no"`
	Title      string     `json:"title"`
	Kind       string     `json:"kind"`
	State      string     `json:"state"`
	Status     string     `json:"status"`
	CreatedAt  time.Time  `json:"created_at"`
	DueAt      *time.Time `json:"due_at,omitempty"`
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request) {
	wh := whoOf(r)
	if err := wh.citizen(r.URL.Query().Get("phone")); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	before := time.Now().Add(time.Hour)
	if b := r.URL.Query().Get("before"); b != "" {
		t, err := time.Parse(time.RFC3339, b)
		if err != nil {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "before", Rule: "datetime", MessageZH: "before 应为 RFC 3339 时间", MessageEN: "before must be an RFC 3339 time"})
			return
		}
		before = t
	}
	rows, err := h.cases.DB().Query(r.Context(), `SELECT tracking_no, title, kind, state, created_at, due_at FROM cases
		WHERE reporter = $1 AND created_at < $2 ORDER BY created_at DESC LIMIT $3`, wh.reporter, before, limit)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	defer rows.Close()
	out := []summary{}
	for rows.Next() {
		var s summary
		if err := rows.Scan(&s.TrackingNo, &s.Title, &s.Kind, &s.State, &s.CreatedAt, &s.DueAt); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		st := cases.State(s.State)
		s.Status = st.PublicLabel()
		if !st.Open() {
			s.DueAt = nil
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"requests": out})
}

// own returns the caller's case by tracking number; anything else is 404.
func (h *Handler) own(w http.ResponseWriter, r *http.Request, wh *who, phone string) (*cases.Case, bool) {
	if err := wh.citizen(phone); err != nil {
		httpx.Fail(w, r, err)
		return nil, false
	}
	c, err := h.cases.GetByTrackingNo(r.Context(), cases.NormalizeTrackingNo(r.PathValue("no")))
	if err != nil || c.Reporter != wh.reporter {
		cases.Failure(w, r, cases.ErrNotFound)
		return nil, false
	}
	return c, true
}

func (h *Handler) get(w http.ResponseWriter, r *http.Request) {
	wh := whoOf(r)
	c, ok := h.own(w, r, &wh, r.URL.Query().Get("phone"))
	if !ok {
		return
	}
	v, _, err := h.cases.Track(r.Context(), c.TrackingNo, cases.PhoneLast4(c.CitizenPhone))
	if err != nil {
		// A grid report may carry no phone: show the same public view.
		v, err = h.cases.PublicViewOf(r.Context(), c)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
	}
	httpx.JSON(w, http.StatusOK, v)
}

// NoteRequest is the body of POST /api/v1/requests/{no}/notes.
type NoteRequest struct {
	Phone string `json:"phone"`
	Text  string `json:"text" validate:"max=2000"`
}

func (h *Handler) note(w http.ResponseWriter, r *http.Request) {
	wh := whoOf(r)
	var req NoteRequest
	var photos []*multipart.FileHeader
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "body", Rule: "multipart", MessageZH: "上传内容格式错误或过大", MessageEN: "malformed or oversized multipart body"})
			return
		}
		defer r.MultipartForm.RemoveAll()
		req.Phone, req.Text = r.FormValue("phone"), r.FormValue("text")
		photos = r.MultipartForm.File["photo"]
	} else if err := httpx.DecodeJSON(w, r, 16<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	req.Text = channels.CleanText(req.Text)
	if req.Text == "" && len(photos) == 0 {
		httpx.Error(w, http.StatusBadRequest, channels.Message("text", "required", ""))
		return
	}
	if len([]rune(req.Text)) > 2000 {
		httpx.Error(w, http.StatusBadRequest, channels.Message("text", "max", "2000"))
		return
	}
	if len(photos) > channels.MaxFiles {
		httpx.Fail(w, r, channels.Unacceptable("photo", "max", "最多上传 6 张照片", "at most 6 photos"))
		return
	}
	c, ok := h.own(w, r, &wh, req.Phone)
	if !ok {
		return
	}
	var stored []channels.Stored
	for _, fh := range photos {
		st, err := h.storeFile(r.Context(), fh)
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		stored = append(stored, st)
	}
	text := req.Text
	if text == "" {
		text = "补充照片"
	}
	var err error
	if len(stored) > 0 {
		err = h.files.Attach(r.Context(), wh.actor, c, stored, "市民补充："+text)
	} else {
		_, err = h.cases.Note(r.Context(), wh.actor, c.ID, "市民补充："+text, true, nil)
	}
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, map[string]any{"tracking_no": c.TrackingNo, "attachments": len(stored)})
}

// RatingRequest is the body of POST /api/v1/requests/{no}/rating.
type RatingRequest struct {
	Phone        string `json:"phone"`
	Satisfaction string `json:"satisfaction"` // satisfied | basic | dissatisfied
	Solved       *bool  `json:"solved"`
	Comment      string `json:"comment"`
}

func (h *Handler) rate(w http.ResponseWriter, r *http.Request) {
	wh := whoOf(r)
	var req RatingRequest
	if err := httpx.DecodeJSON(w, r, 8<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	switch cases.Satisfaction(req.Satisfaction) {
	case cases.Satisfied, cases.Basic, cases.Dissatisfied:
	default:
		httpx.Error(w, http.StatusBadRequest, channels.Message("satisfaction", "oneof", "satisfied basic dissatisfied"))
		return
	}
	c, ok := h.own(w, r, &wh, req.Phone)
	if !ok {
		return
	}
	comment := channels.CleanText(req.Comment)
	if len([]rune(comment)) > 500 {
		httpx.Error(w, http.StatusBadRequest, channels.Message("comment", "max", "500"))
		return
	}
	out, err := h.cases.Callback(r.Context(), auth.CitizenActor(), c.ID, cases.CallbackResult{Satisfaction: cases.Satisfaction(req.Satisfaction), Solved: req.Solved, Comment: comment})
	if err != nil {
		fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"tracking_no": out.TrackingNo, "state": out.State, "status": out.State.PublicLabel()})
}
