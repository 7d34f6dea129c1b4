package knowledge

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"yici/internal/auth"
)

// server serves the knowledge routes; the X-Test-As header names the
// actor (as the session middleware would put it into the context).
func server(t *testing.T, s *Store) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	s.Routes(mux)
	actors := map[string]auth.Actor{"agent": agent, "dispatcher": dispatcher, "supervisor": supervisor, "admin": admin,
		"officer": officer, "other": otherOff, "grid": grid}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a, ok := actors[r.Header.Get("X-Test-As")]; ok {
			r = r.WithContext(auth.WithActor(r.Context(), a))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func call(t *testing.T, srv *httptest.Server, as, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if as != "" {
		req.Header.Set("X-Test-As", as)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func TestSearchAPI(t *testing.T) {
	s, _ := newStore(t)
	importLines(t, s, conformanceArticles...)
	srv := server(t, s)
	q := "/api/v1/kb/search?q=" + url.QueryEscape("燃气泄漏怎么派单")
	var out SearchJSON
	if st := call(t, srv, "", "GET", q, "", &out); st != 200 || indexOf(hitsOf(out), "cf-internal") >= 0 || len(out.Hits) == 0 {
		t.Fatalf("anonymous: %d %v", st, ids(hitsOf(out)))
	}
	for _, as := range []string{"grid"} {
		out = SearchJSON{}
		call(t, srv, as, "GET", q, "", &out)
		if indexOf(hitsOf(out), "cf-internal") >= 0 {
			t.Fatalf("%s got an internal article", as)
		}
	}
	for _, as := range []string{"agent", "dispatcher", "supervisor", "officer", "admin"} {
		out = SearchJSON{}
		call(t, srv, as, "GET", q, "", &out)
		if indexOf(hitsOf(out), "cf-internal") < 0 {
			t.Fatalf("%s did not get the internal article: %v", as, ids(hitsOf(out)))
		}
	}
	h := out.Hits[0]
	if h.Version != 1 || !strings.Contains(h.TitleHTML, "<mark>") || h.SnippetHTML == "" {
		t.Fatalf("hit: %+v", h)
	}
	out = SearchJSON{}
	call(t, srv, "", "GET", "/api/v1/kb/search?q="+url.QueryEscape("高龄津贴怎么申请")+"&region=330212&category=1002", "", &out)
	if len(out.Hits) != 1 || out.Hits[0].ArticleID != "cf-province" {
		t.Fatalf("region and category: %v", ids(hitsOf(out)))
	}
	for _, bad := range []string{"q=a&region=abc", "q=a&category=x", "q=" + strings.Repeat("长", 201)} {
		if st := call(t, srv, "", "GET", "/api/v1/kb/search?"+bad, "", nil); st != 400 {
			t.Fatalf("%s: %d", bad, st)
		}
	}
	// A search without result is logged for the admin.
	call(t, srv, "", "GET", "/api/v1/kb/search?q="+url.QueryEscape("火星移民签证"), "", &out)
	var st Stats
	if code := call(t, srv, "agent", "GET", "/api/v1/kb/stats", "", nil); code != 403 {
		t.Fatalf("agent reading stats: %d", code)
	}
	if code := call(t, srv, "supervisor", "GET", "/api/v1/kb/stats?days=7", "", &st); code != 200 || len(st.TopMissed) != 1 || st.TopMissed[0].Query != "火星移民签证" {
		t.Fatalf("stats: %d %+v", code, st)
	}
}

func hitsOf(s SearchJSON) []Hit {
	out := make([]Hit, len(s.Hits))
	for i, h := range s.Hits {
		out[i] = h.Hit
	}
	return out
}

func TestArticleAPI(t *testing.T) {
	s, _ := newStore(t)
	srv := server(t, s)
	body := `{"type":"qa","title":"医保个人账户家庭共济","question":"医保卡里的钱能给家人用吗？","answer":"职工医保个人账户可以家庭共济，在浙里办绑定共济关系后，可支付配偶、父母、子女的医疗费用。","categories":["0403"],"tags":["家庭共济"]}`
	var a Article
	if st := call(t, srv, "", "POST", "/api/v1/kb/articles", body, nil); st != 401 {
		t.Fatalf("anonymous create: %d", st)
	}
	if st := call(t, srv, "grid", "POST", "/api/v1/kb/articles", body, nil); st != 403 {
		t.Fatalf("grid create: %d", st)
	}
	if st := call(t, srv, "officer", "POST", "/api/v1/kb/articles", `{"type":"qa","title":""}`, nil); st != 422 {
		t.Fatalf("invalid: %d", st)
	}
	if st := call(t, srv, "officer", "POST", "/api/v1/kb/articles", body, &a); st != 201 || a.OwnerUnit != officer.UnitID || a.Status != Draft {
		t.Fatalf("create: %d %+v", st, a)
	}
	base := "/api/v1/kb/articles/" + a.ID
	// Another unit's officer learns nothing of the draft.
	if st := call(t, srv, "other", "GET", base, "", nil); st != 404 {
		t.Fatalf("other unit reading a draft: %d", st)
	}
	if st := call(t, srv, "other", "PUT", base, body, nil); st != 404 {
		t.Fatalf("other unit editing a draft: %d", st)
	}
	if st := call(t, srv, "officer", "POST", base+"/submit", "", &a); st != 200 || a.Status != Review {
		t.Fatalf("submit: %d %+v", st, a)
	}
	if st := call(t, srv, "officer", "POST", base+"/publish", "", nil); st != 403 {
		t.Fatalf("officer publishing: %d", st)
	}
	if st := call(t, srv, "agent", "POST", base+"/publish", "", nil); st != 403 {
		t.Fatalf("agent publishing: %d", st)
	}
	if st := call(t, srv, "officer", "PUT", base, body, nil); st != 409 {
		t.Fatalf("editing in review: %d", st)
	}
	if st := call(t, srv, "dispatcher", "POST", base+"/publish", "", &a); st != 200 || a.Status != Published || a.Live != 1 {
		t.Fatalf("publish: %d %+v", st, a)
	}
	if st := call(t, srv, "other", "GET", base, "", &a); st != 200 || a.Status != Published {
		t.Fatalf("other unit reading the published article: %d", st)
	}
	if st := call(t, srv, "other", "PUT", base, body, nil); st != 403 {
		t.Fatalf("other unit editing: %d", st)
	}
	var vs struct{ Versions []Article }
	if st := call(t, srv, "officer", "GET", base+"/versions", "", &vs); st != 200 || len(vs.Versions) != 1 {
		t.Fatalf("versions: %d %+v", st, vs)
	}
	if st := call(t, srv, "officer", "GET", base+"/versions/1", "", &a); st != 200 || a.Version != 1 {
		t.Fatalf("version 1: %d", st)
	}
	var list struct{ Articles []Article }
	if st := call(t, srv, "other", "GET", "/api/v1/kb/articles", "", &list); st != 200 || len(list.Articles) != 0 {
		t.Fatalf("other unit's list: %d %d", st, len(list.Articles))
	}
	if st := call(t, srv, "supervisor", "GET", "/api/v1/kb/articles?status=published", "", &list); st != 200 || len(list.Articles) != 1 {
		t.Fatalf("centre list: %d %d", st, len(list.Articles))
	}
	// The agent who answered a case from it records the version.
	caseID := uuid.New()
	use := `{"case_id":"` + caseID.String() + `","article_id":"` + a.ID + `","version":1}`
	if st := call(t, srv, "officer", "POST", "/api/v1/kb/uses", use, nil); st != 403 {
		t.Fatalf("officer recording a use: %d", st)
	}
	if st := call(t, srv, "agent", "POST", "/api/v1/kb/uses", use, nil); st != 204 {
		t.Fatalf("recording a use: %d", st)
	}
	if st := call(t, srv, "agent", "POST", "/api/v1/kb/uses", strings.Replace(use, `"version":1`, `"version":7`, 1), nil); st != 404 {
		t.Fatalf("recording a missing version: %d", st)
	}
	if st := call(t, srv, "supervisor", "POST", base+"/archive", `{"note":"政策调整"}`, &a); st != 200 || a.Status != Archived {
		t.Fatalf("archive: %d %+v", st, a)
	}
	var sim struct{ Similar []Similar }
	call(t, srv, "agent", "GET", "/api/v1/kb/similar?title="+url.QueryEscape("医保家庭共济"), "", &sim)
	if len(sim.Similar) != 0 {
		t.Fatalf("an archived article is offered as similar: %+v", sim)
	}
}
