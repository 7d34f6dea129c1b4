package open311

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"yici/cases"
)

// eventSlack widens the id range found for a time range: events get their
// id and their time in the same statement, so ids follow time up to the
// clock skew between nodes.
const eventSlack = 10 * time.Minute

// boundSQL finds, by bisection over the primary key of case_events, the
// first event id whose time is not before $1. case_events has no index on
// its time, and a scan of the trail is out of the question; ids are given
// in time order (bigserial, taken when the event is written at its time),
// so about 40 probes of the primary key find the bound.
const boundSQL = `WITH RECURSIVE b(lo, hi) AS (
	SELECT coalesce(min(id), 0), coalesce(max(id), 0) + 1 FROM case_events
  UNION ALL
	SELECT CASE WHEN m.id IS NULL OR m.id >= b.hi THEN b.lo WHEN m.at < $1 THEN m.id + 1 ELSE b.lo END,
	       CASE WHEN m.id IS NULL OR m.id >= b.hi THEN (b.lo + b.hi) / 2 WHEN m.at < $1 THEN b.hi ELSE m.id END
	FROM b LEFT JOIN LATERAL (SELECT id, at FROM case_events WHERE id >= (b.lo + b.hi) / 2 ORDER BY id LIMIT 1) m ON true
	WHERE b.lo < b.hi
)
SELECT lo FROM b WHERE lo >= hi`

func (h *Handler) eventBound(ctx context.Context, t time.Time) (int64, error) {
	var id int64
	err := h.cases.DB().QueryRow(ctx, boundSQL, t).Scan(&id)
	return id, err
}

// listUpdates answers GET servicerequestupdates (mySociety's extension):
// the steps of requests after their registration that are public or change
// the state (a status is public; an internal step's reason is not: its
// description is the new state in public words), oldest first, in
// a time range (start_date, end_date: as for requests) and/or for some
// requests (service_request_id, a comma list: then without a default
// range), paged like requests.
func (h *Handler) listUpdates(ctx context.Context, q url.Values) (doc, error) {
	ids := commaList(param(q, "service_request_id"))
	if len(ids) > maxPageSize {
		return doc{}, problem(http.StatusBadRequest, "service_request_id 最多 1000 个 (at most 1000 service_request_id)")
	}
	nos := []string{}
	for _, id := range ids {
		if no := cases.NormalizeTrackingNo(id); cases.ValidTrackingNo(no) {
			nos = append(nos, no)
		}
	}
	limit, offset, p := paging(q)
	if p != nil {
		return doc{}, p
	}
	where := `(e.public OR e.from_state <> e.to_state) AND e.action <> 'register'`
	args := []any{}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if len(ids) > 0 {
		where += ` AND c.tracking_no = ANY(` + arg(nos) + `)`
	} else {
		where += ` AND c.category <> '` + UnlistedCategory + `'`
	}
	if len(ids) == 0 || param(q, "start_date") != "" || param(q, "end_date") != "" {
		start, end, p := window(q, h.now())
		if p != nil {
			return doc{}, p
		}
		lo, err := h.eventBound(ctx, start.Add(-eventSlack))
		if err != nil {
			return doc{}, err
		}
		hi, err := h.eventBound(ctx, end.Add(eventSlack))
		if err != nil {
			return doc{}, err
		}
		where += ` AND e.id >= ` + arg(lo) + ` AND e.id < ` + arg(hi) + ` AND e.at >= ` + arg(start) + ` AND e.at <= ` + arg(end)
	}
	sql := `SELECT ` + eventCols + `, c.tracking_no, (c.anonymous OR c.confidential OR c.kind = '举报'), e.public
		FROM case_events e JOIN cases c ON c.id = e.case_id ` + eventJoins + `
		WHERE ` + where + ` ORDER BY e.id LIMIT ` + arg(limit) + ` OFFSET ` + arg(offset)
	rows, err := h.cases.DB().Query(ctx, sql, args...)
	if err != nil {
		return doc{}, err
	}
	defer rows.Close()
	l := list{item: "request_update"}
	for rows.Next() {
		var e eventRow
		var act, to, no string
		var data []byte
		var private, public bool
		if err := rows.Scan(&e.caseID, &e.seq, &e.at, &act, &to, &e.reason, &data, &e.actorUnit, &e.leadUnit, &no, &private, &public); err != nil {
			return doc{}, err
		}
		e.action, e.to = cases.Action(act), cases.State(to)
		if len(data) > 0 {
			if err := json.Unmarshal(data, &e.data); err != nil {
				return doc{}, err
			}
		}
		text := e.to.PublicLabel()
		if public {
			if text = noteText(e, private); text == "" {
				text = e.action.Label()
			}
		}
		l.elems = append(l.elems, object{
			{"update_id", no + "-" + strconv.Itoa(e.seq)},
			{"service_request_id", no},
			{"status", StatusOf(e.to).Extended},
			{"updated_datetime", e.at},
			{"description", text},
			{"media_url", ""},
		})
	}
	if err := rows.Err(); err != nil {
		return doc{}, err
	}
	return doc{root: "service_request_updates", val: l}, nil
}
