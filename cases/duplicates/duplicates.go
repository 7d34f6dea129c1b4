// Package duplicates finds the open cases that are probably the same
// matter as a new one (重复件), so that agents and dispatchers can merge them
// (并单), and raises a 热点 alert to the supervisors when many similar
// requests arrive from one place in a day.
//
// A case c and an open case x are candidates when one of the rules holds
// (see docs/duplicates.md for the thresholds and how they were chosen):
//
//   - same phone: the same normalised phone number, created within 30 days
//     of each other, and texts that share at least a little (PhoneMin);
//   - similar content: the same township and category (or one of them
//     still uncategorised), created within 7 days, and a bigram similarity
//     of their texts of at least Threshold;
//   - nearby: both have a point, at most 200 m apart (haversine, in SQL,
//     after a bounding-box prefilter on a GiST index), created within
//     7 days, and the same category or texts at least NearMin alike.
//
// The similarity is the Dice coefficient of the character bigrams of the
// normalised text (content and address): see Similarity. PostgreSQL's
// pg_trgm does not see Chinese characters at all in our clusters (initdb
// --no-locale: C ctype), so it is not used.
//
// Find computes the candidates of a case now; OnArrival stores them in
// case_duplicates (for the dispatch queue's 可能重复 flag) and raises hot
// spots into console_alerts. Routes serves them.
package duplicates

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
)

// Reason says why a case is a candidate.
type Reason string

// The reasons.
const (
	SamePhone      Reason = "same_phone"
	SimilarContent Reason = "similar_content"
	Nearby         Reason = "nearby"
)

// Label is the Chinese name.
func (r Reason) Label() string {
	switch r {
	case SamePhone:
		return "同一来电号码"
	case SimilarContent:
		return "同街道同类别内容相似"
	case Nearby:
		return "位置相近"
	}
	return string(r)
}

// Options tune a Detector. Zero fields take the defaults of Defaults;
// PhoneMin and NearMin take a negative value to mean "no minimum".
type Options struct {
	PhoneWindow   time.Duration // same phone: created within (30 days)
	ContentWindow time.Duration // similar content: created within (7 days)
	NearWindow    time.Duration // nearby: created within (7 days)
	NearMeters    float64       // nearby: at most this far apart (200 m)

	Threshold float64 // similar content: least similarity
	PhoneMin  float64 // same phone: least similarity (a caller's other matters are not duplicates)
	NearMin   float64 // nearby: least similarity when the categories differ

	Limit int // candidates returned, best first (10)

	HotCount     int           // a hot spot: this many similar cases (10)
	HotWindow    time.Duration // within (24 h)
	HotThreshold float64       // similarity to the arriving case

	// Names for alert titles (codes when nil).
	TownshipName func(code string) string
	CategoryName func(code string) string
	// OnAlert is called after an alert was committed by OnArrival's own
	// transaction (to wake the console's stream); inside the caller's
	// transaction, the caller's commit hook does that.
	OnAlert func()
	Log     *slog.Logger
}

// Defaults are the thresholds tuned on the fixture (docs/bench-duplicates.md).
func Defaults() Options {
	return Options{
		PhoneWindow: 30 * 24 * time.Hour, ContentWindow: 7 * 24 * time.Hour, NearWindow: 7 * 24 * time.Hour, NearMeters: 200,
		Threshold: 0.18, PhoneMin: 0.30, NearMin: 0.25,
		Limit:    10,
		HotCount: 10, HotWindow: 24 * time.Hour, HotThreshold: 0.18,
	}
}

