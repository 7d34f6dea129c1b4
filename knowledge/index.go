package knowledge

import (
	"context"
	"fmt"
	"html/template"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Audience is who asks: the public sees public articles only; staff
// (agents, dispatchers, supervisors, officers) see internal ones too.
type Audience string

// Audiences.
const (
	AudiencePublic Audience = "public"
	AudienceStaff  Audience = "agent"
)

// Query is one search.
type Query struct {
	Text     string
	Audience Audience
	// County is the asker's county code ("" = not known): articles local to
	// another county are left out, and local ones rank above province-wide
	// equivalents.
	County string
	// Category is a category code (0402) or group (04); "" = any.
	Category string
	// Today is the date for expiry (midnight UTC of the day in
	// Asia/Shanghai); zero means today.
	Today time.Time
	// Limit is the number of hits wanted (default 10, at most 50).
	Limit int
}

func (q *Query) normalise() {
	if q.Today.IsZero() {
		q.Today = Today(time.Now())
	}
	if q.Limit <= 0 {
		q.Limit = 10
	}
	if q.Limit > 50 {
		q.Limit = 50
	}
	if q.Audience != AudienceStaff {
		q.Audience = AudiencePublic
	}
}

// visibilities returns the visibilities q may see.
func (q *Query) visibilities() []string {
	if q.Audience == AudienceStaff {
		return []string{string(Public), string(Internal)}
	}
	return []string{string(Public)}
}

// regions returns the broader regions whose articles serve the asker's
// place (its province, city and county codes; nil: any region, the asker
// named none). Articles of places inside the asker's (the counties of a
// city) serve too.
func (q *Query) regions() []string {
	c := q.County
	if len(c) < 4 {
		return nil
	}
	out := []string{c[:2], c[:4]}
	if len(c) >= 6 {
		out = append(out, c[:6])
	}
	return out
}

// Span is a piece of a snippet; Hit marks the words that matched.
type Span struct {
	Text string `json:"text"`
	Hit  bool   `json:"hit,omitempty"`
}

// Spans is highlighted text.
type Spans []Span

// HTML renders the spans escaped, with <mark> around the matches.
func (ss Spans) HTML() template.HTML {
	var b strings.Builder
	for _, s := range ss {
		if s.Hit {
			b.WriteString("<mark>")
		}
		b.WriteString(template.HTMLEscapeString(s.Text))
		if s.Hit {
			b.WriteString("</mark>")
		}
	}
	return template.HTML(b.String())
}

// String is the plain text.
func (ss Spans) String() string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.Text)
	}
	return b.String()
}

// Hit is one search result.
type Hit struct {
	ArticleID  string     `json:"id"`
	Version    int        `json:"version"`
	Type       Type       `json:"type"`
	Title      Spans      `json:"title"`
	Snippet    Spans      `json:"snippet"`
	Region     string     `json:"region"`
	Visibility Visibility `json:"visibility"`
	Categories []string   `json:"categories"`
	Score      float64    `json:"score"`
}

// Index finds articles. There are two: PGIndex (PostgreSQL, the default)
// and MeiliIndex (Meilisearch, when MEILI_URL is set). Both take the same
// queries and pass the same conformance tests.
type Index interface {
	// Search returns the best published, in-force articles for q that its
	// audience and county may see, best first, highlighted.
	Search(ctx context.Context, q Query) ([]Hit, error)
	// Name names the backend for logs.
	Name() string
}

// Ranking parameters: BM25F over the four fields of the search vector.
const (
	k1 = 1.2
	// boostCounty and boostCity rank an article local to the asker's county
	// (city) above the province-wide equivalent.
	boostCounty = 1.3
	boostCity   = 1.15
)

// Fields of the search vector, with their BM25F weight and length
// normalisation, and the range of positions that encodes them.
var fields = [4]struct {
	name       string
	weight, b  float64
	start, end int // positions [start, end)
}{
	{"title", 3.0, 0.5, 1, 128},
	{"question", 2.0, 0.6, 128, 1024},
	{"keywords", 1.5, 0.3, 1024, 2048},
	{"body", 1.0, 0.75, 2048, 16384},
}

// fieldOf returns the field of a vector position.
func fieldOf(pos int) int {
	for i := len(fields) - 1; i > 0; i-- {
		if pos >= fields[i].start {
			return i
		}
	}
	return 0
}

// docTerms returns the tsvector text of an article's terms, positions
// encoding the fields (and weight B marking those of the head: title,
// question and keywords, which an index of their own finds), the distinct
// terms (sorted) and the number of terms per field.
func docTerms(c *Content) (string, []string, [4]int) {
	texts := [4]string{c.Title, c.Question, strings.Join(append(append([]string(nil), c.Tags...), c.Synonyms...), " | "), c.Body()}
	pos := map[string][]int{}
	var order []string
	var lens [4]int
	for f, text := range texts {
		p := fields[f].start
		for _, t := range Tokenize(text) {
			if p >= fields[f].end {
				break
			}
			if _, ok := pos[t.Term]; !ok {
				order = append(order, t.Term)
			}
			if len(pos[t.Term]) < 255 {
				pos[t.Term] = append(pos[t.Term], p)
			}
			p++
			lens[f]++
		}
	}
	sort.Strings(order)
	var b strings.Builder
	for i, term := range order {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(quoteLexeme(term))
		b.WriteByte(':')
		for j, p := range pos[term] {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Itoa(p))
			if p < fields[3].start {
				b.WriteByte('B') // title, question, keywords: the head
			}
		}
	}
	return b.String(), order, lens
}

