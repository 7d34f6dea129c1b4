package cases

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/internal/auth"
	"yici/internal/workcal"
)

// step is one event a transition writes.
type step struct {
	action Action
	to     State
	reason string
	public bool
	data   map[string]any
}

// transition loads the case for update, checks the state machine, lets fn
// change the case and say which events to write, and writes it all in one
// transaction.
func (s *Store) transition(ctx context.Context, id uuid.UUID, actor auth.Actor, act Action, reason string,
	fn func(ctx context.Context, c *Case, now time.Time) ([]step, error)) (*Case, error) {
	var out *Case
	err := s.InTx(ctx, func(ctx context.Context) error {
		q := s.q(ctx)
		c, err := scanCase(q.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1 FOR UPDATE`, id))
		if errors.Is(err, ErrNotFound) {
			return &TransitionError{Action: act, Role: actor.Role, Err: ErrNotFound}
		}
		if err != nil {
			return err
		}
		if err := s.loadAssignments(ctx, q, c); err != nil {
			return err
		}
		out, err = s.apply(ctx, c, actor, act, reason, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// transitionCreated is transition for a case that Create registered in the
// transaction of ctx: the row is locked by its INSERT and c is current, so
// it is not read again. Anything else goes through transition. Were c
// stale all the same, the event it writes would collide with the one
// already written under the same (case, seq) and the transaction fail.
func (s *Store) transitionCreated(ctx context.Context, c *Case, actor auth.Actor, act Action, reason string,
	fn func(ctx context.Context, c *Case, now time.Time) ([]step, error)) (*Case, error) {
	if Tx(ctx) == nil || c == nil || c.Version != 1 || c.State != Registered {
		if c == nil {
			return nil, &TransitionError{Action: act, Role: actor.Role, Err: ErrNotFound}
		}
		return s.transition(ctx, c.ID, actor, act, reason, fn)
	}
	cc := *c
	cc.Assignments = slices.Clone(c.Assignments)
	return s.apply(ctx, &cc, actor, act, reason, fn)
}

// apply checks the state machine, lets fn change the locked case c and say
// which events to write, and writes them, the case row and its timers in
// one round trip.
func (s *Store) apply(ctx context.Context, c *Case, actor auth.Actor, act Action, reason string,
	fn func(ctx context.Context, c *Case, now time.Time) ([]step, error)) (*Case, error) {
	now := s.clock.Now()
	if err := Check(act, c, actor, reason, now); err != nil {
		return nil, err
	}
	from := c.State
	steps, err := fn(ctx, c, now)
	if err != nil {
		return nil, err
	}
	if c.UrgeDue != nil && act != ActUrge && actor.Role == auth.Officer {
		if l := c.LeadAssignment(); l != nil && l.UnitID == actor.UnitID {
			c.UrgeDue = nil // the unit responded to the 督办
		}
	}
	if !c.State.Open() || c.State == PendingCallback || c.State == PendingReview {
		c.UrgeDue = nil
	}
	// One event per step, one UPDATE of the case for them all, the timers:
	// sent together.
	var b pgx.Batch
	for _, st := range steps {
		prev := from
		if st.to == "" {
			st.to = prev
		}
		c.Version++
		c.UpdatedAt = now
		sql, args, err := eventSQL(eventOf(c, actor, st.action, prev, st.to, st.reason, st.public, st.data, now))
		if err != nil {
			return nil, err
		}
		b.Queue(sql, args...)
		from = st.to
	}
	if c.State != from {
		return nil, fmt.Errorf("cases: %s left state %s but its events end in %s", act, c.State, from)
	}
	if len(steps) > 0 {
		sql, args := saveCaseSQL(c)
		b.Queue(sql, args...)
	}
	sql, args := s.timersSQL(c)
	b.Queue(sql, args...)
	if err := s.q(ctx).SendBatch(ctx, &b).Close(); err != nil {
		return nil, err
	}
	return c, nil
}

func refuse(act Action, c *Case, actor auth.Actor, err error, detail string) error {
	return &TransitionError{Action: act, State: c.State, Role: actor.Role, Err: err, Detail: detail}
}

// DispatchPlan says where a case goes: the lead unit, the co-handling
// units, and what the routing decided (stored on the event).
type DispatchPlan struct {
	Lead     string
	Co       []string
	Decision map[string]any
	// Corrections the dispatcher confirms with the dispatch (optional).
	Category     string
	TownshipCode string
	CountyCode   string
	Urgency      Urgency
	// Resolve overrides the resolution deadline of the case's policy (a
	// routing rule's deadline); RuleName says which rule.
	Resolve  *workcal.Span
	RuleName string

	names map[string]string // the units' names, read by checkUnits
}

func (s *Store) checkUnits(ctx context.Context, act Action, c *Case, actor auth.Actor, p *DispatchPlan) error {
	if p.Lead == "" {
		return refuse(act, c, actor, ErrInvalid, "lead: 必须指定主办单位")
	}
	var co []string
	for _, u := range p.Co {
		if u != "" && u != p.Lead && !slices.Contains(co, u) {
			co = append(co, u)
		}
	}
	p.Co = co
	all := append([]string{p.Lead}, co...)
	rows, err := s.q(ctx).Query(ctx, `SELECT id, name FROM units WHERE id = ANY($1) AND active`, all)
	if err != nil {
		return err
	}
	names, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var v [2]string
		return v, r.Scan(&v[0], &v[1])
	})
	if err != nil {
		return err
	}
	if len(names) != len(all) {
		return refuse(act, c, actor, ErrInvalid, "units: 承办单位不存在或已停用")
	}
	p.names = map[string]string{}
	for _, n := range names {
		p.names[n[0]] = n[1]
	}
	return nil
}

// dispatchRound opens a new round of assignments and restarts the clocks.
func (s *Store) dispatchRound(ctx context.Context, c *Case, p DispatchPlan, now time.Time) error {
	if p.Category != "" {
		c.Category = p.Category
	}
	if p.TownshipCode != "" {
		c.TownshipCode = p.TownshipCode
		if p.CountyCode == "" && len(p.TownshipCode) >= 6 {
			p.CountyCode = p.TownshipCode[:6]
		}
	}
	if p.CountyCode != "" && p.CountyCode != c.CountyCode {
		c.CountyCode = p.CountyCode
		c.CityCode = p.CountyCode[:min(4, len(p.CountyCode))]
		if _, err := s.q(ctx).Exec(ctx, `UPDATE assignments SET county_code = $2 WHERE case_id = $1`, c.ID, c.CountyCode); err != nil {
			return err
		}
	}
	if p.Urgency != "" && p.Urgency.Valid() {
		c.Urgency = p.Urgency
	}
	if c.DispatchRound == 0 {
		// The clock starts at the first dispatch: the policy follows the
		// category and urgency confirmed now.
		c.Policy = s.policies().Resolve(c.Kind, s.classOf(c.Category), c.Urgency, c.CountyCode)
		if p.Resolve != nil && p.Resolve.N > 0 {
			c.Policy.Resolve = *p.Resolve
			c.Policy.Rules = append(c.Policy.Rules, "路由规则 "+p.RuleName)
		}
	}
	// Close what is left of the previous round.
	for i := range c.Assignments {
		a := &c.Assignments[i]
		if a.Round == c.DispatchRound && a.State.Live() {
			a.State = AClosed
			if err := s.saveAssignment(ctx, a); err != nil {
				return err
			}
		}
	}
	c.DispatchRound++
	c.DispatchedAt = &now
	c.UrgeDue = nil // a 督办 was for the units of the last round
	c.SignDue = ptr(s.cal.Deadline(now, c.Policy.Sign))
	c.DueAt = ptr(s.cal.Deadline(now, c.Policy.Resolve))
	c.ReturnUntil = ptr(s.cal.Deadline(now, c.Policy.Return))
	c.ExtUntil, c.ExtReason = nil, ""
	c.State = PendingSign
	units := append([]string{p.Lead}, p.Co...)
	names := p.names // read by checkUnits, which every dispatch runs first
	ids := make([]uuid.UUID, len(units))
	roles := make([]string, len(units))
	for i, u := range units {
		role := Co
		if i == 0 {
			role = Lead
		}
		ids[i], _ = uuid.NewV7()
		roles[i] = string(role)
		c.Assignments = append(c.Assignments, Assignment{ID: ids[i], UnitID: u, UnitName: names[u], Role: role, Round: c.DispatchRound,
			State: APendingSign, DispatchedAt: now})
	}
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO assignments (id, case_id, county_code, unit_id, role, round, state, dispatched_at)
		SELECT a.id, $2, $3, a.unit_id, a.role, $6, $7, $8 FROM unnest($1::uuid[], $4::text[], $5::text[]) AS a(id, unit_id, role)`,
		ids, c.ID, c.CountyCode, units, roles, c.DispatchRound, string(APendingSign), now)
	return err
}

func ptr[T any](v T) *T { return &v }

func dispatchData(c *Case, p DispatchPlan) map[string]any {
	d := map[string]any{"lead": p.Lead, "co": p.Co, "round": c.DispatchRound, "category": c.Category,
		"township": c.TownshipCode, "county": c.CountyCode, "sign_due": c.SignDue, "due_at": c.DueAt}
	if p.Decision != nil {
		d["decision"] = p.Decision
	}
	return d
}

// Submit moves a registered case to the dispatch queue (待派单).
func (s *Store) Submit(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActSubmit, reason, submitFn(reason))
}

// SubmitCreated is Submit of the case c that Create has just registered in
// the transaction of ctx (see DispatchCreated).
func (s *Store) SubmitCreated(ctx context.Context, actor auth.Actor, c *Case, reason string) (*Case, error) {
	return s.transitionCreated(ctx, c, actor, ActSubmit, reason, submitFn(reason))
}

func submitFn(reason string) func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
	return func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		c.State = PendingDispatch
		return []step{{action: ActSubmit, to: PendingDispatch, reason: reason, public: false}}, nil
	}
}