func (o Options) withDefaults() Options {
	d := Defaults()
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	f := func(v *float64, def float64) {
		switch {
		case *v == 0:
			*v = def
		case *v < 0:
			*v = 0
		}
	}
	dur(&o.PhoneWindow, d.PhoneWindow)
	dur(&o.ContentWindow, d.ContentWindow)
	dur(&o.NearWindow, d.NearWindow)
	dur(&o.HotWindow, d.HotWindow)
	if o.NearMeters <= 0 {
		o.NearMeters = d.NearMeters
	}
	if o.Threshold <= 0 {
		o.Threshold = d.Threshold
	}
	if o.HotThreshold <= 0 {
		o.HotThreshold = d.HotThreshold
	}
	f(&o.PhoneMin, d.PhoneMin)
	f(&o.NearMin, d.NearMin)
	if o.Limit <= 0 {
		o.Limit = d.Limit
	}
	if o.HotCount <= 1 {
		o.HotCount = d.HotCount
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Detector finds duplicates and hot spots. It owns the SQL of the
// case_duplicates and console_alerts tables and reads cases.
type Detector struct {
	db *pgxpool.Pool
	cs *cases.Store
	o  Options
}

// New returns a detector on db.
func New(db *pgxpool.Pool, cs *cases.Store, o Options) *Detector {
	return &Detector{db: db, cs: cs, o: o.withDefaults()}
}

// Options returns the options in force (defaults filled in).
func (d *Detector) Options() Options { return d.o }

// Candidate is an open case that is probably the same matter. It carries
// no citizen identity.
type Candidate struct {
	ID           uuid.UUID   `json:"id"`
	TrackingNo   string      `json:"tracking_no"`
	Title        string      `json:"title"`
	State        cases.State `json:"state"`
	StateLabel   string      `json:"state_label"`
	CreatedAt    time.Time   `json:"created_at"`
	Similarity   float64     `json:"similarity"` // of the texts, 0..1
	Reasons      []Reason    `json:"reasons"`
	ReasonLabels []string    `json:"reason_labels"`
	DistanceM    *float64    `json:"distance_m,omitempty"` // when both cases have a point

	score float64
}

// Pair is what the rules look at for two cases.
type Pair struct {
	SamePhone     bool          // both have the same (normalised, non-empty) phone
	Apart         time.Duration // between their creations, ≥ 0
	SameTownship  bool          // both have the same non-empty township
	SameCategory  bool          // both have the same non-empty category
	Uncategorised bool          // either has no category yet
	Distance      *float64      // metres, when both have a point
	Similarity    float64
}

// Reasons applies the rules to a pair: nil when the two are not
// candidates.
func (o Options) Reasons(p Pair) []Reason {
	var rs []Reason
	if p.SamePhone && p.Apart <= o.PhoneWindow && p.Similarity >= o.PhoneMin {
		rs = append(rs, SamePhone)
	}
	if p.SameTownship && (p.SameCategory || p.Uncategorised) && p.Apart <= o.ContentWindow && p.Similarity >= o.Threshold {
		rs = append(rs, SimilarContent)
	}
	if p.Distance != nil && *p.Distance <= o.NearMeters && p.Apart <= o.NearWindow && (p.SameCategory || p.Similarity >= o.NearMin) {
		rs = append(rs, Nearby)
	}
	return rs
}

// TextOf is what is compared of a case: its content and address.
func TextOf(content, address string) string {
	if address == "" {
		return content
	}
	return content + "\n" + address
}

const earthRadius = 6371008.8 // mean radius, metres

// Haversine returns the great-circle distance in metres (the same formula
// as the SQL of Find).
func Haversine(lat1, lon1, lat2, lon2 float64) float64 {
	rad := math.Pi / 180
	s1 := math.Sin((lat2 - lat1) * rad / 2)
	s2 := math.Sin((lon2 - lon1) * rad / 2)
	h := s1*s1 + math.Cos(lat1*rad)*math.Cos(lat2*rad)*s2*s2
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(h)))
}

// querier is what a pool and a transaction both offer.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (d *Detector) q(ctx context.Context) querier {
	if tx := cases.Tx(ctx); tx != nil {
		return tx
	}
	return d.db
}

// openSQL must stay word for word the predicate of the cases_dup_near and
// cases_dup_topic_open indexes.
const (
	openSQL   = `state NOT IN ('answered','archived','merged')`
	closedSQL = `state IN ('answered','archived','merged')`
)

const rowCols = `id, tracking_no, title, state, created_at, content, address, township_code, category, citizen_phone, `

type args struct{ v []any }

func (a *args) add(v any) string {
	a.v = append(a.v, v)
	return "$" + strconv.Itoa(len(a.v))
}

