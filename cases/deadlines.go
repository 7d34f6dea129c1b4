package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/internal/auth"
	"yici/internal/workcal"
)

// Deadlines that act. Every step that moves a deadline rewrites the case's
// timers in its own transaction (timersSQL), so a timer is never lost and
// an extension or a suspension moves it. Any node fires due timers (the
// Scheduler): it locks the case (SKIP LOCKED: another node has it), marks
// the timer fired and writes the step, in one transaction, so a timer
// fires once even when a process dies in the middle.

// Timer kinds.
const (
	TimerSignWarn        = "sign_warn"        // 80% of the sign-for time
	TimerSignDue         = "sign_due"         // sign-for overdue: 催办
	TimerSignEscalate    = "sign_escalate"    // sign-for overdue beyond the grace: up to the county
	TimerResolveWarn     = "resolve_warn"     // 80% of the resolution time
	TimerResolveDue      = "resolve_due"      // resolution overdue: 催办
	TimerResolveEscalate = "resolve_escalate" // resolution overdue beyond the grace: up to the county
	TimerCallbackDue     = "callback_due"     // the callback is due by the next working day
	TimerUrgeDue         = "urge_due"         // a 督办 unanswered by its date: escalate
)

// MaxCallbackTries unanswered calls within the callback time close the
// case as 未联系上.
const MaxCallbackTries = 3

type timer struct {
	kind string
	at   time.Time
}

// at80 is the point where 80% of the time between start and due is used,
// in the unit's time.
func (s *Store) at80(start, due time.Time, u workcal.Unit) time.Time {
	if u == workcal.Hours {
		return start.Add(due.Sub(start) * 8 / 10)
	}
	return s.cal.AddWorkingHours(start, s.cal.WorkingBetween(start, due)*8/10)
}

func townshipUnit(unit string) bool {
	code, _, _ := strings.Cut(unit, "-")
	return len(code) == 9
}

// wantedTimers are the timers a case should have now.
func (s *Store) wantedTimers(c *Case) []timer {
	var out []timer
	switch c.State {
	case PendingSign, InProgress, ReturnRequested:
	case PendingCallback:
		if c.RatedAt == nil || c.Satisfaction == "" {
			out = append(out, timer{TimerCallbackDue, s.cal.AddWorkingDays(c.UpdatedAt, 1)})
		}
		return out
	default:
		return nil // registered, queued, in review, suspended, closed: no clock runs
	}
	if c.DispatchedAt == nil {
		return nil
	}
	if c.UrgeDue != nil {
		out = append(out, timer{TimerUrgeDue, *c.UrgeDue})
	}
	start := *c.DispatchedAt
	lead := c.LeadAssignment()
	township := lead != nil && townshipUnit(lead.UnitID)
	if c.State == PendingSign && c.SignDue != nil {
		due := *c.SignDue
		out = append(out, timer{TimerSignWarn, s.at80(start, due, c.Policy.Sign.Unit)}, timer{TimerSignDue, due})
		if township && c.Policy.SignGrace.N > 0 {
			out = append(out, timer{TimerSignEscalate, s.cal.Deadline(due, c.Policy.SignGrace)})
		}
	}
	if c.DueAt != nil {
		due := *c.DueAt
		out = append(out, timer{TimerResolveWarn, s.at80(start, due, c.Policy.Resolve.Unit)}, timer{TimerResolveDue, due})
		if township && c.Policy.ResolveGrace.N > 0 {
			out = append(out, timer{TimerResolveEscalate, s.cal.Deadline(due, c.Policy.ResolveGrace)})
		}
	}
	return out
}

