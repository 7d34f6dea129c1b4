package web

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/router/territory"
)

func (h *Handler) handleHome(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	h.render(w, r, http.StatusOK, "home.html", homePage{base: h.base("首页", false)})
}

// handleForm shows the empty form with a fresh token; ?kind= preselects
// the kind.
func (h *Handler) handleForm(w http.ResponseWriter, r *http.Request) {
	f := &Form{Token: NewToken()}
	if k := r.URL.Query().Get("kind"); validKind(k) {
		f.Kind = k
	}
	h.renderForm(w, r, http.StatusOK, f, nil)
}

// sessionCSRF is the CSRF token of a signed-in member of staff: the
// session middleware asks for it on every form post made with the
// session's cookie, this form's too.
func sessionCSRF(r *http.Request) (string, bool) {
	s, ok := auth.SessionFrom(r)
	if !ok || s.CSRF == "" {
		return "", false
	}
	return s.CSRF, true
}

// fromHere reports whether a form post comes from a page of this site:
// its Origin, else its Referer, is the request's own host or an accepted
// origin, and a browser that says the post is cross-site or same-site
// (another host of the site) names an accepted origin. A post with
// neither header is no browser's cross-site post (browsers send Origin
// with every cross-origin POST) and passes; it still needs a valid token.
func (h *Handler) fromHere(r *http.Request) bool {
	if !h.origins.SameOrigin(r) {
		return false
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "cross-site", "same-site":
		return slices.Contains(h.origins.Origins, r.Header.Get("Origin"))
	}
	return true
}

func (h *Handler) tooMany(w http.ResponseWriter, r *http.Request, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	when := strconv.Itoa(secs) + " 秒"
	if secs >= 120 {
		when = strconv.Itoa((secs+59)/60) + " 分钟"
	}
	h.renderMessage(w, r, http.StatusTooManyRequests, "提交过于频繁",
		"为防止重复和恶意提交，同一网络短时间内只能提交有限次数。请 "+when+"后再试；情况紧急请直接拨打 12345。")
}

// handleSubmit files the form: a retry of a form already filed shows its
// case again; an invalid form is shown again with the input kept and a
// message next to each bad field.
func (h *Handler) handleSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if ok, wait := h.limit.Allow(h.opts.ClientIP(r)); !ok {
		h.tooMany(w, r, wait)
		return
	}
	if !h.fromHere(r) {
		h.renderMessage(w, r, http.StatusForbidden, "请求来源无效",
			"为保护您的安全，只接受从本网站页面提交的表单。请打开本站的“我要反映”页面重新填写。")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.opts.MaxBody)
	f, err := ReadForm(r, h.opts.MaxBody)
	var p problems
	p.merge(err)
	sub, err := f.Submission()
	p.merge(err)

	// A retry (double click, reload, the back button) of a form already
	// filed: its case, whatever was sent this time.
	if sub.Ref != "" {
		c, err := h.in.Cases.GetByChannelRef(ctx, cases.ChannelWeb, sub.Ref)
		if err == nil {
			h.renderResult(w, r, c, channels.CleanText(f.Content) != c.Content)
			return
		}
		if !errors.Is(err, cases.ErrNotFound) {
			h.fail(w, r, err)
			return
		}
	}

	h.place(f, &sub, &p)
	check := sub
	if err := h.in.Check(&check); !p.merge(err) {
		h.fail(w, r, err)
		return
	}
	if !p.empty() {
		h.renderForm(w, r, p.status, f, p.errs)
		return
	}
	// The text is valid: now the photos are worth storing.
	for _, ph := range f.Photos {
		st, err := h.files.Store(ctx, ph.Name, bytes.NewReader(ph.Data))
		if err != nil {
			if !p.merge(err) {
				h.fail(w, r, err)
				return
			}
			continue
		}
		sub.Attachments = append(sub.Attachments, st)
	}
	if !p.empty() {
		h.renderForm(w, r, p.status, f, p.errs)
		return
	}
	res, err := h.in.Submit(ctx, auth.CitizenActor(), sub)
	if err != nil {
		var te *cases.TransitionError
		switch {
		case p.merge(err):
			h.renderForm(w, r, p.status, f, p.errs)
		case errors.As(err, &te) && errors.Is(te.Err, cases.ErrInvalid):
			p.add(http.StatusBadRequest, fieldError("body", "read"))
			h.log.WarnContext(ctx, "web: submission refused by the case store", "err", err)
			h.renderForm(w, r, p.status, f, p.errs)
		default:
			h.fail(w, r, err)
		}
		return
	}
	h.renderResult(w, r, res.Case, !res.Created && channels.CleanText(f.Content) != res.Case.Content)
}

// fail answers a failure that is not the person's: logged, and a page
// that says nothing of its cause.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	if httpx.Unavailable(err) {
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "2")
	}
	h.log.ErrorContext(r.Context(), "web: submit failed", "err", err)
	h.renderMessage(w, r, status, "系统繁忙",
		"很抱歉，您的诉求暂时未能提交。请稍后刷新本页重试（同一份表单不会重复登记），或直接拨打 12345。")
}

// place checks the place picked (city, county, township: each within the
// one above) and, when no township was picked, looks for it in the
// address and the content, within what was picked: without JavaScript the
// township list cannot follow the county, and many people only write the
// address.
func (h *Handler) place(f *Form, s *channels.Submission, p *problems) {
	var city, county *territory.Division
	if f.City != "" {
		if d := h.terr.Get(f.City); d != nil && d.Level == territory.LevelCity {
			city = d
		} else {
			p.add(http.StatusBadRequest, fieldError(fCity, "exists"))
		}
	}
	if d := h.terr.Get(f.County); d != nil && d.Level == territory.LevelCounty {
		county = d
		if city != nil && d.Parent != city.Code {
			p.add(http.StatusBadRequest, fieldError(fCounty, "in_city"))
		}
	} // an unknown county code is the intake's to refuse
	if d := h.terr.Get(f.Township); d != nil && d.Level == territory.LevelTownship && !territory.Placeholder(d.Name) {
		switch {
		case county != nil && d.Parent != county.Code:
			p.add(http.StatusBadRequest, fieldError(fTownship, "in_county"))
		case county == nil && city != nil && !strings.HasPrefix(d.Code, city.Code):
			p.add(http.StatusBadRequest, fieldError(fTownship, "in_county"))
		case county == nil && f.County == "":
			s.CountyCode = d.Parent
		}
		return
	}
	if f.Township != "" || f.County != "" && county == nil {
		return // an unknown code: the intake says so
	}
	// No township picked: the address (then the content too) may name it,
	// read with the city and county picked as context.
	var prefix string
	within := ""
	if city != nil {
		prefix, within = city.Name, city.Code
	}
	if county != nil {
		prefix, within = prefix+county.Name, county.Code
	}
	m := h.terr.MatchAddress(prefix + f.Address)
	if m.TownshipCode == "" && strings.TrimSpace(f.Content) != "" {
		if m2 := h.terr.MatchAddress(prefix + f.Address + "\n" + f.Content); m2.TownshipCode != "" &&
			(m.CountyCode == "" || strings.HasPrefix(m2.TownshipCode, m.CountyCode)) {
			m = m2
		}
	}
	switch {
	case m.TownshipCode != "" && strings.HasPrefix(m.TownshipCode, within):
		s.TownshipCode, s.CountyCode = m.TownshipCode, m.TownshipCode[:6]
	case county == nil && m.CountyCode != "" && strings.HasPrefix(m.CountyCode, within):
		s.CountyCode = m.CountyCode
	}
}
