package cti

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
	"yici/channels"
	"yici/internal/httpx"
)

// The states of a call, in the only order they are taken.
const (
	StateRinging  = "ringing"
	StateAnswered = "answered"
	StateEnded    = "ended"
)

// CauseBlocked is the hangup cause logged for a caller refused at newCall.
const CauseBlocked = "blocked"

// number is how a phone number is kept: the standard form of a mainland
// number, else what was sent, cleaned ("anonymous", international).
func number(raw string) string {
	if p, ok := channels.NormalizePhone(raw); ok {
		return p
	}
	return channels.CleanLine(raw)
}

// numberKeys are the forms a number may be stored under elsewhere: the
// standard form (intake normalizes what citizens submit), the ways agents
// type it (POST /api/v1/cases keeps citizen_phone as typed: 138 1234 5678,
// 138-1234-5678, +8613812345678, 057188001234, (0571)88001234), the text as
// given and its digits. An exact match on each keeps the lookup on the
// index cases_phone. None for what is no number ("anonymous").
func numberKeys(raw string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	if p, ok := channels.NormalizePhone(raw); ok {
		add(p)
		if area, local, landline := strings.Cut(p, "-"); landline {
			for _, v := range []string{area + local, area + " " + local, "(" + area + ")" + local, "（" + area + "）" + local} {
				add(v)
			}
		} else {
			for _, sep := range []string{" ", "-"} {
				add(p[:3] + sep + p[3:7] + sep + p[7:])
			}
			add("+86" + p)
			add("+86 " + p)
		}
	}
	clean := channels.CleanLine(raw)
	if d, ok := digits(clean); ok {
		add(clean)
		add(d)
	}
	return out
}

// digits strips spaces, dashes and brackets from a number; ok is false when
// anything but digits (and one leading +) is left, or too few or too many.
func digits(s string) (string, bool) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '(' || r == ')':
		default:
			return "", false
		}
	}
	d := b.String()
	n := len(strings.TrimPrefix(d, "+"))
	return d, n >= 3 && n <= 20
}

func direction(e Event) string {
	if e.Inbound() {
		return "inbound"
	}
	return "outbound"
}

// callRow is what an event needs of the logged call.
type callRow struct {
	state, caller, callee, direction, agent, cause string
}

// citizen is the citizen's number of the call.
func (c callRow) citizen() string {
	if c.direction == "outbound" {
		return c.callee
	}
	return c.caller
}

// ensure logs the call when it is new (with the given state) and fills in
// what the log does not know yet; it returns the row, locked.
func ensure(ctx context.Context, tx pgx.Tx, inst uuid.UUID, e Event, state, cause string) (callRow, error) {
	users := e.Users
	if users == nil || e.Cmd != CmdNewCall {
		users = []string{}
	}
	var c callRow
	err := tx.QueryRow(ctx, `INSERT INTO cti_calls AS k (installation, call_id, caller, callee, direction, queue, ring_users, state, hangup_cause, ended_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $8 = 'ended' THEN now() END)
		ON CONFLICT (installation, call_id) DO UPDATE SET
			caller = CASE WHEN k.caller = '' THEN EXCLUDED.caller ELSE k.caller END,
			callee = CASE WHEN k.callee = '' THEN EXCLUDED.callee ELSE k.callee END,
			queue = CASE WHEN k.queue = '' THEN EXCLUDED.queue ELSE k.queue END,
			ring_users = CASE WHEN k.ring_users = '{}' THEN EXCLUDED.ring_users ELSE k.ring_users END
		RETURNING state, caller, callee, direction, agent, hangup_cause`,
		inst, e.CallID, number(e.From), number(e.To), direction(e), e.Queue, users, state, cause).
		Scan(&c.state, &c.caller, &c.callee, &c.direction, &c.agent, &c.cause)
	return c, err
}

// link records the case an agent registered during the call (channel
// phone, channel_ref = callId), once there is one.
func link(ctx context.Context, tx pgx.Tx, inst uuid.UUID, callID string) error {
	_, err := tx.Exec(ctx, `UPDATE cti_calls k SET case_id = c.id, county_code = c.county_code
		FROM cases c WHERE k.installation = $1 AND k.call_id = $2 AND k.case_id IS NULL
		AND c.channel = $3 AND c.channel_ref = k.call_id`, inst, callID, string(cases.ChannelPhone))
	return err
}

