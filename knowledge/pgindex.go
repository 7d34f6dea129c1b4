package knowledge

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PGIndex searches the kb_search side table in PostgreSQL: overlapping
// character bigrams in a tsvector with a GIN index, ranked by BM25F in Go
// over a capped candidate set (see Search).
type PGIndex struct {
	db *pgxpool.Pool
	az *Analyzer
	// Budget bounds the first, cheap ranking: the rarest query terms
	// whose document frequencies add up to at most Budget select the
	// candidates (at least the rarest one does). Cap is the number of
	// candidates ranked exactly.
	Budget, Cap int
}

// NewPGIndex returns the PostgreSQL index on db, analysing queries with az.
func NewPGIndex(db *pgxpool.Pool, az *Analyzer) *PGIndex {
	return &PGIndex{db: db, az: az, Budget: 2000, Cap: 50}
}

// Name implements Index.
func (x *PGIndex) Name() string { return "postgres" }

// stopShare is the document frequency (share of all documents) above which
// a term selects no candidates: 一个, 办理, 可以 are in too many articles
// to say which one is meant. It still counts in the ranking.
const stopShare = 0.2

// Search implements Index. It takes three queries: the term statistics of
// the query's terms; the candidates (documents holding the query's rarest
// terms, after the visibility, expiry, region and category filters, the
// best Cap of a cheap first ranking: see candidates) with the frequencies
// of the query's terms per field; and the text of the best ones for their
// snippets. Ranking is BM25F (rank) in Go.
func (x *PGIndex) Search(ctx context.Context, q Query) ([]Hit, error) {
	q.normalise()
	a := x.az.Analyze(q.Text)
	if len(a.Terms) == 0 {
		return nil, nil
	}
	if q.County == "" {
		q.County = a.Place
	}
	terms := make([]string, len(a.Terms))
	for i, t := range a.Terms {
		terms[i] = t.Term
	}
	var hits []Hit
	// One read-only transaction: one snapshot for the three queries, and
	// no parallel workers (starting them costs more than the query).
	err := pgx.BeginTxFunc(ctx, x.db, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
			return err
		}
		st, err := x.stats(ctx, tx, terms)
		if err != nil {
			return err
		}
		sel := selectTerms(a, st, x.Budget)
		if len(sel) == 0 {
			return nil
		}
		cands, err := x.candidates(ctx, tx, &q, sel, terms)
		if err != nil {
			return err
		}
		best := rank(a, st, cands, &q)
		if len(best) == 0 {
			return nil
		}
		hits, err = x.hits(ctx, tx, a, best)
		return err
	})
	return hits, err
}

func (x *PGIndex) stats(ctx context.Context, tx pgx.Tx, terms []string) (*stats, error) {
	st := &stats{df: map[string]int{}}
	var lens []int64
	var ts []string
	var dfs []int32
	err := tx.QueryRow(ctx, `SELECT c.docs, c.lens, coalesce(t.terms, '{}'), coalesce(t.dfs, '{}')
		FROM kb_corpus c, (SELECT array_agg(term) terms, array_agg(df) dfs FROM kb_terms WHERE term = ANY($1)) t
		WHERE c.id = 1`, terms).Scan(&st.docs, &lens, &ts, &dfs)
	if err != nil {
		return nil, fmt.Errorf("knowledge: term statistics: %w", err)
	}
	for i := range ts {
		st.df[ts[i]] = int(dfs[i])
	}
	for f := 0; f < len(fields) && f < len(lens); f++ {
		if st.docs > 0 {
			st.avg[f] = float64(lens[f]) / float64(st.docs)
		}
	}
	return st, nil
}

// selected is a term that selects candidates, with its weight in the
// first, cheap ranking (the query weight times idf) and whether its
// matches in the body count too (the rarest terms) or in the head only.
type selected struct {
	term       string
	w          float64
	body, head bool
}

// maxHeadTerms is the number of terms that select by the heads, and
// headLimit the rows each of them reads at most.
const (
	maxHeadTerms = 6
	headLimit    = 300
)

// selectTerms picks the terms that select candidates, by rising document
// frequency, stop terms left out (unless nothing else is left): the rarest
// maxHeadTerms select the articles that have them in their head (title,
// question, keywords: short fields, so these are few); the rarest, while
// their document frequencies add up to at most budget (at least the rarest
// one), select by the whole text as well.
func selectTerms(a Analyzed, st *stats, budget int) []selected {
	type tdf struct {
		term string
		df   int
		w    float64
	}
	var ts []tdf
	for _, t := range a.Terms {
		if df := st.df[t.Term]; df > 0 {
			ts = append(ts, tdf{t.Term, df, t.Weight * st.idf(t.Term)})
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].df < ts[j].df || ts[i].df == ts[j].df && ts[i].term < ts[j].term })
	var out []selected
	sum := 0
	for i, t := range ts {
		stop := float64(t.df) > stopShare*float64(st.docs) && st.docs >= 50
		body := i == 0 || !stop && sum+t.df <= budget
		head := i < maxHeadTerms && (i == 0 || !stop)
		if body {
			sum += t.df
		}
		if body || head {
			out = append(out, selected{t.term, t.w, body, head})
		}
	}
	return out
}

