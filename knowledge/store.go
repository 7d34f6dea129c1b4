package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/auth"
	"yici/internal/clock"
	"yici/router/territory"
)

// Options configure a Store.
type Options struct {
	Clock clock.Clock
	Log   *slog.Logger
	// Synonyms expand queries; nil means the embedded seed synonyms.
	Synonyms *Synonyms
	// Territory finds the places queries name; nil means Zhejiang.
	Territory *territory.Territory
	// MeiliURL, when set, sends searches to Meilisearch (MEILI_URL, with
	// MEILI_KEY as MeiliKey); PostgreSQL answers while it is unreachable.
	// Run keeps its documents in sync.
	MeiliURL, MeiliKey string
	// MeiliIndex names the Meilisearch index (default "yici_kb").
	MeiliIndex string
}

// Store keeps the knowledge base in PostgreSQL. It owns the SQL of the kb_
// tables: articles and versions, the search side table and its statistics,
// the outbox, uses and misses.
type Store struct {
	db    *pgxpool.Pool
	clock clock.Clock
	log   *slog.Logger
	syn   *Synonyms
	az    *Analyzer
	pg    *PGIndex
	meili *MeiliIndex
	index Index
}

// NewStore returns a store on db with the index its options select.
func NewStore(db *pgxpool.Pool, o Options) (*Store, error) {
	s := &Store{db: db, clock: o.Clock, log: o.Log, syn: o.Synonyms}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.syn == nil {
		var err error
		if s.syn, err = SeedSynonyms(); err != nil {
			return nil, err
		}
	}
	terr := o.Territory
	if terr == nil {
		terr = territory.Zhejiang()
	}
	s.az = &Analyzer{Synonyms: s.syn, Territory: terr}
	s.pg = NewPGIndex(db, s.az)
	s.index = s.pg
	if o.MeiliURL != "" {
		m, err := NewMeiliIndex(MeiliConfig{URL: o.MeiliURL, Key: o.MeiliKey, Index: o.MeiliIndex}, db, s.az, s.log)
		if err != nil {
			return nil, err
		}
		s.meili = m
		s.index = &fallback{primary: m, secondary: s.pg, log: s.log}
	}
	return s, nil
}

// DB returns the pool.
func (s *Store) DB() *pgxpool.Pool { return s.db }

// Index returns the configured search index.
func (s *Store) Index() Index { return s.index }

// PG returns the PostgreSQL index (always kept up to date).
func (s *Store) PG() *PGIndex { return s.pg }

// Meili returns the Meilisearch index, nil when none is configured.
func (s *Store) Meili() *MeiliIndex { return s.meili }

// Synonyms returns the query synonyms.
func (s *Store) Synonyms() *Synonyms { return s.syn }

// Analyzer returns the query analyser.
func (s *Store) Analyzer() *Analyzer { return s.az }