// blocked reports whether a number is on the block list.
func blocked(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, raw string) (bool, error) {
	keys := numberKeys(raw)
	if len(keys) == 0 {
		return false, nil
	}
	var b bool
	err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cti_blocklist WHERE phone = ANY($1))`, keys).Scan(&b)
	return b, err
}

// newCall logs a ringing call; an inbound caller on the block list is
// refused (and the call logged as ended, cause blocked). A retry is
// answered from the log, so it gets the first answer.
func (h *Handler) newCall(w http.ResponseWriter, r *http.Request, key channels.Key, e Event) error {
	ctx := r.Context()
	var reject bool
	err := pgx.BeginFunc(ctx, h.db, func(tx pgx.Tx) error {
		state, cause := StateRinging, ""
		if e.Inbound() {
			b, err := blocked(ctx, tx, e.From)
			if err != nil {
				return err
			}
			if b {
				state, cause = StateEnded, CauseBlocked
			}
		}
		c, err := ensure(ctx, tx, key.ID, e, state, cause)
		reject = err == nil && c.cause == CauseBlocked
		return err
	})
	if err != nil {
		return err
	}
	if reject {
		httpx.JSON(w, http.StatusOK, map[string]string{"action": "reject", "reason": "busy"})
		return nil
	}
	httpx.JSON(w, http.StatusOK, map[string]string{"action": "accept"})
	return nil
}

// resolveAgent returns the username of the first candidate that is an
// active member of the hotline centre ("" when none is).
func resolveAgent(ctx context.Context, tx pgx.Tx, candidates []string) (string, error) {
	if len(candidates) == 0 {
		return "", nil
	}
	rows, err := tx.Query(ctx, `SELECT username FROM users WHERE username = ANY($1) AND active AND role IN ('agent','dispatcher','supervisor')`, candidates)
	if err != nil {
		return "", err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", err
	}
	for _, c := range candidates {
		for _, f := range found {
			if c == f {
				return c, nil
			}
		}
	}
	return "", nil
}

// answer moves a ringing call to answered and stores a screen-pop for the
// agent who picked up, when that is a member of the hotline centre.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, key channels.Key, e Event) error {
	ctx := r.Context()
	var pop *ScreenPop
	var state string
	err := pgx.BeginFunc(ctx, h.db, func(tx pgx.Tx) error {
		pop = nil
		c, err := ensure(ctx, tx, key.ID, e, StateRinging, "")
		if err != nil {
			return err
		}
		state = c.state
		cand := e.AgentCandidates()
		agent, err := resolveAgent(ctx, tx, cand)
		if err != nil {
			return err
		}
		logged := agent
		if logged == "" && len(cand) > 0 {
			logged = cand[0]
		}
		switch {
		case c.state == StateRinging:
			if _, err := tx.Exec(ctx, `UPDATE cti_calls SET state = 'answered', agent = $3, answered_at = now()
				WHERE installation = $1 AND call_id = $2`, key.ID, e.CallID, logged); err != nil {
				return err
			}
			state = StateAnswered
			if agent != "" {
				if pop, err = h.storePop(ctx, tx, key.ID, e.CallID, agent, c.citizen()); err != nil {
					return err
				}
			}
		case c.state == StateEnded && c.agent == "":
			// The answer arrived after the hangup: note who it was, no pop.
			if _, err := tx.Exec(ctx, `UPDATE cti_calls SET agent = $3, answered_at = coalesce(answered_at, ended_at)
				WHERE installation = $1 AND call_id = $2`, key.ID, e.CallID, logged); err != nil {
				return err
			}
		}
		return link(ctx, tx, key.ID, e.CallID)
	})
	if err != nil {
		return err
	}
	if pop != nil && h.opts.OnScreenPop != nil {
		h.opts.OnScreenPop(ctx, *pop)
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"status": "ok", "state": state})
	return nil
}

// hangup ends a call with its cause (the first hangup's cause stays).
func (h *Handler) hangup(w http.ResponseWriter, r *http.Request, key channels.Key, e Event) error {
	ctx := r.Context()
	err := pgx.BeginFunc(ctx, h.db, func(tx pgx.Tx) error {
		c, err := ensure(ctx, tx, key.ID, e, StateRinging, "")
		if err != nil {
			return err
		}
		if c.state != StateEnded {
			agent := ""
			if cand := e.AgentCandidates(); len(cand) > 0 {
				if agent, err = resolveAgent(ctx, tx, cand); err != nil {
					return err
				}
				if agent == "" {
					agent = cand[0]
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE cti_calls SET state = 'ended', hangup_cause = $3, duration = $4, ended_at = now(),
				agent = CASE WHEN agent = '' THEN $5 ELSE agent END
				WHERE installation = $1 AND call_id = $2`, key.ID, e.CallID, e.Cause, e.Duration, agent); err != nil {
				return err
			}
		}
		return link(ctx, tx, key.ID, e.CallID)
	})
	if err != nil {
		return err
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"status": "ok", "state": StateEnded})
	return nil
}

