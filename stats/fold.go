package stats

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/workcal"
)

// The rollup job (“fold”) reads the event trail in commit-safe order —
// (tx, id) below the snapshot's xmin, as the console's tailer does — from
// the watermark in stats_state, computes each event's contribution to the
// day counters, and adds them to stats_rollup and stats_counts in the same
// transaction that moves the watermark. So every event is folded exactly
// once, whatever crashes, and nodes take turns by
// an advisory lock, a node that finds it taken skips its turn.
//
// An event's contribution depends only on the event and on earlier events
// of its case (the round it belongs to: the latest register, dispatch,
// redo or escalate event before it), which never change. So folding in
// any number of runs gives the same rollups as one run over the whole
// trail (tested), and Rebuild can start again from nothing.

// foldLock is the advisory lock of the fold and the rebuild.
const foldLock int64 = 0x59494349_53544154 // "YICISTAT"

// ctxActions are the actions whose contribution needs the round they
// belong to (their unit, territory and category, the round's dispatch time
// and sign-for deadline).
var ctxActions = []string{"answer", "sign", "reply", "approve_return", "approve_review", "callback", "callback_attempt", "redo", "escalate", "urge", "merge"}

// deadlineActions are the deadline scheduler's actions counted as
// deadlines fired (escalate only when the system took it).
var deadlineActions = map[string]bool{"deadline_warning": true, "deadline_overdue": true}

const foldQuery = `
SELECT e.tx::text, e.id, e.seq, e.at, e.action, e.actor_role, e.from_state, c.channel,
       coalesce(e.data->>'late', ''), coalesce(e.data->>'unit', ''), coalesce(e.data->>'role', ''),
       coalesce(e.data->>'lead', ''), coalesce(e.data->>'sign_due', ''), coalesce(e.data->>'round', ''),
       coalesce(e.data->>'satisfaction', ''), coalesce(e.data->>'solved', ''),
       coalesce(e.data->>'category', ''), coalesce(e.data->>'township', ''), coalesce(e.data->>'county', ''),
       x.at, coalesce(x.action, ''), coalesce(x.data->>'lead', ''), coalesce(x.data->>'sign_due', ''),
       coalesce(x.data->>'category', ''), coalesce(x.data->>'township', ''), coalesce(x.data->>'county', ''),
       CASE WHEN e.action = 'approve_return' THEN EXISTS (
           SELECT 1 FROM case_events s WHERE s.case_id = e.case_id AND s.seq > x.seq AND s.seq < e.seq
              AND s.action = 'sign' AND s.data->>'role' = 'lead') ELSE false END
FROM case_events e
JOIN cases c ON c.id = e.case_id
LEFT JOIN LATERAL (
    SELECT d.seq, d.at, d.action, d.data FROM case_events d
    WHERE e.action = ANY($4::text[]) AND d.case_id = e.case_id AND d.seq < e.seq
      AND d.action IN ('register', 'dispatch', 'redo', 'escalate')
    ORDER BY d.seq DESC LIMIT 1
) x ON true
WHERE (e.tx, e.id) > ($1::text::xid8, $2::bigint) AND e.tx < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY e.tx, e.id
LIMIT $3`

// foldRow is one event as the fold reads it, with its round.
type foldRow struct {
	tx                                     string
	id                                     int64
	seq                                    int
	at                                     time.Time
	action, actorRole, fromState, channel  string
	late, unit, role, lead, signDue, round string
	satisfaction, solved                   string
	category, township, county             string
	ctxAt                                  *time.Time
	ctxAction, ctxLead, ctxSignDue         string
	ctxCategory, ctxTownship, ctxCounty    string
	leadSigned                             bool
}

type dims struct{ county, township, unit, category string }

// fkey is a day with every dimension: what a batch accumulates before it
// is spread over the periods and grains of the rollups.
type fkey struct {
	day time.Time
	dims
}

// rkey is a rollup row's key.
type rkey struct {
	period, grain                    byte
	day                              time.Time
	county, township, unit, category string
}

type ckey struct {
	day         time.Time
	name, label string
}

// fold accumulates the contributions of a batch of events.
type fold struct {
	cal    *workcal.Calendar
	rows   map[fkey]*Counts
	counts map[ckey]int64
}

func newFold(cal *workcal.Calendar) *fold {
	return &fold{cal: cal, rows: map[fkey]*Counts{}, counts: map[ckey]int64{}}
}

