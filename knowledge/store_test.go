package knowledge

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/internal/auth"
)

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func search(t testing.TB, s *Store, text string) []Hit {
	t.Helper()
	hits, err := s.PG().Search(context.Background(), Query{Text: text, Audience: AudienceStaff, Today: Today(day)})
	if err != nil {
		t.Fatal(err)
	}
	return hits
}

func TestLifecycle(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	c := qa("退休人员异地领取养老金资格认证", "退休后住在外地，养老金认证怎么做？", "可通过浙里办或掌上12333人脸识别完成养老金领取资格认证，每年一次。")

	// An officer writes for their own unit only.
	if _, err := s.Create(ctx, officer, "330106-ZJJ", c); !errors.Is(err, ErrForbidden) {
		t.Fatalf("officer writing for another unit: %v", err)
	}
	if _, err := s.Create(ctx, grid, "", c); !errors.Is(err, ErrForbidden) {
		t.Fatalf("grid worker writing: %v", err)
	}
	a := must[*Article](t)(s.Create(ctx, officer, "", c))
	if a.OwnerUnit != officer.UnitID || a.Status != Draft || a.Version != 1 || a.Live != 0 {
		t.Fatalf("created: %+v", a)
	}
	if len(search(t, s, "养老金资格认证")) != 0 {
		t.Fatal("a draft is searchable")
	}
	// Only the owning unit or the centre edits; drafts change in place.
	if _, err := s.Edit(ctx, otherOff, a.ID, c); !errors.Is(err, ErrForbidden) {
		t.Fatalf("other unit edits: %v", err)
	}
	c.Tags = []string{"养老金认证"}
	a = must[*Article](t)(s.Edit(ctx, officer, a.ID, c))
	if a.Version != 1 || len(a.Tags) != 1 {
		t.Fatalf("edited draft: %+v", a)
	}
	// Review: the centre publishes what was submitted.
	if _, err := s.Publish(ctx, dispatcher, a.ID); !errors.Is(err, ErrState) {
		t.Fatalf("publishing a draft: %v", err)
	}
	a = must[*Article](t)(s.Submit(ctx, officer, a.ID))
	if a.Status != Review {
		t.Fatalf("submitted: %s", a.Status)
	}
	if _, err := s.Edit(ctx, officer, a.ID, c); !errors.Is(err, ErrState) {
		t.Fatalf("editing in review: %v", err)
	}
	if _, err := s.Publish(ctx, officer, a.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("officer publishing: %v", err)
	}
	if _, err := s.Publish(ctx, agent, a.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("agent publishing: %v", err)
	}
	a = must[*Article](t)(s.Reject(ctx, supervisor, a.ID, "请补充政策依据"))
	if a.Status != Draft || a.Note != "请补充政策依据" {
		t.Fatalf("rejected: %+v", a)
	}
	c.Basis = "《社会保险待遇领取资格确认经办规程》"
	must[*Article](t)(s.Edit(ctx, officer, a.ID, c))
	must[*Article](t)(s.Submit(ctx, officer, a.ID))
	a = must[*Article](t)(s.Publish(ctx, dispatcher, a.ID))
	if a.Status != Published || a.Live != 1 || a.PublishedAt == nil {
		t.Fatalf("published: %+v", a)
	}
	if hits := search(t, s, "养老金资格认证"); len(hits) != 1 || hits[0].ArticleID != a.ID || hits[0].Version != 1 {
		t.Fatalf("search after publishing: %+v", hits)
	}

	// Editing a published article starts version 2; version 1 stays live.
	c2 := c
	c2.Answer = "可通过浙里办、掌上12333或支付宝人脸识别完成养老金领取资格认证，也可到社区由工作人员上门认证。"
	a = must[*Article](t)(s.Edit(ctx, agent, a.ID, c2))
	if a.Version != 2 || a.Status != Draft || a.Live != 1 {
		t.Fatalf("new draft version: %+v", a)
	}
	if hits := search(t, s, "养老金资格认证"); len(hits) != 1 || hits[0].Version != 1 {
		t.Fatalf("the live version during the edit: %+v", hits)
	}
	must[*Article](t)(s.Submit(ctx, agent, a.ID))
	must[*Article](t)(s.Publish(ctx, admin, a.ID))
	if hits := search(t, s, "上门认证"); len(hits) != 1 || hits[0].Version != 2 {
		t.Fatalf("search after publishing v2: %+v", hits)
	}
	vs := must[[]*Article](t)(s.Versions(ctx, a.ID))
	if len(vs) != 2 || vs[0].Status != Published || vs[1].Status != Superseded || vs[1].Answer != c.Answer {
		t.Fatalf("versions: %v %v", vs[0].Status, vs[1].Status)
	}

	// Archiving takes it out of search; editing it again starts version 3.
	if _, err := s.Archive(ctx, officer, a.ID, ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("officer archiving: %v", err)
	}
	a = must[*Article](t)(s.Archive(ctx, supervisor, a.ID, "政策调整"))
	if a.Live != 0 || a.Status != Archived {
		t.Fatalf("archived: %+v", a)
	}
	if len(search(t, s, "养老金资格认证")) != 0 {
		t.Fatal("an archived article is searchable")
	}
	if _, err := s.Archive(ctx, supervisor, a.ID, ""); !errors.Is(err, ErrState) {
		t.Fatalf("archiving twice: %v", err)
	}
	if a = must[*Article](t)(s.Edit(ctx, officer, a.ID, c2)); a.Version != 3 || a.Status != Draft {
		t.Fatalf("editing an archived article: %+v", a)
	}
	// Every change reached the outbox for an external index.
	var n int
	must[int](t)(0, s.db.QueryRow(ctx, `SELECT count(*) FROM kb_outbox WHERE article_id = $1`, a.ID).Scan(&n))
	if n != 3 {
		t.Fatalf("outbox rows: %d, want 3 (publish, publish, archive)", n)
	}
	if _, err := s.Get(ctx, "kb-missing"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
}

func TestInvalidContent(t *testing.T) {
	for name, c := range map[string]Content{
		"no title":          {Type: QA, Answer: "答"},
		"no answer":         {Type: QA, Title: "题"},
		"guide without 八统一": {Type: Guide, Title: "题"},
		"bad type":          {Type: "faq", Title: "题", Answer: "答"},
		"bad region":        {Type: QA, Title: "题", Answer: "答", Region: "3301061"},
		"bad visibility":    {Type: QA, Title: "题", Answer: "答", Visibility: "secret"},
		"bad category":      {Type: QA, Title: "题", Answer: "答", Categories: []string{"社保"}},
		"expiry before start": {Type: QA, Title: "题", Answer: "答", EffectiveFrom: date("2026-01-01"),
			ExpiresOn: date("2025-01-01")},
		"title too long": {Type: QA, Title: strings.Repeat("长", maxTitle+1), Answer: "答"},
	} {
		if err := c.Check(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	ok := Content{Type: QA, Title: " 题 ", Answer: "答", Tags: []string{"a", " a", "", "b"}}
	if err := ok.Check(); err != nil || ok.Title != "题" || len(ok.Tags) != 2 || ok.Region != "33" || ok.Visibility != Public {
		t.Fatalf("normalised: %v %+v", err, ok)
	}
}

const (
	lineA  = `{"id":"t-a","type":"qa","title":"居住证签注","question":"居住证到期怎么签注？","answer":"居住证每年签注一次，可在浙里办或派出所办理。","guide":null,"categories":["1001"],"region":"33","visibility":"public","tags":["签注"],"effective_from":"2025-01-01","expires_on":null}`
	lineA2 = `{"id":"t-a","type":"qa","title":"居住证签注","question":"居住证到期怎么签注？","answer":"居住证每年签注一次，可在浙里办自助签注，也可到派出所窗口办理。","guide":null,"categories":["1001"],"region":"33","visibility":"public","tags":["签注"],"effective_from":"2025-01-01","expires_on":null}`
	lineB  = `{"id":"t-b","type":"guide","title":"护照首次申领","question":null,"answer":null,"guide":{"主项名称":"普通护照签发","子项名称":"首次申领","适用依据":"《中华人民共和国护照法》","申请材料":"居民身份证、近期照片","办事流程":"预约、受理、审批、领证","业务经办流程":"受理、审核、制证","办理时限":"7个工作日","表单内容":"护照申请表"},"categories":["1001"],"region":"330106","visibility":"internal","tags":[],"effective_from":"2025-01-01","expires_on":"2027-01-01","owner_unit":"330106-GAJ","basis":""}`
)

func TestImportVersionsAndExport(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	if rep := importLines(t, s, lineA, "", lineB); rep.Created != 2 {
		t.Fatalf("first import: %v", rep)
	}
	// The same ids again: unchanged ones stay, changed ones get a version.
	if rep := importLines(t, s, lineA2, lineB); rep.Updated != 1 || rep.Unchanged != 1 || rep.Created != 0 {
		t.Fatalf("re-import: %v", rep)
	}
	a := must[*Article](t)(s.Get(ctx, "t-a"))
	if a.Version != 2 || a.Live != 2 || a.Status != Published {
		t.Fatalf("re-imported article: %+v", a)
	}
	var count int
	must[int](t)(0, s.db.QueryRow(ctx, `SELECT count(*) FROM kb_articles`).Scan(&count))
	if count != 2 {
		t.Fatalf("%d articles, want 2 (no duplicate)", count)
	}
	b := must[*Article](t)(s.Get(ctx, "t-b"))
	if b.OwnerUnit != "330106-GAJ" || b.Visibility != Internal || b.ExpiresOn.Format(time.DateOnly) != "2027-01-01" || b.Guide.TimeLimit != "7个工作日" {
		t.Fatalf("imported guide: %+v", b)
	}
	// Export writes the import format back: importing it changes nothing.
	var buf bytes.Buffer
	if n := must[int](t)(s.Export(ctx, &buf)); n != 2 {
		t.Fatalf("exported %d", n)
	}
	if !strings.Contains(buf.String(), `"question":null`) || !strings.Contains(buf.String(), "自助签注") {
		t.Fatalf("export: %s", buf.String())
	}
	if rep := must[ImportReport](t)(s.Import(ctx, admin, &buf, "")); rep.Unchanged != 2 {
		t.Fatalf("re-importing the export: %v", rep)
	}
	// A file with a bad line imports nothing and names the line.
	_, err := s.Import(ctx, admin, strings.NewReader(lineA+"\n{\"id\":\"t-c\",\"type\":\"qa\"}\nnot json\n"), "")
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Lines) != 2 || ie.Lines[0].Line != 2 || ie.Lines[1].Line != 3 {
		t.Fatalf("bad import: %v", err)
	}
	if _, err := s.Get(ctx, "t-c"); !errors.Is(err, ErrNotFound) {
		t.Fatal("a refused import wrote an article")
	}
	if _, err := s.Import(ctx, officer, strings.NewReader(lineA), ""); !errors.Is(err, ErrForbidden) {
		t.Fatalf("officer importing: %v", err)
	}
	_, err = s.Import(ctx, admin, strings.NewReader(lineA+"\n"+lineA2), "")
	if !errors.As(err, &ie) || !strings.Contains(ie.Error(), "repeats line 1") {
		t.Fatalf("repeated id: %v", err)
	}
}

// TestTermStatistics checks that the statistics kept in step article by
// article equal those rebuilt from the index.
func TestTermStatistics(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	importLines(t, s, lineA, lineB)
	importLines(t, s, lineA2) // a new version: old terms out, new in
	a := must[*Article](t)(s.Create(ctx, agent, "", qa("护照签注加急", "护照能加急吗", "可以申请加急办理")))
	must[*Article](t)(s.Submit(ctx, agent, a.ID))
	must[*Article](t)(s.Publish(ctx, dispatcher, a.ID))
	must[*Article](t)(s.Archive(ctx, dispatcher, "t-b", ""))
	snapshot := func() string {
		var out string
		must[int](t)(0, s.db.QueryRow(ctx, `SELECT coalesce(string_agg(term || '=' || df, ' ' ORDER BY term), '') || ' | ' ||
			(SELECT docs || ':' || lens::text FROM kb_corpus) FROM kb_terms WHERE df > 0`).Scan(&out))
		return out
	}
	kept := snapshot()
	if err := RebuildStats(ctx, s.db); err != nil {
		t.Fatal(err)
	}
	if rebuilt := snapshot(); kept != rebuilt || !strings.Contains(kept, "签注=2") || !strings.Contains(kept, "| 2:") {
		t.Fatalf("kept in step:\n%s\nrebuilt:\n%s", kept, rebuilt)
	}
}

func TestSeed(t *testing.T) {
	s, _ := newStore(t)
	ctx := context.Background()
	n := must[int](t)(s.LoadSeed(ctx))
	if n < 200 {
		t.Fatalf("seed loaded %d articles, want at least 200", n)
	}
	if again := must[int](t)(s.LoadSeed(ctx)); again != 0 {
		t.Fatalf("a second LoadSeed loaded %d", again)
	}
	// The seed answers everyday questions.
	for q, want := range map[string]string{"灵活就业怎么交社保": "灵活就业", "身份证到期换证": "身份证", "公积金租房提取": "公积金"} {
		hits := search(t, s, q)
		if len(hits) == 0 || !strings.Contains(hits[0].Title.String(), want) {
			t.Fatalf("%s: %v", q, ids(hits))
		}
	}
	syn := must[*Synonyms](t)(SeedSynonyms())
	if len(syn.Groups()) < 100 {
		t.Fatalf("%d synonym groups", len(syn.Groups()))
	}
}

func TestUsesMissesAndStats(t *testing.T) {
	s, clk := newStore(t)
	ctx := context.Background()
	importLines(t, s, lineA, lineB)
	c1, c2 := uuid.New(), uuid.New()
	for _, u := range []struct {
		c uuid.UUID
		a string
		v int
	}{{c1, "t-a", 1}, {c1, "t-a", 1}, {c2, "t-a", 1}, {c2, "t-b", 1}} {
		if err := s.RecordUse(auth.WithActor(ctx, agent), u.c, u.a, u.v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RecordUse(ctx, c1, "t-a", 9); !errors.Is(err, ErrNotFound) {
		t.Fatalf("recording a version that does not exist: %v", err)
	}
	uses := must[[]Use](t)(s.UsesOfCase(ctx, c1))
	if len(uses) != 1 || uses[0].ArticleID != "t-a" || uses[0].Version != 1 {
		t.Fatalf("uses of case: %+v", uses)
	}
	for _, q := range []string{"火星移民签证", "火星移民签证", "居住证签注"} {
		must[[]Hit](t)(s.Search(ctx, auth.CitizenActor(), Query{Text: q, Today: Today(day)}))
	}
	clk.Advance(time.Hour)
	st := must[*Stats](t)(s.Stats(ctx, day.Add(-time.Hour), 10))
	if st.Articles != 2 || len(st.TopUsed) != 2 || st.TopUsed[0].ArticleID != "t-a" || st.TopUsed[0].Uses != 2 || st.TopUsed[0].Title != "居住证签注" {
		t.Fatalf("top used: %+v", st)
	}
	if len(st.TopMissed) != 1 || st.TopMissed[0].Query != "火星移民签证" || st.TopMissed[0].Count != 2 || st.TopMissed[0].Roles[0] != "citizen" {
		t.Fatalf("top missed: %+v", st.TopMissed)
	}
	if later := must[*Stats](t)(s.Stats(ctx, day.Add(time.Minute), 10)); len(later.TopUsed) != 0 || len(later.TopMissed) != 0 {
		t.Fatalf("since later: %+v", later)
	}
}

func TestSimilarTitles(t *testing.T) {
	s, _ := newStore(t)
	importLines(t, s, lineA, lineB)
	sim := must[[]Similar](t)(s.SimilarTitles(context.Background(), "居住证签注办理", 5))
	if len(sim) == 0 || sim[0].ArticleID != "t-a" {
		t.Fatalf("similar: %+v", sim)
	}
	if sim := must[[]Similar](t)(s.SimilarTitles(context.Background(), "宅基地审批", 5)); len(sim) != 0 {
		t.Fatalf("unrelated title: %+v", sim)
	}
}

func TestRunTrimsTheOutboxWithoutConsumer(t *testing.T) {
	s, _ := newStore(t)
	importLines(t, s, lineA)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	count := func() int {
		var n int
		must[int](t)(0, s.db.QueryRow(context.Background(), `SELECT count(*) FROM kb_outbox`).Scan(&n))
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil || count() != 0 {
		t.Fatalf("outbox not trimmed: %v, %d rows", err, count())
	}
	// Once a Meilisearch index has synced from this base, rows wait for it.
	must[int](t)(0, func() error {
		_, err := s.db.Exec(context.Background(), `INSERT INTO kb_sync VALUES ('meili:x', 0, now())`)
		return err
	}())
	importLines(t, s, lineA2)
	ctx, cancel = context.WithCancel(context.Background())
	go func() { done <- s.Run(ctx) }()
	time.Sleep(200 * time.Millisecond)
	cancel()
	<-done
	if count() != 1 {
		t.Fatalf("outbox rows for a known consumer were dropped: %d", count())
	}
}
