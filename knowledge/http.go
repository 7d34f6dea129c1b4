package knowledge

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"yici/internal/auth"
	"yici/internal/httpx"
)

// staffSeeInternal are the roles whose searches include internal articles.
var staffSeeInternal = []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer, auth.Admin}

// AudienceOf returns the search audience of an actor (anonymous: public).
func AudienceOf(actor auth.Actor, signedIn bool) Audience {
	if !signedIn {
		return AudiencePublic
	}
	for _, r := range staffSeeInternal {
		if actor.Role == r {
			return AudienceStaff
		}
	}
	return AudiencePublic
}

// Routes registers the knowledge API and the public knowledge pages. Who
// may call what:
//
//	GET  /api/v1/kb/search                          anyone: public articles; agents, dispatchers, supervisors, officers and admins also internal ones
//	GET  /api/v1/kb/articles                        staff: list (an officer sees their unit's articles)
//	POST /api/v1/kb/articles                        officers (for their unit), agents, dispatchers, supervisors, admins: create a draft
//	GET  /api/v1/kb/articles/{id}                   staff: the latest version (an officer of another unit: the published one only)
//	PUT  /api/v1/kb/articles/{id}                   the owning unit's officers, centre staff, admins: edit (a draft, or start a new draft version)
//	POST /api/v1/kb/articles/{id}/submit            the same: send the draft for review
//	POST /api/v1/kb/articles/{id}/publish           dispatchers, supervisors, admins: publish the version in review
//	POST /api/v1/kb/articles/{id}/reject            dispatchers, supervisors, admins: return it to draft with a note
//	POST /api/v1/kb/articles/{id}/archive           dispatchers, supervisors, admins: take it out of search
//	GET  /api/v1/kb/articles/{id}/versions          staff who may read the article: every version, newest first
//	GET  /api/v1/kb/articles/{id}/versions/{version} the same: one version
//	GET  /api/v1/kb/similar                         staff: published articles with a title close to ?title= (before writing a duplicate)
//	POST /api/v1/kb/uses                            agents, dispatchers, supervisors: record that an article version answered a case
//	GET  /api/v1/kb/stats                           supervisors, admins: most used articles, most frequent searches without result
//	GET  /kb                                        anyone: the public knowledge page (search form and results)
//	GET  /kb/{id}                                   anyone: a published public article
func (s *Store) Routes(mux *http.ServeMux) {
	staff := []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer, auth.Admin}
	editors := []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer, auth.Admin}
	reviewers := []auth.Role{auth.Dispatcher, auth.Supervisor, auth.Admin}
	centre := []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}
	h := func(f http.HandlerFunc, roles ...auth.Role) http.Handler { return auth.Require(f, roles...) }
	mux.HandleFunc("GET /api/v1/kb/search", s.handleSearch)
	mux.Handle("GET /api/v1/kb/articles", h(s.handleList, staff...))
	mux.Handle("POST /api/v1/kb/articles", h(s.handleCreate, editors...))
	mux.Handle("GET /api/v1/kb/articles/{id}", h(s.handleGet, staff...))
	mux.Handle("PUT /api/v1/kb/articles/{id}", h(s.handleEdit, editors...))
	mux.Handle("POST /api/v1/kb/articles/{id}/submit", h(s.handleStep, editors...))
	mux.Handle("POST /api/v1/kb/articles/{id}/publish", h(s.handleStep, reviewers...))
	mux.Handle("POST /api/v1/kb/articles/{id}/reject", h(s.handleStep, reviewers...))
	mux.Handle("POST /api/v1/kb/articles/{id}/archive", h(s.handleStep, reviewers...))
	mux.Handle("GET /api/v1/kb/articles/{id}/versions", h(s.handleVersions, staff...))
	mux.Handle("GET /api/v1/kb/articles/{id}/versions/{version}", h(s.handleVersion, staff...))
	mux.Handle("GET /api/v1/kb/similar", h(s.handleSimilar, staff...))
	mux.Handle("POST /api/v1/kb/uses", h(s.handleUse, centre...))
	mux.Handle("GET /api/v1/kb/stats", h(s.handleStats, auth.Supervisor, auth.Admin))
	s.webRoutes(mux)
}