// quoteLexeme quotes a term for tsvector and tsquery input.
func quoteLexeme(t string) string {
	if strings.ContainsAny(t, `'\`) {
		t = lexemeEscaper.Replace(t)
	}
	return "'" + t + "'"
}

var lexemeEscaper = strings.NewReplacer(`\`, `\\`, `'`, `''`)

// stats are the corpus figures BM25 needs.
type stats struct {
	docs int
	avg  [4]float64
	df   map[string]int
}

func (s *stats) idf(term string) float64 {
	df := float64(s.df[term])
	n := float64(s.docs)
	return math.Log(1 + (n-df+0.5)/(df+0.5))
}

// match is what the index found of one candidate: its term frequencies
// per field.
type match struct {
	id, region string
	version    int
	lens       [4]int
	tf         map[string][4]int
}

// The relevance floor. A query is left without answer when its best hit
// covers less than minCoverage of it (its characters, weighted by how
// informative their terms are) or scores less than minNormScore of the
// query's own weight (the sum of its characters' weights: a long query
// needs a higher score). Below the best hit, hits scoring less than
// minRelative of it, or covering less than minCoverage, are dropped.
const (
	minCoverage  = 0.15
	minNormScore = 0.1
	minRelative  = 0.15
)

// scored is a ranked candidate.
type scored struct {
	m          *match
	score, cov float64
}

// rank scores candidates with BM25F, applies the region boost and the
// relevance floor, and returns the best limit, best first.
func rank(a Analyzed, st *stats, cands []*match, q *Query) []scored {
	if len(cands) == 0 || len(a.Terms) == 0 {
		return nil
	}
	idf := make([]float64, len(a.Terms))
	for i, t := range a.Terms {
		idf[i] = st.idf(t.Term)
	}
	w := charWeights(a, st, idf)
	total := 0.0
	for _, x := range w {
		total += x
	}
	if total == 0 {
		return nil
	}
	out := make([]scored, 0, len(cands))
	for _, m := range cands {
		score := 0.0
		covered := make([]bool, len(w))
		for i, t := range a.Terms {
			tf, ok := m.tf[t.Term]
			if !ok {
				continue
			}
			x := 0.0
			for f := range fields {
				if tf[f] == 0 {
					continue
				}
				norm := 1.0
				if st.avg[f] > 0 {
					norm = 1 - fields[f].b + fields[f].b*float64(m.lens[f])/st.avg[f]
				}
				x += fields[f].weight * float64(tf[f]) / norm
			}
			score += t.Weight * idf[i] * x * (k1 + 1) / (k1 + x)
			for c := t.Start; c < t.End && c < len(covered); c++ {
				covered[c] = true
			}
		}
		cov := 0.0
		for c, ok := range covered {
			if ok {
				cov += w[c]
			}
		}
		out = append(out, scored{m, score * regionBoost(q.County, m.region), cov / total})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].score != out[j].score {
			return out[i].score > out[j].score
		}
		return out[i].m.id < out[j].m.id
	})
	best := out[0]
	if best.cov < minCoverage || best.score/total < minNormScore {
		return nil
	}
	n := 0
	for _, s := range out {
		if n < q.Limit && s.score >= minRelative*best.score && s.cov >= minCoverage {
			out[n] = s
			n++
		}
	}
	return out[:n]
}

// regionBoost ranks an article local to the asker's county (or city)
// above the province-wide equivalent.
func regionBoost(place, region string) float64 {
	if place == "" || len(region) <= 2 || !AppliesTo(region, place) {
		return 1
	}
	if len(region) >= 6 {
		return boostCounty
	}
	return boostCity
}

// charWeights gives every character of the cleaned query a weight: the
// idf of the most informative of the query's own terms covering it
// (characters of terms that no article has count as much as the rarest
// term that some article has, so an unknown word lowers coverage without
// drowning the rest).
func charWeights(a Analyzed, st *stats, idf []float64) []float64 {
	n := 0
	for _, t := range a.Terms {
		n = max(n, t.End)
	}
	w := make([]float64, n)
	maxKnown := 0.0
	for i, t := range a.Terms {
		if !t.Synonym && !t.Place && st.df[t.Term] > 0 {
			maxKnown = max(maxKnown, idf[i])
		}
	}
	for i, t := range a.Terms {
		if t.Synonym || t.Place {
			continue
		}
		x := idf[i]
		if st.df[t.Term] == 0 {
			x = maxKnown
		}
		for c := t.Start; c < t.End; c++ {
			w[c] = max(w[c], x)
		}
	}
	return w
}

func (m *match) String() string { return fmt.Sprintf("%s@%d", m.id, m.version) }