// row is a case fetched for comparison.
type row struct {
	id                                          uuid.UUID
	trackingNo, title, state                    string
	createdAt                                   time.Time
	content, address, township, category, phone string
	dist                                        *float64
}

// query is the one statement that reads the cases any rule could match:
// the open ones with the same phone within the phone window, of the same
// township (and category) within the content window, and in the box around
// the point; and when hot (for hot spots), the closed ones of the same
// township and category of the last HotWindow.
func (d *Detector) query(c *cases.Case, hot bool) (string, []any) {
	o := d.o
	var a args
	id := a.add(c.ID)
	dist := "NULL::float8"
	if c.Point != nil {
		lat, lon := a.add(c.Point.Lat), a.add(c.Point.Lon)
		dist = fmt.Sprintf(`CASE WHEN lat IS NULL OR lon IS NULL THEN NULL::float8 ELSE %.1f * asin(least(1, sqrt(
			power(sin(radians(lat - %s) / 2), 2) + cos(radians(%s)) * cos(radians(lat)) * power(sin(radians(lon - %s) / 2), 2)))) END`,
			2*earthRadius, lat, lat, lon)
	}
	cols := rowCols + dist
	t := c.CreatedAt
	var parts []string
	if c.CitizenPhone != "" {
		parts = append(parts, fmt.Sprintf(`(SELECT %s FROM cases WHERE citizen_phone = %s AND citizen_phone <> '' AND created_at BETWEEN %s AND %s
			AND %s AND id <> %s ORDER BY created_at DESC LIMIT 50)`,
			cols, a.add(c.CitizenPhone), a.add(t.Add(-o.PhoneWindow)), a.add(t.Add(o.PhoneWindow)), openSQL, id))
	}
	if c.TownshipCode != "" {
		tw, cat := a.add(c.TownshipCode), ""
		if c.Category != "" {
			cat = fmt.Sprintf(" AND category IN (%s, '')", a.add(c.Category))
		}
		parts = append(parts, fmt.Sprintf(`(SELECT %s FROM cases WHERE township_code = %s%s AND created_at BETWEEN %s AND %s
			AND %s AND id <> %s ORDER BY created_at DESC LIMIT 500)`,
			cols, tw, cat, a.add(t.Add(-o.ContentWindow)), a.add(t.Add(o.ContentWindow)), openSQL, id))
		if hot && c.Category != "" {
			// Closed cases count towards a hot spot too (answered at once,
			// merged): those of the last HotWindow.
			parts = append(parts, fmt.Sprintf(`(SELECT %s FROM cases WHERE township_code = %s AND category = %s AND created_at BETWEEN %s AND %s
			AND %s AND id <> %s ORDER BY created_at DESC LIMIT 500)`,
				cols, tw, a.add(c.Category), a.add(t.Add(-o.HotWindow)), a.add(t), closedSQL, id))
		}
	}
	if c.Point != nil {
		dLat := o.NearMeters / (earthRadius * math.Pi / 180) * 1.01
		dLon := dLat / math.Max(0.01, math.Cos(c.Point.Lat*math.Pi/180))
		parts = append(parts, fmt.Sprintf(`(SELECT %s FROM cases WHERE point(lon, lat) <@ box(point(%s, %s), point(%s, %s))
			AND lat IS NOT NULL AND lon IS NOT NULL AND %s AND created_at BETWEEN %s AND %s AND id <> %s LIMIT 200)`,
			cols, a.add(c.Point.Lon-dLon), a.add(c.Point.Lat-dLat), a.add(c.Point.Lon+dLon), a.add(c.Point.Lat+dLat),
			openSQL, a.add(t.Add(-o.NearWindow)), a.add(t.Add(o.NearWindow)), id))
	}
	if len(parts) == 0 {
		return "", nil
	}
	return strings.Join(parts, "\nUNION ALL\n"), a.v
}

// fetch reads the cases of query, each once.
func (d *Detector) fetch(ctx context.Context, q querier, c *cases.Case, hot bool) ([]row, error) {
	sql, args := d.query(c, hot)
	if sql == "" {
		return nil, nil
	}
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("duplicates: %w", err)
	}
	seen := map[uuid.UUID]bool{}
	var out []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.id, &r.trackingNo, &r.title, &r.state, &r.createdAt, &r.content, &r.address, &r.township,
			&r.category, &r.phone, &r.dist); err != nil {
			rows.Close()
			return nil, err
		}
		if !seen[r.id] {
			seen[r.id] = true
			out = append(out, r)
		}
	}
	return out, rows.Err()
}

