package console

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/webui"
)

// trackPage is what the public tracking template shows: the form, and
// after a lookup the public view of one case. It never holds more than
// cases.PublicView gives (unit names, public steps, the phone masked).
type trackPage struct {
	No     string // the tracking number as entered (normalized when possible)
	Digits string // the last four digits, kept only on the result page (for the rating form)
	// CSRF is the session's token when a signed-in member of staff opens
	// the page: the session layer checks it on every post with the cookie.
	CSRF   string
	Errors map[string]string // field → message
	// NotFound is the one answer for a wrong number, wrong digits or no case.
	NotFound bool
	Message  *workMessage

	View     *cases.PublicView
	Events   []trackEvent
	Due      string // the deadline, and how long is left, in words
	Rating   *ratingForm
	Rated    string // the thank-you after a rating
	Refused  string // a second rating, politely refused
	Reopened bool   // the rating reopened the case (重办)
}

type trackEvent struct {
	At    time.Time
	Label string
	Unit  string
	Text  string
}

// ratingForm keeps what the citizen chose when the rating is shown again
// with a problem.
type ratingForm struct {
	Satisfaction string
	Solved       string
	Comment      string
}

// trackRoutes registers the public tracking page. No session is needed;
// posts are checked for their origin (as the public report form's are)
// and throttled per client address and per number with the same buckets
// as POST /api/v1/track:
//
//	GET  /track         anyone: the form (tracking number, last four digits of the phone); ?no= prefills the number
//	POST /track         anyone, from a page of this site: the public view of the case (status, timeline, deadline, reply)
//	POST /track/rating  anyone with the number and the digits, from a page of this site: rate a resolved case, once
func (p *Pages) trackRoutes(mux *http.ServeMux) {
	// GET /track — anyone.
	mux.HandleFunc("GET /track", func(w http.ResponseWriter, r *http.Request) {
		page := p.trackBase(r)
		if no := r.URL.Query().Get("no"); no != "" {
			if n := cases.NormalizeTrackingNo(no); n != "" {
				page.No = n
			} else if utf8.RuneCountInString(no) <= 40 {
				page.No = no
			}
		}
		p.render(w, r, http.StatusOK, "track", page)
	})
	// POST /track — anyone from this site, throttled.
	mux.HandleFunc("POST /track", p.handleTrack)
	// POST /track/rating — anyone with the number and the digits, from this site, throttled.
	mux.HandleFunc("POST /track/rating", p.handleTrackRating)
}

func (p *Pages) trackBase(r *http.Request) trackPage {
	page := trackPage{}
	if s, ok := auth.SessionFrom(r); ok {
		page.CSRF = s.CSRF
	}
	return page
}

// trackFromHere reports whether a form post comes from a page of this site
// (as channels/web checks its report form): its Origin, else its Referer,
// is this host or an allowed origin, and a browser that says the post is
// cross-site or same-site names an allowed origin.
func (p *Pages) trackFromHere(r *http.Request) bool {
	h := p.Auth
	if h == nil {
		h = &auth.HTTP{}
	}
	if !h.SameOrigin(r) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return slices.Contains(h.Origins, r.Header.Get("Origin"))
	}
	return true
}

