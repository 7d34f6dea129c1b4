package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/google/uuid"

	"yici/cases"
	"yici/internal/auth"
	"yici/router"
)

// workPage is what the workbench template shows: who is signed in, and
// (on /work/cases/{id}) which case to open. The queue and the case itself
// are loaded by work.js over the JSON API, which applies the officer's
// permissions (a 举报 reporter is masked there).
type workPage struct {
	Name     string
	Username string
	UnitID   string
	UnitName string
	CSRF     string
	CaseID   string
	// Message replaces the workbench: refused or missing pages.
	Message *workMessage
}

// workMessage is a short page instead of the workbench or the tracking
// result: a refusal, a missing case, a limit or a failure.
type workMessage struct {
	Title string
	Text  string
	Link  string
	Label string
}

// workRoutes registers the officers' workbench:
//
//	GET /work             officers (role officer) only: their unit's queue, live; without a session: 303 to /login; other roles: 403
//	GET /work/            anyone: 301 to /work
//	GET /work/cases/{id}  officers of a unit the case was ever assigned to (others: 404, as GET /api/v1/cases/{id}): the case page
func (p *Pages) workRoutes(mux *http.ServeMux) {
	// GET /work — officers only.
	mux.HandleFunc("GET /work", func(w http.ResponseWriter, r *http.Request) {
		page, ok := p.workOfficer(w, r)
		if !ok {
			return
		}
		p.render(w, r, http.StatusOK, "work", page)
	})
	// GET /work/ — the same page at its one address.
	mux.HandleFunc("GET /work/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/work", http.StatusMovedPermanently)
	})
	// GET /work/cases/{id} — officers of a unit the case was assigned to.
	mux.HandleFunc("GET /work/cases/{id}", func(w http.ResponseWriter, r *http.Request) {
		page, ok := p.workOfficer(w, r)
		if !ok {
			return
		}
		actor, _ := auth.FromContext(r.Context())
		var c *cases.Case
		id, err := uuid.Parse(r.PathValue("id"))
		if err == nil {
			c, err = p.Cases.Get(r.Context(), id)
			if err != nil && !errors.Is(err, cases.ErrNotFound) {
				p.Log.Error("work: case page", "err", err)
				http.Error(w, "服务器内部错误", http.StatusInternalServerError)
				return
			}
		}
		if err != nil || !cases.CanSee(c, actor) {
			// As the API: another unit's case does not exist for this officer.
			page.Message = &workMessage{Title: "工单不存在", Text: "没有找到这件工单，或它不属于本单位。", Link: "/work", Label: "返回工单列表"}
			p.render(w, r, http.StatusNotFound, "work", page)
			return
		}
		page.CaseID = c.ID.String()
		p.render(w, r, http.StatusOK, "work", page)
	})
}

// workOfficer admits officers: without a session it sends the browser to
// the sign-in page (back here afterwards), and answers other roles 403.
func (p *Pages) workOfficer(w http.ResponseWriter, r *http.Request) (workPage, bool) {
	actor, ok := auth.FromContext(r.Context())
	if !ok {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.Path), http.StatusSeeOther)
		return workPage{}, false
	}
	page := workPage{Name: actor.Name, Username: actor.Username, UnitID: actor.UnitID}
	if actor.Role != auth.Officer {
		msg := &workMessage{Title: "无权使用工作台", Text: "工作台供乡镇（街道）平台和县级部门的承办人员使用，您当前的账号没有承办单位。",
			Link: "/login", Label: "换一个账号登录"}
		if actor.IsCentre() {
			msg.Link, msg.Label = "/console", "前往热线坐席工作台"
		}
		page.Message = msg
		p.render(w, r, http.StatusForbidden, "work", page)
		return workPage{}, false
	}
	if s, ok := auth.SessionFrom(r); ok {
		page.CSRF = s.CSRF
	}
	page.UnitName = actor.UnitID
	if u, err := (router.Units{DB: p.Cases.DB()}).Get(r.Context(), actor.UnitID); err == nil {
		page.UnitName = u.Name
	}
	return page, true
}