// Answer closes a case at first contact with the answer given (直接答复);
// reason is the answer, data may cite the knowledge article.
func (s *Store) Answer(ctx context.Context, actor auth.Actor, id uuid.UUID, answer string, data map[string]any) (*Case, error) {
	return s.transition(ctx, id, actor, ActAnswer, answer, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		c.State, c.Reply, c.ClosedAt = Answered, strings.TrimSpace(answer), &now
		steps := []step{{action: ActAnswer, to: Answered, reason: c.Reply, public: true, data: data}}
		return steps, s.closeChildren(ctx, c, now)
	})
}

// Dispatch sends a case to its lead and co-handling units (派单).
func (s *Store) Dispatch(ctx context.Context, actor auth.Actor, id uuid.UUID, p DispatchPlan, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActDispatch, reason, s.dispatchFn(actor, p, reason))
}

// DispatchCreated is Dispatch of the case c that Create has just registered
// in the transaction of ctx (an intake's automatic dispatch): the case is
// not read again. Any other c is dispatched as Dispatch does.
func (s *Store) DispatchCreated(ctx context.Context, actor auth.Actor, c *Case, p DispatchPlan, reason string) (*Case, error) {
	return s.transitionCreated(ctx, c, actor, ActDispatch, reason, s.dispatchFn(actor, p, reason))
}

