package knowledge

import (
	"context"
	"strings"
	"testing"
)

// These run without a Meilisearch server: the conformance suite covers the
// index against a real one (MEILI_URL).

func TestMeiliDocumentsAndFilters(t *testing.T) {
	s, _ := newStore(t)
	m, err := NewMeiliIndex(MeiliConfig{URL: "http://127.0.0.1:1"}, s.DB(), s.Analyzer(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := qa("标题", "问", "答")
	c.Region, c.Categories, c.ExpiresOn = "330106", []string{"0402"}, date("2027-01-01")
	d := docOf("a1", 3, &c, 0)
	if d.ValidFrom != 0 || d.ValidUntil != 20270101 || strings.Join(d.RegionPath, ",") != "33,3301,330106" ||
		strings.Join(d.Categories, ",") != "0402,04" || d.Version != 3 {
		t.Fatalf("document %+v", d)
	}
	q := Query{Audience: AudiencePublic, County: "330106", Category: "04", Today: cfToday}
	f := m.filter(&q)
	for _, want := range []string{`visibility IN ["public"]`, "valid_from <= 20260302", "valid_until > 20260302",
		`(region IN ["33", "3301", "330106"] OR region_path = "330106")`, `categories = "04"`} {
		if !strings.Contains(f, want) {
			t.Fatalf("filter %q lacks %q", f, want)
		}
	}
	if q.Category = `x" OR visibility = "internal`; !strings.Contains(m.filter(&q), `"x\" OR visibility = \"internal"`) {
		t.Fatalf("filter value not quoted: %s", m.filter(&q))
	}
	st := m.settings()
	if got := st.Synonyms["社保"]; len(got) == 0 || !strings.Contains(strings.Join(got, ","), "社会保险") {
		t.Fatalf("synonyms of 社保: %v", got)
	}
	if st.SearchableAttributes[0] != "title" || st.TypoTolerance == nil || !st.TypoTolerance.Enabled {
		t.Fatalf("settings %+v", st)
	}
}

// TestMeiliOutage checks that while Meilisearch is unreachable no update is
// lost (the outbox keeps the changes) and searches are answered from
// PostgreSQL.
func TestMeiliOutage(t *testing.T) {
	s0, clk := newStore(t)
	s, err := NewStore(s0.DB(), Options{Clock: clk, MeiliURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	importLines(t, s, lineA, lineB)
	ctx := context.Background()
	if _, err := s.Meili().Sync(ctx); err == nil {
		t.Fatal("sync with Meilisearch down succeeded")
	}
	var n int
	if err := s.DB().QueryRow(ctx, `SELECT count(*) FROM kb_outbox`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("outbox after a failed sync: %d %v", n, err)
	}
	hits, err := s.Index().Search(ctx, Query{Text: "居住证签注", Today: cfToday})
	if err != nil || len(hits) == 0 || hits[0].ArticleID != "t-a" {
		t.Fatalf("fallback search: %v %v", ids(hits), err)
	}
	if _, err := s.Meili().Search(ctx, Query{Text: "居住证签注"}); err == nil {
		t.Fatal("Meilisearch search succeeded without a server")
	}
}