// day is the civil date of t in the calendar's zone, as midnight UTC (how
// a date travels to PostgreSQL).
func (f *fold) day(t time.Time) time.Time {
	y, m, d := t.In(f.cal.Location()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// bump adds v to counter k of the day's row of d.
func (f *fold) bump(day time.Time, d dims, k int, v int64) {
	key := fkey{day, d}
	c := f.rows[key]
	if c == nil {
		c = new(Counts)
		f.rows[key] = c
	}
	c[k] += v
}

// spread turns the batch's day rows into the rollup rows: each counts in
// its day, week and month, at every grain.
func (f *fold) spread() map[rkey]*Counts {
	out := make(map[rkey]*Counts, len(f.rows)*4)
	for k, c := range f.rows {
		d := k.dims
		for _, p := range [...]struct {
			period byte
			start  time.Time
		}{{'d', k.day}, {'w', periodStart("week", k.day)}, {'m', periodStart("month", k.day)}} {
			for _, key := range [...]rkey{
				{p.period, 'k', p.start, d.county, "", "", ""},
				{p.period, 'c', p.start, d.county, "", "", d.category},
				{p.period, 'u', p.start, d.county, d.township, d.unit, ""},
				{p.period, 't', p.start, d.county, d.township, "", d.category},
			} {
				x := out[key]
				if x == nil {
					x = new(Counts)
					out[key] = x
				}
				x.add(*c)
			}
		}
	}
	return out
}

func (f *fold) count(day time.Time, name, label string) {
	f.counts[ckey{day, name, label}]++
}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// ctxDims are the dimensions of the round an event belongs to.
func (r *foldRow) ctxDims(unit string) dims {
	return dims{county: r.ctxCounty, township: r.ctxTownship, unit: unit, category: r.ctxCategory}
}

// round reports whether the event's context is a dispatch round (not the
// registration).
func (r *foldRow) inRound() bool {
	return r.ctxAt != nil && r.ctxAction != "" && r.ctxAction != "register"
}

// add folds one event. See docs/stats.md for the definitions.
func (f *fold) add(r *foldRow) {
	day := f.day(r.at)
	switch r.action {
	case "register":
		f.bump(day, dims{county: r.county, township: r.township, category: r.category}, kRegistered, 1)
		f.count(day, "created", r.channel)
	case "answer":
		f.bump(day, r.ctxDims(""), kAnswered, 1)
	case "dispatch", "redo", "escalate":
		d := dims{county: r.county, township: r.township, unit: r.lead, category: r.category}
		f.bump(day, d, kDispatched, 1)
		due := day
		if t, ok := parseTime(r.signDue); ok {
			due = f.day(t)
		}
		f.bump(due, d, kSignDue, 1)
		if r.round == "1" {
			f.count(day, "routed", r.channel)
		}
		switch r.action {
		case "redo":
			f.bump(day, r.ctxDims(r.ctxLead), kRedone, 1)
		case "escalate":
			f.bump(day, r.ctxDims(r.ctxLead), kEscalated, 1)
			if r.actorRole == "system" {
				f.count(day, "deadline", r.action)
			}
		}
	case "sign":
		if r.role != "lead" || !r.inRound() {
			break
		}
		due := day
		t, ok := parseTime(r.ctxSignDue)
		if ok {
			due = f.day(t)
		}
		d := r.ctxDims(r.unit)
		f.bump(due, d, kSigned, 1)
		if r.late == "false" || (r.late == "" && ok && !r.at.After(t)) {
			f.bump(due, d, kSignedOntime, 1)
		}
		f.bump(due, d, kSignSecs, int64(f.cal.WorkingBetween(*r.ctxAt, r.at)/time.Second))
	case "reply":
		if r.role != "lead" || !r.inRound() {
			break
		}
		d := r.ctxDims(r.unit)
		f.bump(day, d, kReplied, 1)
		if r.late == "false" {
			f.bump(day, d, kRepliedOntime, 1)
		}
		f.bump(day, d, kReplySecs, int64(f.cal.WorkingBetween(*r.ctxAt, r.at)/time.Second))
	case "approve_return":
		unit := r.unit
		if unit == "" {
			unit = r.ctxLead
		}
		f.bump(day, r.ctxDims(unit), kReturned, 1)
		if r.inRound() && !r.leadSigned {
			f.retractSignDue(r)
		}
	case "merge":
		if r.fromState == "pending_sign" && r.inRound() {
			f.retractSignDue(r)
		}
	case "approve_review":
		f.bump(day, r.ctxDims(r.ctxLead), kResolved, 1)
	case "urge":
		f.bump(day, r.ctxDims(r.ctxLead), kUrged, 1)
	case "callback_attempt":
		// The last unanswered call closes the case as 未联系上.
		if r.satisfaction == "unreachable" {
			f.bump(day, r.ctxDims(r.ctxLead), kUnreachable, 1)
		}
	case "callback":
		d := r.ctxDims(r.ctxLead)
		switch r.satisfaction {
		case "unreachable":
			f.bump(day, d, kUnreachable, 1)
		case "satisfied", "basic", "dissatisfied":
			f.bump(day, d, kRated, 1)
			k := map[string]int{"satisfied": kSatisfied, "basic": kBasic, "dissatisfied": kDissatisfied}[r.satisfaction]
			f.bump(day, d, k, 1)
			if r.solved == "true" || (r.solved == "" && r.satisfaction != "dissatisfied") {
				f.bump(day, d, kSolved, 1)
			}
		}
	}
	if deadlineActions[r.action] {
		f.count(day, "deadline", r.action)
	}
	f.count(day, "action", r.action)
}

// retractSignDue takes a round that ended unsigned by an approved 退单 or a
// 并单 out of the response rate's denominator.
func (f *fold) retractSignDue(r *foldRow) {
	due := f.day(*r.ctxAt)
	if t, ok := parseTime(r.ctxSignDue); ok {
		due = f.day(t)
	}
	f.bump(due, r.ctxDims(r.ctxLead), kSignDue, -1)
}

// ErrBusy means another node holds the rollup job's turn.
var ErrBusy = errors.New("stats: another node is folding")

// Fold folds every committed event not yet in the rollups, in batches of
// Options.BatchSize events, each in its own transaction. It returns the
// number of events folded; when another node is folding it returns 0 and
// no error (that node does the work).
func (s *Service) Fold(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := s.foldBatch(ctx)
		total += n
		if errors.Is(err, ErrBusy) {
			return total, nil
		}
		if err != nil || !more {
			return total, err
		}
	}
}

func (s *Service) foldBatch(ctx context.Context) (n int, more bool, err error) {
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var wtx, cal string
		var lastID int64
		// Nodes take turns by an advisory lock, not a row lock: a row lock
		// would give this transaction an id from its first statement, and
		// the console stream (which reads only below the oldest running
		// transaction id) would wait for the whole batch. Reading the events
		// takes no id; only the short writes at the end do.
		var mine bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, foldLock).Scan(&mine); err != nil {
			return err
		}
		if !mine {
			return ErrBusy
		}
		err := tx.QueryRow(ctx, `SELECT tx::text, last_id, calendar FROM stats_state WHERE id = 1`).Scan(&wtx, &lastID, &cal)
		if err != nil {
			return err
		}
		// A batch's plan is cheap; compiling it (JIT) costs seconds.
		if _, err := tx.Exec(ctx, `SET LOCAL jit = off`); err != nil {
			return err
		}
		if cal != "" && cal != s.calPrint && !s.calWarned.Swap(true) {
			s.log.Warn("stats: the rollups' working hours were computed with another working calendar; run a rebuild (Service.Rebuild) to recompute them")
		}
		start := time.Now()
		rows, err := tx.Query(ctx, foldQuery, wtx, lastID, s.opts.BatchSize, ctxActions)
		if err != nil {
			return err
		}
		f := newFold(s.cal)
		var r foldRow
		for rows.Next() {
			r = foldRow{}
			if err := rows.Scan(&r.tx, &r.id, &r.seq, &r.at, &r.action, &r.actorRole, &r.fromState, &r.channel,
				&r.late, &r.unit, &r.role, &r.lead, &r.signDue, &r.round, &r.satisfaction, &r.solved,
				&r.category, &r.township, &r.county,
				&r.ctxAt, &r.ctxAction, &r.ctxLead, &r.ctxSignDue, &r.ctxCategory, &r.ctxTownship, &r.ctxCounty,
				&r.leadSigned); err != nil {
				rows.Close()
				return err
			}
			f.add(&r)
			n++
			wtx, lastID = r.tx, r.id
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		read := time.Since(start)
		if err := writeFold(ctx, tx, f); err != nil {
			return err
		}
		s.log.Debug("stats: fold batch", "events", n, "keys", len(f.rows), "read", read, "write", time.Since(start)-read)
		_, err = tx.Exec(ctx, `UPDATE stats_state SET tx = $1::text::xid8, last_id = $2, events = events + $3, folded_at = now(),
			calendar = CASE WHEN calendar = '' THEN $4 ELSE calendar END WHERE id = 1`, wtx, lastID, n, s.calPrint)
		return err
	})
	return n, err == nil && n == s.opts.BatchSize, err
}