func (s *Store) dispatchFn(actor auth.Actor, p DispatchPlan, reason string) func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
	return func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		if err := s.checkUnits(ctx, ActDispatch, c, actor, &p); err != nil {
			return nil, err
		}
		if err := s.dispatchRound(ctx, c, p, now); err != nil {
			return nil, err
		}
		return []step{{action: ActDispatch, to: PendingSign, reason: reason, public: true, data: dispatchData(c, p)}}, nil
	}
}

// Sign is a unit's sign-for (签收); the lead's sign-for starts the work.
func (s *Store) Sign(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActSign, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		a := c.AssignmentOf(actor.UnitID)
		a.State, a.SignedAt = ASigned, &now
		if err := s.saveAssignment(ctx, a); err != nil {
			return nil, err
		}
		if a.Role == Lead && c.State == PendingSign {
			c.State = InProgress
		}
		late := c.SignDue != nil && now.After(*c.SignDue)
		return []step{{action: ActSign, to: c.State, reason: reason, public: a.Role == Lead,
			data: map[string]any{"assignment": a.ID, "unit": a.UnitID, "role": a.Role, "late": late}}}, nil
	})
}

// RequestReturn is the lead unit's 退单申请: the case is not theirs.
func (s *Store) RequestReturn(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActRequestReturn, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		a := c.LeadAssignment()
		c.ResumeState = c.State
		a.State = AReturnRequested
		if err := s.saveAssignment(ctx, a); err != nil {
			return nil, err
		}
		c.State = ReturnRequested
		return []step{{action: ActRequestReturn, to: ReturnRequested, reason: reason, public: false,
			data: map[string]any{"assignment": a.ID, "unit": a.UnitID}}}, nil
	})
}

