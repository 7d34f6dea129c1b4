package cases

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/internal/workcal"
)

// Traffic lights of a deadline: green, yellow at 80% of the time used, red
// when overdue.
const (
	Green  = "green"
	Yellow = "yellow"
	Red    = "red"
)

// QueueItem is a case in a work queue (no citizen identity).
type QueueItem struct {
	ID           uuid.UUID  `json:"id"`
	TrackingNo   string     `json:"tracking_no"`
	Title        string     `json:"title"`
	Kind         Kind       `json:"kind"`
	Category     string     `json:"category"`
	Urgency      Urgency    `json:"urgency"`
	State        State      `json:"state"`
	StateLabel   string     `json:"state_label"`
	TownshipCode string     `json:"township_code,omitempty"`
	CountyCode   string     `json:"county_code,omitempty"`
	Channel      Channel    `json:"channel"`
	CreatedAt    time.Time  `json:"created_at"`
	DispatchedAt *time.Time `json:"dispatched_at,omitempty"`
	SignDue      *time.Time `json:"sign_due,omitempty"`
	DueAt        *time.Time `json:"due_at,omitempty"`
	ExtUntil     *time.Time `json:"ext_until,omitempty"`
	ExtReason    string     `json:"ext_reason,omitempty"`
	Lead         string     `json:"lead,omitempty"`
	LeadName     string     `json:"lead_name,omitempty"`
	Role         string     `json:"role,omitempty"`             // the unit's role (unit queue)
	Assignment   string     `json:"assignment_state,omitempty"` // the unit's part (unit queue)
	UrgeCount    int        `json:"urge_count"`
	RedoCount    int        `json:"redo_count"`
	ReturnCount  int        `json:"return_count"`
	Light        string     `json:"light"`
	Used         float64    `json:"used"` // share of the time used
	Confidential bool       `json:"confidential"`
	// PossibleDuplicate: open cases like it were found when it arrived (可能重复).
	PossibleDuplicate bool `json:"possible_duplicate"`
}

// Queues are the work lists of the console and the workbench.
var Queues = map[string]struct {
	Roles []auth.Role
	Label string
	where string
	order string
}{
	"dispatch":   {[]auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}, "待派单", `c.state IN ('registered','pending_dispatch')`, `c.urgency = 'emergency' DESC, c.urgency = 'urgent' DESC, c.created_at`},
	"review":     {[]auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}, "办结审核", `c.state = 'pending_review'`, `c.updated_at`},
	"returns":    {[]auth.Role{auth.Dispatcher, auth.Supervisor}, "退单审核", `c.state = 'return_requested'`, `c.updated_at`},
	"extensions": {[]auth.Role{auth.Dispatcher, auth.Supervisor}, "延期审批", `c.ext_until IS NOT NULL AND c.state IN ('in_progress','suspended')`, `c.updated_at`},
	"callbacks":  {[]auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}, "待回访", `c.state = 'pending_callback'`, `c.updated_at`},
	"overdue": {[]auth.Role{auth.Supervisor, auth.Dispatcher}, "超期工单",
		`(c.state IN ('in_progress','return_requested','pending_sign') AND c.due_at < $1) OR (c.state = 'pending_sign' AND c.sign_due < $1)`, `coalesce(c.due_at, c.sign_due)`},
}

const queueCols = `c.id, c.tracking_no, c.title, c.kind, c.category, c.urgency, c.state, c.township_code, c.county_code, c.channel,
	c.created_at, c.dispatched_at, c.sign_due, c.due_at, c.ext_until, c.ext_reason, c.urge_count, c.redo_count, c.return_count,
	c.confidential, c.policy`

