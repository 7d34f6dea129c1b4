package router

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/router/territory"
)

// Routes registers the routing API. Who may call what:
//
//	GET  /api/v1/cases/{id}/route             centre staff: the decision the router would take now, and the stored ones
//	POST /api/v1/cases/{id}/route             agent, dispatcher, supervisor: dispatch by the decision (override with a reason)
//	POST /api/v1/cases/{id}/escalate          dispatcher, supervisor: up to the county unit of the same line
//	POST /api/v1/triage                       anyone: category, township, kind and urgency suggested for a text
//	GET  /api/v1/divisions                    anyone: cities, ?parent= counties or townships (for pickers)
//	GET  /api/v1/categories                   anyone: the taxonomy
//	GET  /api/v1/admin/rules                  admin, supervisor: rule set versions
//	GET  /api/v1/admin/rules/{version}        admin, supervisor: one version with its rules
//	POST /api/v1/admin/rules                  admin: propose a new version (validated)
//	POST /api/v1/admin/rules/{version}/activate admin: activate a version (validated again)
//	GET  /api/v1/admin/units                  admin, supervisor, dispatcher: units (?territory=&type=)
//	POST /api/v1/admin/units                  admin: add a unit
//	PATCH /api/v1/admin/units/{id}            admin: rename, (de)activate, merge into another
func (s *Service) Routes(mux *http.ServeMux) {
	centre := []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}
	mux.Handle("GET /api/v1/cases/{id}/route", auth.Require(http.HandlerFunc(s.handleExplain), centre...))
	mux.Handle("POST /api/v1/cases/{id}/route", auth.Require(http.HandlerFunc(s.handleDispatch), centre...))
	mux.Handle("POST /api/v1/cases/{id}/escalate", auth.Require(http.HandlerFunc(s.handleEscalate), auth.Dispatcher, auth.Supervisor))
	mux.HandleFunc("POST /api/v1/triage", s.handleTriage)
	mux.HandleFunc("GET /api/v1/divisions", s.handleDivisions)
	mux.HandleFunc("GET /api/v1/categories", s.handleCategories)
	mux.Handle("GET /api/v1/admin/rules", auth.Require(http.HandlerFunc(s.handleRuleSets), auth.Admin, auth.Supervisor))
	mux.Handle("GET /api/v1/admin/rules/{version}", auth.Require(http.HandlerFunc(s.handleRuleSet), auth.Admin, auth.Supervisor))
	mux.Handle("POST /api/v1/admin/rules", auth.Require(http.HandlerFunc(s.handlePropose), auth.Admin))
	mux.Handle("POST /api/v1/admin/rules/{version}/activate", auth.Require(http.HandlerFunc(s.handleActivate), auth.Admin))
	mux.Handle("GET /api/v1/admin/units", auth.Require(http.HandlerFunc(s.handleUnits), auth.Admin, auth.Supervisor, auth.Dispatcher))
	mux.Handle("POST /api/v1/admin/units", auth.Require(http.HandlerFunc(s.handleAddUnit), auth.Admin))
	mux.Handle("PATCH /api/v1/admin/units/{id}", auth.Require(http.HandlerFunc(s.handleEditUnit), auth.Admin))
}

func (s *Service) caseOf(w http.ResponseWriter, r *http.Request) (*cases.Case, bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		cases.Failure(w, r, cases.ErrNotFound)
		return nil, false
	}
	c, err := s.cases.Get(r.Context(), id)
	if err != nil {
		cases.Failure(w, r, err)
		return nil, false
	}
	return c, true
}

func (s *Service) handleExplain(w http.ResponseWriter, r *http.Request) {
	c, ok := s.caseOf(w, r)
	if !ok {
		return
	}
	d, err := s.Decide(r.Context(), c)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	stored, err := s.Decisions(r.Context(), c.ID)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"decision": d, "stored": stored})
}

// DispatchRequest is the body of POST /api/v1/cases/{id}/route.
type DispatchRequest struct {
	Category     string        `json:"category"`
	TownshipCode string        `json:"township_code"`
	CountyCode   string        `json:"county_code"`
	Urgency      cases.Urgency `json:"urgency"`
	Lead         string        `json:"lead"`
	Co           []string      `json:"co"`
	Reason       string        `json:"reason"`
}