// ApproveReturn accepts a 退单: the unit's part ends and the case goes back
// to the dispatch queue; the router excludes the unit next time.
func (s *Store) ApproveReturn(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActApproveReturn, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		var returned string
		for i := range c.Assignments {
			a := &c.Assignments[i]
			if a.Round != c.DispatchRound || !a.State.Live() {
				continue
			}
			if a.State == AReturnRequested {
				a.State, returned = AReturned, a.UnitID
			} else {
				a.State = AClosed
			}
			if err := s.saveAssignment(ctx, a); err != nil {
				return nil, err
			}
		}
		c.ReturnCount++
		c.State, c.ResumeState = PendingDispatch, ""
		c.SignDue, c.ExtUntil, c.ExtReason = nil, nil, ""
		steps := []step{{action: ActApproveReturn, to: PendingDispatch, reason: reason, public: false,
			data: map[string]any{"unit": returned, "returns": c.ReturnCount}}}
		if s.reroute == nil {
			return steps, nil
		}
		plan, err := s.reroute(ctx, c)
		if err != nil || plan == nil {
			return steps, err
		}
		if err := s.checkUnits(ctx, ActDispatch, c, actor, plan); err != nil {
			return nil, err
		}
		if err := s.dispatchRound(ctx, c, *plan, now); err != nil {
			return nil, err
		}
		return append(steps, step{action: ActDispatch, to: PendingSign, reason: "退单后重新派单", public: true, data: dispatchData(c, *plan)}), nil
	})
}

// Escalate moves a township case up to the county unit of the same line,
// keeping the township as a co-handling unit (升级): a new round.
func (s *Store) Escalate(ctx context.Context, actor auth.Actor, id uuid.UUID, p DispatchPlan, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActEscalate, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		if err := s.checkUnits(ctx, ActEscalate, c, actor, &p); err != nil {
			return nil, err
		}
		if err := s.dispatchRound(ctx, c, p, now); err != nil {
			return nil, err
		}
		d := dispatchData(c, p)
		d["escalated"] = true
		return []step{{action: ActEscalate, to: PendingSign, reason: reason, public: true, data: d}}, nil
	})
}

// RejectReturn refuses a 退单: the unit keeps the case.
func (s *Store) RejectReturn(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActRejectReturn, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		a := c.LeadAssignment()
		back := c.ResumeState
		if back == "" {
			back = PendingSign
		}
		if a.SignedAt != nil {
			a.State = ASigned
		} else {
			a.State = APendingSign
		}
		if err := s.saveAssignment(ctx, a); err != nil {
			return nil, err
		}
		c.State, c.ResumeState = back, ""
		return []step{{action: ActRejectReturn, to: back, reason: reason, public: false, data: map[string]any{"unit": a.UnitID}}}, nil
	})
}

// RequestExtension is the lead unit's 延期申请 to a new deadline.
func (s *Store) RequestExtension(ctx context.Context, actor auth.Actor, id uuid.UUID, until time.Time, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActRequestExtension, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		if c.DueAt != nil && !until.After(*c.DueAt) {
			return nil, refuse(ActRequestExtension, c, actor, ErrInvalid, "until: 延期后的期限必须晚于当前期限")
		}
		c.ExtUntil, c.ExtReason = &until, reason
		return []step{{action: ActRequestExtension, reason: reason, public: false, data: map[string]any{"until": until, "due_at": c.DueAt}}}, nil
	})
}

// NeedsSupervisor reports whether the pending extension goes beyond what a
// dispatcher may approve: a second extension, or longer than the policy's
// maximum.
func (s *Store) NeedsSupervisor(c *Case) bool {
	if c.ExtUntil == nil {
		return false
	}
	if c.ExtCount >= 1 {
		return true
	}
	if c.DueAt == nil {
		return false
	}
	max := c.Policy.MaxExtension
	switch max.Unit {
	case workcal.Hours:
		return c.ExtUntil.Sub(*c.DueAt) > time.Duration(max.N)*time.Hour
	case workcal.WorkingHours:
		return s.cal.WorkingBetween(*c.DueAt, *c.ExtUntil) > time.Duration(max.N)*time.Hour
	default:
		return c.ExtUntil.After(s.cal.Deadline(*c.DueAt, max))
	}
}