// upsertRollup adds rows to the rollups; the rows go in sorted by key, so
// that the primary key is walked in order.
var upsertRollup = func() string {
	names := append([]string{"period", "grain", "day", "county_code", "township_code", "unit_id", "category"}, counterCols[:]...)
	var sel, set []string
	for i, n := range names {
		switch {
		case i < 2:
			sel = append(sel, fmt.Sprintf(`$%d::"char"[]`, i+1))
		case i == 2:
			sel = append(sel, fmt.Sprintf(`$%d::date[]`, i+1))
		case i < 7:
			sel = append(sel, fmt.Sprintf(`$%d::text[]`, i+1))
		default:
			sel = append(sel, fmt.Sprintf(`$%d::bigint[]`, i+1))
			set = append(set, fmt.Sprintf("%s = stats_rollup.%s + EXCLUDED.%s", n, n, n))
		}
	}
	return `INSERT INTO stats_rollup (` + strings.Join(names, ", ") + `) SELECT * FROM unnest(` + strings.Join(sel, ", ") + `)
		ON CONFLICT (period, grain, day, county_code, township_code, unit_id, category) DO UPDATE SET ` + strings.Join(set, ", ")
}()

// upsertChunk bounds the rows of one statement.
const upsertChunk = 20000

// writeFold adds a batch's counters to the rollups.
func writeFold(ctx context.Context, tx pgx.Tx, f *fold) error {
	rows := f.spread()
	keys := make([]rkey, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		switch {
		case a.period != b.period:
			return a.period < b.period
		case a.grain != b.grain:
			return a.grain < b.grain
		case !a.day.Equal(b.day):
			return a.day.Before(b.day)
		case a.county != b.county:
			return a.county < b.county
		case a.township != b.township:
			return a.township < b.township
		case a.unit != b.unit:
			return a.unit < b.unit
		}
		return a.category < b.category
	})
	for len(keys) > 0 {
		part := keys[:min(upsertChunk, len(keys))]
		keys = keys[len(part):]
		period, grain := make([]string, len(part)), make([]string, len(part))
		day := make([]time.Time, len(part))
		county, township, unit, category := make([]string, len(part)), make([]string, len(part)), make([]string, len(part)), make([]string, len(part))
		var counters [nCounters][]int64
		for j := range counters {
			counters[j] = make([]int64, len(part))
		}
		for i, k := range part {
			period[i], grain[i], day[i] = string(k.period), string(k.grain), k.day
			county[i], township[i], unit[i], category[i] = k.county, k.township, k.unit, k.category
			for j, v := range rows[k] {
				counters[j][i] = v
			}
		}
		args := []any{period, grain, day, county, township, unit, category}
		for j := range counters {
			args = append(args, counters[j])
		}
		if _, err := tx.Exec(ctx, upsertRollup, args...); err != nil {
			return err
		}
	}
	var days []time.Time
	var nm, lb []string
	var ns []int64
	for k, v := range f.counts {
		days, nm, lb, ns = append(days, k.day), append(nm, k.name), append(lb, k.label), append(ns, v)
	}
	_, err := tx.Exec(ctx, `INSERT INTO stats_counts (day, name, label, n)
		SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::bigint[])
		ON CONFLICT (day, name, label) DO UPDATE SET n = stats_counts.n + EXCLUDED.n`, days, nm, lb, ns)
	return err
}