func (s *Store) scanQueue(rows pgx.Rows, now time.Time, extra func(*QueueItem) []any) ([]QueueItem, error) {
	defer rows.Close()
	out := []QueueItem{}
	for rows.Next() {
		var q QueueItem
		var kind, urg, state, channel string
		var policy Policy
		dest := []any{&q.ID, &q.TrackingNo, &q.Title, &kind, &q.Category, &urg, &state, &q.TownshipCode, &q.CountyCode, &channel,
			&q.CreatedAt, &q.DispatchedAt, &q.SignDue, &q.DueAt, &q.ExtUntil, &q.ExtReason, &q.UrgeCount, &q.RedoCount, &q.ReturnCount,
			&q.Confidential, &policy}
		if extra != nil {
			dest = append(dest, extra(&q)...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		q.Kind, q.Urgency, q.State, q.Channel = Kind(kind), Urgency(urg), State(state), Channel(channel)
		q.StateLabel = q.State.Label()
		q.Light, q.Used = s.light(q, policy, now)
		out = append(out, q)
	}
	return out, rows.Err()
}

// light is the deadline's traffic light: the sign-for deadline while the
// case waits for sign-for, else the resolution deadline.
func (s *Store) light(q QueueItem, p Policy, now time.Time) (string, float64) {
	if q.DispatchedAt == nil {
		return Green, 0
	}
	due, unit := q.DueAt, p.Resolve.Unit
	if q.State == PendingSign && q.SignDue != nil {
		due, unit = q.SignDue, p.Sign.Unit
	}
	if due == nil || q.State == Suspended {
		return Green, 0
	}
	if unit == "" {
		unit = workcal.WorkingDays
	}
	f := s.cal.Fraction(*q.DispatchedAt, *due, now, unit)
	switch {
	case !now.Before(*due):
		return Red, f
	case f >= 0.8:
		return Yellow, f
	}
	return Green, f
}

// possibleDuplicate is cases/duplicates.PossibleDuplicateSQL (that package
// imports this one): duplicates found at intake that are still open.
const possibleDuplicate = `EXISTS (SELECT 1 FROM case_duplicates dup JOIN cases dupc ON dupc.id = dup.candidate_id
	WHERE dup.case_id = c.id AND dupc.state NOT IN ('answered','archived','merged'))`

// Queue lists one of the centre's queues.
func (s *Store) Queue(ctx context.Context, name string, limit int) ([]QueueItem, error) {
	q, ok := Queues[name]
	if !ok {
		return nil, ErrNotFound
	}
	now := s.clock.Now()
	rows, err := s.q(ctx).Query(ctx, `SELECT `+queueCols+`, coalesce(a.unit_id, ''), coalesce(u.name, ''), `+possibleDuplicate+`
		FROM cases c
		LEFT JOIN assignments a ON a.case_id = c.id AND a.round = c.dispatch_round AND a.role = 'lead' AND a.state NOT IN ('returned','closed')
		LEFT JOIN units u ON u.id = a.unit_id
		WHERE (`+q.where+`) AND $1::timestamptz IS NOT NULL ORDER BY `+q.order+` LIMIT $2`, now, limit)
	if err != nil {
		return nil, err
	}
	return s.scanQueue(rows, now, func(it *QueueItem) []any { return []any{&it.Lead, &it.LeadName, &it.PossibleDuplicate} })
}

// UnitQueue lists the cases a unit holds now, the most pressing first.
func (s *Store) UnitQueue(ctx context.Context, unit string, limit int) ([]QueueItem, error) {
	now := s.clock.Now()
	rows, err := s.q(ctx).Query(ctx, `SELECT `+queueCols+`, a.role, a.state
		FROM assignments a JOIN cases c ON c.id = a.case_id AND a.round = c.dispatch_round
		WHERE a.unit_id = $1 AND a.state NOT IN ('returned','closed') AND c.state NOT IN ('archived','answered','merged')
		ORDER BY coalesce(CASE WHEN a.state = 'pending_sign' THEN c.sign_due END, c.due_at) NULLS LAST, c.created_at
		LIMIT $2`, unit, limit)
	if err != nil {
		return nil, err
	}
	return s.scanQueue(rows, now, func(it *QueueItem) []any { return []any{&it.Role, &it.Assignment} })
}

// queueRoutes: GET /api/v1/queues/{name}; who may call depends on the
// queue (Queues), "unit" is the officer's own unit.
func (s *Store) handleQueue(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	name := r.PathValue("name")
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var items []QueueItem
	var err error
	if name == "unit" {
		if actor.Role != auth.Officer {
			httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "role", Rule: "role", MessageZH: "只有承办单位人员有本单位工单队列", MessageEN: "only officers have a unit queue"})
			return
		}
		items, err = s.UnitQueue(r.Context(), actor.UnitID, limit)
	} else {
		q, ok := Queues[name]
		if !ok {
			httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "name", Rule: "oneof", MessageZH: "没有这个队列", MessageEN: "no such queue"})
			return
		}
		allowed := false
		for _, role := range q.Roles {
			allowed = allowed || role == actor.Role
		}
		if !allowed {
			httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "role", Rule: "role", MessageZH: "您的角色无权查看“" + q.Label + "”", MessageEN: "your role may not see this queue"})
			return
		}
		items, err = s.Queue(r.Context(), name, limit)
	}
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"queue": name, "items": items, "now": s.clock.Now()})
}