// candidates ranks documents in two steps. First, cheaply: every selected
// term is a GIN index scan of the heads (and, for the rarest, one of the
// whole texts) that reads no term vector (the filters are plain columns
// of the narrow row; a scan reads at most Budget rows), and each matching
// document gains the term's weight, twice as much more for a match in the head;
// the best Cap documents go on. Second, their term vectors give the frequencies per
// field of every query term, for BM25F.
func (x *PGIndex) candidates(ctx context.Context, tx pgx.Tx, q *Query, sel []selected, terms []string) ([]*match, error) {
	args := []any{q.visibilities(), q.Today, terms}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	filters := []string{"visibility = ANY($1)", "valid_from <= $2", "valid_until > $2"}
	if rs := q.regions(); rs != nil {
		filters = append(filters, "(region = ANY("+arg(rs)+") OR region LIKE "+arg(q.County+"%")+")")
	}
	if q.Category != "" {
		filters = append(filters, "categories @> ARRAY["+arg(q.Category)+"]::text[]")
	}
	filter := strings.Join(filters, " AND ")
	var branches []string
	limit := arg(x.Budget)
	for _, t := range sel {
		tq := arg(quoteLexeme(t.term)) + "::tsquery"
		w := arg(t.w)
		if t.head {
			branches = append(branches, `(SELECT article_id, 2 * `+w+`::float8 AS w FROM kb_search WHERE ts_filter(terms, '{b}') @@ `+tq+
				` AND `+filter+` LIMIT `+strconv.Itoa(headLimit)+`)`)
		}
		if t.body {
			branches = append(branches, `(SELECT article_id, `+w+`::float8 AS w FROM kb_search WHERE terms @@ `+tq+` AND `+filter+
				` LIMIT `+limit+`)`)
		}
	}
	sql := `WITH hit AS (SELECT article_id, sum(w) AS w FROM (` + strings.Join(branches, "\n UNION ALL ") + `) x
			GROUP BY article_id ORDER BY w DESC, article_id LIMIT ` + arg(x.Cap) + `)
		SELECT s.article_id, s.version, s.region, s.lens, f.lexeme, f.positions
		FROM hit JOIN kb_search s USING (article_id)
		CROSS JOIN LATERAL unnest(ts_filter(setweight(s.terms, 'A', $3::text[]), '{a}')) f`
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("knowledge: search: %w", err)
	}
	defer rows.Close()
	byID := map[string]*match{}
	var out []*match
	for rows.Next() {
		var id, region, lexeme string
		var version int
		var lens []int32
		var positions []int16
		if err := rows.Scan(&id, &version, &region, &lens, &lexeme, &positions); err != nil {
			return nil, err
		}
		m := byID[id]
		if m == nil {
			m = &match{id: id, version: version, region: region, tf: map[string][4]int{}}
			for f := 0; f < len(lens) && f < 4; f++ {
				m.lens[f] = int(lens[f])
			}
			byID[id] = m
			out = append(out, m)
		}
		var tf [4]int
		for _, p := range positions {
			tf[fieldOf(int(p))]++
		}
		m.tf[lexeme] = tf
	}
	return out, rows.Err()
}

// hits loads the text of the ranked documents and highlights it.
func (x *PGIndex) hits(ctx context.Context, tx pgx.Tx, a Analyzed, best []scored) ([]Hit, error) {
	ids := make([]string, len(best))
	versions := make([]int32, len(best))
	for i, s := range best {
		ids[i], versions[i] = s.m.id, int32(s.m.version)
	}
	rows, err := tx.Query(ctx, `SELECT v.article_id, v.type, v.title, v.question, v.answer, v.basis, v.guide, v.categories, v.visibility, v.region
		FROM unnest($1::text[], $2::int[]) AS k(id, version)
		JOIN kb_versions v ON v.article_id = k.id AND v.version = k.version`, ids, versions)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	content := map[string]*Content{}
	for rows.Next() {
		var id string
		var c Content
		var guide []byte
		if err := rows.Scan(&id, &c.Type, &c.Title, &c.Question, &c.Answer, &c.Basis, &guide, &c.Categories, &c.Visibility, &c.Region); err != nil {
			return nil, err
		}
		if len(guide) > 0 {
			c.Guide = new(GuideFields)
			if err := json.Unmarshal(guide, c.Guide); err != nil {
				return nil, err
			}
		}
		content[id] = &c
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Hit, 0, len(best))
	for _, s := range best {
		c := content[s.m.id]
		if c == nil {
			continue // unpublished since
		}
		out = append(out, Hit{ArticleID: s.m.id, Version: s.m.version, Type: c.Type, Title: Highlight(c.Title, a, 0),
			Snippet: Snippet(c, a, snippetRunes), Region: c.Region, Visibility: c.Visibility, Categories: c.Categories, Score: s.score})
	}
	return out, nil
}