// ApproveExtension moves the deadline to the requested date.
func (s *Store) ApproveExtension(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActApproveExtension, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		if s.NeedsSupervisor(c) && actor.Role != auth.Supervisor {
			return nil, refuse(ActApproveExtension, c, actor, ErrNeedsHigher, "第二次延期或超过最长延期时限")
		}
		old := c.DueAt
		c.DueAt = c.ExtUntil
		c.ExtCount++
		c.ExtUntil, c.ExtReason = nil, ""
		return []step{{action: ActApproveExtension, reason: reason, public: true, data: map[string]any{"due_at": c.DueAt, "old_due_at": old}}}, nil
	})
}

// RejectExtension refuses the pending extension.
func (s *Store) RejectExtension(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActRejectExtension, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		until := c.ExtUntil
		c.ExtUntil, c.ExtReason = nil, ""
		return []step{{action: ActRejectExtension, reason: reason, public: false, data: map[string]any{"until": until}}}, nil
	})
}

// Suspend stops the clock (挂起).
func (s *Store) Suspend(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActSuspend, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		c.ResumeState, c.SuspendedAt, c.State = c.State, &now, Suspended
		return []step{{action: ActSuspend, to: Suspended, reason: reason, public: true}}, nil
	})
}

// Resume restarts the clock; the deadlines move by the suspended time.
func (s *Store) Resume(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActResume, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		from := *c.SuspendedAt
		shift := func(t *time.Time, sp workcal.Span) *time.Time {
			if t == nil {
				return nil
			}
			return ptr(s.cal.Shift(*t, from, now, sp.Unit))
		}
		c.SignDue = shift(c.SignDue, c.Policy.Sign)
		c.DueAt = shift(c.DueAt, c.Policy.Resolve)
		c.ReturnUntil = shift(c.ReturnUntil, c.Policy.Return)
		c.ExtUntil = shift(c.ExtUntil, c.Policy.Resolve)
		back := c.ResumeState
		c.State, c.ResumeState, c.SuspendedAt = back, "", nil
		return []step{{action: ActResume, to: back, reason: reason, public: true,
			data: map[string]any{"suspended_from": from, "due_at": c.DueAt, "sign_due": c.SignDue}}}, nil
	})
}

// Reply is a unit's 办结反馈: the reply to the citizen and an internal
// note. The lead's reply sends the case to the centre's review; a co-unit's
// reply finishes its own part.
func (s *Store) Reply(ctx context.Context, actor auth.Actor, id uuid.UUID, reply, note string) (*Case, error) {
	return s.transition(ctx, id, actor, ActReply, reply, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		a := c.AssignmentOf(actor.UnitID)
		a.State, a.RepliedAt, a.Reply, a.Note = AReplied, &now, strings.TrimSpace(reply), strings.TrimSpace(note)
		if err := s.saveAssignment(ctx, a); err != nil {
			return nil, err
		}
		data := map[string]any{"assignment": a.ID, "unit": a.UnitID, "role": a.Role}
		if note != "" {
			data["note"] = a.Note
		}
		if a.Role != Lead {
			return []step{{action: ActReply, reason: a.Reply, public: false, data: data}}, nil
		}
		c.Reply = a.Reply
		c.State = PendingReview
		data["late"] = c.DueAt != nil && now.After(*c.DueAt)
		return []step{{action: ActReply, to: PendingReview, reason: a.Reply, public: true, data: data}}, nil
	})
}

// ApproveReview accepts the unit's reply (办结审核通过): callback next.
func (s *Store) ApproveReview(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActApproveReview, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		for i := range c.Assignments {
			a := &c.Assignments[i]
			if a.Round == c.DispatchRound && a.State.Live() {
				a.State = AClosed
				if err := s.saveAssignment(ctx, a); err != nil {
					return nil, err
				}
			}
		}
		c.State = PendingCallback
		return []step{{action: ActApproveReview, to: PendingCallback, reason: reason, public: true}}, nil
	})
}

// RejectReview sends the reply back to the lead unit (审核退回).
func (s *Store) RejectReview(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActRejectReview, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		a := c.LeadAssignment()
		if a == nil {
			return nil, refuse(ActRejectReview, c, actor, ErrWrongState, "没有主办单位")
		}
		a.State = ASigned
		if err := s.saveAssignment(ctx, a); err != nil {
			return nil, err
		}
		c.State = InProgress
		return []step{{action: ActRejectReview, to: InProgress, reason: reason, public: false, data: map[string]any{"unit": a.UnitID}}}, nil
	})
}

