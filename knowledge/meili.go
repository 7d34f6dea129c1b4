package knowledge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/meilisearch/meilisearch-go"
)

// MeiliConfig says where Meilisearch is.
type MeiliConfig struct {
	URL, Key string
	Index    string // default "yici_kb"
}

// MeiliIndex searches a Meilisearch index whose documents are kept in sync
// with the published articles from the kb_outbox table: every change to an
// article writes an outbox row in the same transaction, and Sync pushes the
// article's current state (or deletes it) before removing the rows it
// handled, so neither a restart nor an outage of Meilisearch loses an
// update.
type MeiliIndex struct {
	cli  meilisearch.ServiceManager
	idx  meilisearch.IndexManager
	uid  string
	db   *pgxpool.Pool
	az   *Analyzer
	log  *slog.Logger
	wait time.Duration // longest wait for a Meilisearch task
}

// NewMeiliIndex returns the Meilisearch index of cfg on the articles of db.
// It does not contact the server: Setup (called by Run and Sync) does.
func NewMeiliIndex(cfg MeiliConfig, db *pgxpool.Pool, az *Analyzer, log *slog.Logger) (*MeiliIndex, error) {
	if cfg.URL == "" {
		return nil, errors.New("knowledge: MEILI_URL is empty")
	}
	if cfg.Index == "" {
		cfg.Index = "yici_kb"
	}
	if log == nil {
		log = slog.Default()
	}
	var opts []meilisearch.Option
	if cfg.Key != "" {
		opts = append(opts, meilisearch.WithAPIKey(cfg.Key))
	}
	cli := meilisearch.New(cfg.URL, opts...)
	return &MeiliIndex{cli: cli, idx: cli.Index(cfg.Index), uid: cfg.Index, db: db, az: az, log: log, wait: time.Minute}, nil
}

// Name implements Index.
func (m *MeiliIndex) Name() string { return "meilisearch" }

// meiliDoc is an article as the Meilisearch index holds it.
type meiliDoc struct {
	ID         string   `json:"id"`
	Version    int      `json:"version"`
	Type       Type     `json:"type"`
	Title      string   `json:"title"`
	Question   string   `json:"question"`
	Keywords   []string `json:"keywords"`
	Body       string   `json:"body"`
	Snippet    string   `json:"snippet"` // the text snippets are cut from
	Categories []string `json:"categories"`
	Visibility string   `json:"visibility"`
	Region     string   `json:"region"`
	RegionPath []string `json:"region_path"` // the region and the regions above it
	ValidFrom  int      `json:"valid_from"`  // YYYYMMDD, 0: always
	ValidUntil int      `json:"valid_until"` // YYYYMMDD exclusive, 99991231: never
	Gen        int64    `json:"gen"`         // the full reindex that last wrote it
}

func regionPath(r string) []string {
	var out []string
	for n := 2; n <= len(r); n += 2 {
		out = append(out, r[:n])
	}
	return out
}

func dayNumber(t *time.Time, none int) int {
	if t == nil {
		return none
	}
	y, mo, d := t.Date()
	return y*10000 + int(mo)*100 + d
}

func docOf(id string, version int, c *Content, gen int64) meiliDoc {
	r := newIndexRow(id, version, c)
	return meiliDoc{ID: id, Version: version, Type: c.Type, Title: c.Title, Question: c.Question,
		Keywords: append(append([]string{}, c.Tags...), c.Synonyms...), Body: c.Body(), Snippet: snippetText(c),
		Categories: r.categories, Visibility: string(c.Visibility), Region: c.Region, RegionPath: regionPath(c.Region),
		ValidFrom: dayNumber(c.EffectiveFrom, 0), ValidUntil: dayNumber(c.ExpiresOn, 99991231), Gen: gen}
}