// PairOf returns what the rules look at for case c and another case.
func PairOf(c *cases.Case, phone, township, category string, created time.Time, dist *float64, sim float64) Pair {
	apart := c.CreatedAt.Sub(created)
	if apart < 0 {
		apart = -apart
	}
	return Pair{
		SamePhone:     c.CitizenPhone != "" && phone == c.CitizenPhone,
		Apart:         apart,
		SameTownship:  c.TownshipCode != "" && township == c.TownshipCode,
		SameCategory:  c.Category != "" && category == c.Category,
		Uncategorised: c.Category == "" || category == "",
		Distance:      dist,
		Similarity:    sim,
	}
}

// evaluate applies the rules to the fetched rows: the candidates, best
// first and capped, and (when hot) the cases of the last HotWindow that
// share c's township and category and are alike enough to count towards a
// hot spot with it.
func (d *Detector) evaluate(c *cases.Case, rows []row, hot bool) (cands []Candidate, members []row) {
	o := d.o
	fp := FingerprintOf(TextOf(c.Content, c.Address))
	for _, r := range rows {
		if r.id == c.ID || (c.ParentID != nil && r.id == *c.ParentID) {
			continue
		}
		sim := fp.Dice(FingerprintOf(TextOf(r.content, r.address)))
		if hot && c.TownshipCode != "" && c.Category != "" && r.township == c.TownshipCode && r.category == c.Category &&
			!r.createdAt.After(c.CreatedAt) && c.CreatedAt.Sub(r.createdAt) <= o.HotWindow && sim >= o.HotThreshold {
			members = append(members, r)
		}
		if !cases.State(r.state).Open() {
			continue
		}
		rs := o.Reasons(PairOf(c, r.phone, r.township, r.category, r.createdAt, r.dist, sim))
		if len(rs) == 0 {
			continue
		}
		cand := Candidate{ID: r.id, TrackingNo: r.trackingNo, Title: r.title, State: cases.State(r.state),
			StateLabel: cases.State(r.state).Label(), CreatedAt: r.createdAt, Similarity: math.Round(sim*1000) / 1000,
			Reasons: rs, score: sim + 0.2*float64(len(rs)-1)}
		for _, x := range rs {
			cand.ReasonLabels = append(cand.ReasonLabels, x.Label())
		}
		if r.dist != nil {
			m := math.Round(*r.dist)
			cand.DistanceM = &m
		}
		cands = append(cands, cand)
	}
	slices.SortFunc(cands, func(a, b Candidate) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return b.CreatedAt.Compare(a.CreatedAt)
	})
	if len(cands) > o.Limit {
		cands = cands[:o.Limit]
	}
	return cands, members
}

// Find returns the open cases that are probably the same matter as c,
// best first (at most Limit). Inside cases.Store.InTx it reads in that
// transaction.
func (d *Detector) Find(ctx context.Context, c *cases.Case) ([]Candidate, error) {
	rows, err := d.fetch(ctx, d.q(ctx), c, false)
	if err != nil {
		return nil, err
	}
	cands, _ := d.evaluate(c, rows, false)
	if cands == nil {
		cands = []Candidate{}
	}
	return cands, nil
}

// Arrival is what OnArrival found.
type Arrival struct {
	Candidates []Candidate
	Alert      *Alert // a hot spot raised by this case
}

