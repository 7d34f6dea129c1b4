package knowledge

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func page(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: content type %s", path, ct)
	}
	return resp.StatusCode, string(b)
}

func TestPublicPages(t *testing.T) {
	s, _ := newStore(t)
	importLines(t, s, conformanceArticles...)
	srv := server(t, s)

	st, body := page(t, srv.URL, "/kb")
	if st != 200 || !strings.Contains(body, `<form class="search" method="get" action="/kb"`) || !strings.Contains(body, `name="viewport"`) ||
		strings.Contains(body, "<script") {
		t.Fatalf("search page: %d %s", st, body)
	}
	st, body = page(t, srv.URL, "/kb?q="+url.QueryEscape("网上申报注意事项"))
	if st != 200 || !strings.Contains(body, `href="/kb/cf-markup"`) || !strings.Contains(body, "<mark>") {
		t.Fatalf("results: %d %s", st, body)
	}
	if strings.Contains(body, "<b>") || strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;b&gt;") {
		t.Fatalf("article text not escaped: %s", body)
	}
	// The query is echoed escaped, and the public page never lists internal
	// articles, whoever looks.
	st, body = page(t, srv.URL, "/kb?q="+url.QueryEscape(`燃气泄漏"><script>alert(1)</script>`))
	if st != 200 || strings.Contains(body, "<script>alert") || strings.Contains(body, "cf-internal") {
		t.Fatalf("escaping or visibility: %s", body)
	}
	st, body = page(t, srv.URL, "/kb?q="+url.QueryEscape("量子纠缠"))
	if st != 200 || !strings.Contains(body, "没有找到") {
		t.Fatalf("nothing found: %s", body)
	}

	st, body = page(t, srv.URL, "/kb/cf-markup")
	if st != 200 || !strings.Contains(body, "网上申报&lt;b&gt;注意事项&lt;/b&gt;") || !strings.Contains(body, "&lt;script&gt;") {
		t.Fatalf("article page: %d %s", st, body)
	}
	st, body = page(t, srv.URL, "/kb/cf-local")
	if st != 200 || !strings.Contains(body, "申请材料") || !strings.Contains(body, "西湖区") {
		t.Fatalf("guide page: %d %s", st, body)
	}
	st, body = page(t, srv.URL, "/kb/cf-expired")
	if st != 200 || !strings.Contains(body, "已于 2026年3月2日 失效") {
		t.Fatalf("expired article page: %d %s", st, body)
	}
	for _, id := range []string{"cf-internal", "missing", "%3Cscript%3E"} {
		if st, body := page(t, srv.URL, "/kb/"+id); st != 404 || strings.Contains(body, "派单") {
			t.Fatalf("%s: %d", id, st)
		}
	}
}