// trackForm reads and checks a tracking post. It answers itself (and
// returns false) when the post is refused, throttled or malformed.
func (p *Pages) trackForm(w http.ResponseWriter, r *http.Request) (trackPage, bool) {
	page := p.trackBase(r)
	if !p.trackFromHere(r) {
		page.Message = &workMessage{Title: "请求来源无效", Text: "为保护您的信息，只接受从本网站页面提交的查询。请打开本站的进度查询页面重新查询。",
			Link: "/track", Label: "打开进度查询"}
		p.render(w, r, http.StatusForbidden, "track", page)
		return page, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		page.Errors = map[string]string{"tracking_no": "提交的内容无效，请重新填写"}
		p.render(w, r, http.StatusBadRequest, "track", page)
		return page, false
	}
	raw := strings.TrimSpace(r.PostForm.Get("tracking_no"))
	no := cases.NormalizeTrackingNo(raw)
	// Every post counts, whatever it holds: the same buckets as the API.
	probe := &throttleProbe{h: http.Header{}}
	if !p.Cases.Throttle(probe, r, no) {
		if ra := probe.h.Get("Retry-After"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
		secs, _ := strconv.Atoi(probe.h.Get("Retry-After"))
		when := strconv.Itoa(max(secs, 1)) + " 秒"
		if secs >= 120 {
			when = strconv.Itoa((secs+59)/60) + " 分钟"
		}
		page.Message = &workMessage{Title: "查询过于频繁", Text: "为保护市民信息，同一网络或同一受理编号短时间内只能查询有限次数。请 " + when + "后再试，也可以拨打 12345 查询。",
			Link: "/track", Label: "返回进度查询"}
		p.render(w, r, http.StatusTooManyRequests, "track", page)
		return page, false
	}
	page.No = no
	if no == "" {
		page.No = raw
		if utf8.RuneCountInString(raw) > 40 {
			page.No = ""
		}
	}
	digits := trackDigits(r.PostForm.Get("phone_last4"))
	errs := map[string]string{}
	switch {
	case raw == "":
		errs["tracking_no"] = "请填写受理编号"
	case no == "" || len(no) != cases.TrackingLen:
		errs["tracking_no"] = "受理编号是 15 位数字，请核对后重新填写"
	}
	if len(digits) != 4 {
		errs["phone_last4"] = "请填写登记时所留手机号的后四位数字"
	}
	if len(errs) > 0 {
		page.Errors = errs
		p.render(w, r, http.StatusUnprocessableEntity, "track", page)
		return page, false
	}
	page.Digits = digits
	return page, true
}

// trackDigits keeps the ASCII digits of s (full-width digits count);
// anything else makes it invalid.
func trackDigits(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == ' ':
		default:
			return ""
		}
	}
	return b.String()
}

// trackNotFound answers a lookup that matched nothing: the same page, status
// and message for a wrong number and for wrong digits.
func (p *Pages) trackNotFound(w http.ResponseWriter, r *http.Request, page trackPage) {
	page.Digits = ""
	page.NotFound = true
	p.render(w, r, http.StatusNotFound, "track", page)
}

// trackLookup reads the form and the case it names, or answers for it.
func (p *Pages) trackLookup(w http.ResponseWriter, r *http.Request) (trackPage, *cases.PublicView, *cases.Case, bool) {
	page, ok := p.trackForm(w, r)
	if !ok {
		return page, nil, nil, false
	}
	v, c, err := p.Cases.Track(r.Context(), page.No, page.Digits)
	if errors.Is(err, cases.ErrNotFound) {
		p.trackNotFound(w, r, page)
		return page, nil, nil, false
	}
	if err != nil {
		p.trackFailed(w, r, err)
		return page, nil, nil, false
	}
	return page, v, c, true
}

func (p *Pages) handleTrack(w http.ResponseWriter, r *http.Request) {
	if page, v, _, ok := p.trackLookup(w, r); ok {
		p.trackShow(w, r, http.StatusOK, page, v)
	}
}

func (p *Pages) handleTrackRating(w http.ResponseWriter, r *http.Request) {
	page, v, c, ok := p.trackLookup(w, r)
	if !ok {
		return
	}
	f := &ratingForm{Satisfaction: r.PostForm.Get("satisfaction"), Solved: r.PostForm.Get("solved"),
		Comment: strings.TrimSpace(r.PostForm.Get("comment"))}
	if !v.CanRate {
		p.refuseRating(w, r, page, v)
		return
	}
	errs := map[string]string{}
	switch cases.Satisfaction(f.Satisfaction) {
	case cases.Satisfied, cases.Basic, cases.Dissatisfied:
	default:
		errs["satisfaction"] = "请选择您对办理结果是否满意"
	}
	var solved bool
	switch f.Solved {
	case "yes":
		solved = true
	case "no":
	default:
		errs["solved"] = "请选择问题是否已经解决"
	}
	if utf8.RuneCountInString(f.Comment) > 500 {
		errs["comment"] = "其他意见不能超过 500 字"
	}
	if len(errs) > 0 {
		page.Errors = errs
		page.Rating = f
		p.trackShow(w, r, http.StatusUnprocessableEntity, page, v)
		return
	}
	_, err := p.Cases.Callback(r.Context(), auth.CitizenActor(), c.ID, cases.CallbackResult{
		Satisfaction: cases.Satisfaction(f.Satisfaction), Solved: &solved, Comment: f.Comment})
	var te *cases.TransitionError
	if errors.As(err, &te) && errors.Is(te, cases.ErrWrongState) {
		// Rated meanwhile (a second tab, a double post).
		if v2, _, err := p.Cases.Track(r.Context(), page.No, page.Digits); err == nil {
			v = v2
		}
		p.refuseRating(w, r, page, v)
		return
	}
	if err != nil {
		p.trackFailed(w, r, err)
		return
	}
	v, _, err = p.Cases.Track(r.Context(), page.No, page.Digits)
	if err != nil {
		p.trackFailed(w, r, err)
		return
	}
	page.Rated = "感谢您的评价！"
	if v.State != cases.Archived {
		page.Reopened = true
	}
	p.trackShow(w, r, http.StatusOK, page, v)
}

