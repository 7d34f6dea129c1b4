package open311

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
)

// UnlistedCategory is 无效来电 (silent, nuisance and misdialled calls):
// not service requests anyone wants to browse, so the date-range queries
// (GET requests, servicerequestupdates) leave them out; asked for by
// their id they are answered like any other.
const UnlistedCategory = "1403"

// Withheld replaces the description of a 举报 or anonymous request: the
// content could identify the person who reported it.
const Withheld = "（内容不公开）"

// request is one service request as anyone may see it.
type request struct {
	id           uuid.UUID
	trackingNo   string
	state        cases.State
	category     string
	private      bool // 举报 or anonymous: no content, place, photo or free text
	content      string
	address      string
	townshipCode string
	countyCode   string
	lat, lon     *float64
	reply        string
	channel      string
	createdAt    time.Time
	updatedAt    time.Time
	closedAt     *time.Time
	dueAt        *time.Time
	parentNo     string
	agency       string // the lead unit of the current round
	media        string
	notes        []note
}

// note is one public step of a request's timeline.
type note struct {
	at     time.Time
	action cases.Action
	text   string
	to     cases.State
}

// requestCols reads a request from cases c (and par, its parent): the lead
// unit of the current round and the first media_url come from assignments
// and the registration event, by their indexes.
const requestCols = `c.id, c.tracking_no, c.state, c.category, (c.anonymous OR c.confidential OR c.kind = '举报'),
	c.content, c.address, c.township_code, c.county_code, c.lat, c.lon, c.reply, c.channel, c.created_at, c.updated_at,
	c.closed_at, c.due_at, coalesce(par.tracking_no, ''),
	coalesce((SELECT u.name FROM assignments a JOIN units u ON u.id = a.unit_id
		WHERE a.case_id = c.id AND a.round = c.dispatch_round AND a.role = 'lead' AND a.state <> 'returned'
		ORDER BY a.dispatched_at DESC LIMIT 1), ''),
	coalesce((SELECT e.data->'media_urls'->>0 FROM case_events e WHERE e.case_id = c.id AND e.seq = 1), '')`

func scanRequest(row pgx.Row) (*request, error) {
	var r request
	var state string
	err := row.Scan(&r.id, &r.trackingNo, &state, &r.category, &r.private, &r.content, &r.address, &r.townshipCode,
		&r.countyCode, &r.lat, &r.lon, &r.reply, &r.channel, &r.createdAt, &r.updatedAt, &r.closedAt, &r.dueAt,
		&r.parentNo, &r.agency, &r.media)
	r.state = cases.State(state)
	return &r, err
}

func collectRequests(rows pgx.Rows) ([]*request, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*request, error) { return scanRequest(r) })
}

// requestByNo returns the public request with this service_request_id (a
// tracking number), or a 404.
func (h *Handler) requestByNo(ctx context.Context, id string) (*request, error) {
	no := cases.NormalizeTrackingNo(id)
	missing := notFound("service_request_id " + shortName(id) + " 不存在 (service_request_id " + shortName(id) + " was not found)")
	if !cases.ValidTrackingNo(no) {
		return nil, missing
	}
	r, err := scanRequest(h.cases.DB().QueryRow(ctx, `SELECT `+requestCols+`
		FROM cases c LEFT JOIN cases par ON par.id = c.parent_id
		WHERE c.tracking_no = $1`, no))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, missing
	}
	return r, err
}

// listSQL is the GET requests query over a date range: one index range
// scan of cases_state (state, created_at) per state, newest first, merged
// and cut to the page ($1 start, $2 end, $3 limit, $4 offset, $5 service
// codes when withCodes). The states come from the Statuses table, never
// from the request.
func listSQL(states []string, withCodes bool) string {
	var b strings.Builder
	b.WriteString(`WITH page AS (SELECT id, created_at FROM (`)
	for i, st := range states {
		if i > 0 {
			b.WriteString(` UNION ALL `)
		}
		b.WriteString(`(SELECT id, created_at FROM cases WHERE state = '` + st + `' AND created_at >= $1 AND created_at <= $2 AND category <> '` + UnlistedCategory + `'`)
		if withCodes {
			b.WriteString(` AND category = ANY($5)`)
		}
		b.WriteString(` ORDER BY created_at DESC, id DESC LIMIT $3::bigint + $4::bigint)`)
	}
	b.WriteString(`) u ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4)
	SELECT ` + requestCols + `
	FROM page JOIN cases c ON c.id = page.id LEFT JOIN cases par ON par.id = c.parent_id
	ORDER BY page.created_at DESC, page.id DESC`)
	return b.String()
}