// Failure maps a store error to an HTTP answer.
func Failure(w http.ResponseWriter, r *http.Request, err error) {
	var ie *InvalidError
	var se *StateError
	switch {
	case errors.As(err, &ie):
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: ie.Field, Rule: "valid", MessageZH: ie.MessageZH, MessageEN: ie.Error()})
	case errors.As(err, &se):
		httpx.Error(w, http.StatusConflict, httpx.FieldError{Field: "status", Rule: se.Step, MessageZH: se.MessageZH(), MessageEN: se.Error()})
	case errors.Is(err, ErrNotFound):
		httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "id", Rule: "exists", MessageZH: "知识条目不存在", MessageEN: "no such article"})
	case errors.Is(err, ErrForbidden):
		httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "role", Rule: "role", MessageZH: "您无权对该知识条目执行此操作", MessageEN: "your role or unit may not do this to this article"})
	default:
		httpx.Fail(w, r, err)
	}
}

// HitJSON is a search hit with its highlights rendered as safe HTML.
type HitJSON struct {
	Hit
	TitleHTML   string `json:"title_html"`
	SnippetHTML string `json:"snippet_html"`
}

// SearchJSON is the answer of GET /api/v1/kb/search.
type SearchJSON struct {
	Query string    `json:"query"`
	Hits  []HitJSON `json:"hits"`
}

const maxQuery = 200

func (s *Store) handleSearch(w http.ResponseWriter, r *http.Request) {
	actor, signed := auth.FromContext(r.Context())
	v := r.URL.Query()
	q := Query{Text: strings.TrimSpace(v.Get("q")), County: strings.TrimSpace(v.Get("region")), Category: strings.TrimSpace(v.Get("category")),
		Audience: AudienceOf(actor, signed), Today: Today(s.clock.Now())}
	if !utf8.ValidString(q.Text) || utf8.RuneCountInString(q.Text) > maxQuery {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "q", Rule: "max", MessageZH: "搜索内容不能超过 200 字", MessageEN: "q is limited to 200 characters"})
		return
	}
	if q.County != "" && !regionPattern.MatchString(q.County) {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "region", Rule: "code", MessageZH: "地区应为行政区划代码", MessageEN: "region must be a division code"})
		return
	}
	if q.Category != "" && !categoryPattern.MatchString(q.Category) {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "category", Rule: "code", MessageZH: "分类应为分类代码", MessageEN: "category must be a category code"})
		return
	}
	if n, err := strconv.Atoi(v.Get("limit")); err == nil {
		q.Limit = n
	}
	out := SearchJSON{Query: q.Text, Hits: []HitJSON{}}
	if q.Text == "" {
		httpx.JSON(w, http.StatusOK, out)
		return
	}
	if !signed {
		actor = auth.CitizenActor()
	}
	hits, err := s.Search(r.Context(), actor, q)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	for _, h := range hits {
		out.Hits = append(out.Hits, HitJSON{Hit: h, TitleHTML: string(h.Title.HTML()), SnippetHTML: string(h.Snippet.HTML())})
	}
	httpx.JSON(w, http.StatusOK, out)
}

// ArticleRequest is the body of POST and PUT /api/v1/kb/articles.
type ArticleRequest struct {
	OwnerUnit     string       `json:"owner_unit"`
	Type          Type         `json:"type"`
	Title         string       `json:"title"`
	Question      string       `json:"question"`
	Answer        string       `json:"answer"`
	Basis         string       `json:"basis"`
	Guide         *GuideFields `json:"guide"`
	Categories    []string     `json:"categories"`
	Region        string       `json:"region"`
	Visibility    Visibility   `json:"visibility"`
	Tags          []string     `json:"tags"`
	Synonyms      []string     `json:"synonyms"`
	EffectiveFrom string       `json:"effective_from"`
	ExpiresOn     string       `json:"expires_on"`
}

func (req *ArticleRequest) content() (Content, error) {
	c := Content{Type: req.Type, Title: req.Title, Question: req.Question, Answer: req.Answer, Basis: req.Basis, Guide: req.Guide,
		Categories: req.Categories, Region: req.Region, Visibility: req.Visibility, Tags: req.Tags, Synonyms: req.Synonyms}
	var err error
	if c.EffectiveFrom, err = parseDate("effective_from", &req.EffectiveFrom); err != nil {
		return c, err
	}
	if c.ExpiresOn, err = parseDate("expires_on", &req.ExpiresOn); err != nil {
		return c, err
	}
	return c, c.Check()
}

func (s *Store) decodeArticle(w http.ResponseWriter, r *http.Request) (ArticleRequest, Content, bool) {
	var req ArticleRequest
	if err := httpx.DecodeJSON(w, r, 256<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return req, Content{}, false
	}
	c, err := req.content()
	if err != nil {
		Failure(w, r, err)
		return req, c, false
	}
	return req, c, true
}

func (s *Store) handleCreate(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	req, c, ok := s.decodeArticle(w, r)
	if !ok {
		return
	}
	a, err := s.Create(r.Context(), actor, strings.TrimSpace(req.OwnerUnit), c)
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, a)
}

