// Package console is what people look at: the live event stream over
// websockets, the hotline agents' console, the officers' workbench and the
// public tracking page.
//
// # The stream
//
// The event table is the truth (an outbox): every state change wrote its
// case_events row in its own transaction. Each node tails that table (and
// the CTI screen-pops) and fans rows out to its connected browsers.
//
// Tailing by a bigserial id alone loses rows: transaction A takes id 100,
// B takes 101 and commits first, a reader sees 101, moves on, and 100
// appears later behind it. So every row also records the id of the
// transaction that wrote it (tx xid8), and rows are read in (tx, id) order
// only below the snapshot's xmin: every transaction with a smaller id has
// ended, so nothing can appear behind the reader any more. A row's
// position is tx·2¹⁶ + its rank within the transaction: a strictly
// increasing number, the same on every node, that a browser sends back to
// resume without a gap or a duplicate.
package console

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Item is one row of the stream.
type Item struct {
	Pos  int64
	Type string // "event" or "screenpop"

	Event *Event     // Type "event"
	Pop   *ScreenPop // Type "screenpop"
	Alert *Alert     // Type "alert"

	// Who may see it (not sent).
	units []string // units assigned to the case at or before the event
	agent string   // the screen-pop's agent

	wire []byte // the message as sent, encoded once for every connection
}

// Event is a case event as the stream shows it: no internal text, no
// citizen identity.
type Event struct {
	Pos        int64      `json:"pos"`
	CaseID     uuid.UUID  `json:"case_id"`
	TrackingNo string     `json:"tracking_no"`
	Title      string     `json:"title"`
	Kind       string     `json:"kind"`
	Category   string     `json:"category"`
	Urgency    string     `json:"urgency"`
	Township   string     `json:"township_code,omitempty"`
	Action     string     `json:"action"`
	Label      string     `json:"label"`
	From       string     `json:"from"`
	To         string     `json:"to"`
	StateLabel string     `json:"state_label"`
	Unit       string     `json:"unit,omitempty"`      // the acting unit
	UnitName   string     `json:"unit_name,omitempty"` // its name
	Lead       string     `json:"lead,omitempty"`      // the lead unit after a dispatch
	Text       string     `json:"text,omitempty"`      // public text only
	Public     bool       `json:"public"`
	At         time.Time  `json:"at"`
	DueAt      *time.Time `json:"due_at,omitempty"`
}

// ScreenPop is an incoming call for one agent, with the caller's history.
type ScreenPop struct {
	Pos     int64           `json:"pos"`
	ID      int64           `json:"id"`
	CallID  string          `json:"call_id"`
	Caller  string          `json:"caller"`
	History json.RawMessage `json:"history"`
	At      time.Time       `json:"at"`
}

// Alert is a warning for supervisors and dispatchers (a hot spot: many
// similar cases in one township in a day).
type Alert struct {
	Pos          int64       `json:"pos"`
	ID           int64       `json:"id"`
	Kind         string      `json:"kind"`
	TownshipCode string      `json:"township_code"`
	CountyCode   string      `json:"county_code"`
	Category     string      `json:"category"`
	Count        int         `json:"count"`
	CaseIDs      []uuid.UUID `json:"case_ids"`
	Title        string      `json:"title"`
	At           time.Time   `json:"at"`
}

// cursor is a position: the transaction and the rank within it.
type cursor struct {
	tx   uint64
	rank int
}

const rankBits = 16

func (c cursor) pos() int64 { return int64(c.tx<<rankBits) | int64(c.rank) }

func cursorOf(pos int64) cursor {
	if pos < 0 {
		return cursor{}
	}
	return cursor{tx: uint64(pos) >> rankBits, rank: int(pos & (1<<rankBits - 1))}
}

func (c cursor) less(d cursor) bool { return c.tx < d.tx || c.tx == d.tx && c.rank < d.rank }

// tailQuery reads the three sources in (tx, source, id) order, from
// transaction $1 on and only below the snapshot's xmin. The keys are
// ordered and cut first (a merge of the three (tx, id) indexes), and only
// the rows returned are built into bodies.
const tailQuery = `
WITH k AS (
  SELECT x.tx, x.src, x.id FROM (
    SELECT tx, 0 AS src, id FROM case_events WHERE tx >= $1::text::xid8 AND tx < pg_snapshot_xmin(pg_current_snapshot())
    UNION ALL
    SELECT tx, 1 AS src, id FROM cti_screenpops WHERE tx >= $1::text::xid8 AND tx < pg_snapshot_xmin(pg_current_snapshot())
    UNION ALL
    SELECT tx, 2 AS src, id FROM console_alerts WHERE tx >= $1::text::xid8 AND tx < pg_snapshot_xmin(pg_current_snapshot())
  ) x
  ORDER BY x.tx, x.src, x.id
  LIMIT $2
)
SELECT k.tx::text AS tx_text, k.src, k.id, CASE k.src
  WHEN 0 THEN (SELECT jsonb_build_object(
      'case_id', e.case_id, 'tracking_no', c.tracking_no, 'title', c.title, 'kind', c.kind, 'category', c.category,
      'urgency', c.urgency, 'township', c.township_code, 'action', e.action, 'from', e.from_state, 'to', e.to_state,
      'unit', e.actor_unit, 'unit_name', coalesce(u.name, ''), 'lead', coalesce(e.data->>'lead', ''),
      'reason', CASE WHEN e.public THEN e.reason ELSE '' END, 'public', e.public, 'at', e.at, 'due_at', c.due_at,
      'units', coalesce((SELECT array_agg(DISTINCT a.unit_id) FROM assignments a WHERE a.case_id = e.case_id AND a.dispatched_at <= e.at), '{}'))
    FROM case_events e JOIN cases c ON c.id = e.case_id LEFT JOIN units u ON u.id = e.actor_unit WHERE e.id = k.id)
  WHEN 1 THEN (SELECT jsonb_build_object('call_id', p.call_id, 'caller', p.caller, 'agent', p.agent,
      'history', p.history, 'at', p.created_at) FROM cti_screenpops p WHERE p.id = k.id)
  ELSE (SELECT jsonb_build_object('kind', a.kind, 'township', a.township_code, 'county', a.county_code,
      'category', a.category, 'count', a.count, 'case_ids', a.case_ids, 'alert_title', a.title, 'at', a.created_at)
    FROM console_alerts a WHERE a.id = k.id)
  END AS body
FROM k
ORDER BY k.tx, k.src, k.id`