// OnArrival is called right after a case was created: it stores the
// case's candidates in case_duplicates (replacing any stored before) and
// raises a hot spot when this case makes one.
//
// Called inside cases.Store.InTx (the intake transaction), it works in a
// savepoint of that transaction: its rows commit with the case, and when
// it fails, its work is rolled back to the savepoint and the caller's
// transaction remains usable, so the caller may log the error and go on.
// Called outside, it uses a transaction of its own.
func (d *Detector) OnArrival(ctx context.Context, c *cases.Case) (Arrival, error) {
	var out Arrival
	work := func(tx pgx.Tx) error {
		out = Arrival{}
		rows, err := d.fetch(ctx, tx, c, true)
		if err != nil {
			return err
		}
		cands, members := d.evaluate(c, rows, true)
		out.Candidates = cands
		if err := d.store(ctx, tx, c, cands); err != nil {
			return err
		}
		if len(members)+1 >= d.o.HotCount {
			out.Alert, err = d.raise(ctx, tx, c, members)
		}
		return err
	}
	if tx := cases.Tx(ctx); tx != nil {
		err := pgx.BeginFunc(ctx, tx, work) // a savepoint
		return out, err
	}
	if err := pgx.BeginFunc(ctx, d.db, work); err != nil {
		return Arrival{}, err
	}
	if out.Alert != nil && d.o.OnAlert != nil {
		d.o.OnAlert()
	}
	return out, nil
}

func (d *Detector) store(ctx context.Context, q querier, c *cases.Case, cands []Candidate) error {
	if len(cands) == 0 {
		// Most arrivals: a plain delete, which for a new case finds and
		// writes nothing.
		if _, err := q.Exec(ctx, `DELETE FROM case_duplicates WHERE case_id = $1`, c.ID); err != nil {
			return fmt.Errorf("duplicates: store: %w", err)
		}
		return nil
	}
	ids := make([]uuid.UUID, len(cands))
	sims := make([]float64, len(cands))
	reasons := make([]string, len(cands))
	for i, x := range cands {
		ids[i], sims[i] = x.ID, x.Similarity
		rs := make([]string, len(x.Reasons))
		for j, r := range x.Reasons {
			rs[j] = string(r)
		}
		reasons[i] = strings.Join(rs, ",")
	}
	_, err := q.Exec(ctx, `WITH gone AS (DELETE FROM case_duplicates WHERE case_id = $1 AND NOT (candidate_id = ANY($3)))
		INSERT INTO case_duplicates (case_id, county_code, candidate_id, similarity, reasons, found_at)
		SELECT $1, $2, u.id, u.sim, string_to_array(u.reasons, ','), $6
		FROM unnest($3::uuid[], $4::float8[], $5::text[]) AS u(id, sim, reasons)
		ON CONFLICT (case_id, candidate_id) DO UPDATE SET similarity = excluded.similarity, reasons = excluded.reasons,
			found_at = excluded.found_at, county_code = excluded.county_code`,
		c.ID, c.CountyCode, ids, sims, reasons, d.cs.Now())
	if err != nil {
		return fmt.Errorf("duplicates: store: %w", err)
	}
	return nil
}

// PossibleDuplicateSQL is a predicate on a cases row aliased c: true when
// duplicates were found for it at intake that are still open. Queues use
// it for their 可能重复 flag (an index lookup on case_duplicates' key).
const PossibleDuplicateSQL = `EXISTS (SELECT 1 FROM case_duplicates dup JOIN cases dupc ON dupc.id = dup.candidate_id
	WHERE dup.case_id = c.id AND dupc.state NOT IN ('answered','archived','merged'))`

// Flagged returns, for those of ids that have them, the number of
// candidates found at intake that are still open.
func (d *Detector) Flagged(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]int, error) {
	rows, err := d.q(ctx).Query(ctx, `SELECT dup.case_id, count(*) FROM case_duplicates dup JOIN cases dupc ON dupc.id = dup.candidate_id
		WHERE dup.case_id = ANY($1) AND dupc.state NOT IN ('answered','archived','merged') GROUP BY dup.case_id`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID]int{}
	for rows.Next() {
		var id uuid.UUID
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		out[id] = n
	}
	return out, rows.Err()
}

// Alert is a row of console_alerts.
type Alert struct {
	ID           int64       `json:"id"`
	Kind         string      `json:"kind"` // "hotspot"
	TownshipCode string      `json:"township_code"`
	CountyCode   string      `json:"county_code"`
	Category     string      `json:"category"`
	Count        int         `json:"count"`
	CaseIDs      []uuid.UUID `json:"case_ids"`
	TrackingNos  []string    `json:"tracking_nos"`
	Title        string      `json:"title"`
	CreatedAt    time.Time   `json:"created_at"`
}