// settings are the index settings: the fields searched, title and
// question first (Meilisearch's attribute rule ranks by that order), the
// filters, the synonyms of every group both ways, and typo tolerance
// (which, for Chinese words of two or three characters, stays off by the
// word-size limits).
func (m *MeiliIndex) settings() *meilisearch.Settings {
	syn := map[string][]string{}
	for _, g := range m.az.Synonyms.Groups() {
		for _, w := range g {
			for _, o := range g {
				if o != w {
					syn[w] = append(syn[w], o)
				}
			}
		}
	}
	return &meilisearch.Settings{
		SearchableAttributes: []string{"title", "question", "keywords", "body"},
		DisplayedAttributes:  []string{"id", "version", "type", "title", "snippet", "categories", "visibility", "region"},
		FilterableAttributes: []string{"visibility", "region", "region_path", "categories", "valid_from", "valid_until", "gen"},
		SortableAttributes:   []string{"valid_from"},
		RankingRules:         []string{"words", "typo", "proximity", "attribute", "sort", "exactness"},
		Synonyms:             syn,
		TypoTolerance: &meilisearch.TypoTolerance{Enabled: true,
			MinWordSizeForTypos: meilisearch.MinWordSizeForTypos{OneTypo: 5, TwoTypos: 9},
			DisableOnAttributes: []string{"region", "categories"}, DisableOnWords: []string{}},
		Dictionary: m.dictionary(),
	}
}

// dictionary names the synonym words as words, so Meilisearch's Chinese
// segmentation keeps them whole.
func (m *MeiliIndex) dictionary() []string {
	var out []string
	for _, g := range m.az.Synonyms.Groups() {
		out = append(out, g...)
	}
	sort.Strings(out)
	return out
}

// await waits for a task and turns its failure into an error.
func (m *MeiliIndex) await(ctx context.Context, ti *meilisearch.TaskInfo, err error) error {
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, m.wait)
	defer cancel()
	t, err := m.idx.WaitForTask(wctx, ti.TaskUID, 50*time.Millisecond)
	if err != nil {
		return err
	}
	if t.Status != meilisearch.TaskStatusSucceeded {
		return fmt.Errorf("meilisearch task %d %s: %s", ti.TaskUID, t.Status, t.Error.Message)
	}
	return nil
}

// Setup creates the index when it is missing and applies the settings.
func (m *MeiliIndex) Setup(ctx context.Context) error {
	if _, err := m.cli.GetIndex(ctx, m.uid); err != nil {
		var me *meilisearch.Error
		if !errors.As(err, &me) || me.APIError.Code != meilisearch.APIErrCodeIndexNotFound {
			return fmt.Errorf("meilisearch: %w", err)
		}
		ti, err := m.cli.CreateIndex(ctx, &meilisearch.IndexConfig{Uid: m.uid, PrimaryKey: "id"})
		if err := m.await(ctx, ti, err); err != nil {
			return fmt.Errorf("meilisearch: create index %s: %w", m.uid, err)
		}
	}
	ti, err := m.idx.UpdateSettings(ctx, m.settings())
	if err := m.await(ctx, ti, err); err != nil {
		return fmt.Errorf("meilisearch: settings: %w", err)
	}
	return nil
}

func (m *MeiliIndex) consumer() string { return "meili:" + m.uid }

// liveDocs loads the published versions of ids (all of them when ids is
// nil) as documents; the ids not live are returned apart.
func (m *MeiliIndex) liveDocs(ctx context.Context, ids []string, gen int64) ([]meiliDoc, []string, error) {
	sql := `SELECT ` + articleCols + ` FROM kb_articles a JOIN kb_versions v ON v.article_id = a.id AND v.version = a.live_version`
	var args []any
	if ids != nil {
		sql += ` WHERE a.id = ANY($1)`
		args = append(args, ids)
	}
	rows, err := m.db.Query(ctx, sql, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var docs []meiliDoc
	live := map[string]bool{}
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, nil, err
		}
		docs = append(docs, docOf(a.ID, a.Version, &a.Content, gen))
		live[a.ID] = true
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var gone []string
	for _, id := range ids {
		if !live[id] {
			gone = append(gone, id)
		}
	}
	return docs, gone, nil
}

// Reindex pushes every published article and removes every other document.
func (m *MeiliIndex) Reindex(ctx context.Context) (int, error) {
	gen := time.Now().UnixNano()
	docs, _, err := m.liveDocs(ctx, nil, gen)
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(docs); start += 1000 {
		batch := docs[start:min(start+1000, len(docs))]
		ti, err := m.idx.AddDocuments(ctx, batch, nil)
		if err := m.await(ctx, ti, err); err != nil {
			return start, fmt.Errorf("meilisearch: add documents: %w", err)
		}
	}
	ti, err := m.idx.DeleteDocumentsByFilter(ctx, "gen != "+strconv.FormatInt(gen, 10), nil)
	if err := m.await(ctx, ti, err); err != nil {
		return len(docs), fmt.Errorf("meilisearch: remove stale documents: %w", err)
	}
	_, err = m.db.Exec(ctx, `INSERT INTO kb_sync (consumer, last_id, synced_at) VALUES ($1, 0, now())
		ON CONFLICT (consumer) DO UPDATE SET synced_at = now()`, m.consumer())
	return len(docs), err
}