// Horizon returns the position just below which every row is final: the
// stream starts there.
func Horizon(ctx context.Context, db *pgxpool.Pool) (int64, error) {
	var s string
	if err := db.QueryRow(ctx, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`).Scan(&s); err != nil {
		return 0, err
	}
	tx, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return cursor{tx: tx}.pos() - 1, nil
}

type rawBody struct {
	CaseID     uuid.UUID       `json:"case_id"`
	TrackingNo string          `json:"tracking_no"`
	Title      string          `json:"title"`
	Kind       string          `json:"kind"`
	Category   string          `json:"category"`
	Urgency    string          `json:"urgency"`
	Township   string          `json:"township"`
	Action     string          `json:"action"`
	From       string          `json:"from"`
	To         string          `json:"to"`
	Unit       string          `json:"unit"`
	UnitName   string          `json:"unit_name"`
	Lead       string          `json:"lead"`
	Reason     string          `json:"reason"`
	Public     bool            `json:"public"`
	At         time.Time       `json:"at"`
	DueAt      *time.Time      `json:"due_at"`
	Units      []string        `json:"units"`
	CallID     string          `json:"call_id"`
	Caller     string          `json:"caller"`
	Agent      string          `json:"agent"`
	History    json.RawMessage `json:"history"`
	County     string          `json:"county"`
	Count      int             `json:"count"`
	CaseIDs    []uuid.UUID     `json:"case_ids"`
	AlertTitle string          `json:"alert_title"`
}

// Fetch returns up to limit items after position after, in order.
func Fetch(ctx context.Context, db *pgxpool.Pool, after int64, limit int) ([]Item, error) {
	from := cursorOf(after + 1)
	if after < 0 {
		from = cursor{}
	}
	items, full, err := fetch(ctx, db, from, limit)
	if err != nil {
		return nil, err
	}
	if full && len(items) > 0 && cursorOf(items[0].Pos).tx == cursorOf(items[len(items)-1].Pos).tx {
		// One transaction larger than the limit: read it whole.
		items, _, err = fetch(ctx, db, from, 1<<rankBits)
	}
	return items, err
}

func fetch(ctx context.Context, db *pgxpool.Pool, from cursor, limit int) ([]Item, bool, error) {
	// Planned with its parameters every time (an unnamed statement): the
	// generic plan of the prepared statement cannot know that the range from
	// $1 holds a few rows and started two parallel workers for every poll
	// (9–15 ms a poll under load instead of 0.7 ms).
	rows, err := db.Query(ctx, tailQuery, pgx.QueryExecModeExec, strconv.FormatUint(from.tx, 10), limit)
	if err != nil {
		return nil, false, err
	}
	defer rows.Close()
	var out []Item
	var cur cursor
	n := 0
	for rows.Next() {
		n++
		var txs string
		var src int
		var id int64
		var body []byte
		if err := rows.Scan(&txs, &src, &id, &body); err != nil {
			return nil, false, err
		}
		tx, err := strconv.ParseUint(txs, 10, 64)
		if err != nil {
			return nil, false, err
		}
		if tx != cur.tx {
			cur = cursor{tx: tx}
		} else {
			cur.rank++
		}
		if cur.rank >= 1<<rankBits {
			return nil, false, fmt.Errorf("console: transaction %d wrote more than %d stream rows", tx, 1<<rankBits)
		}
		if cur.less(from) {
			continue // already delivered (the first transaction, partly)
		}
		var b rawBody
		if err := json.Unmarshal(body, &b); err != nil {
			return nil, false, err
		}
		it := Item{Pos: cur.pos()}
		if src == 0 {
			it.Type = "event"
			it.units = b.Units
			it.Event = &Event{Pos: it.Pos, CaseID: b.CaseID, TrackingNo: b.TrackingNo, Title: b.Title, Kind: b.Kind,
				Category: b.Category, Urgency: b.Urgency, Township: b.Township, Action: b.Action, Label: actionLabel(b.Action),
				From: b.From, To: b.To, StateLabel: stateLabel(b.To), Unit: b.Unit, UnitName: b.UnitName, Lead: b.Lead,
				Text: b.Reason, Public: b.Public, At: b.At, DueAt: b.DueAt}
		} else if src == 1 {
			it.Type = "screenpop"
			it.agent = b.Agent
			it.Pop = &ScreenPop{Pos: it.Pos, ID: id, CallID: b.CallID, Caller: b.Caller, History: b.History, At: b.At}
		} else {
			it.Type = "alert"
			it.Alert = &Alert{Pos: it.Pos, ID: id, Kind: b.Kind, TownshipCode: b.Township, CountyCode: b.County, Category: b.Category,
				Count: b.Count, CaseIDs: b.CaseIDs, Title: b.AlertTitle, At: b.At}
		}
		// The message is the same for every connection: encoded once.
		if it.wire, err = json.Marshal(it.envelope()); err != nil {
			return nil, false, err
		}
		out = append(out, it)
	}
	return out, n == limit, rows.Err()
}