// Rebuild empties the rollups and folds the whole trail again, e.g. after
// the working calendar changed (the working-hour sums depend on it). It
// waits for a fold in progress on another node to finish; queries see
// partial figures until it is done.
func (s *Service) Rebuild(ctx context.Context) (int, error) {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, foldLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM stats_state WHERE id = 1 FOR UPDATE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `TRUNCATE stats_rollup, stats_counts`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE stats_state SET tx = '0', last_id = 0, events = 0, calendar = $1, folded_at = NULL WHERE id = 1`, s.calPrint)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.calWarned.Store(false)
	return s.Fold(ctx)
}

// calendarPrint fingerprints what the working-hour sums depend on: the
// working time of every day from 2015 to 2040.
func calendarPrint(cal *workcal.Calendar) string {
	h := sha256.New()
	loc := cal.Location()
	day := time.Date(2015, 1, 1, 0, 0, 0, 0, loc)
	end := time.Date(2041, 1, 1, 0, 0, 0, 0, loc)
	var b [8]byte
	for ; day.Before(end); day = day.AddDate(0, 0, 1) {
		w := cal.WorkingBetween(day, day.AddDate(0, 0, 1))
		for i := range b {
			b[i] = byte(w >> (8 * i))
		}
		h.Write(b[:])
	}
	h.Write([]byte(loc.String()))
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// MarkFolded moves the fold's watermark past every event written so far,
// under the fold's lock, without counting them: for a benchmark database
// filled in bulk, whose statistics are not wanted. It returns how many
// events the rollups will never count.
func MarkFolded(ctx context.Context, db *pgxpool.Pool) (int64, error) {
	var skipped int64
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, foldLock); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM case_events WHERE (tx, id) > (SELECT tx, last_id FROM stats_state WHERE id = 1)`).Scan(&skipped); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE stats_state s SET tx = e.tx, last_id = e.id, folded_at = now()
			FROM (SELECT tx, id FROM case_events ORDER BY tx DESC, id DESC LIMIT 1) e WHERE s.id = 1`)
		return err
	})
	return skipped, err
}