// refuseRating answers a rating the case does not take (any more).
func (p *Pages) refuseRating(w http.ResponseWriter, r *http.Request, page trackPage, v *cases.PublicView) {
	if v.Satisfaction != "" {
		page.Refused = "本工单已经评价过（" + v.Satisfaction + "），每件工单只能评价一次。感谢您的反馈！"
	} else {
		page.Refused = "本工单目前不在评价阶段：办结后即可评价。感谢您的关注！"
	}
	p.trackShow(w, r, http.StatusConflict, page, v)
}

func (p *Pages) trackFailed(w http.ResponseWriter, r *http.Request, err error) {
	p.Log.Error("track: lookup", "err", err)
	page := p.trackBase(r)
	page.Message = &workMessage{Title: "暂时无法查询", Text: "系统暂时无法完成查询，请稍后再试，或拨打 12345 查询。", Link: "/track", Label: "返回进度查询"}
	p.render(w, r, http.StatusInternalServerError, "track", page)
}

// trackShow renders the public view of a case.
func (p *Pages) trackShow(w http.ResponseWriter, r *http.Request, status int, page trackPage, v *cases.PublicView) {
	page.View = v
	for _, e := range v.Timeline {
		te := trackEvent{At: e.At, Label: e.Label, Unit: e.Unit, Text: e.Text}
		if te.Unit != "" && strings.Contains(te.Text, te.Unit) {
			te.Unit = ""
		}
		page.Events = append(page.Events, te)
	}
	// Newest first: the citizen wants to know what happened last.
	slices.Reverse(page.Events)
	// The deadline while the units work on it; not once it is resolved.
	switch v.State {
	case cases.PendingSign, cases.InProgress, cases.ReturnRequested, cases.PendingReview:
		if v.DueAt != nil {
			page.Due = trackDue(*v.DueAt, p.Cases.Now())
		}
	case cases.Suspended:
		page.Due = "暂停计时，恢复办理后顺延"
	}
	if v.CanRate && page.Rating == nil {
		page.Rating = &ratingForm{}
	}
	if !v.CanRate {
		page.Rating = nil
	}
	p.render(w, r, status, "track", page)
}

// trackDue is a deadline with the time left in words, in Asia/Shanghai:
// "2026-12-18 17:30 前（还剩 3 天）".
func trackDue(due, now time.Time) string {
	s := due.In(webui.Shanghai).Format("2006-01-02 15:04") + " 前"
	d := due.Sub(now)
	abs := d
	if abs < 0 {
		abs = -abs
	}
	var n int
	var unit string
	switch {
	case abs < time.Hour:
		n, unit = max(1, int(abs/time.Minute)), "分钟"
	case abs < 48*time.Hour:
		n, unit = int(abs/time.Hour), "小时"
	default:
		n, unit = int(abs/(24*time.Hour)), "天"
	}
	if d >= 0 {
		return s + "（还剩 " + strconv.Itoa(n) + " " + unit + "）"
	}
	return s + "（已超过 " + strconv.Itoa(n) + " " + unit + "）"
}

// throttleProbe takes what cases.Store.Throttle would answer, so that the
// page can answer in HTML instead of JSON.
type throttleProbe struct {
	h      http.Header
	status int
}

func (t *throttleProbe) Header() http.Header         { return t.h }
func (t *throttleProbe) Write(b []byte) (int, error) { return len(b), nil }
func (t *throttleProbe) WriteHeader(status int)      { t.status = status }