func (s *Service) handleDispatch(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var req DispatchRequest
	if err := httpx.DecodeJSON(w, r, 16<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		cases.Failure(w, r, cases.ErrNotFound)
		return
	}
	if req.Category != "" && s.tax.Category(req.Category) == nil {
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "category", Rule: "exists", MessageZH: "类别代码不存在", MessageEN: "unknown category"})
		return
	}
	if req.TownshipCode != "" && s.terr.Get(req.TownshipCode) == nil {
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "township_code", Rule: "exists", MessageZH: "乡镇（街道）代码不存在", MessageEN: "unknown township code"})
		return
	}
	var o *Override
	if req.Lead != "" {
		o = &Override{Lead: req.Lead, Co: req.Co, Reason: strings.TrimSpace(req.Reason)}
	}
	fix := cases.DispatchPlan{Category: req.Category, TownshipCode: req.TownshipCode, CountyCode: req.CountyCode, Urgency: req.Urgency}
	c, d, err := s.Dispatch(r.Context(), actor, id, fix, o)
	if errors.Is(err, ErrOverrideReason) {
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "reason", Rule: "required", MessageZH: "改派承办单位必须说明理由", MessageEN: "a reason is required to override the routing decision"})
		return
	}
	if err != nil {
		cases.Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"case": cases.JSONFor(c, actor, s.cases.Now()), "decision": d})
}

func (s *Service) handleEscalate(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var req struct {
		Reason string `json:"reason"`
	}
	if err := httpx.DecodeJSON(w, r, 8<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		cases.Failure(w, r, cases.ErrNotFound)
		return
	}
	c, err := s.Escalate(r.Context(), actor, id, req.Reason)
	if err != nil {
		cases.Failure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, cases.JSONFor(c, actor, s.cases.Now()))
}

// TriageRequest is the body of POST /api/v1/triage.
type TriageRequest struct {
	Text    string `json:"text"`
	Channel string `json:"channel"`
}

func (s *Service) handleTriage(w http.ResponseWriter, r *http.Request) {
	var req TriageRequest
	if err := httpx.DecodeJSON(w, r, 32<<10, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if strings.TrimSpace(req.Text) == "" {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "text", Rule: "required", MessageZH: "请输入诉求内容", MessageEN: "text is required"})
		return
	}
	if req.Channel == "" {
		req.Channel = "web"
	}
	sg := s.triager.Suggest(req.Text, req.Channel)
	type scored struct {
		Code  string  `json:"code"`
		Name  string  `json:"name"`
		Score float64 `json:"score"`
	}
	top := make([]scored, 0, len(sg.Top3))
	for _, t := range sg.Top3 {
		name := ""
		if c := s.tax.Category(t.Code); c != nil {
			name = c.Name
		}
		top = append(top, scored{t.Code, name, t.Score})
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"category": sg.Category, "top3": top, "township_code": sg.TownshipCode,
		"township_name": s.nameOf(sg.TownshipCode), "county_code": sg.CountyCode, "county_name": s.nameOf(sg.CountyCode),
		"kind": sg.Kind, "urgency": sg.Urgency, "lead_unit": sg.LeadUnit, "confidence": sg.Confidence})
}

func (s *Service) nameOf(code string) string {
	if d := s.terr.Get(code); d != nil {
		return d.Name
	}
	return ""
}

func (s *Service) handleDivisions(w http.ResponseWriter, r *http.Request) {
	parent := r.URL.Query().Get("parent")
	type div struct {
		Code string `json:"code"`
		Name string `json:"name"`
	}
	var out []div
	switch len(parent) {
	case 0:
		for _, d := range s.terr.Cities() {
			out = append(out, div{d.Code, d.Name})
		}
	case 4:
		for _, d := range s.terr.Counties(parent) {
			out = append(out, div{d.Code, d.Name})
		}
	case 6:
		for _, d := range s.terr.Townships(parent) {
			if !territory.Placeholder(d.Name) {
				out = append(out, div{d.Code, d.Name})
			}
		}
	default:
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "parent", Rule: "len", MessageZH: "上级区划代码应为 4 位（市）或 6 位（县）", MessageEN: "parent must be a 4-digit city or 6-digit county code"})
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, map[string]any{"divisions": out})
}