func (s *Store) handleEdit(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	if _, ok := s.readable(w, r, actor); !ok {
		return
	}
	_, c, ok := s.decodeArticle(w, r)
	if !ok {
		return
	}
	a, err := s.Edit(r.Context(), actor, r.PathValue("id"), c)
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}

// readable returns the latest version of the article of the path when the
// actor may read it; an officer of another unit sees only published
// articles (and 404 for the rest, learning nothing of drafts).
func (s *Store) readable(w http.ResponseWriter, r *http.Request, actor auth.Actor) (*Article, bool) {
	a, err := s.Get(r.Context(), r.PathValue("id"))
	if err == nil && !canRead(actor, a.OwnerUnit) {
		if a.Live == 0 {
			err = ErrNotFound
		} else {
			a, err = s.Live(r.Context(), a.ID)
		}
	}
	if err != nil {
		Failure(w, r, err)
		return nil, false
	}
	return a, true
}

func (s *Store) handleGet(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	if a, ok := s.readable(w, r, actor); ok {
		httpx.JSON(w, http.StatusOK, a)
	}
}

// StepRequest is the body of the lifecycle steps (optional).
type StepRequest struct {
	Note string `json:"note"`
}

func (s *Store) handleStep(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	if _, ok := s.readable(w, r, actor); !ok {
		return
	}
	var req StepRequest
	if r.ContentLength != 0 {
		if err := httpx.DecodeJSON(w, r, 16<<10, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
	}
	id := r.PathValue("id")
	var a *Article
	var err error
	switch step := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]; step {
	case "submit":
		a, err = s.Submit(r.Context(), actor, id)
	case "publish":
		a, err = s.Publish(r.Context(), actor, id)
	case "reject":
		a, err = s.Reject(r.Context(), actor, id, req.Note)
	case "archive":
		a, err = s.Archive(r.Context(), actor, id, req.Note)
	}
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}

func (s *Store) handleList(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	v := r.URL.Query()
	f := ListFilter{Status: Status(v.Get("status")), OwnerUnit: v.Get("owner")}
	f.Limit, _ = strconv.Atoi(v.Get("limit"))
	if actor.Role == auth.Officer {
		f.OwnerUnit = actor.UnitID
	}
	list, err := s.List(r.Context(), f)
	if err != nil {
		Failure(w, r, err)
		return
	}
	if list == nil {
		list = []*Article{}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"articles": list})
}

func (s *Store) handleVersions(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	a, err := s.Get(r.Context(), r.PathValue("id"))
	if err == nil && !canRead(actor, a.OwnerUnit) {
		err = ErrNotFound
	}
	var vs []*Article
	if err == nil {
		vs, err = s.Versions(r.Context(), a.ID)
	}
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"versions": vs})
}

func (s *Store) handleVersion(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil {
		Failure(w, r, ErrNotFound)
		return
	}
	a, err := s.GetVersion(r.Context(), r.PathValue("id"), v)
	if err == nil && !canRead(actor, a.OwnerUnit) && a.Status != Published {
		err = ErrNotFound
	}
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, a)
}

func (s *Store) handleSimilar(w http.ResponseWriter, r *http.Request) {
	title := strings.TrimSpace(r.URL.Query().Get("title"))
	if utf8.RuneCountInString(title) > maxTitle {
		title = string([]rune(title)[:maxTitle])
	}
	list, err := s.SimilarTitles(r.Context(), title, 10)
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"similar": list})
}

// UseRequest is the body of POST /api/v1/kb/uses.
type UseRequest struct {
	CaseID    uuid.UUID `json:"case_id"`
	ArticleID string    `json:"article_id"`
	Version   int       `json:"version"`
}

func (s *Store) handleUse(w http.ResponseWriter, r *http.Request) {
	var req UseRequest
	if err := httpx.DecodeJSON(w, r, 4096, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if req.CaseID == uuid.Nil || req.ArticleID == "" || req.Version <= 0 {
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "case_id", Rule: "required",
			MessageZH: "请提供工单编号、知识条目编号和版本", MessageEN: "case_id, article_id and version are required"})
		return
	}
	if err := s.RecordUse(r.Context(), req.CaseID, req.ArticleID, req.Version); err != nil {
		Failure(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Store) handleStats(w http.ResponseWriter, r *http.Request) {
	days, err := strconv.Atoi(r.URL.Query().Get("days"))
	if err != nil || days <= 0 || days > 3660 {
		days = 30
	}
	st, err := s.Stats(r.Context(), s.clock.Now().Add(-time.Duration(days)*24*time.Hour), 20)
	if err != nil {
		Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, st)
}