// timersSQL is the statement that makes c's timers what its state wants,
// sent with every transition: new ones added, moved ones reset to fire
// again at their new time, ones no longer wanted removed, unchanged fired
// ones left fired.
func (s *Store) timersSQL(c *Case) (string, []any) {
	want := s.wantedTimers(c)
	kinds := make([]string, len(want))
	ats := make([]time.Time, len(want))
	for i, t := range want {
		kinds[i], ats[i] = t.kind, t.at
	}
	return `WITH want(kind, fire_at) AS (SELECT * FROM unnest($2::text[], $3::timestamptz[])),
		gone AS (DELETE FROM case_timers t WHERE t.case_id = $1 AND NOT EXISTS (SELECT 1 FROM want w WHERE w.kind = t.kind))
		INSERT INTO case_timers (case_id, county_code, kind, fire_at) SELECT $1, $4, kind, fire_at FROM want
		ON CONFLICT (case_id, kind) DO UPDATE SET county_code = excluded.county_code,
			-- the callback is due a working day after the case reached the callback queue: it does not move
			fire_at = CASE WHEN case_timers.kind = 'callback_due' THEN case_timers.fire_at ELSE excluded.fire_at END,
			fired_at = CASE WHEN case_timers.kind = 'callback_due' OR case_timers.fire_at = excluded.fire_at THEN case_timers.fired_at END`,
		[]any{c.ID, kinds, ats, c.CountyCode}
}

// Scheduler fires due timers. Every node may run one.
type Scheduler struct {
	Store *Store
	// Escalate moves a case up to the county unit of the same line (the
	// router); nil leaves escalation timers as overdue reminders.
	Escalate func(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) error
	Log      *slog.Logger
	// Batch is how many due timers one pass looks at.
	Batch int
}

// Fired is one timer fired by a pass.
type Fired struct {
	CaseID uuid.UUID
	Kind   string
	At     time.Time
}

var deadlineLabel = map[string]string{
	TimerSignWarn: "签收", TimerSignDue: "签收", TimerSignEscalate: "签收",
	TimerResolveWarn: "办结", TimerResolveDue: "办结", TimerResolveEscalate: "办结", TimerCallbackDue: "回访", TimerUrgeDue: "督办回复",
}

// Tick fires every timer due by the store's clock, and returns them.
func (sc *Scheduler) Tick(ctx context.Context) ([]Fired, error) {
	batch := sc.Batch
	if batch <= 0 {
		batch = 200
	}
	var out []Fired
	for {
		now := sc.Store.clock.Now()
		rows, err := sc.Store.db.Query(ctx, `SELECT case_id, kind FROM case_timers WHERE fired_at IS NULL AND fire_at <= $1
			ORDER BY fire_at LIMIT $2`, now, batch)
		if err != nil {
			return out, err
		}
		type due struct {
			id   uuid.UUID
			kind string
		}
		dues, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			return d, r.Scan(&d.id, &d.kind)
		})
		if err != nil {
			return out, err
		}
		n := 0
		for _, d := range dues {
			ok, err := sc.fire(ctx, d.id, d.kind, now)
			if err != nil {
				if ctx.Err() != nil {
					return out, ctx.Err()
				}
				sc.log().Error("deadline timer", "case", d.id, "kind", d.kind, "err", err)
				continue
			}
			if ok {
				n++
				out = append(out, Fired{CaseID: d.id, Kind: d.kind, At: now})
			}
		}
		if len(dues) < batch || n == 0 {
			return out, nil
		}
	}
}

func (sc *Scheduler) log() *slog.Logger {
	if sc.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return sc.Log
}

// fire fires one timer, once: the case row is locked (skipped when another
// node holds it), the timer is re-read under the lock, marked fired, and
// its step written, all in one transaction.
func (sc *Scheduler) fire(ctx context.Context, id uuid.UUID, kind string, now time.Time) (bool, error) {
	s := sc.Store
	fired := false
	err := s.InTx(ctx, func(ctx context.Context) error {
		var got uuid.UUID
		err := s.q(ctx).QueryRow(ctx, `SELECT id FROM cases WHERE id = $1 FOR UPDATE SKIP LOCKED`, id).Scan(&got)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // another node is on it
		}
		if err != nil {
			return err
		}
		var at time.Time
		err = s.q(ctx).QueryRow(ctx, `UPDATE case_timers SET fired_at = $3 WHERE case_id = $1 AND kind = $2 AND fired_at IS NULL AND fire_at <= $3
			RETURNING fire_at`, id, kind, now).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // fired already, or moved
		}
		if err != nil {
			return err
		}
		fired = true
		system := auth.SystemActor("时限监控")
		what := deadlineLabel[kind]
		switch kind {
		case TimerSignWarn, TimerResolveWarn, TimerCallbackDue:
			_, err = s.deadlineStep(ctx, system, id, ActDeadlineWarning, kind, at, what+"时限将到（已用 80%）")
		case TimerSignDue, TimerResolveDue:
			_, err = s.deadlineStep(ctx, system, id, ActDeadlineOverdue, kind, at, what+"已超期，自动催办")
		case TimerSignEscalate, TimerResolveEscalate, TimerUrgeDue:
			reason := fmt.Sprintf("%s超期超过宽限时间，升级至县级同条线单位办理", what)
			if kind == TimerUrgeDue {
				reason = "督办逾期未回复，升级至县级同条线单位办理"
			}
			if sc.Escalate == nil {
				_, err = s.deadlineStep(ctx, system, id, ActDeadlineOverdue, kind, at, reason)
			} else if err = sc.Escalate(ctx, system, id, reason); err != nil {
				var te *TransitionError
				if errors.As(err, &te) {
					// Not escalatable (already county level): remind instead.
					sc.log().Info("deadline: escalation refused", "case", id, "err", err)
					_, err = s.deadlineStep(ctx, system, id, ActDeadlineOverdue, kind, at, what+"已超期，请督办")
				}
			}
		default:
			err = fmt.Errorf("unknown timer kind %q", kind)
		}
		return err
	})
	if err != nil {
		return false, err
	}
	return fired, nil
}