// KindHotspot is the kind of a hot-spot alert.
const KindHotspot = "hotspot"

func lockKey(township, category string) int64 {
	h := fnv.New64a()
	h.Write([]byte("yici.hotspot\x00" + township + "\x00" + category))
	return int64(h.Sum64())
}

// raise writes a hot-spot alert for c and the similar cases of the last
// HotWindow, unless one was raised within HotWindow for an overlapping set
// of cases and the set has not at least doubled since. A transaction-level
// advisory lock per township and category makes concurrent arrivals agree.
func (d *Detector) raise(ctx context.Context, tx pgx.Tx, c *cases.Case, members []row) (*Alert, error) {
	slices.SortFunc(members, func(a, b row) int { return a.createdAt.Compare(b.createdAt) })
	ids := make([]uuid.UUID, 0, len(members)+1)
	nos := make([]string, 0, len(members)+1)
	for _, m := range members {
		ids, nos = append(ids, m.id), append(nos, m.trackingNo)
	}
	ids, nos = append(ids, c.ID), append(nos, c.TrackingNo)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(c.TownshipCode, c.Category)); err != nil {
		return nil, err
	}
	now := d.cs.Now()
	var prev int
	err := tx.QueryRow(ctx, `SELECT count FROM console_alerts WHERE kind = $1 AND township_code = $2 AND category = $3
		AND created_at > $4 AND case_ids && $5 ORDER BY created_at DESC, id DESC LIMIT 1`,
		KindHotspot, c.TownshipCode, c.Category, now.Add(-d.o.HotWindow), ids).Scan(&prev)
	switch {
	case err == nil:
		if len(ids) < 2*prev {
			return nil, nil
		}
	case !errors.Is(err, pgx.ErrNoRows):
		return nil, err
	}
	seed := c.Title
	if len(members) > 0 {
		seed = members[0].title
	}
	a := &Alert{Kind: KindHotspot, TownshipCode: c.TownshipCode, CountyCode: c.CountyCode, Category: c.Category,
		Count: len(ids), CaseIDs: ids, TrackingNos: nos, CreatedAt: now}
	a.Title = fmt.Sprintf("热点：%s%s，%d小时内%d件相似诉求：%s", d.name(d.o.TownshipName, c.TownshipCode),
		d.name(d.o.CategoryName, c.Category), int(d.o.HotWindow.Hours()), len(ids), seed)
	err = tx.QueryRow(ctx, `INSERT INTO console_alerts (kind, township_code, county_code, category, count, case_ids, title, created_at)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id`,
		a.Kind, a.TownshipCode, a.CountyCode, a.Category, a.Count, a.CaseIDs, a.Title, a.CreatedAt).Scan(&a.ID)
	if err != nil {
		return nil, fmt.Errorf("duplicates: alert: %w", err)
	}
	d.o.Log.Info("hot spot", "township", a.TownshipCode, "category", a.Category, "count", a.Count, "alert", a.ID)
	return a, nil
}

func (d *Detector) name(fn func(string) string, code string) string {
	if fn != nil {
		if n := fn(code); n != "" {
			return n
		}
	}
	return code
}

// Alerts returns the alerts created after since, newest first (at most
// limit).
func (d *Detector) Alerts(ctx context.Context, since time.Time, limit int) ([]Alert, error) {
	rows, err := d.q(ctx).Query(ctx, `SELECT a.id, a.kind, a.township_code, a.county_code, a.category, a.count, a.case_ids,
		coalesce((SELECT array_agg(c.tracking_no ORDER BY c.created_at, c.id) FROM cases c WHERE c.id = ANY(a.case_ids)), '{}'),
		a.title, a.created_at
		FROM console_alerts a WHERE a.created_at > $1 ORDER BY a.created_at DESC, a.id DESC LIMIT $2`, since, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Alert, error) {
		var a Alert
		err := r.Scan(&a.ID, &a.Kind, &a.TownshipCode, &a.CountyCode, &a.Category, &a.Count, &a.CaseIDs, &a.TrackingNos, &a.Title, &a.CreatedAt)
		return a, err
	})
}