// Sync brings the index up to date: the first time (no kb_sync row for
// this index, or an empty index while articles are published) a full
// Reindex, then the outbox in batches. It returns the number of articles
// pushed or removed.
func (m *MeiliIndex) Sync(ctx context.Context) (int, error) {
	var known bool
	if err := m.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM kb_sync WHERE consumer = $1)`, m.consumer()).Scan(&known); err != nil {
		return 0, err
	}
	if known {
		st, err := m.idx.GetStats(ctx, nil)
		if err != nil {
			return 0, fmt.Errorf("meilisearch: %w", err)
		}
		if st.NumberOfDocuments == 0 {
			var live int
			if err := m.db.QueryRow(ctx, `SELECT count(*) FROM kb_articles WHERE live_version IS NOT NULL`).Scan(&live); err != nil {
				return 0, err
			}
			known = live == 0
		}
	}
	n := 0
	if !known {
		var err error
		if n, err = m.Reindex(ctx); err != nil {
			return n, err
		}
	}
	for {
		k, err := m.drain(ctx, 1000)
		n += k
		if err != nil || k == 0 {
			return n, err
		}
	}
}

// drain handles up to limit outbox rows.
func (m *MeiliIndex) drain(ctx context.Context, limit int) (int, error) {
	rows, err := m.db.Query(ctx, `SELECT id, article_id FROM kb_outbox ORDER BY id LIMIT $1`, limit)
	if err != nil {
		return 0, err
	}
	var rowIDs []int64
	seen := map[string]bool{}
	var ids []string
	for rows.Next() {
		var rid int64
		var aid string
		if err := rows.Scan(&rid, &aid); err != nil {
			rows.Close()
			return 0, err
		}
		rowIDs = append(rowIDs, rid)
		if !seen[aid] {
			seen[aid] = true
			ids = append(ids, aid)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(rowIDs) == 0 {
		return 0, err
	}
	docs, gone, err := m.liveDocs(ctx, ids, 0)
	if err != nil {
		return 0, err
	}
	if len(docs) > 0 {
		ti, err := m.idx.AddDocuments(ctx, docs, nil)
		if err := m.await(ctx, ti, err); err != nil {
			return 0, fmt.Errorf("meilisearch: add documents: %w", err)
		}
	}
	if len(gone) > 0 {
		ti, err := m.idx.DeleteDocuments(ctx, gone, nil)
		if err := m.await(ctx, ti, err); err != nil {
			return 0, fmt.Errorf("meilisearch: delete documents: %w", err)
		}
	}
	// Only now, once Meilisearch holds the change, are the rows done.
	if _, err := m.db.Exec(ctx, `DELETE FROM kb_outbox WHERE id = ANY($1)`, rowIDs); err != nil {
		return 0, err
	}
	_, err = m.db.Exec(ctx, `UPDATE kb_sync SET last_id = $2, synced_at = now() WHERE consumer = $1`, m.consumer(), rowIDs[len(rowIDs)-1])
	return len(ids), err
}

// Run sets the index up and syncs it every second until ctx ends, backing
// off while Meilisearch is unreachable.
func (m *MeiliIndex) Run(ctx context.Context) error {
	wait := time.Second
	ready := false
	for {
		var err error
		if !ready {
			if err = m.Setup(ctx); err == nil {
				ready = true
			}
		}
		if ready {
			var n int
			n, err = m.Sync(ctx)
			if n > 0 {
				m.log.Info("knowledge: meilisearch synced", "articles", n)
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			m.log.Warn("knowledge: meilisearch sync failed; retrying", "err", err, "in", wait)
			wait = min(2*wait, time.Minute)
		default:
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Private-use characters mark highlights, so no article text can forge one.
const (
	hlPre  = "\ue000"
	hlPost = "\ue001"
)

var filterEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`)