// CallbackResult is what the citizen said at the callback (回访).
type CallbackResult struct {
	Satisfaction Satisfaction
	Solved       *bool  // nil when not asked
	Comment      string // the citizen's words
	// Redo is where a dissatisfied case goes (重办); nil for the same
	// units as the last round.
	Redo *DispatchPlan
}

// Callback records the citizen's satisfaction. Satisfied (or basically
// satisfied) and solved, or unreachable, archives the case; dissatisfied
// or unsolved reopens it (重办) in the same transaction.
func (s *Store) Callback(ctx context.Context, actor auth.Actor, id uuid.UUID, r CallbackResult) (*Case, error) {
	reason := r.Comment
	if reason == "" {
		reason = r.Satisfaction.Label()
	}
	return s.transition(ctx, id, actor, ActCallback, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		switch r.Satisfaction {
		case Satisfied, Basic, Dissatisfied:
		case Unreachable:
			if actor.Role == auth.Citizen {
				return nil, refuse(ActCallback, c, actor, ErrInvalid, "satisfaction")
			}
		default:
			return nil, refuse(ActCallback, c, actor, ErrInvalid, "satisfaction: 满意度无效")
		}
		c.Satisfaction, c.Solved, c.RatedAt = r.Satisfaction, r.Solved, &now
		data := map[string]any{"satisfaction": r.Satisfaction, "solved": r.Solved, "by": actor.Role}
		fail := r.Satisfaction == Dissatisfied || (r.Solved != nil && !*r.Solved)
		if !fail {
			c.State, c.ClosedAt = Archived, &now
			if err := s.closeChildren(ctx, c, now); err != nil {
				return nil, err
			}
			return []step{{action: ActCallback, to: Archived, reason: r.Comment, public: true, data: data}}, nil
		}
		steps := []step{{action: ActCallback, to: PendingCallback, reason: r.Comment, public: true, data: data}}
		plan := r.Redo
		if plan == nil && s.redoPlan != nil {
			var err error
			if plan, err = s.redoPlan(ctx, c); err != nil {
				return nil, err
			}
		}
		redo, err := s.redo(ctx, c, actor, plan, now)
		if err != nil {
			return nil, err
		}
		redo.reason = "回访不满意或未解决，重办：" + r.Comment
		return append(steps, redo), nil
	})
}

// Redo reopens a case awaiting callback to the given units (重办).
func (s *Store) Redo(ctx context.Context, actor auth.Actor, id uuid.UUID, p *DispatchPlan, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActRedo, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		st, err := s.redo(ctx, c, actor, p, now)
		st.reason = reason
		return []step{st}, err
	})
}

func (s *Store) redo(ctx context.Context, c *Case, actor auth.Actor, p *DispatchPlan, now time.Time) (step, error) {
	plan := DispatchPlan{}
	if p != nil {
		plan = *p
	} else {
		for _, a := range c.Assignments {
			if a.Round != c.DispatchRound || a.State == AReturned {
				continue
			}
			if a.Role == Lead {
				plan.Lead = a.UnitID
			} else {
				plan.Co = append(plan.Co, a.UnitID)
			}
		}
	}
	if err := s.checkUnits(ctx, ActRedo, c, actor, &plan); err != nil {
		return step{}, err
	}
	c.RedoCount++
	c.Satisfaction, c.ClosedAt = "", nil
	if err := s.dispatchRound(ctx, c, plan, now); err != nil {
		return step{}, err
	}
	d := dispatchData(c, plan)
	d["redo"] = c.RedoCount
	return step{action: ActRedo, to: PendingSign, public: true, data: d}, nil
}

// Urge is a supervisor's 督办, with an optional date by which the unit
// must respond.
func (s *Store) Urge(ctx context.Context, actor auth.Actor, id uuid.UUID, due *time.Time, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActUrge, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		c.UrgeCount++
		data := map[string]any{"urge": c.UrgeCount}
		if due != nil {
			if !due.After(now) {
				return nil, refuse(ActUrge, c, actor, ErrInvalid, "until: 督办回复期限必须晚于现在")
			}
			data["respond_by"] = *due
			c.UrgeDue = due
		}
		return []step{{action: ActUrge, reason: reason, public: false, data: data}}, nil
	})
}

