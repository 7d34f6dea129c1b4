package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/auth"
	"yici/internal/clock"
	"yici/internal/ratelimit"
	"yici/internal/workcal"
)

// Options configure a Store.
type Options struct {
	Calendar *workcal.Calendar
	Clock    clock.Clock
	// Policies returns the active deadline policy set.
	Policies func() PolicySet
	// ClassOf returns the deadline class of a category code (normal,
	// urgent, utility, consult, record).
	ClassOf func(category string) string
	// Reroute, when set, decides where a case goes after its 退单 was
	// approved (the router, excluding the units that returned it); the
	// re-dispatch happens in the same transaction. A nil plan leaves the
	// case in the dispatch queue.
	Reroute func(ctx context.Context, c *Case) (*DispatchPlan, error)
	// TrackPerMinute limits public tracking lookups per client address
	// (0: 30 a minute, bursts of 10).
	TrackPerMinute int
}

// Store keeps cases in PostgreSQL. It owns the SQL of the cases,
// assignments and case_events tables.
type Store struct {
	db       *pgxpool.Pool
	cal      *workcal.Calendar
	clock    clock.Clock
	policies func() PolicySet
	classOf  func(string) string
	reroute  func(ctx context.Context, c *Case) (*DispatchPlan, error)
	redoPlan func(ctx context.Context, c *Case) (*DispatchPlan, error)
	serials  serials
	// committed is called after every committed write (the console's
	// stream wakes its tailer).
	committed func()

	onCreate func(ctx context.Context, c *Case) error

	trackByIP, trackByNo *ratelimit.Limiter
	trackPerMinute       int
	policyHolder         *policyHolder
}

// SetOnCreate installs a function called inside the transaction that
// registers a case, whatever the path (the duplicate detector). Its error
// is logged, never fatal to the registration: it must leave the
// transaction usable (a savepoint).
func (s *Store) SetOnCreate(fn func(ctx context.Context, c *Case) error) { s.onCreate = fn }

// SetCommitted installs a function called after each committed write.
func (s *Store) SetCommitted(fn func()) { s.committed = fn }

// NewStore returns a store on db.
func NewStore(db *pgxpool.Pool, o Options) *Store {
	s := &Store{db: db, cal: o.Calendar, clock: o.Clock, policies: o.Policies, classOf: o.ClassOf, reroute: o.Reroute,
		trackPerMinute: o.TrackPerMinute}
	if s.cal == nil {
		s.cal = workcal.Default()
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.policies == nil {
		def := DefaultPolicies()
		s.policies = func() PolicySet { return def }
	}
	if s.classOf == nil {
		s.classOf = func(string) string { return "normal" }
	}
	return s
}

// DB returns the pool (for packages that join the case tables read-only).
func (s *Store) DB() *pgxpool.Pool { return s.db }

// Calendar returns the working-time calendar.
func (s *Store) Calendar() *workcal.Calendar { return s.cal }

// Now returns the store's clock time.
func (s *Store) Now() time.Time { return s.clock.Now() }

type txKey struct{}

// querier is what both a pool and a transaction offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// InTx runs fn in one transaction; store calls made with the ctx it gets
// join that transaction, so a channel can register a case and dispatch it
// atomically.
func (s *Store) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return fn(ctx)
	}
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
	if err == nil && s.committed != nil {
		s.committed()
	}
	return err
}

// Tx returns the transaction of ctx (inside InTx).
func Tx(ctx context.Context) pgx.Tx {
	tx, _ := ctx.Value(txKey{}).(pgx.Tx)
	return tx
}

func (s *Store) q(ctx context.Context) querier {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return tx
	}
	return s.db
}

// NewCase is what registration needs.
type NewCase struct {
	Kind         Kind
	Category     string
	Title        string
	Content      string
	Address      string
	Point        *Point
	Urgency      Urgency
	TownshipCode string
	CountyCode   string
	CityCode     string
	CitizenName  string
	CitizenPhone string
	Anonymous    bool
	Channel      Channel
	ChannelRef   string // call id, app request id, kiosk UUID, ...; unique per channel
	Reporter     string // who filed it (app user, grid worker, device), to list "my cases"
	// Data is stored on the registration event (triage suggestion, ...).
	Data map[string]any
}