// listRequests answers GET requests: service_request_id (a comma list,
// which overrides every other argument), service_code, status (open,
// closed), start_date and end_date (at most 90 days apart, the last 90
// days by default), page and page_size (at most 1,000 a page); with
// extensions=true, the notes (public timeline) and extended attributes.
func (h *Handler) listRequests(ctx context.Context, q url.Values) (doc, error) {
	ext := truthy(param(q, "extensions"))
	var rows []*request
	var err error
	if ids := commaList(param(q, "service_request_id")); len(ids) > 0 {
		if len(ids) > maxPageSize {
			return doc{}, problem(http.StatusBadRequest, "service_request_id 最多 1000 个 (at most 1000 service_request_id)")
		}
		nos := make([]string, 0, len(ids))
		for _, id := range ids {
			if no := cases.NormalizeTrackingNo(id); cases.ValidTrackingNo(no) {
				nos = append(nos, no)
			}
		}
		var pr pgx.Rows
		pr, err = h.cases.DB().Query(ctx, `SELECT `+requestCols+`
			FROM cases c LEFT JOIN cases par ON par.id = c.parent_id
			WHERE c.tracking_no = ANY($1) ORDER BY c.created_at DESC, c.id DESC`, nos)
		if err == nil {
			rows, err = collectRequests(pr)
		}
	} else {
		codes := commaList(param(q, "service_code"))
		for _, c := range codes {
			if h.tax.Category(c) == nil {
				return doc{}, problem(http.StatusBadRequest, "服务类别 "+shortName(c)+" 不存在 (service_code "+shortName(c)+" is not a known service)")
			}
		}
		var states []string
		statuses := commaList(strings.ToLower(param(q, "status")))
		if len(statuses) == 0 {
			statuses = []string{"open", "closed"}
		}
		seen := map[string]bool{}
		for _, s := range statuses {
			if s != "open" && s != "closed" {
				return doc{}, problem(http.StatusBadRequest, "status 只能是 open 或 closed (status must be open or closed)")
			}
			if !seen[s] {
				seen[s] = true
				states = append(states, statesOf(s == "open")...)
			}
		}
		start, end, p := window(q, h.now())
		if p != nil {
			return doc{}, p
		}
		limit, offset, p := paging(q)
		if p != nil {
			return doc{}, p
		}
		args := []any{start, end, limit, offset}
		if len(codes) > 0 {
			args = append(args, codes)
		}
		var pr pgx.Rows
		pr, err = h.cases.DB().Query(ctx, listSQL(states, len(codes) > 0), args...)
		if err == nil {
			rows, err = collectRequests(pr)
		}
	}
	if err != nil {
		return doc{}, err
	}
	if ext {
		if err := h.loadNotes(ctx, rows); err != nil {
			return doc{}, err
		}
	}
	return h.requestsDoc(rows, ext), nil
}

// eventRow is a public event with the names of its units.
type eventRow struct {
	caseID    uuid.UUID
	seq       int
	at        time.Time
	action    cases.Action
	to        cases.State
	reason    string
	data      map[string]any
	actorUnit string
	leadUnit  string
}

func dataString(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

// noteText is the public wording of an event, as the tracking page words
// it (cases.PublicView). For a private request only what the system wrote
// is kept, never what a person typed.
func noteText(e eventRow, private bool) string {
	typed := func(s string) string {
		if private {
			return ""
		}
		return s
	}
	switch e.action {
	case cases.ActRegister:
		return "您的诉求已受理"
	case cases.ActDispatch:
		return "已派至" + e.leadUnit + "办理"
	case cases.ActRedo:
		return "重新交" + e.leadUnit + "办理"
	case cases.ActEscalate:
		return "已升级由" + e.leadUnit + "办理"
	case cases.ActSign:
		return e.actorUnit + "已签收，正在办理"
	case cases.ActApproveExtension:
		if t, err := time.Parse(time.RFC3339Nano, dataString(e.data, "due_at")); err == nil {
			return "办理期限延长至 " + t.In(cst).Format("2006-01-02 15:04")
		}
		return ""
	case cases.ActSuspend:
		if private {
			return "暂停办理"
		}
		return "暂停办理：" + e.reason
	case cases.ActResume:
		return "恢复办理"
	case cases.ActApproveReview:
		return "已办结，等待回访"
	case cases.ActCallback:
		return "回访结果：" + cases.Satisfaction(dataString(e.data, "satisfaction")).Label()
	case cases.ActMerge:
		return "与同一事项（" + dataString(e.data, "parent_tracking_no") + "）合并办理"
	case cases.ActReply, cases.ActAnswer, cases.ActFollowParent, cases.ActNote:
		return typed(e.reason)
	}
	return ""
}

func scanEvents(rows pgx.Rows) ([]eventRow, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (eventRow, error) {
		var e eventRow
		var act, to string
		var data []byte
		err := r.Scan(&e.caseID, &e.seq, &e.at, &act, &to, &e.reason, &data, &e.actorUnit, &e.leadUnit)
		e.action, e.to = cases.Action(act), cases.State(to)
		if err == nil && len(data) > 0 {
			err = json.Unmarshal(data, &e.data)
		}
		return e, err
	})
}