func (s *Store) deadlineStep(ctx context.Context, actor auth.Actor, id uuid.UUID, act Action, kind string, at time.Time, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, act, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		data := map[string]any{"timer": kind, "due": at}
		if l := c.LeadAssignment(); l != nil {
			data["unit"] = l.UnitID
		}
		return []step{{action: act, reason: reason, public: false, data: data}}, nil
	})
}

// Run fires timers every interval until ctx ends.
func (sc *Scheduler) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := sc.Tick(ctx); err != nil && ctx.Err() == nil {
			sc.log().Warn("deadline scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// CallbackAttempt records a callback call nobody answered; the third
// closes the case as 未联系上 (unreachable).
func (s *Store) CallbackAttempt(ctx context.Context, actor auth.Actor, id uuid.UUID, note string) (*Case, error) {
	return s.transition(ctx, id, actor, ActCallbackAttempt, note, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		c.CallbackTries++
		data := map[string]any{"try": c.CallbackTries}
		if c.CallbackTries < MaxCallbackTries {
			return []step{{action: ActCallbackAttempt, reason: note, public: false, data: data}}, nil
		}
		c.Satisfaction, c.RatedAt, c.ClosedAt, c.State = Unreachable, &now, &now, Archived
		data["satisfaction"] = Unreachable
		if err := s.closeChildren(ctx, c, now); err != nil {
			return nil, err
		}
		return []step{{action: ActCallbackAttempt, to: Archived, reason: fmt.Sprintf("回访 %d 次未接通，按未联系上办结", c.CallbackTries), public: true, data: data}}, nil
	})
}

// ReapplyPolicy gives a running case the active deadline policy (the
// admin's choice; cases otherwise keep the policy they started with). The
// deadlines are recomputed from the dispatch; an approved extension is
// kept when it is later.
func (s *Store) ReapplyPolicy(ctx context.Context, actor auth.Actor, id uuid.UUID, reason string) (*Case, error) {
	return s.transition(ctx, id, actor, ActReapplyPolicy, reason, func(ctx context.Context, c *Case, now time.Time) ([]step, error) {
		old := c.Policy
		c.Policy = s.policies().Resolve(c.Kind, s.classOf(c.Category), c.Urgency, c.CountyCode)
		if c.DispatchedAt != nil {
			start := *c.DispatchedAt
			if c.State == PendingSign {
				c.SignDue = ptr(s.cal.Deadline(start, c.Policy.Sign))
			}
			due := s.cal.Deadline(start, c.Policy.Resolve)
			if c.ExtCount == 0 || c.DueAt == nil || due.After(*c.DueAt) {
				c.DueAt = &due
			}
			c.ReturnUntil = ptr(s.cal.Deadline(start, c.Policy.Return))
		}
		return []step{{action: ActReapplyPolicy, reason: reason, public: false,
			data: map[string]any{"old_version": old.Version, "new_version": c.Policy.Version, "due_at": c.DueAt, "sign_due": c.SignDue}}}, nil
	})
}