func invalid(field, zh string) error {
	return &TransitionError{Action: ActRegister, Err: ErrInvalid, Detail: field + ": " + zh}
}

func (n *NewCase) check() error {
	n.Content = strings.TrimSpace(n.Content)
	n.Title = strings.TrimSpace(n.Title)
	if n.Urgency == "" {
		n.Urgency = Normal
	}
	switch {
	case !n.Kind.Valid():
		return invalid("kind", "诉求类型无效")
	case n.Content == "":
		return invalid("content", "诉求内容不能为空")
	case utf8.RuneCountInString(n.Content) > 4000:
		return invalid("content", "诉求内容不能超过 4000 字")
	case !n.Urgency.Valid():
		return invalid("urgency", "紧急程度无效")
	case n.Channel == "":
		return invalid("channel", "渠道不能为空")
	case n.Point != nil && (n.Point.Lat < -90 || n.Point.Lat > 90 || n.Point.Lon < -180 || n.Point.Lon > 180):
		return invalid("point", "坐标无效")
	}
	if n.Title == "" {
		n.Title = TitleOf(n.Content)
	}
	if p, ok := NormalizePhone(n.CitizenPhone); ok {
		n.CitizenPhone = p // one form, so that earlier cases of a caller are found
	}
	if utf8.RuneCountInString(n.Title) > 100 {
		n.Title = string([]rune(n.Title)[:100])
	}
	if n.TownshipCode != "" && n.CountyCode == "" && len(n.TownshipCode) >= 6 {
		n.CountyCode = n.TownshipCode[:6]
	}
	if n.CountyCode != "" && n.CityCode == "" && len(n.CountyCode) >= 4 {
		n.CityCode = n.CountyCode[:4]
	}
	return nil
}

// TitleOf makes a title from the first sentence of the content.
func TitleOf(content string) string {
	r := []rune(strings.TrimSpace(content))
	for i, c := range r {
		if c == '。' || c == '！' || c == '？' || c == '\n' || c == '，' && i >= 12 {
			r = r[:i]
			break
		}
	}
	if len(r) > 30 {
		r = append(r[:30], '…')
	}
	return string(r)
}

// PhoneLast4 returns the last four digits of a phone number.
func PhoneLast4(phone string) string {
	var d []byte
	for i := 0; i < len(phone); i++ {
		if phone[i] >= '0' && phone[i] <= '9' {
			d = append(d, phone[i])
		}
	}
	if len(d) < 4 {
		return ""
	}
	return string(d[len(d)-4:])
}

const caseCols = `id, tracking_no, county_code, city_code, township_code, kind, category, title, content, address, lat, lon,
	urgency, citizen_name, citizen_phone, anonymous, confidential, channel, coalesce(channel_ref, ''), reporter, state, resume_state, parent_id,
	policy, dispatch_round, dispatched_at, sign_due, due_at, return_until, suspended_at, ext_count, ext_until, ext_reason,
	return_count, redo_count, urge_count, urge_due, callback_attempts, reply, satisfaction, solved, rated_at, version, created_at, updated_at, closed_at`