// Run keeps the external index (if any) in sync with the outbox until ctx
// ends. Without Meilisearch it empties the outbox every hour, unless a
// Meilisearch index was synced from this database before (kb_sync): then
// the rows wait for it, so that it loses no update when it comes back.
func (s *Store) Run(ctx context.Context) error {
	if s.meili != nil {
		return s.meili.Run(ctx)
	}
	for {
		if _, err := s.db.Exec(ctx, `DELETE FROM kb_outbox WHERE NOT EXISTS (SELECT 1 FROM kb_sync)`); err != nil && ctx.Err() == nil {
			s.log.Warn("knowledge: trimming the outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Hour):
		}
	}
}

// Errors.
var (
	ErrNotFound  = errors.New("knowledge: no such article")
	ErrForbidden = errors.New("knowledge: not allowed for this role or unit")
	ErrState     = errors.New("knowledge: not possible in the article's state")
)

// StateError says which step the article's state refuses.
type StateError struct {
	Step   string
	Status Status
}

func (e *StateError) Error() string {
	return fmt.Sprintf("knowledge: cannot %s a version that is %s", e.Step, e.Status)
}

// Unwrap makes errors.Is(err, ErrState) true.
func (e *StateError) Unwrap() error { return ErrState }

// MessageZH explains the refusal in Chinese.
func (e *StateError) MessageZH() string {
	steps := map[string]string{"edit": "修改", "submit": "提交审核", "publish": "发布", "reject": "退回", "archive": "归档"}
	return fmt.Sprintf("当前版本状态为“%s”，不能%s", e.Status.Label(), steps[e.Step])
}

// CanEdit reports whether actor may write drafts of an article owned by
// unit: hotline centre staff and admins for any article, an officer for
// the articles of their own unit.
func CanEdit(actor auth.Actor, unit string) bool {
	switch actor.Role {
	case auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Admin, auth.System:
		return true
	case auth.Officer:
		return unit != "" && actor.UnitID == unit
	}
	return false
}

// CanReview reports whether actor may publish, reject and archive: the
// centre's dispatchers and supervisors, and admins.
func CanReview(actor auth.Actor) bool {
	switch actor.Role {
	case auth.Dispatcher, auth.Supervisor, auth.Admin, auth.System:
		return true
	}
	return false
}

// canRead reports whether actor may read a's unpublished versions.
func canRead(actor auth.Actor, ownerUnit string) bool {
	return actor.Role != auth.Officer && actor.Role != auth.Citizen && actor.Role != auth.Grid && actor.Role != "" || actor.Role == auth.Officer && actor.UnitID == ownerUnit
}

type txKey struct{}

// inTx runs fn in one transaction (joining the one of ctx, if any).
func (s *Store) inTx(ctx context.Context, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return fn(ctx, tx)
	}
	return pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		return fn(context.WithValue(ctx, txKey{}, tx), tx)
	})
}

const articleCols = `a.id, v.version, v.status, a.owner_unit, v.type, v.title, v.question, v.answer, v.basis, v.guide, v.categories,
	v.region, v.visibility, v.tags, v.synonyms, v.effective_from, v.expires_on, coalesce(a.live_version, 0), a.latest_version,
	v.author_name, v.note, v.created_at, v.updated_at, v.published_at`

type row interface{ Scan(...any) error }

func scanArticle(r row) (*Article, error) {
	var a Article
	var guide []byte
	err := r.Scan(&a.ID, &a.Version, &a.Status, &a.OwnerUnit, &a.Type, &a.Title, &a.Question, &a.Answer, &a.Basis, &guide,
		&a.Categories, &a.Region, &a.Visibility, &a.Tags, &a.Synonyms, &a.EffectiveFrom, &a.ExpiresOn, &a.Live, &a.Latest,
		&a.AuthorName, &a.Note, &a.CreatedAt, &a.UpdatedAt, &a.PublishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if len(guide) > 0 {
		a.Guide = new(GuideFields)
		if err := json.Unmarshal(guide, a.Guide); err != nil {
			return nil, fmt.Errorf("article %s: guide: %w", a.ID, err)
		}
	}
	return &a, nil
}

func (s *Store) q(ctx context.Context) interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
} {
	if tx, ok := ctx.Value(txKey{}).(pgx.Tx); ok {
		return tx
	}
	return s.db
}

// Get returns the latest version of an article.
func (s *Store) Get(ctx context.Context, id string) (*Article, error) {
	return scanArticle(s.q(ctx).QueryRow(ctx, `SELECT `+articleCols+` FROM kb_articles a
		JOIN kb_versions v ON v.article_id = a.id AND v.version = a.latest_version WHERE a.id = $1`, id))
}

// GetVersion returns one version of an article.
func (s *Store) GetVersion(ctx context.Context, id string, version int) (*Article, error) {
	return scanArticle(s.q(ctx).QueryRow(ctx, `SELECT `+articleCols+` FROM kb_articles a
		JOIN kb_versions v ON v.article_id = a.id AND v.version = $2 WHERE a.id = $1`, id, version))
}

