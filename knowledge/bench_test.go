package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/auth"
	"yici/internal/pgtest"
	"yici/router/territory"
)

// The search benchmarks run on a generated knowledge base of
// YICI_KB_BENCH_DOCS articles (default 100,000), built once per test
// process into a template database:
//
//	go test -run XXX -bench . -benchtime 2000x ./knowledge/
//
// Articles are recombined from the seed: a seed article's title, with one
// of Zhejiang's townships in half of them, its question, sentences of its answer or guide mixed with
// sentences of two other articles and of common administrative boilerplate
// (so that 管理, 一个, 办理 are in a large share of the articles, as in a
// real base), random regions (15% local to one of 30 counties), 10%
// internal, 5% expired and 3% not yet in force.

func benchDocs() int {
	if n, err := strconv.Atoi(os.Getenv("YICI_KB_BENCH_DOCS")); err == nil && n > 0 {
		return n
	}
	return 100000
}

var benchCounties = []string{"330102", "330105", "330106", "330108", "330109", "330110", "330112", "330203", "330205", "330206",
	"330212", "330302", "330303", "330304", "330402", "330411", "330502", "330503", "330602", "330603", "330702", "330703",
	"330782", "330802", "330902", "331002", "331003", "331102", "331121", "330382"}

var boilerplate = []string{
	"按照一个窗口受理、一次办结的要求，由属地管理部门负责办理。",
	"具体以当地管理部门的规定为准，可拨打12345咨询。",
	"申请人可以通过浙里办在线办理，也可以到一个就近的便民服务中心现场办理。",
	"相关部门应当加强管理，做好政策宣传和解释工作。",
	"办理过程中如有疑问，可以联系所在街道或社区。",
	"实行一件事一次办，材料齐全的当场办结。",
}

type benchCorpus struct {
	seeds []Record
	towns []string
	rnd   *rand.Rand
}

func newBenchCorpus(seed uint64) (*benchCorpus, error) {
	seeds, err := loadBenchSeeds()
	if err != nil {
		return nil, err
	}
	c := &benchCorpus{seeds: seeds, rnd: rand.New(rand.NewPCG(seed, seed+1))}
	t := territory.Zhejiang()
	for _, city := range t.Cities() {
		for _, county := range t.Counties(city.Code) {
			for _, town := range t.Townships(county.Code) {
				c.towns = append(c.towns, town.Name)
			}
		}
	}
	return c, nil
}

func loadBenchSeeds() ([]Record, error) {
	b, err := SeedArticles()
	if err != nil {
		return nil, err
	}
	var out []Record
	dec := NewDecoder(bytes.NewReader(b))
	for {
		rec, _, err := dec.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
}

func sentences(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '。' || r == '；' || r == '\n' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p+"。")
		}
	}
	return out
}

func recordText(r Record) string {
	if r.Answer != nil {
		return *r.Answer
	}
	var b strings.Builder
	for _, f := range r.Guide.Named() {
		b.WriteString(f[1] + "。")
	}
	return b.String()
}

// article returns generated article i as a JSON line.
func (c *benchCorpus) article(i int) []byte {
	r := c.rnd
	base := c.seeds[r.IntN(len(c.seeds))]
	o1, o2 := c.seeds[r.IntN(len(c.seeds))], c.seeds[r.IntN(len(c.seeds))]
	rec := base
	rec.ID = fmt.Sprintf("gen-%06d", i)
	// A place (one of Zhejiang's townships) in half of the titles and in
	// the body: the long tail of local names a real base has.
	town := c.towns[r.IntN(len(c.towns))]
	if r.IntN(2) == 0 {
		rec.Title = town + base.Title
	}
	var body []string
	for _, s := range [][]string{sentences(recordText(base)), sentences(recordText(o1)), sentences(recordText(o2))} {
		for _, x := range s {
			if r.IntN(3) > 0 {
				body = append(body, x)
			}
		}
	}
	for k := r.IntN(3); k > 0; k-- {
		body = append(body, boilerplate[r.IntN(len(boilerplate))])
	}
	body = append(body, "本事项在"+town+"便民服务中心办理。")
	r.Shuffle(len(body), func(a, b int) { body[a], body[b] = body[b], body[a] })
	text := strings.Join(body, "")
	if base.Type == Guide {
		g := *base.Guide
		g.Process = text
		rec.Guide = &g
	} else {
		rec.Answer = &text
	}
	rec.Region = "33"
	if r.IntN(100) < 15 {
		rec.Region = benchCounties[r.IntN(len(benchCounties))]
	}
	rec.Visibility = Public
	if r.IntN(10) == 0 {
		rec.Visibility = Internal
	}
	from, none := "2025-01-01", (*string)(nil)
	rec.EffectiveFrom, rec.ExpiresOn = &from, none
	switch k := r.IntN(100); {
	case k < 5:
		exp := "2025-12-31"
		rec.ExpiresOn = &exp
	case k < 8:
		fut := "2030-01-01"
		rec.EffectiveFrom = &fut
	}
	b, _ := json.Marshal(rec)
	return append(b, '\n')
}