func scanCase(row pgx.Row) (*Case, error) {
	var c Case
	var lat, lon *float64
	var policy []byte
	var kind, urg, channel, state, resume, sat string
	err := row.Scan(&c.ID, &c.TrackingNo, &c.CountyCode, &c.CityCode, &c.TownshipCode, &kind, &c.Category, &c.Title, &c.Content,
		&c.Address, &lat, &lon, &urg, &c.CitizenName, &c.CitizenPhone, &c.Anonymous, &c.Confidential, &channel, &c.ChannelRef,
		&c.Reporter, &state, &resume, &c.ParentID, &policy, &c.DispatchRound, &c.DispatchedAt, &c.SignDue, &c.DueAt, &c.ReturnUntil,
		&c.SuspendedAt, &c.ExtCount, &c.ExtUntil, &c.ExtReason, &c.ReturnCount, &c.RedoCount, &c.UrgeCount, &c.UrgeDue, &c.CallbackTries, &c.Reply,
		&sat, &c.Solved, &c.RatedAt, &c.Version, &c.CreatedAt, &c.UpdatedAt, &c.ClosedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.Kind, c.Urgency, c.Channel, c.State, c.ResumeState, c.Satisfaction = Kind(kind), Urgency(urg), Channel(channel), State(state), State(resume), Satisfaction(sat)
	if lat != nil && lon != nil {
		c.Point = &Point{Lat: *lat, Lon: *lon}
	}
	if err := json.Unmarshal(policy, &c.Policy); err != nil {
		return nil, fmt.Errorf("case %s: policy: %w", c.ID, err)
	}
	return &c, nil
}

func (s *Store) loadAssignments(ctx context.Context, q querier, c *Case) error {
	rows, err := q.Query(ctx, `SELECT a.id, a.unit_id, coalesce(u.name, a.unit_id), a.role, a.round, a.state, a.dispatched_at,
		a.signed_at, a.replied_at, a.reply, a.note
		FROM assignments a LEFT JOIN units u ON u.id = a.unit_id WHERE a.case_id = $1 ORDER BY a.round, a.role DESC, a.dispatched_at, a.unit_id`, c.ID)
	if err != nil {
		return err
	}
	c.Assignments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Assignment, error) {
		var a Assignment
		var role, st string
		err := r.Scan(&a.ID, &a.UnitID, &a.UnitName, &role, &a.Round, &st, &a.DispatchedAt, &a.SignedAt, &a.RepliedAt, &a.Reply, &a.Note)
		a.Role, a.State = AssignmentRole(role), AssignmentState(st)
		return a, err
	})
	return err
}

// Get returns a case with its assignments.
func (s *Store) Get(ctx context.Context, id uuid.UUID) (*Case, error) {
	q := s.q(ctx)
	c, err := scanCase(q.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	return c, s.loadAssignments(ctx, q, c)
}

// GetByTrackingNo returns a case by its tracking number.
func (s *Store) GetByTrackingNo(ctx context.Context, no string) (*Case, error) {
	q := s.q(ctx)
	c, err := scanCase(q.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE tracking_no = $1`, no))
	if err != nil {
		return nil, err
	}
	return c, s.loadAssignments(ctx, q, c)
}

// GetByChannelRef returns the case registered with this channel reference.
func (s *Store) GetByChannelRef(ctx context.Context, ch Channel, ref string) (*Case, error) {
	q := s.q(ctx)
	c, err := scanCase(q.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE channel = $1 AND channel_ref = $2`, string(ch), ref))
	if err != nil {
		return nil, err
	}
	return c, s.loadAssignments(ctx, q, c)
}

// Create registers a case with its first event. When the channel reference
// was seen before, it returns that case and created=false: retries,
// concurrent ones too, never make a second case.
func (s *Store) Create(ctx context.Context, actor auth.Actor, n NewCase) (c *Case, created bool, err error) {
	if err := n.check(); err != nil {
		return nil, false, err
	}
	switch actor.Role {
	case auth.Agent, auth.Dispatcher, auth.Supervisor, auth.System, auth.Citizen, auth.Grid:
	default:
		return nil, false, &TransitionError{Action: ActRegister, Role: actor.Role, Err: ErrForbiddenRole}
	}
	err = s.InTx(ctx, func(ctx context.Context) error {
		c, created, err = s.create(ctx, actor, n)
		return err
	})
	return c, created, err
}

