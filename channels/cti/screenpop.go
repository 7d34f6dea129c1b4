package cti

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/httpx"
)

// HistoryItem is one of the caller's earlier cases on a screen-pop. A 举报
// shows its tracking number and state only: the agent may know of it, but
// its subject stays in the case.
type HistoryItem struct {
	TrackingNo string      `json:"tracking_no"`
	Title      string      `json:"title,omitempty"`
	State      cases.State `json:"state"`
	StateLabel string      `json:"state_label"`
	Date       string      `json:"date,omitempty"` // registered on, YYYY-MM-DD, Beijing time
}

// ScreenPop is what the answering agent's console shows when a call is
// picked up: who calls and their cases of the last 90 days, newest first.
type ScreenPop struct {
	ID           int64         `json:"id"`
	Installation uuid.UUID     `json:"installation"`
	CallID       string        `json:"call_id"`
	Agent        string        `json:"agent"`
	Caller       string        `json:"caller"`
	History      []HistoryItem `json:"history"`
	CreatedAt    time.Time     `json:"created_at"`
}

var beijing = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// history returns the cases registered for a number in the last
// HistoryWindow, newest first, at most MaxHistory.
func (h *Handler) history(ctx context.Context, tx pgx.Tx, phone string) ([]HistoryItem, error) {
	items := []HistoryItem{}
	keys := numberKeys(phone)
	if len(keys) == 0 {
		return items, nil
	}
	// citizen_phone <> '' lets the planner use the partial index cases_phone.
	rows, err := tx.Query(ctx, `SELECT tracking_no, title, state, created_at, kind = '举报' OR confidential FROM cases
		WHERE citizen_phone <> '' AND citizen_phone = ANY($1) AND created_at >= $2
		ORDER BY created_at DESC LIMIT $3`, keys, h.cs.Now().Add(-HistoryWindow), MaxHistory)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var it HistoryItem
		var state string
		var at time.Time
		var report bool
		if err := rows.Scan(&it.TrackingNo, &it.Title, &state, &at, &report); err != nil {
			return nil, err
		}
		it.State = cases.State(state)
		it.StateLabel = it.State.Label()
		if !report {
			it.Date = at.In(beijing).Format(time.DateOnly)
		} else {
			it.Title = ""
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// storePop stores the screen-pop of a call for an agent, once: nil when
// there was one already.
func (h *Handler) storePop(ctx context.Context, tx pgx.Tx, inst uuid.UUID, callID, agent, caller string) (*ScreenPop, error) {
	hist, err := h.history(ctx, tx, caller)
	if err != nil {
		return nil, err
	}
	histJSON, err := json.Marshal(hist)
	if err != nil {
		return nil, err
	}
	// One agent's pops commit in the order of their ids, so a console that
	// asks for those after the last id it saw never skips one.
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('cti_screenpops:' || $1, 0))`, agent); err != nil {
		return nil, err
	}
	p := ScreenPop{Installation: inst, CallID: callID, Agent: agent, Caller: caller, History: hist}
	err = tx.QueryRow(ctx, `INSERT INTO cti_screenpops (installation, call_id, agent, caller, history) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (installation, call_id, agent) DO NOTHING RETURNING id, created_at`, inst, callID, agent, caller, histJSON).
		Scan(&p.ID, &p.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// MaxPops is how many screen-pops one ScreenPops call returns.
const MaxPops = 100

// ScreenPops returns an agent's screen-pops with an id above afterID,
// oldest first, at most MaxPops.
func (h *Handler) ScreenPops(ctx context.Context, agentUsername string, afterID int64) ([]ScreenPop, error) {
	rows, err := h.db.Query(ctx, `SELECT id, installation, call_id, agent, caller, history, created_at FROM cti_screenpops
		WHERE agent = $1 AND id > $2 ORDER BY id LIMIT $3`, agentUsername, afterID, MaxPops)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (ScreenPop, error) {
		var p ScreenPop
		var hist []byte
		if err := r.Scan(&p.ID, &p.Installation, &p.CallID, &p.Agent, &p.Caller, &hist, &p.CreatedAt); err != nil {
			return p, err
		}
		return p, json.Unmarshal(hist, &p.History)
	})
}

func (h *Handler) handleScreenPops(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var after int64
	if s := r.URL.Query().Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			httpx.Error(w, http.StatusBadRequest, fieldError("after", "numeric", ""))
			return
		}
		after = n
	}
	pops, err := h.ScreenPops(r.Context(), actor.Username, after)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"screenpops": pops})
}
