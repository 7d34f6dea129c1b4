package cases

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/internal/ratelimit"
)

// CaseJSON is a case as staff see it (masked for their role by ForActor).
type CaseJSON struct {
	ID           uuid.UUID    `json:"id"`
	TrackingNo   string       `json:"tracking_no"`
	Kind         Kind         `json:"kind"`
	Category     string       `json:"category"`
	Title        string       `json:"title"`
	Content      string       `json:"content"`
	Address      string       `json:"address"`
	Point        *Point       `json:"point,omitempty"`
	Urgency      Urgency      `json:"urgency"`
	TownshipCode string       `json:"township_code"`
	CountyCode   string       `json:"county_code"`
	CitizenName  string       `json:"citizen_name"`
	CitizenPhone string       `json:"citizen_phone"`
	Anonymous    bool         `json:"anonymous"`
	Confidential bool         `json:"confidential"`
	Channel      Channel      `json:"channel"`
	ChannelRef   string       `json:"channel_ref,omitempty"`
	State        State        `json:"state"`
	StateLabel   string       `json:"state_label"`
	ParentID     *uuid.UUID   `json:"parent_id,omitempty"`
	SignDue      *time.Time   `json:"sign_due,omitempty"`
	DueAt        *time.Time   `json:"due_at,omitempty"`
	ReturnUntil  *time.Time   `json:"return_until,omitempty"`
	ExtUntil     *time.Time   `json:"ext_until,omitempty"`
	ExtReason    string       `json:"ext_reason,omitempty"`
	Reply        string       `json:"reply,omitempty"`
	Satisfaction Satisfaction `json:"satisfaction,omitempty"`
	Solved       *bool        `json:"solved,omitempty"`
	ReturnCount  int          `json:"return_count"`
	RedoCount    int          `json:"redo_count"`
	UrgeCount    int          `json:"urge_count"`
	Version      int          `json:"version"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
	ClosedAt     *time.Time   `json:"closed_at,omitempty"`
	Assignments  []Assignment `json:"assignments"`
	Allowed      []Action     `json:"allowed"`
}

// JSONFor renders c for actor, masked.
func JSONFor(c *Case, actor auth.Actor, now time.Time) CaseJSON {
	m := ForActor(c, actor)
	return CaseJSON{ID: m.ID, TrackingNo: m.TrackingNo, Kind: m.Kind, Category: m.Category, Title: m.Title, Content: m.Content,
		Address: m.Address, Point: m.Point, Urgency: m.Urgency, TownshipCode: m.TownshipCode, CountyCode: m.CountyCode,
		CitizenName: m.CitizenName, CitizenPhone: m.CitizenPhone, Anonymous: m.Anonymous, Confidential: m.Confidential,
		Channel: m.Channel, ChannelRef: m.ChannelRef, State: m.State, StateLabel: m.State.Label(), ParentID: m.ParentID,
		SignDue: m.SignDue, DueAt: m.DueAt, ReturnUntil: m.ReturnUntil, ExtUntil: m.ExtUntil, ExtReason: m.ExtReason,
		Reply: m.Reply, Satisfaction: m.Satisfaction, Solved: m.Solved, ReturnCount: m.ReturnCount, RedoCount: m.RedoCount,
		UrgeCount: m.UrgeCount, Version: m.Version, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, ClosedAt: m.ClosedAt,
		Assignments: m.Assignments, Allowed: Allowed(c, actor, now)}
}

// EventsFor returns the events actor may see: the centre sees all; an
// officer sees all steps, but not a confidential citizen's name, nor other
// units' internal notes and internal remarks.
func EventsFor(evs []Event, c *Case, actor auth.Actor) []Event {
	if actor.IsCentre() {
		return evs
	}
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		if e.ActorRole == string(auth.Citizen) && (c.Confidential || c.Anonymous) {
			e.ActorName = ConfidentialName
		}
		if e.ActorUnit != "" && e.ActorUnit != actor.UnitID {
			if _, ok := e.Data["note"]; ok {
				d := make(map[string]any, len(e.Data))
				for k, v := range e.Data {
					if k != "note" {
						d[k] = v
					}
				}
				e.Data = d
			}
			if !e.Public && e.Action == ActNote {
				e.Reason = ""
			}
		}
		out = append(out, e)
	}
	return out
}

// ActionRequest is the body of POST /api/v1/cases/{id}/{action}.
type ActionRequest struct {
	Reason       string       `json:"reason"`
	Reply        string       `json:"reply"`
	Note         string       `json:"note"`
	Until        *time.Time   `json:"until"`
	Lead         string       `json:"lead"`
	Co           []string     `json:"co"`
	Category     string       `json:"category"`
	TownshipCode string       `json:"township_code"`
	Satisfaction Satisfaction `json:"satisfaction"`
	Solved       *bool        `json:"solved"`
	Parent       string       `json:"parent"`
	Public       bool         `json:"public"`
	// The knowledge article an answer came from (直接答复).
	ArticleID      string `json:"article_id"`
	ArticleVersion int    `json:"article_version"`
}

// Failure maps a store error to an HTTP answer with Chinese and English
// messages.
func Failure(w http.ResponseWriter, r *http.Request, err error) {
	var te *TransitionError
	if errors.As(err, &te) {
		status := http.StatusConflict
		switch {
		case errors.Is(te.Err, ErrNotFound):
			status = http.StatusNotFound
		case errors.Is(te.Err, ErrForbiddenRole), errors.Is(te.Err, ErrNotAssigned), errors.Is(te.Err, ErrNeedsHigher):
			status = http.StatusForbidden
		case errors.Is(te.Err, ErrNeedsReason), errors.Is(te.Err, ErrInvalid):
			status = http.StatusUnprocessableEntity
		}
		field := "state"
		switch {
		case errors.Is(te.Err, ErrNeedsReason):
			field = "reason"
		case errors.Is(te.Err, ErrForbiddenRole), errors.Is(te.Err, ErrNeedsHigher):
			field = "role"
		case errors.Is(te.Err, ErrNotAssigned):
			field = "unit"
		case errors.Is(te.Err, ErrInvalid):
			field = "input"
		}
		httpx.Error(w, status, httpx.FieldError{Field: field, Rule: string(te.Action), MessageZH: te.MessageZH(), MessageEN: te.Error()})
		return
	}
	if errors.Is(err, ErrNotFound) {
		httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "id", Rule: "exists", MessageZH: "工单不存在", MessageEN: "case not found"})
		return
	}
	httpx.Fail(w, r, err)
}

// Routes registers the case API. Who may call what:
//
//	POST /api/v1/cases               centre staff: register a case (from a call: call_id links it)
//	GET  /api/v1/cases/{id}          centre staff; officers of a unit the case was assigned to
//	GET  /api/v1/cases/{id}/events   the same
//	POST /api/v1/cases/{id}/{action} staff; the state machine decides per action, role and unit
//	GET  /api/v1/queues/{name}       centre staff by queue (see Queues); "unit": an officer's own unit
//	POST /api/v1/track               anyone: tracking number + last four digits of the phone (throttled)
//	POST /api/v1/track/rating        anyone with the number and the digits: rate a resolved case, once
func (s *Store) Routes(mux *http.ServeMux) {
	s.trackByIP = ratelimit.New(30, 10)
	if n := s.trackPerMinute; n > 0 {
		s.trackByIP = ratelimit.New(float64(n), max(10, n/3))
	}
	s.trackByNo = ratelimit.New(10, 10)
	staff := []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer}
	mux.Handle("POST /api/v1/cases", auth.Require(http.HandlerFunc(s.handleRegister), centre...))
	mux.Handle("GET /api/v1/cases/{id}", auth.Require(http.HandlerFunc(s.handleGet), staff...))
	mux.Handle("GET /api/v1/cases/{id}/events", auth.Require(http.HandlerFunc(s.handleEvents), staff...))
	mux.Handle("POST /api/v1/cases/{id}/{action}", auth.Require(http.HandlerFunc(s.handleAction), staff...))
	mux.Handle("GET /api/v1/queues/{name}", auth.Require(http.HandlerFunc(s.handleQueue), staff...))
	mux.HandleFunc("POST /api/v1/track", s.handleTrack)
	mux.HandleFunc("POST /api/v1/track/rating", s.handleRate)
	s.policyRoutes(mux)
}

func (s *Store) visible(w http.ResponseWriter, r *http.Request) (*Case, auth.Actor, bool) {
	actor, _ := auth.FromContext(r.Context())
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		Failure(w, r, ErrNotFound)
		return nil, actor, false
	}
	c, err := s.Get(r.Context(), id)
	if err != nil {
		Failure(w, r, err)
		return nil, actor, false
	}
	if !CanSee(c, actor) {
		// Not "forbidden": an officer learns nothing of other units' cases.
		Failure(w, r, ErrNotFound)
		return nil, actor, false
	}
	return c, actor, true
}

func (s *Store) handleGet(w http.ResponseWriter, r *http.Request) {
	c, actor, ok := s.visible(w, r)
	if !ok {
		return
	}
	httpx.JSON(w, http.StatusOK, JSONFor(c, actor, s.clock.Now()))
}

func (s *Store) handleEvents(w http.ResponseWriter, r *http.Request) {
	c, actor, ok := s.visible(w, r)
	if !ok {
		return
	}
	evs, err := s.Events(r.Context(), c.ID)
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"events": EventsFor(evs, c, actor)})
}

func (s *Store) handleAction(w http.ResponseWriter, r *http.Request) {
	c, actor, ok := s.visible(w, r)
	if !ok {
		return
	}
	var req ActionRequest
	if err := httpx.DecodeJSON(w, r, 64<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	ctx := r.Context()
	var out *Case
	var err error
	switch Action(r.PathValue("action")) {
	case ActSubmit:
		out, err = s.Submit(ctx, actor, c.ID, req.Reason)
	case ActAnswer:
		var data map[string]any
		if req.ArticleID != "" {
			data = map[string]any{"article_id": req.ArticleID, "article_version": req.ArticleVersion}
		}
		out, err = s.Answer(ctx, actor, c.ID, firstNonEmpty(req.Reply, req.Reason), data)
	case ActDispatch:
		out, err = s.Dispatch(ctx, actor, c.ID, DispatchPlan{Lead: req.Lead, Co: req.Co, Category: req.Category, TownshipCode: req.TownshipCode,
			Decision: map[string]any{"manual": true}}, req.Reason)
	case ActSign:
		out, err = s.Sign(ctx, actor, c.ID, req.Reason)
	case ActRequestReturn:
		out, err = s.RequestReturn(ctx, actor, c.ID, req.Reason)
	case ActApproveReturn:
		out, err = s.ApproveReturn(ctx, actor, c.ID, req.Reason)
	case ActRejectReturn:
		out, err = s.RejectReturn(ctx, actor, c.ID, req.Reason)
	case ActRequestExtension:
		if req.Until == nil {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "until", Rule: "required", MessageZH: "请填写延期后的办结期限", MessageEN: "until is required"})
			return
		}
		out, err = s.RequestExtension(ctx, actor, c.ID, *req.Until, req.Reason)
	case ActApproveExtension:
		out, err = s.ApproveExtension(ctx, actor, c.ID, req.Reason)
	case ActRejectExtension:
		out, err = s.RejectExtension(ctx, actor, c.ID, req.Reason)
	case ActSuspend:
		out, err = s.Suspend(ctx, actor, c.ID, req.Reason)
	case ActResume:
		out, err = s.Resume(ctx, actor, c.ID, req.Reason)
	case ActReply:
		out, err = s.Reply(ctx, actor, c.ID, firstNonEmpty(req.Reply, req.Reason), req.Note)
	case ActApproveReview:
		out, err = s.ApproveReview(ctx, actor, c.ID, req.Reason)
	case ActRejectReview:
		out, err = s.RejectReview(ctx, actor, c.ID, req.Reason)
	case ActCallback:
		out, err = s.Callback(ctx, actor, c.ID, CallbackResult{Satisfaction: req.Satisfaction, Solved: req.Solved, Comment: req.Reason})
	case ActUrge:
		out, err = s.Urge(ctx, actor, c.ID, req.Until, req.Reason)
	case ActNote:
		out, err = s.Note(ctx, actor, c.ID, req.Reason, req.Public, nil)
	case ActCallbackAttempt:
		out, err = s.CallbackAttempt(ctx, actor, c.ID, req.Reason)
	case ActMerge:
		parent, perr := uuid.Parse(req.Parent)
		if perr != nil {
			p, gerr := s.GetByTrackingNo(ctx, NormalizeTrackingNo(req.Parent))
			if gerr != nil {
				httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "parent", Rule: "exists", MessageZH: "主件不存在", MessageEN: "parent case not found"})
				return
			}
			parent = p.ID
		}
		out, err = s.Merge(ctx, actor, c.ID, parent, req.Reason)
	default:
		httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "action", Rule: "oneof", MessageZH: "未知操作", MessageEN: "unknown action"})
		return
	}
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, JSONFor(out, actor, s.clock.Now()))
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// TrackRequest is the body of POST /api/v1/track.
type TrackRequest struct {
	TrackingNo string `json:"tracking_no"`
	PhoneLast4 string `json:"phone_last4"`
}

// Throttle limits tracking lookups per client address and per tracking
// number, whether the number exists or not (no oracle): it answers 429
// itself and returns false when the caller must stop.
func (s *Store) Throttle(w http.ResponseWriter, r *http.Request, trackingNo string) bool {
	if ok, wait := s.trackByIP.Allow(ratelimit.ClientIP(r)); !ok {
		ratelimit.TooMany(w, wait)
		return false
	}
	if ok, wait := s.trackByNo.Allow(NormalizeTrackingNo(trackingNo)); !ok {
		ratelimit.TooMany(w, wait)
		return false
	}
	return true
}

// NoMatch is the one answer for a wrong number, wrong digits or no case.
func NoMatch(w http.ResponseWriter) {
	httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "tracking_no", Rule: "match",
		MessageZH: "未找到与该受理编号和手机号后四位相符的工单", MessageEN: "no case matches this tracking number and phone digits"})
}

func (s *Store) handleTrack(w http.ResponseWriter, r *http.Request) {
	var req TrackRequest
	if err := httpx.DecodeJSON(w, r, 4096, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if !s.Throttle(w, r, req.TrackingNo) {
		return
	}
	v, _, err := s.Track(r.Context(), req.TrackingNo, req.PhoneLast4)
	if errors.Is(err, ErrNotFound) {
		NoMatch(w)
		return
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, v)
}

// RateRequest is the body of POST /api/v1/track/rating.
type RateRequest struct {
	TrackingNo   string       `json:"tracking_no"`
	PhoneLast4   string       `json:"phone_last4"`
	Satisfaction Satisfaction `json:"satisfaction"`
	Solved       *bool        `json:"solved"`
	Comment      string       `json:"comment"`
}

func (s *Store) handleRate(w http.ResponseWriter, r *http.Request) {
	var req RateRequest
	if err := httpx.DecodeJSON(w, r, 8192, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if !s.Throttle(w, r, req.TrackingNo) {
		return
	}
	switch req.Satisfaction {
	case Satisfied, Basic, Dissatisfied:
	default:
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "satisfaction", Rule: "oneof",
			MessageZH: "满意度必须是 满意、基本满意 或 不满意", MessageEN: "satisfaction must be satisfied, basic or dissatisfied"})
		return
	}
	if len([]rune(req.Comment)) > 500 {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "comment", Rule: "max", MessageZH: "评价内容不能超过 500 字", MessageEN: "comment must be at most 500 characters"})
		return
	}
	_, c, err := s.Track(r.Context(), req.TrackingNo, req.PhoneLast4)
	if errors.Is(err, ErrNotFound) {
		NoMatch(w)
		return
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if _, err := s.Callback(r.Context(), auth.CitizenActor(), c.ID, CallbackResult{Satisfaction: req.Satisfaction, Solved: req.Solved, Comment: strings.TrimSpace(req.Comment)}); err != nil {
		Failure(w, r, err)
		return
	}
	v, _, err := s.Track(r.Context(), req.TrackingNo, req.PhoneLast4)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, v)
}

// RegisterRequest is the body of POST /api/v1/cases.
type RegisterRequest struct {
	Kind         Kind    `json:"kind"`
	Category     string  `json:"category"`
	Title        string  `json:"title"`
	Content      string  `json:"content"`
	Address      string  `json:"address"`
	Point        *Point  `json:"point"`
	Urgency      Urgency `json:"urgency"`
	TownshipCode string  `json:"township_code"`
	CountyCode   string  `json:"county_code"`
	CitizenName  string  `json:"citizen_name"`
	CitizenPhone string  `json:"citizen_phone"`
	Anonymous    bool    `json:"anonymous"`
	CallID       string  `json:"call_id"`
}

func (s *Store) handleRegister(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var req RegisterRequest
	if err := httpx.DecodeJSON(w, r, 64<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	n := NewCase{Kind: req.Kind, Category: req.Category, Title: req.Title, Content: req.Content, Address: req.Address,
		Point: req.Point, Urgency: req.Urgency, TownshipCode: req.TownshipCode, CountyCode: req.CountyCode,
		CitizenName: req.CitizenName, CitizenPhone: req.CitizenPhone, Anonymous: req.Anonymous, Channel: ChannelConsole}
	if req.CallID != "" {
		n.Channel, n.ChannelRef = ChannelPhone, req.CallID
	}
	c, created, err := s.Create(r.Context(), actor, n)
	if err != nil {
		Failure(w, r, err)
		return
	}
	status := http.StatusCreated
	if !created {
		status = http.StatusOK
	}
	httpx.JSON(w, status, JSONFor(c, actor, s.clock.Now()))
}