func (s *Service) handleCategories(w http.ResponseWriter, r *http.Request) {
	type cat struct {
		Code  string `json:"code"`
		Group string `json:"group"`
		Name  string `json:"name"`
		Kind  string `json:"typical_kind"`
	}
	var out []cat
	for _, c := range s.tax.Categories() {
		out = append(out, cat{c.Code, c.Group, c.Name, c.TypicalKind})
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	httpx.JSON(w, http.StatusOK, map[string]any{"categories": out})
}

func (s *Service) handleRuleSets(w http.ResponseWriter, r *http.Request) {
	sets, err := s.RuleSets(r.Context())
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"rule_sets": sets, "active": s.Engine().Version()})
}

func (s *Service) versionParam(w http.ResponseWriter, r *http.Request) (int, bool) {
	v, err := strconv.Atoi(r.PathValue("version"))
	if err != nil || v <= 0 {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "version", Rule: "int", MessageZH: "版本号无效", MessageEN: "invalid version"})
		return 0, false
	}
	return v, true
}

func (s *Service) handleRuleSet(w http.ResponseWriter, r *http.Request) {
	v, ok := s.versionParam(w, r)
	if !ok {
		return
	}
	rs, err := s.RuleSet(r.Context(), v)
	if errors.Is(err, pgx.ErrNoRows) {
		httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "version", Rule: "exists", MessageZH: "规则版本不存在", MessageEN: "no such rule set version"})
		return
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, rs)
}

func validationFailure(w http.ResponseWriter, r *http.Request, err error) {
	var ve *ValidationError
	if errors.As(err, &ve) {
		var errs []httpx.FieldError
		for _, p := range ve.Problems {
			errs = append(errs, httpx.FieldError{Field: "rules", Rule: "valid", MessageZH: "规则校验未通过：" + p, MessageEN: p})
		}
		httpx.Error(w, http.StatusUnprocessableEntity, errs...)
		return
	}
	httpx.Fail(w, r, err)
}

func (s *Service) handlePropose(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var req struct {
		Note  string `json:"note"`
		Rules []Rule `json:"rules"`
	}
	if err := httpx.DecodeJSON(w, r, 8<<20, &req); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	rs, err := s.Propose(r.Context(), req.Rules, req.Note, actor.Username)
	if err != nil {
		validationFailure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusCreated, rs)
}

func (s *Service) handleActivate(w http.ResponseWriter, r *http.Request) {
	v, ok := s.versionParam(w, r)
	if !ok {
		return
	}
	if err := s.Activate(r.Context(), v); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "version", Rule: "exists", MessageZH: "规则版本不存在", MessageEN: "no such rule set version"})
			return
		}
		validationFailure(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"active": v})
}

func (s *Service) handleUnits(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	us, err := Units{DB: s.db}.List(r.Context(), q.Get("territory"), q.Get("type"))
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"units": us})
}

func (s *Service) handleAddUnit(w http.ResponseWriter, r *http.Request) {
	var u Unit
	if err := httpx.DecodeJSON(w, r, 8<<10, &u); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if err := (Units{DB: s.db}).Add(r.Context(), u); err != nil {
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "id", Rule: "unit", MessageZH: "无法新增单位：" + err.Error(), MessageEN: err.Error()})
		return
	}
	httpx.JSON(w, http.StatusCreated, u)
}

// UnitEdit is the body of PATCH /api/v1/admin/units/{id}.
type UnitEdit struct {
	Name       *string `json:"name"`
	Active     *bool   `json:"active"`
	MergedInto *string `json:"merged_into"`
}

func (s *Service) handleEditUnit(w http.ResponseWriter, r *http.Request) {
	var e UnitEdit
	if err := httpx.DecodeJSON(w, r, 8<<10, &e); err != nil {
		httpx.Fail(w, r, err)
		return
	}
	us := Units{DB: s.db}
	id := r.PathValue("id")
	var err error
	switch {
	case e.Name != nil:
		err = us.Rename(r.Context(), id, *e.Name)
	case e.MergedInto != nil:
		err = us.Merge(r.Context(), id, *e.MergedInto)
	case e.Active != nil:
		err = us.SetActive(r.Context(), id, *e.Active)
	default:
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "body", Rule: "required", MessageZH: "请提供 name、active 或 merged_into", MessageEN: "give name, active or merged_into"})
		return
	}
	if err != nil {
		httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "id", Rule: "unit", MessageZH: "无法修改单位：" + err.Error(), MessageEN: err.Error()})
		return
	}
	u, err := us.Get(r.Context(), id)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, u)
}