// eventCols reads events e with the names of the acting and the lead unit.
const eventCols = `e.case_id, e.seq, e.at, e.action, e.to_state, e.reason, e.data,
	coalesce(ua.name, e.actor_unit), coalesce(ul.name, e.data->>'lead', '')`

const eventJoins = `LEFT JOIN units ua ON ua.id = e.actor_unit LEFT JOIN units ul ON ul.id = e.data->>'lead'`

// loadNotes fills the public timelines of rows (by the case_events index
// on case_id, seq).
func (h *Handler) loadNotes(ctx context.Context, rows []*request) error {
	if len(rows) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(rows))
	byID := make(map[uuid.UUID]*request, len(rows))
	for i, r := range rows {
		ids[i], byID[r.id] = r.id, r
	}
	pr, err := h.cases.DB().Query(ctx, `SELECT `+eventCols+` FROM case_events e `+eventJoins+`
		WHERE e.case_id = ANY($1) AND e.public ORDER BY e.case_id, e.seq`, ids)
	if err != nil {
		return err
	}
	evs, err := scanEvents(pr)
	if err != nil {
		return err
	}
	for _, e := range evs {
		r := byID[e.caseID]
		r.notes = append(r.notes, note{at: e.at, action: e.action, text: noteText(e, r.private), to: e.to})
	}
	return nil
}

// status is the request's Open311 status.
func (r *request) status() Status { return StatusOf(r.state) }

// expected is the deadline while a unit works on it (as the tracking page
// shows it): not before dispatch, not once handled.
func (r *request) expected() *time.Time {
	if !r.status().Open || r.state == cases.Registered || r.state == cases.PendingDispatch {
		return nil
	}
	return r.dueAt
}

// updated is when it last changed; for a closed request, when it closed.
func (r *request) updated() time.Time {
	if !r.status().Open && r.closedAt != nil {
		return *r.closedAt
	}
	return r.updatedAt
}

// notice is the service_notice: what happens next.
func (r *request) notice() string {
	s := r.state.PublicLabel()
	if r.agency != "" && r.status().Open && r.state != cases.PendingDispatch {
		s += "；承办单位：" + r.agency
	}
	if d := r.expected(); d != nil {
		s += "；办理期限 " + d.In(cst).Format("2006-01-02 15:04")
	}
	return s + "。"
}

// statusNotes says why it is in its status: the answer given to the
// citizen, else the state in words.
func (r *request) statusNotes() string {
	switch {
	case r.state == cases.Merged && r.parentNo != "":
		return "与同一事项（" + r.parentNo + "）合并办理"
	case r.reply != "" && !r.private:
		return r.reply
	}
	return r.state.PublicLabel()
}

func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (r *request) object(ext bool, serviceName func(string) string) object {
	st := r.status()
	desc, addr, addrID := r.content, orNull(r.address), orNull(r.townshipCode)
	if addrID == nil {
		addrID = orNull(r.countyCode)
	}
	var lat, lon, media any
	if r.lat != nil && r.lon != nil {
		lat, lon = *r.lat, *r.lon
	}
	media = orNull(r.media)
	if r.private {
		desc, addr, addrID, lat, lon, media = Withheld, nil, nil, nil, nil, nil
	}
	var expected any
	if d := r.expected(); d != nil {
		expected = *d
	}
	o := object{
		{"service_request_id", r.trackingNo},
		{"status", st.Basic()},
		{"status_notes", r.statusNotes()},
		{"service_name", serviceName(r.category)},
		{"service_code", r.category},
		{"description", desc},
		{"agency_responsible", orNull(r.agency)},
		{"service_notice", r.notice()},
		{"requested_datetime", r.createdAt},
		{"updated_datetime", r.updated()},
		{"expected_datetime", expected},
		{"address", addr},
		{"address_id", addrID},
		{"zipcode", nil},
		{"lat", lat},
		{"long", lon},
		{"media_url", media},
	}
	if ext {
		notes := list{item: "note"}
		for _, n := range r.notes {
			text := n.text
			if text == "" {
				text = n.action.Label()
			}
			notes.elems = append(notes.elems, object{{"datetime", n.at}, {"description", text}, {"type", string(n.action)}})
		}
		o = append(o,
			field{"extended_attributes", object{
				{"channel", r.channel},
				{"detailed_status", st.Extended},
				{"status_label", r.state.PublicLabel()},
			}},
			field{"notes", notes})
	}
	return o
}

func (h *Handler) requestsDoc(rows []*request, ext bool) doc {
	l := list{item: "request"}
	for _, r := range rows {
		l.elems = append(l.elems, r.object(ext, h.serviceNameOf))
	}
	return doc{root: "service_requests", val: l}
}

// serviceNameOf is the category's name, "待分类" while a dispatcher still
// has to choose one.
func (h *Handler) serviceNameOf(code string) string {
	if code == "" {
		return "待分类"
	}
	if c := h.tax.Category(code); c != nil {
		return c.Name
	}
	return code
}