func (s *Store) create(ctx context.Context, actor auth.Actor, n NewCase) (*Case, bool, error) {
	q := s.q(ctx)
	now := s.clock.Now()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, err
	}
	class := s.classOf(n.Category)
	pol := s.policies().Resolve(n.Kind, class, n.Urgency, n.CountyCode)
	polJSON, _ := json.Marshal(pol)
	var lat, lon *float64
	if n.Point != nil {
		lat, lon = &n.Point.Lat, &n.Point.Lon
	}
	var ref *string
	if n.ChannelRef != "" {
		ref = &n.ChannelRef
	}
	serial, err := s.serials.take(ctx, q)
	if err != nil {
		return nil, false, err
	}
	no := TrackingNoFrom(now, serial)
	// The case is inserted as it is after its registration event (version
	// 1) and read back by RETURNING: one statement, where an INSERT, a
	// re-read and an UPDATE of every column used to be three (and the
	// UPDATE a second row version with an entry in each index).
	c, err := scanCase(q.QueryRow(ctx, `INSERT INTO cases (id, tracking_no, county_code, city_code, township_code, kind, category, title, content,
		address, lat, lon, urgency, citizen_name, citizen_phone, phone_last4, anonymous, confidential, channel, channel_ref,
		state, policy, version, created_at, updated_at, reporter)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,1,$23,$23,$24)
		ON CONFLICT (channel, channel_ref) WHERE channel_ref IS NOT NULL DO NOTHING
		RETURNING `+caseCols,
		id, no, n.CountyCode, n.CityCode, n.TownshipCode, string(n.Kind), n.Category, n.Title, n.Content, n.Address, lat, lon,
		string(n.Urgency), n.CitizenName, n.CitizenPhone, PhoneLast4(n.CitizenPhone), n.Anonymous, n.Kind == Report,
		string(n.Channel), ref, string(Registered), polJSON, now, n.Reporter))
	if errors.Is(err, ErrNotFound) {
		// A retry of a registered submission (its channel reference).
		existing, err := s.GetByChannelRef(ctx, n.Channel, n.ChannelRef)
		return existing, false, err
	}
	if err != nil {
		return nil, false, err
	}
	data := map[string]any{"channel": n.Channel, "kind": n.Kind, "category": n.Category, "township": n.TownshipCode, "county": n.CountyCode}
	for k, v := range n.Data {
		data[k] = v
	}
	if _, err := s.insertEvent(ctx, c, actor, ActRegister, "", Registered, "", true, data, c.CreatedAt); err != nil {
		return nil, false, err
	}
	if s.onCreate != nil {
		if err := s.onCreate(ctx, c); err != nil {
			slog.WarnContext(ctx, "cases: after registration", "case", c.TrackingNo, "err", err)
		}
	}
	return c, true, nil
}

// appendEvent writes one event of c (whose Version it advances) and
// persists the case row. from may differ from c.State's old value; to is
// c.State after the step.
func (s *Store) appendEvent(ctx context.Context, c *Case, actor auth.Actor, act Action, from, to State, reason string, public bool, data map[string]any) (Event, error) {
	now := s.clock.Now()
	c.Version++
	c.UpdatedAt = now
	ev, err := s.insertEvent(ctx, c, actor, act, from, to, reason, public, data, now)
	if err != nil {
		return Event{}, err
	}
	return ev, s.saveCase(ctx, c)
}

// insertEvent writes the event of c's current Version, at at.
func (s *Store) insertEvent(ctx context.Context, c *Case, actor auth.Actor, act Action, from, to State, reason string, public bool, data map[string]any, at time.Time) (Event, error) {
	ev := eventOf(c, actor, act, from, to, reason, public, data, at)
	sql, args, err := eventSQL(ev)
	if err != nil {
		return Event{}, err
	}
	if err := s.q(ctx).QueryRow(ctx, sql+` RETURNING id`, args...).Scan(&ev.ID); err != nil {
		return Event{}, err
	}
	return ev, nil
}

// eventOf is the event of c's current Version.
func eventOf(c *Case, actor auth.Actor, act Action, from, to State, reason string, public bool, data map[string]any, at time.Time) Event {
	if data == nil {
		data = map[string]any{}
	}
	ev := Event{CaseID: c.ID, CountyCode: c.CountyCode, Seq: c.Version, At: at, Action: act, ActorName: actor.Name,
		ActorRole: string(actor.Role), ActorUnit: actor.UnitID, From: from, To: to, Reason: reason, Public: public, Data: data}
	if actor.ID != uuid.Nil {
		id := actor.ID
		ev.ActorID = &id
	}
	return ev
}