// Live returns the published version of an article (ErrNotFound when it
// has none).
func (s *Store) Live(ctx context.Context, id string) (*Article, error) {
	return scanArticle(s.q(ctx).QueryRow(ctx, `SELECT `+articleCols+` FROM kb_articles a
		JOIN kb_versions v ON v.article_id = a.id AND v.version = a.live_version WHERE a.id = $1`, id))
}

// Versions returns every version of an article, newest first.
func (s *Store) Versions(ctx context.Context, id string) ([]*Article, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT `+articleCols+` FROM kb_articles a
		JOIN kb_versions v ON v.article_id = a.id WHERE a.id = $1 ORDER BY v.version DESC`, id)
	if err != nil {
		return nil, err
	}
	out, err := collectArticles(rows)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// ListFilter selects articles for the management list.
type ListFilter struct {
	Status    Status // of the latest version; "" = any
	OwnerUnit string // "" = any
	Limit     int    // default 100, at most 500
}

// List returns the latest versions of articles, most recently changed first.
func (s *Store) List(ctx context.Context, f ListFilter) ([]*Article, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 100
	}
	rows, err := s.q(ctx).Query(ctx, `SELECT `+articleCols+` FROM kb_articles a
		JOIN kb_versions v ON v.article_id = a.id AND v.version = a.latest_version
		WHERE ($1 = '' OR v.status = $1) AND ($2 = '' OR a.owner_unit = $2)
		ORDER BY v.updated_at DESC, a.id LIMIT $3`, string(f.Status), f.OwnerUnit, f.Limit)
	if err != nil {
		return nil, err
	}
	return collectArticles(rows)
}

// collectArticles reads every row of rows and closes them.
func collectArticles(rows pgx.Rows) ([]*Article, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Article, error) { return scanArticle(r) })
}

func guideJSON(g *GuideFields) ([]byte, error) {
	if g == nil {
		return nil, nil
	}
	return json.Marshal(g)
}

func actorID(a auth.Actor) *uuid.UUID {
	if a.ID == uuid.Nil {
		return nil
	}
	id := a.ID
	return &id
}

func orNone(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// versionStmt is the statement that writes version v of article id.
func versionStmt(id string, v int, st Status, c *Content, actor auth.Actor, now time.Time) (stmt, error) {
	g, err := guideJSON(c.Guide)
	if err != nil {
		return stmt{}, err
	}
	var pubAt *time.Time
	pubBy := ""
	if st == Published {
		pubAt, pubBy = &now, actor.Name
	}
	return stmt{`INSERT INTO kb_versions (article_id, version, status, type, title, question, answer, basis, guide, categories,
		region, visibility, tags, synonyms, effective_from, expires_on, author_id, author_name, created_at, updated_at, published_at, published_by)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$19,$20,$21)`,
		[]any{id, v, string(st), string(c.Type), c.Title, c.Question, c.Answer, c.Basis, g, orNone(c.Categories), c.Region,
			string(c.Visibility), orNone(c.Tags), orNone(c.Synonyms), c.EffectiveFrom, c.ExpiresOn, actorID(actor), actor.Name, now, pubAt, pubBy}}, nil
}

// insertVersion writes version v of article id.
func (s *Store) insertVersion(ctx context.Context, tx pgx.Tx, id string, v int, st Status, c *Content, actor auth.Actor, now time.Time) error {
	q, err := versionStmt(id, v, st, c, actor, now)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, q.sql, q.args...)
	return err
}

// NewArticleID returns a fresh article id (kb-<uuid>).
func NewArticleID() string { return "kb-" + uuid.Must(uuid.NewV7()).String() }

// Create writes a new article as a draft (version 1) owned by unit
// (an officer's own unit; centre staff name any unit or none).
func (s *Store) Create(ctx context.Context, actor auth.Actor, unit string, c Content) (*Article, error) {
	if actor.Role == auth.Officer && unit == "" {
		unit = actor.UnitID
	}
	if !CanEdit(actor, unit) {
		return nil, ErrForbidden
	}
	if err := c.Check(); err != nil {
		return nil, err
	}
	id := NewArticleID()
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		now := s.clock.Now()
		if _, err := tx.Exec(ctx, `INSERT INTO kb_articles (id, owner_unit, latest_version, created_at, updated_at) VALUES ($1,$2,1,$3,$3)`,
			id, unit, now); err != nil {
			return err
		}
		return s.insertVersion(ctx, tx, id, 1, Draft, &c, actor, now)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// lock returns the latest version of an article, its row locked.
func (s *Store) lock(ctx context.Context, tx pgx.Tx, id string) (*Article, error) {
	if _, err := tx.Exec(ctx, `SELECT 1 FROM kb_articles WHERE id = $1 FOR UPDATE`, id); err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Edit changes an article: the latest version while it is a draft;
// otherwise (published, archived) a new draft version is started from c,
// the published one staying live until the new one is published. A
// version in review must be rejected before it is edited.
func (s *Store) Edit(ctx context.Context, actor auth.Actor, id string, c Content) (*Article, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if !CanEdit(actor, a.OwnerUnit) {
			return ErrForbidden
		}
		now := s.clock.Now()
		switch a.Status {
		case Draft:
			g, err := guideJSON(c.Guide)
			if err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE kb_versions SET type=$3, title=$4, question=$5, answer=$6, basis=$7, guide=$8, categories=$9,
				region=$10, visibility=$11, tags=$12, synonyms=$13, effective_from=$14, expires_on=$15, author_id=$16, author_name=$17,
				updated_at=$18 WHERE article_id=$1 AND version=$2`,
				id, a.Version, string(c.Type), c.Title, c.Question, c.Answer, c.Basis, g, orNone(c.Categories), c.Region,
				string(c.Visibility), orNone(c.Tags), orNone(c.Synonyms), c.EffectiveFrom, c.ExpiresOn, actorID(actor), actor.Name, now)
			if err != nil {
				return err
			}
		case Published, Archived, Superseded:
			if err := s.insertVersion(ctx, tx, id, a.Latest+1, Draft, &c, actor, now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE kb_articles SET latest_version = $2 WHERE id = $1`, id, a.Latest+1); err != nil {
				return err
			}
		default:
			return &StateError{Step: "edit", Status: a.Status}
		}
		_, err = tx.Exec(ctx, `UPDATE kb_articles SET updated_at = $2 WHERE id = $1`, id, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// setStatus moves the latest version from one of from to st.
func (s *Store) setStatus(ctx context.Context, actor auth.Actor, id, step string, from []Status, st Status, note string,
	allowed func(*Article) bool, then func(ctx context.Context, tx pgx.Tx, a *Article, now time.Time) error) (*Article, error) {
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if !allowed(a) {
			return ErrForbidden
		}
		ok := false
		for _, f := range from {
			ok = ok || a.Status == f
		}
		if !ok {
			return &StateError{Step: step, Status: a.Status}
		}
		now := s.clock.Now()
		if st == Published {
			if _, err := tx.Exec(ctx, `UPDATE kb_versions SET status = 'superseded', updated_at = $2
				WHERE article_id = $1 AND status = 'published'`, id, now); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE kb_versions SET status = $3, note = $4, updated_at = $5 WHERE article_id = $1 AND version = $2`,
			id, a.Version, string(st), note, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE kb_articles SET updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		if then != nil {
			return then(ctx, tx, a, now)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// Submit sends the draft for review (its editors may).
func (s *Store) Submit(ctx context.Context, actor auth.Actor, id string) (*Article, error) {
	return s.setStatus(ctx, actor, id, "submit", []Status{Draft}, Review, "",
		func(a *Article) bool { return CanEdit(actor, a.OwnerUnit) }, nil)
}

// Reject returns a version in review to its authors as a draft, with a
// remark (centre reviewers).
func (s *Store) Reject(ctx context.Context, actor auth.Actor, id, note string) (*Article, error) {
	return s.setStatus(ctx, actor, id, "reject", []Status{Review}, Draft, strings.TrimSpace(note),
		func(*Article) bool { return CanReview(actor) }, nil)
}

// Publish puts the version in review live (centre reviewers): the one
// published before is superseded, the search index updated and the change
// queued in the outbox.
func (s *Store) Publish(ctx context.Context, actor auth.Actor, id string) (*Article, error) {
	return s.setStatus(ctx, actor, id, "publish", []Status{Review}, Published, "",
		func(*Article) bool { return CanReview(actor) },
		func(ctx context.Context, tx pgx.Tx, a *Article, now time.Time) error {
			return s.goLive(ctx, tx, a.ID, a.Version, &a.Content, actor, now)
		})
}

// goLive makes version v the live one of an article, in tx.
func (s *Store) goLive(ctx context.Context, tx pgx.Tx, id string, v int, c *Content, actor auth.Actor, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE kb_versions SET status = 'superseded', updated_at = $3
		WHERE article_id = $1 AND status = 'published' AND version <> $2`, id, v, now); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE kb_versions SET published_at = $3, published_by = $4 WHERE article_id = $1 AND version = $2`,
		id, v, now, actor.Name); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE kb_articles SET live_version = $2 WHERE id = $1`, id, v); err != nil {
		return err
	}
	if err := putSearch(ctx, tx, newIndexRow(id, v, c), true); err != nil {
		return err
	}
	return outbox(ctx, tx, id)
}

func outbox(ctx context.Context, tx pgx.Tx, ids ...string) error {
	_, err := tx.Exec(ctx, `INSERT INTO kb_outbox (article_id) SELECT unnest($1::text[])`, ids)
	return err
}

// Archive takes an article out of search (centre reviewers): its live
// version is archived. Editing it later starts a new draft.
func (s *Store) Archive(ctx context.Context, actor auth.Actor, id, note string) (*Article, error) {
	if !CanReview(actor) {
		return nil, ErrForbidden
	}
	err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return err
		}
		if a.Live == 0 {
			return &StateError{Step: "archive", Status: a.Status}
		}
		now := s.clock.Now()
		if _, err := tx.Exec(ctx, `UPDATE kb_versions SET status = 'archived', note = $3, updated_at = $4 WHERE article_id = $1 AND version = $2`,
			id, a.Live, strings.TrimSpace(note), now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE kb_articles SET live_version = NULL, updated_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		if err := dropSearch(ctx, tx, id, true); err != nil {
			return err
		}
		return outbox(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, id)
}

// ImportReport counts what an import did.
type ImportReport struct {
	Created, Updated, Unchanged int
}

func (r ImportReport) String() string {
	return fmt.Sprintf("%d new, %d updated, %d unchanged", r.Created, r.Updated, r.Unchanged)
}

// ImportError lists the bad lines of an import that was refused.
type ImportError struct{ Lines []*LineError }

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "knowledge: %d invalid lines, nothing imported", len(e.Lines))
	for i, l := range e.Lines {
		if i == 10 {
			fmt.Fprintf(&b, "; …")
			break
		}
		fmt.Fprintf(&b, "; %v", l)
	}
	return b.String()
}

// importBatch is the number of articles written per transaction.
const importBatch = 500

// Import loads articles from JSON lines and publishes them, keeping their
// ids: a new id makes a new article, a known one with changed content a new
// version (the old one superseded), an unchanged one nothing. Either every
// line is valid and all are imported, or nothing is and the error lists
// the bad lines. owner is the owning unit of new articles that name none.
func (s *Store) Import(ctx context.Context, actor auth.Actor, r io.Reader, owner string) (ImportReport, error) {
	var rep ImportReport
	if !CanReview(actor) {
		return rep, ErrForbidden
	}
	type item struct {
		rec Record
		c   Content
	}
	var items []item
	var bad []*LineError
	seen := map[string]int{}
	dec := NewDecoder(r)
	for {
		rec, c, err := dec.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var le *LineError
		if errors.As(err, &le) {
			bad = append(bad, le)
			continue
		}
		if err != nil {
			return rep, err
		}
		if prev, dup := seen[rec.ID]; dup {
			bad = append(bad, &LineError{Line: dec.Line(), Err: fmt.Errorf("id %q repeats line %d", rec.ID, prev)})
			continue
		}
		seen[rec.ID] = dec.Line()
		items = append(items, item{rec, c})
	}
	if len(bad) > 0 {
		return rep, &ImportError{Lines: bad}
	}
	for start := 0; start < len(items); start += importBatch {
		batch := items[start:min(start+importBatch, len(items))]
		stats := len(items) < statsThreshold
		err := s.inTx(ctx, func(ctx context.Context, tx pgx.Tx) error {
			ids := make([]string, len(batch))
			for i, it := range batch {
				ids[i] = it.rec.ID
			}
			rows, err := tx.Query(ctx, `SELECT id FROM kb_articles WHERE id = ANY($1) ORDER BY id FOR UPDATE`, ids)
			if err != nil {
				return err
			}
			known, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			exists := map[string]bool{}
			for _, id := range known {
				exists[id] = true
			}
			// New articles go in one round trip; known ones one by one.
			var b pgx.Batch
			now := s.clock.Now()
			for _, it := range batch {
				o := it.rec.OwnerUnit
				if o == "" {
					o = owner
				}
				if exists[it.rec.ID] {
					res, err := s.importOne(ctx, tx, actor, it.rec.ID, o, it.c, stats)
					if err != nil {
						return fmt.Errorf("article %s: %w", it.rec.ID, err)
					}
					if res == 'u' {
						rep.Updated++
					} else {
						rep.Unchanged++
					}
					continue
				}
				v, err := versionStmt(it.rec.ID, 1, Published, &it.c, actor, now)
				if err != nil {
					return err
				}
				b.Queue(`INSERT INTO kb_articles (id, owner_unit, latest_version, live_version, created_at, updated_at) VALUES ($1,$2,1,1,$3,$3)`,
					it.rec.ID, o, now)
				b.Queue(v.sql, v.args...)
				for _, st := range searchStmts(newIndexRow(it.rec.ID, 1, &it.c), stats) {
					b.Queue(st.sql, st.args...)
				}
				b.Queue(`INSERT INTO kb_outbox (article_id) VALUES ($1)`, it.rec.ID)
				rep.Created++
			}
			if b.Len() == 0 {
				return nil
			}
			return tx.SendBatch(ctx, &b).Close()
		})
		if err != nil {
			return rep, err
		}
	}
	if len(items) >= statsThreshold && rep.Created+rep.Updated > 0 {
		if err := RebuildStats(ctx, s.db); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// statsThreshold is the import size from which the term statistics are
// rebuilt once at the end rather than kept in step article by article.
const statsThreshold = 2000

func sameContent(a, b *Content) bool {
	norm := func(c Content) Content {
		c.Categories, c.Tags, c.Synonyms = orNone(c.Categories), orNone(c.Tags), orNone(c.Synonyms)
		return c
	}
	return reflect.DeepEqual(norm(*a), norm(*b))
}

// importOne writes one imported article: 'c' created, 'u' updated, 'n' unchanged.
func (s *Store) importOne(ctx context.Context, tx pgx.Tx, actor auth.Actor, id, owner string, c Content, stats bool) (byte, error) {
	now := s.clock.Now()
	tag, err := tx.Exec(ctx, `INSERT INTO kb_articles (id, owner_unit, latest_version, live_version, created_at, updated_at)
		VALUES ($1,$2,1,1,$3,$3) ON CONFLICT (id) DO NOTHING`, id, owner, now)
	if err != nil {
		return 0, err
	}
	v, res := 1, byte('c')
	if tag.RowsAffected() == 0 {
		a, err := s.lock(ctx, tx, id)
		if err != nil {
			return 0, err
		}
		if sameContent(&a.Content, &c) {
			return 'n', nil
		}
		v, res = a.Latest+1, 'u'
		if _, err := tx.Exec(ctx, `UPDATE kb_articles SET latest_version = $2, updated_at = $3 WHERE id = $1`, id, v, now); err != nil {
			return 0, err
		}
		if _, err := tx.Exec(ctx, `UPDATE kb_versions SET status = 'superseded', updated_at = $2
			WHERE article_id = $1 AND status IN ('draft','review','published')`, id, now); err != nil {
			return 0, err
		}
	}
	if err := s.insertVersion(ctx, tx, id, v, Published, &c, actor, now); err != nil {
		return 0, err
	}
	if res == 'c' {
		if err := putSearch(ctx, tx, newIndexRow(id, v, &c), stats); err != nil {
			return 0, err
		}
		return res, outbox(ctx, tx, id)
	}
	if _, err := tx.Exec(ctx, `UPDATE kb_articles SET live_version = $2 WHERE id = $1`, id, v); err != nil {
		return 0, err
	}
	if err := putSearch(ctx, tx, newIndexRow(id, v, &c), stats); err != nil {
		return 0, err
	}
	return res, outbox(ctx, tx, id)
}

// Export writes the live version of every published article as JSON lines
// (the import format), ordered by id.
func (s *Store) Export(ctx context.Context, w io.Writer) (int, error) {
	rows, err := s.db.Query(ctx, `SELECT `+articleCols+` FROM kb_articles a
		JOIN kb_versions v ON v.article_id = a.id AND v.version = a.live_version ORDER BY a.id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return n, err
		}
		if err := RecordOf(a).Encode(w); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// RecordUse notes that version of article answered the case. Recording the
// same answer twice is harmless.
func (s *Store) RecordUse(ctx context.Context, caseID uuid.UUID, articleID string, version int) error {
	actor, _ := auth.FromContext(ctx)
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO kb_uses (case_id, article_id, version, actor_id, at) VALUES ($1,$2,$3,$4,$5)
		ON CONFLICT (case_id, article_id, version) DO NOTHING`, caseID, articleID, version, actorID(actor), s.clock.Now())
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return ErrNotFound
	}
	return err
}

// Use is one recorded answer.
type Use struct {
	CaseID    uuid.UUID `json:"case_id"`
	ArticleID string    `json:"article_id"`
	Version   int       `json:"version"`
	At        time.Time `json:"at"`
}

// UsesOfCase returns the article versions that answered a case.
func (s *Store) UsesOfCase(ctx context.Context, caseID uuid.UUID) ([]Use, error) {
	rows, err := s.q(ctx).Query(ctx, `SELECT case_id, article_id, version, at FROM kb_uses WHERE case_id = $1 ORDER BY at, id`, caseID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Use, error) {
		var u Use
		err := r.Scan(&u.CaseID, &u.ArticleID, &u.Version, &u.At)
		return u, err
	})
}

// maxMissQuery caps the stored text of a search that found nothing.
const maxMissQuery = 200

// LogMiss notes a search that found nothing, with the asker's role.
func (s *Store) LogMiss(ctx context.Context, query string, role auth.Role) error {
	query = strings.TrimSpace(query)
	if query == "" {
		return nil
	}
	if r := []rune(query); len(r) > maxMissQuery {
		query = string(r[:maxMissQuery])
	}
	if role == "" {
		role = auth.Citizen
	}
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO kb_misses (query, role, at) VALUES ($1,$2,$3)`, query, string(role), s.clock.Now())
	return err
}