// indexRow is an article version as the search side table holds it.
type indexRow struct {
	id         string
	version    int
	c          *Content
	terms      string
	lexemes    []string // the distinct terms, sorted
	lens       [4]int
	categories []string
}

func newIndexRow(id string, version int, c *Content) indexRow {
	terms, lexemes, lens := docTerms(c)
	cats := []string{}
	for _, cat := range c.Categories {
		cats = append(cats, cat)
		if len(cat) == 4 && !containsStr(cats, cat[:2]) {
			cats = append(cats, cat[:2])
		}
	}
	return indexRow{id: id, version: version, c: c, terms: terms, lexemes: lexemes, lens: lens, categories: cats}
}

func containsStr(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func dateOrInf(t *time.Time, inf string) any {
	if t == nil {
		return inf
	}
	return t.Format(time.DateOnly)
}

// stmt is one SQL statement with its arguments, to run or to queue in a
// batch.
type stmt struct {
	sql  string
	args []any
}

// searchStmts are the statements that add r to kb_search and, with stats,
// its terms to the statistics (terms in sorted order: one lock order for
// concurrent writers).
func searchStmts(r indexRow, stats bool) []stmt {
	lens := []int32{int32(r.lens[0]), int32(r.lens[1]), int32(r.lens[2]), int32(r.lens[3])}
	out := []stmt{{`INSERT INTO kb_search (article_id, version, visibility, region, categories, valid_from, valid_until, title_key, lens, terms)
		VALUES ($1, $2, $3, $4, $5, $6::text::date, $7::text::date, $8, $9, $10::tsvector)`,
		[]any{r.id, r.version, string(r.c.Visibility), r.c.Region, r.categories, dateOrInf(r.c.EffectiveFrom, "-infinity"),
			dateOrInf(r.c.ExpiresOn, "infinity"), TitleKey(r.c.Title), lens, r.terms}}}
	if stats {
		out = append(out, stmt{`INSERT INTO kb_terms (term, df) SELECT t, 1 FROM unnest($1::text[]) t
			ON CONFLICT (term) DO UPDATE SET df = kb_terms.df + 1`, []any{r.lexemes}},
			stmt{`UPDATE kb_corpus SET docs = docs + 1,
			lens = ARRAY[lens[1] + $1, lens[2] + $2, lens[3] + $3, lens[4] + $4]::bigint[] WHERE id = 1`,
				[]any{r.lens[0], r.lens[1], r.lens[2], r.lens[3]}})
	}
	return out
}

// putSearch replaces the article's row in kb_search in the caller's
// transaction, keeping the term statistics in step unless stats is false
// (a bulk load rebuilds them once at its end).
func putSearch(ctx context.Context, tx pgx.Tx, r indexRow, stats bool) error {
	if err := dropSearch(ctx, tx, r.id, stats); err != nil {
		return err
	}
	for _, st := range searchStmts(r, stats) {
		if _, err := tx.Exec(ctx, st.sql, st.args...); err != nil {
			return fmt.Errorf("knowledge: index %s: %w", r.id, err)
		}
	}
	return nil
}

// dropSearch removes the article's row from kb_search (if any) and, with
// stats, its terms from the statistics.
func dropSearch(ctx context.Context, tx pgx.Tx, id string, stats bool) error {
	var terms []string
	var lens []int64
	err := tx.QueryRow(ctx, `DELETE FROM kb_search WHERE article_id = $1 RETURNING tsvector_to_array(terms), lens::bigint[]`, id).Scan(&terms, &lens)
	if err == pgx.ErrNoRows {
		return nil
	}
	if err != nil || !stats {
		return err
	}
	sort.Strings(terms)
	if _, err := tx.Exec(ctx, `UPDATE kb_terms SET df = df - 1 WHERE term = ANY($1)`, terms); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `UPDATE kb_corpus SET docs = docs - 1,
		lens = ARRAY[lens[1] - $1, lens[2] - $2, lens[3] - $3, lens[4] - $4]::bigint[] WHERE id = 1`,
		lens[0], lens[1], lens[2], lens[3])
	return err
}

// RebuildStats recomputes the term statistics from kb_search (after a bulk
// load that skipped them, or to repair them).
func RebuildStats(ctx context.Context, db *pgxpool.Pool) error {
	return pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE kb_search IN SHARE MODE`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM kb_terms`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO kb_terms (term, df) SELECT word, ndoc FROM ts_stat('SELECT terms FROM kb_search')`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE kb_corpus SET (docs, lens) = (SELECT count(*),
			ARRAY[coalesce(sum(lens[1]),0), coalesce(sum(lens[2]),0), coalesce(sum(lens[3]),0), coalesce(sum(lens[4]),0)]::bigint[] FROM kb_search)
			WHERE id = 1`)
		return err
	})
}