// eventSQL is the INSERT of ev.
func eventSQL(ev Event) (string, []any, error) {
	dataJSON, err := json.Marshal(ev.Data)
	if err != nil {
		return "", nil, err
	}
	return `INSERT INTO case_events (case_id, county_code, seq, at, action, actor_id, actor_name, actor_role, actor_unit,
		from_state, to_state, reason, public, data) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
		[]any{ev.CaseID, ev.CountyCode, ev.Seq, ev.At, string(ev.Action), ev.ActorID, ev.ActorName, ev.ActorRole, ev.ActorUnit,
			string(ev.From), string(ev.To), ev.Reason, ev.Public, dataJSON}, nil
}

func (s *Store) saveCase(ctx context.Context, c *Case) error {
	sql, args := saveCaseSQL(c)
	_, err := s.q(ctx).Exec(ctx, sql, args...)
	return err
}

// saveCaseSQL is the UPDATE that writes c's row.
func saveCaseSQL(c *Case) (string, []any) {
	polJSON, _ := json.Marshal(c.Policy)
	var lat, lon *float64
	if c.Point != nil {
		lat, lon = &c.Point.Lat, &c.Point.Lon
	}
	return `UPDATE cases SET county_code=$2, city_code=$3, township_code=$4, kind=$5, category=$6, urgency=$7,
		state=$8, resume_state=$9, parent_id=$10, policy=$11, dispatch_round=$12, dispatched_at=$13, sign_due=$14, due_at=$15,
		return_until=$16, suspended_at=$17, ext_count=$18, ext_until=$19, ext_reason=$20, return_count=$21, redo_count=$22,
		urge_count=$23, reply=$24, satisfaction=$25, solved=$26, rated_at=$27, version=$28, updated_at=$29, closed_at=$30,
		lat=$31, lon=$32, address=$33, callback_attempts=$34, urge_due=$35
		WHERE id = $1`,
		[]any{c.ID, c.CountyCode, c.CityCode, c.TownshipCode, string(c.Kind), c.Category, string(c.Urgency), string(c.State),
			string(c.ResumeState), c.ParentID, polJSON, c.DispatchRound, c.DispatchedAt, c.SignDue, c.DueAt, c.ReturnUntil,
			c.SuspendedAt, c.ExtCount, c.ExtUntil, c.ExtReason, c.ReturnCount, c.RedoCount, c.UrgeCount, c.Reply,
			string(c.Satisfaction), c.Solved, c.RatedAt, c.Version, c.UpdatedAt, c.ClosedAt, lat, lon, c.Address, c.CallbackTries, c.UrgeDue}
}

func (s *Store) saveAssignment(ctx context.Context, a *Assignment) error {
	_, err := s.q(ctx).Exec(ctx, `UPDATE assignments SET state=$2, signed_at=$3, replied_at=$4, reply=$5, note=$6 WHERE id=$1`,
		a.ID, string(a.State), a.SignedAt, a.RepliedAt, a.Reply, a.Note)
	return err
}

// SetRedoPlan installs where a case reopened by a dissatisfied callback
// goes (重办): nil plan for the same units as the last round (the router
// sends a second failure to the county unit of the same line).
func (s *Store) SetRedoPlan(fn func(ctx context.Context, c *Case) (*DispatchPlan, error)) {
	s.redoPlan = fn
}

// SetReroute installs the re-routing decision after approved returns (the
// router is built after the store).
func (s *Store) SetReroute(fn func(ctx context.Context, c *Case) (*DispatchPlan, error)) {
	s.reroute = fn
}

// ReturnReasons returns the reasons units gave in their 退单 requests,
// oldest first, with the unit of each.
func (s *Store) ReturnReasons(ctx context.Context, id uuid.UUID) ([][2]string, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT actor_unit, reason FROM case_events WHERE case_id = $1 AND action = 'request_return' ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var u, r string
		if err := rows.Scan(&u, &r); err != nil {
			return nil, err
		}
		out = append(out, [2]string{u, r})
	}
	return out, rows.Err()
}

// Events returns the trail of a case, oldest first.
func (s *Store) Events(ctx context.Context, id uuid.UUID) ([]Event, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT id, case_id, county_code, seq, at, action, actor_id, actor_name, actor_role, actor_unit,
		from_state, to_state, reason, public, data FROM case_events WHERE case_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, scanEvent)
}

func scanEvent(r pgx.CollectableRow) (Event, error) {
	var e Event
	var act, from, to string
	var data []byte
	err := r.Scan(&e.ID, &e.CaseID, &e.CountyCode, &e.Seq, &e.At, &act, &e.ActorID, &e.ActorName, &e.ActorRole, &e.ActorUnit,
		&from, &to, &e.Reason, &e.Public, &data)
	e.Action, e.From, e.To = Action(act), State(from), State(to)
	if err == nil && len(data) > 0 {
		err = json.Unmarshal(data, &e.Data)
	}
	return e, err
}