// Search runs q on the configured index for actor and logs it when it
// finds nothing.
func (s *Store) Search(ctx context.Context, actor auth.Actor, q Query) ([]Hit, error) {
	hits, err := s.index.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	if len(hits) == 0 {
		if err := s.LogMiss(ctx, q.Text, actor.Role); err != nil {
			s.log.Warn("knowledge: logging a search without result", "err", err)
		}
	}
	return hits, nil
}

// Stats is what the admin sees of the use of the knowledge base.
type Stats struct {
	Since     time.Time     `json:"since"`
	Articles  int           `json:"articles"` // published
	TopUsed   []ArticleUses `json:"top_used"`
	TopMissed []Miss        `json:"top_missed"`
}

// ArticleUses counts the cases an article answered.
type ArticleUses struct {
	ArticleID string `json:"id"`
	Title     string `json:"title"`
	Uses      int    `json:"uses"`
}

// Miss is a search text that found nothing, with how often.
type Miss struct {
	Query string    `json:"query"`
	Count int       `json:"count"`
	Last  time.Time `json:"last"`
	Roles []string  `json:"roles"`
}

// Stats returns the most used articles and the most frequent searches
// that found nothing since a time, n of each.
func (s *Store) Stats(ctx context.Context, since time.Time, n int) (*Stats, error) {
	if n <= 0 || n > 100 {
		n = 20
	}
	st := &Stats{Since: since, TopUsed: []ArticleUses{}, TopMissed: []Miss{}}
	q := s.q(ctx)
	if err := q.QueryRow(ctx, `SELECT count(*) FROM kb_articles WHERE live_version IS NOT NULL`).Scan(&st.Articles); err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT u.article_id, coalesce(lv.title, ''), count(*) FROM kb_uses u
		JOIN kb_articles a ON a.id = u.article_id
		LEFT JOIN kb_versions lv ON lv.article_id = a.id AND lv.version = a.latest_version
		WHERE u.at >= $1 GROUP BY u.article_id, lv.title ORDER BY count(*) DESC, u.article_id LIMIT $2`, since, n)
	if err != nil {
		return nil, err
	}
	st.TopUsed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (ArticleUses, error) {
		var u ArticleUses
		err := r.Scan(&u.ArticleID, &u.Title, &u.Uses)
		return u, err
	})
	if err != nil {
		return nil, err
	}
	rows, err = q.Query(ctx, `SELECT lower(query), count(*), max(at), array_agg(DISTINCT role ORDER BY role) FROM kb_misses
		WHERE at >= $1 GROUP BY lower(query) ORDER BY count(*) DESC, max(at) DESC LIMIT $2`, since, n)
	if err != nil {
		return nil, err
	}
	st.TopMissed, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Miss, error) {
		var m Miss
		err := r.Scan(&m.Query, &m.Count, &m.Last, &m.Roles)
		return m, err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Similar is a published article with a title close to another.
type Similar struct {
	ArticleID  string  `json:"id"`
	Title      string  `json:"title"`
	Similarity float64 `json:"similarity"`
}

// SimilarTitles returns up to n published articles whose titles are close
// to title (pg_trgm similarity over TitleKey), closest first: editors check
// them before writing a duplicate.
func (s *Store) SimilarTitles(ctx context.Context, title string, n int) ([]Similar, error) {
	out := []Similar{}
	key := TitleKey(title)
	if key == "" {
		return out, nil
	}
	rows, err := s.q(ctx).Query(ctx, `SELECT s.article_id, v.title, similarity(s.title_key, $1) AS sim FROM kb_search s
		JOIN kb_versions v ON v.article_id = s.article_id AND v.version = s.version
		WHERE s.title_key % $1 ORDER BY sim DESC, s.article_id LIMIT $2`, key, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var x Similar
		if err := rows.Scan(&x.ArticleID, &x.Title, &x.Similarity); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