// CaseRef is a case as the call log shows it.
type CaseRef struct {
	ID         uuid.UUID   `json:"id"`
	TrackingNo string      `json:"tracking_no"`
	Title      string      `json:"title"`
	State      cases.State `json:"state"`
	StateLabel string      `json:"state_label"`
	Source     string      `json:"source,omitempty"` // drafts: transcript or voicemail
}

func refOf(c *cases.Case) CaseRef {
	return CaseRef{ID: c.ID, TrackingNo: c.TrackingNo, Title: c.Title, State: c.State, StateLabel: c.State.Label()}
}

// Call is one call of the log.
type Call struct {
	Installation     uuid.UUID  `json:"installation"`
	InstallationName string     `json:"installation_name"`
	CallID           string     `json:"call_id"`
	Caller           string     `json:"caller"`
	Callee           string     `json:"callee"`
	Direction        string     `json:"direction"`
	Queue            string     `json:"queue"`
	RingUsers        []string   `json:"ring_users"`
	Agent            string     `json:"agent"`
	State            string     `json:"state"`
	HangupCause      string     `json:"hangup_cause,omitempty"`
	Duration         *int       `json:"duration,omitempty"`
	StartedAt        time.Time  `json:"started_at"`
	AnsweredAt       *time.Time `json:"answered_at,omitempty"`
	EndedAt          *time.Time `json:"ended_at,omitempty"`
	// Case is the case an agent registered during the call.
	Case *CaseRef `json:"case,omitempty"`
	// Drafts are the cases made of the call's transcript or voicemail.
	Drafts []CaseRef `json:"drafts"`
}

// ErrNoCall is a callId not in the log.
var ErrNoCall = errors.New("cti: no such call")

// Call returns a call of the log (callIds are unique across
// installations), linking the case registered during it if that was not
// done yet.
func (h *Handler) Call(ctx context.Context, callID string) (*Call, error) {
	var c Call
	var caseID *uuid.UUID
	err := pgx.BeginFunc(ctx, h.db, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `SELECT installation FROM cti_calls WHERE call_id = $1`, callID).Scan(&c.Installation)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoCall
		}
		if err != nil {
			return err
		}
		if err := link(ctx, tx, c.Installation, callID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `SELECT coalesce(a.name, ''), k.call_id, k.caller, k.callee, k.direction, k.queue, k.ring_users,
			k.agent, k.state, k.hangup_cause, k.duration, k.started_at, k.answered_at, k.ended_at, k.case_id
			FROM cti_calls k LEFT JOIN api_keys a ON a.id = k.installation WHERE k.installation = $1 AND k.call_id = $2`, c.Installation, callID).
			Scan(&c.InstallationName, &c.CallID, &c.Caller, &c.Callee, &c.Direction, &c.Queue, &c.RingUsers, &c.Agent, &c.State,
				&c.HangupCause, &c.Duration, &c.StartedAt, &c.AnsweredAt, &c.EndedAt, &caseID)
	})
	if err != nil {
		return nil, err
	}
	if caseID != nil {
		k, err := h.cs.Get(ctx, *caseID)
		if err != nil {
			return nil, err
		}
		ref := refOf(k)
		c.Case = &ref
	}
	c.Drafts = []CaseRef{}
	for _, src := range []string{CmdTranscript, CmdVoicemail} {
		k, err := h.cs.GetByChannelRef(ctx, cases.ChannelPhone, draftRef(c.Installation, callID, src))
		if errors.Is(err, cases.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ref := refOf(k)
		ref.Source = src
		c.Drafts = append(c.Drafts, ref)
	}
	return &c, nil
}

func (h *Handler) handleCall(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("callId")
	if !ValidCallID(id) {
		h.noCall(w)
		return
	}
	c, err := h.Call(r.Context(), id)
	if errors.Is(err, ErrNoCall) {
		h.noCall(w)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, c)
}

func (h *Handler) noCall(w http.ResponseWriter) {
	httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "callId", Rule: "exists", MessageZH: "通话记录不存在", MessageEN: "no such call"})
}