// Note adds a supplementary note (a citizen's addition, a unit's or the
// centre's remark) without changing the state.
func (s *Store) Note(ctx context.Context, actor auth.Actor, id uuid.UUID, text string, public bool, data map[string]any) (*Case, error) {
	return s.transition(ctx, id, actor, ActNote, text, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		if strings.TrimSpace(text) == "" && len(data) == 0 {
			return nil, refuse(ActNote, c, actor, ErrNeedsReason, "")
		}
		return []step{{action: ActNote, reason: text, public: public, data: data}}, nil
	})
}

// Merge makes case id a child of parent (并单): the child follows the
// parent's state, and its citizen is told the outcome.
func (s *Store) Merge(ctx context.Context, actor auth.Actor, id, parent uuid.UUID, reason string) (*Case, error) {
	var out *Case
	err := s.InTx(ctx, func(ctx context.Context) error {
		if id == parent {
			return &TransitionError{Action: ActMerge, Role: actor.Role, Err: ErrInvalid, Detail: "parent: 不能与自身并单"}
		}
		// Lock both rows in a fixed order.
		first, second := id, parent
		if parent.String() < id.String() {
			first, second = parent, id
		}
		if _, err := s.q(ctx).Exec(ctx, `SELECT 1 FROM cases WHERE id IN ($1, $2) ORDER BY id FOR UPDATE`, first, second); err != nil {
			return err
		}
		p, err := s.Get(ctx, parent)
		if err != nil {
			return &TransitionError{Action: ActMerge, Role: actor.Role, Err: ErrNotFound, Detail: "parent: 主件不存在"}
		}
		if !p.State.Open() || p.ParentID != nil {
			return &TransitionError{Action: ActMerge, State: p.State, Role: actor.Role, Err: ErrWrongState, Detail: "parent: 主件已办结或本身已并入其他工单"}
		}
		out, err = s.transition(ctx, id, actor, ActMerge, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
			var n int
			if err := s.q(ctx).QueryRow(ctx, `SELECT count(*) FROM cases WHERE parent_id = $1`, c.ID).Scan(&n); err != nil {
				return nil, err
			}
			if n > 0 {
				return nil, refuse(ActMerge, c, actor, ErrWrongState, "已有子件的工单不能并入其他工单")
			}
			for i := range c.Assignments {
				a := &c.Assignments[i]
				if a.State.Live() {
					a.State = AClosed
					if err := s.saveAssignment(ctx, a); err != nil {
						return nil, err
					}
				}
			}
			c.ParentID, c.State = &parent, Merged
			c.SignDue, c.DueAt = nil, nil
			return []step{{action: ActMerge, to: Merged, reason: reason, public: true,
				data: map[string]any{"parent": parent, "parent_tracking_no": p.TrackingNo}}}, nil
		})
		if err != nil {
			return err
		}
		_, err = s.appendEvent(ctx, p, actor, ActNote, p.State, p.State, "并入重复件 "+out.TrackingNo, false,
			map[string]any{"merged_child": id, "child_tracking_no": out.TrackingNo})
		return err
	})
	return out, err
}

// closeChildren closes the merged children of a parent that has just
// closed, with the parent's reply.
func (s *Store) closeChildren(ctx context.Context, parent *Case, now time.Time) error {
	rows, err := s.q(ctx).Query(ctx, `SELECT id FROM cases WHERE parent_id = $1 AND state = 'merged' ORDER BY id FOR UPDATE`, parent.ID)
	if err != nil {
		return err
	}
	ids, err := pgxCollectUUIDs(rows)
	if err != nil {
		return err
	}
	for _, id := range ids {
		child, err := s.Get(ctx, id)
		if err != nil {
			return err
		}
		actor := auth.SystemActor("并单跟随")
		if err := Check(ActFollowParent, child, actor, "", now); err != nil {
			return err
		}
		child.State, child.Reply, child.ClosedAt = Archived, parent.Reply, &now
		if _, err := s.appendEvent(ctx, child, actor, ActFollowParent, Merged, Archived, parent.Reply, true,
			map[string]any{"parent": parent.ID, "parent_tracking_no": parent.TrackingNo, "parent_state": parent.State}); err != nil {
			return err
		}
	}
	return nil
}

func pgxCollectUUIDs(rows pgx.Rows) ([]uuid.UUID, error) {
	return pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
}