func quoteFilter(s string) string { return `"` + filterEscaper.Replace(s) + `"` }

// filter is the Meilisearch filter of q.
func (m *MeiliIndex) filter(q *Query) string {
	day := dayNumber(&q.Today, 0)
	var vis []string
	for _, v := range q.visibilities() {
		vis = append(vis, quoteFilter(v))
	}
	f := []string{"visibility IN [" + strings.Join(vis, ", ") + "]",
		"valid_from <= " + strconv.Itoa(day), "valid_until > " + strconv.Itoa(day)}
	if rs := q.regions(); rs != nil {
		var qs []string
		for _, r := range rs {
			qs = append(qs, quoteFilter(r))
		}
		f = append(f, "(region IN ["+strings.Join(qs, ", ")+"] OR region_path = "+quoteFilter(q.County)+")")
	}
	if q.Category != "" {
		f = append(f, "categories = "+quoteFilter(q.Category))
	}
	return strings.Join(f, " AND ")
}

// meiliFloor is the lowest ranking score (0–1) kept: the relevance floor.
const meiliFloor = 0.35

// Search implements Index: the cleaned query goes to Meilisearch with
// the filters; its ranking score, times the same region boost as in
// PostgreSQL, orders the hits.
func (m *MeiliIndex) Search(ctx context.Context, q Query) ([]Hit, error) {
	q.normalise()
	a := m.az.Analyze(q.Text)
	if len(a.Terms) == 0 {
		return nil, nil
	}
	if q.County == "" {
		q.County = a.Place
	}
	res, err := m.idx.Search(ctx, a.Cleaned, &meilisearch.SearchRequest{
		Limit:                 int64(q.Limit * 3),
		Filter:                m.filter(&q),
		MatchingStrategy:      meilisearch.Frequency,
		AttributesToHighlight: []string{"title", "snippet"},
		AttributesToCrop:      []string{"snippet"},
		CropLength:            40,
		CropMarker:            "…",
		HighlightPreTag:       hlPre,
		HighlightPostTag:      hlPost,
		ShowRankingScore:      true,
		RankingScoreThreshold: meiliFloor,
	})
	if err != nil {
		return nil, fmt.Errorf("meilisearch: %w", err)
	}
	var out []Hit
	for _, h := range res.Hits {
		var d struct {
			meiliDoc
			Score     float64 `json:"_rankingScore"`
			Formatted struct {
				Title   string `json:"title"`
				Snippet string `json:"snippet"`
			} `json:"_formatted"`
		}
		if err := h.DecodeInto(&d); err != nil {
			return nil, fmt.Errorf("meilisearch: hit: %w", err)
		}
		score := d.Score * regionBoost(q.County, d.Region)
		out = append(out, Hit{ArticleID: d.ID, Version: d.Version, Type: d.Type, Title: parseMarked(d.Formatted.Title),
			Snippet: parseMarked(d.Formatted.Snippet), Region: d.Region, Visibility: Visibility(d.Visibility),
			Categories: d.Categories, Score: math.Round(score*1e4) / 1e4})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// parseMarked turns text with highlight markers into spans.
func parseMarked(s string) Spans {
	var out Spans
	hit := false
	for s != "" {
		mark := hlPre
		if hit {
			mark = hlPost
		}
		i := strings.Index(s, mark)
		if i < 0 {
			out = append(out, Span{Text: strings.NewReplacer(hlPre, "", hlPost, "").Replace(s), Hit: hit})
			break
		}
		if i > 0 {
			out = append(out, Span{Text: s[:i], Hit: hit})
		}
		s = s[i+len(mark):]
		hit = !hit
	}
	return out
}

// fallback searches the primary index and, while it fails, the secondary.
type fallback struct {
	primary, secondary Index
	log                *slog.Logger
}

func (f *fallback) Name() string { return f.primary.Name() }

func (f *fallback) Search(ctx context.Context, q Query) ([]Hit, error) {
	hits, err := f.primary.Search(ctx, q)
	if err == nil || ctx.Err() != nil {
		return hits, err
	}
	f.log.Warn("knowledge: search failed, answering from "+f.secondary.Name(), "index", f.primary.Name(), "err", err)
	return f.secondary.Search(ctx, q)
}