// benchTemplate is the generated knowledge base; indexRate reports how fast
// it was imported.
var (
	benchIndexRate float64
	benchTemplate  = pgtest.Template{Name: fmt.Sprintf("kb_bench_%d", benchDocs()), Setup: func(ctx context.Context, db *pgxpool.Pool) error {
		c, err := newBenchCorpus(1)
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		n := benchDocs()
		for i := 0; i < n; i++ {
			buf.Write(c.article(i))
		}
		s, err := NewStore(db, Options{})
		if err != nil {
			return err
		}
		start := time.Now()
		rep, err := s.Import(ctx, auth.SystemActor("bench"), &buf, "")
		if err != nil {
			return err
		}
		benchIndexRate = float64(rep.Created) / time.Since(start).Seconds()
		fmt.Fprintf(os.Stderr, "knowledge bench: imported %d generated articles in %s (%.0f articles/s, term statistics included)\n",
			rep.Created, time.Since(start).Round(time.Millisecond), benchIndexRate)
		_, err = db.Exec(ctx, `VACUUM ANALYZE`)
		return err
	}}
)

// benchQueries are the workloads: everyday questions (the seed's own
// questions and titles), and queries made only of the most common bigrams.
func benchQueries(b *testing.B) map[string][]string {
	seeds, err := loadBenchSeeds()
	if err != nil {
		b.Fatal(err)
	}
	var questions, titles []string
	for _, r := range seeds {
		if r.Question != nil {
			questions = append(questions, *r.Question)
		}
		titles = append(titles, r.Title)
	}
	return map[string][]string{
		"questions": questions,
		"titles":    titles,
		"common":    {"管理", "一个", "办理", "一个管理部门办理", "可以办理吗"},
	}
}

func percentile(d []time.Duration, p float64) float64 {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	i := int(float64(len(d)-1) * p)
	return float64(d[i].Microseconds()) / 1000
}

// BenchmarkSearch measures PGIndex.Search on the generated base: p50 and
// p99 latency per workload, for staff askers without county and for the
// public of a county. For the titles it also reports family@1: how often
// the first hit was generated from the seed article whose title was
// asked (its title contains the query), a check of the capped ranking.
func BenchmarkSearch(b *testing.B) {
	db := pgtest.Pool(b, benchTemplate)
	s, err := NewStore(db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	today := Today(time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai))
	work := benchQueries(b)
	for _, name := range []string{"questions", "titles", "common"} {
		for _, variant := range []string{"staff", "public-county"} {
			b.Run(name+"/"+variant, func(b *testing.B) {
				qs := work[name]
				var lat []time.Duration
				empty, family := 0, 0
				i := 0
				for b.Loop() {
					q := Query{Text: qs[i%len(qs)], Audience: AudienceStaff, Today: today}
					if variant == "public-county" {
						q.Audience, q.County = AudiencePublic, benchCounties[i%len(benchCounties)]
					}
					i++
					start := time.Now()
					hits, err := s.PG().Search(ctx, q)
					lat = append(lat, time.Since(start))
					if err != nil {
						b.Fatal(err)
					}
					if len(hits) == 0 {
						empty++
					} else if strings.Contains(hits[0].Title.String(), q.Text) {
						family++ // a generated article made from the title's own seed article
					}
				}
				b.ReportMetric(percentile(lat, 0.5), "p50-ms")
				b.ReportMetric(percentile(lat, 0.99), "p99-ms")
				b.ReportMetric(float64(empty)/float64(len(lat)), "empty/op")
				if name == "titles" {
					b.ReportMetric(float64(family)/float64(len(lat)), "family@1")
				}
				if benchIndexRate > 0 {
					b.ReportMetric(benchIndexRate, "import-articles/s")
				}
			})
		}
	}
}

// BenchmarkPublish measures publishing one article into the generated base
// through the review workflow (draft, submit, publish: index row and term
// statistics kept in step in the publishing transaction).
func BenchmarkPublish(b *testing.B) {
	db := pgtest.Pool(b, benchTemplate)
	s, err := NewStore(db, Options{})
	if err != nil {
		b.Fatal(err)
	}
	c, err := newBenchCorpus(3)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		_, content, err := ParseRecord(bytes.TrimSpace(c.article(i)))
		if err != nil {
			b.Fatal(err)
		}
		i++
		a, err := s.Create(ctx, agent, "", content)
		if err == nil {
			_, err = s.Submit(ctx, agent, a.ID)
		}
		if err == nil {
			_, err = s.Publish(ctx, dispatcher, a.ID)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
