package console

import (
	"net/http"
	"slices"

	"yici/cases"
	"yici/internal/auth"
	"yici/router/territory"
)

// agentRoutes registers the hotline agents' console:
//
//	GET /console  agents, dispatchers, supervisors (signed out: 303 to /login; other roles: a 403 page)
//
// The page holds no case data: its script loads the queues, screen-pops
// and cases over the JSON API with the user's session (which applies the
// user's permissions) and follows the stream /console/ws.
func (p *Pages) agentRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /console", p.handleConsole)
}

// queueOrder is the order of the queue tabs.
var queueOrder = []string{"dispatch", "review", "returns", "extensions", "callbacks", "overdue"}

type queueTab struct {
	Name, Label, Key string
}

type option struct{ Value, Label string }

type categoryGroup struct {
	Name  string
	Items []option
}

// agentPage is the data of agent.html: the signed-in user and public
// reference data (kinds, categories, cities) only.
type agentPage struct {
	Username, Name, Role, RoleLabel, CSRF string
	Queues                                []queueTab
	Kinds                                 []string
	Urgencies                             []option
	Categories                            []categoryGroup
	Cities                                []*territory.Division
	CanUrge                               bool
}

func (p *Pages) handleConsole(w http.ResponseWriter, r *http.Request) {
	sess, ok := auth.SessionFrom(r)
	if !ok {
		noStore(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	a := sess.Actor
	if !a.IsCentre() {
		d := p.loginData(w, r)
		d.Notice = "受理台仅供热线话务员、派单员和督办员使用。您当前的身份是“" + a.Role.Label() + "”。"
		p.render(w, r, http.StatusForbidden, "login", d)
		return
	}
	d := agentPage{Username: a.Username, Name: a.Name, Role: string(a.Role), RoleLabel: a.Role.Label(), CSRF: sess.CSRF,
		CanUrge: a.Role == auth.Supervisor}
	for _, name := range queueOrder {
		q, ok := cases.Queues[name]
		if ok && slices.Contains(q.Roles, a.Role) {
			d.Queues = append(d.Queues, queueTab{Name: name, Label: q.Label, Key: string(rune('1' + len(d.Queues)))})
		}
	}
	for _, k := range cases.Kinds {
		d.Kinds = append(d.Kinds, string(k))
	}
	for _, u := range []cases.Urgency{cases.Normal, cases.Urgent, cases.Emergency} {
		d.Urgencies = append(d.Urgencies, option{string(u), u.Label()})
	}
	idx := map[string]int{}
	for _, c := range p.Tax.Categories() {
		i, ok := idx[c.GroupCode]
		if !ok {
			i = len(d.Categories)
			idx[c.GroupCode] = i
			d.Categories = append(d.Categories, categoryGroup{Name: c.Group})
		}
		d.Categories[i].Items = append(d.Categories[i].Items, option{c.Code, c.Name})
	}
	d.Cities = p.Terr.Cities()
	p.render(w, r, http.StatusOK, "agent", d)
}
