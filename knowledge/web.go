package knowledge

import (
	"bytes"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"yici/internal/auth"
	"yici/router/taxonomy"
	"yici/router/territory"
)

//go:embed templates/*.html
var templateFS embed.FS

var pages = template.Must(template.New("kb").Funcs(template.FuncMap{
	"regionName": regionName,
	"date":       func(t *time.Time) string { return t.Format("2006年1月2日") },
}).ParseFS(templateFS, "templates/*.html"))

// regionName names a region code in Chinese (浙江省, 杭州市, 西湖区).
func regionName(code string) string {
	if len(code) <= 2 {
		if n := territory.Zhejiang().NameOf(code); n != "" {
			return n + "（全省）"
		}
		return "全省"
	}
	if n := territory.Zhejiang().NameOf(code); n != "" {
		return n
	}
	return code
}

// group is a category group for the search form.
type group struct{ Code, Name string }

func categoryGroups() []group {
	var out []group
	seen := map[string]bool{}
	for _, c := range taxonomy.Default().Categories() {
		if !seen[c.GroupCode] {
			seen[c.GroupCode] = true
			out = append(out, group{c.GroupCode, c.Group})
		}
	}
	return out
}

func categoryName(code string) string {
	if c := taxonomy.Default().Category(code); c != nil {
		return c.Group + " · " + c.Name
	}
	return code
}

type pageData struct {
	Title    string
	Q        string
	Category string
	Groups   []group
	Hits     []Hit
	A        *Article
	Expired  bool
	NotYet   bool
	// Categories are the article's category names.
	Categories []string
}

func (s *Store) webRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /kb", s.handlePage)
	mux.HandleFunc("GET /kb/{id}", s.handleArticlePage)
}

func render(w http.ResponseWriter, status int, name string, d *pageData) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		http.Error(w, "服务器内部错误", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// handlePage is the public knowledge page: the search form and, with ?q=,
// the public articles that answer it.
func (s *Store) handlePage(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	d := &pageData{Title: "搜索", Q: strings.TrimSpace(v.Get("q")), Category: strings.TrimSpace(v.Get("category")), Groups: categoryGroups()}
	if !utf8.ValidString(d.Q) {
		d.Q = ""
	}
	if r := []rune(d.Q); len(r) > maxQuery {
		d.Q = string(r[:maxQuery])
	}
	if !categoryPattern.MatchString(d.Category) {
		d.Category = ""
	}
	if d.Q != "" {
		d.Title = d.Q
		actor, signed := auth.FromContext(r.Context())
		if !signed {
			actor = auth.CitizenActor()
		}
		// The public page shows public articles only, whoever looks.
		hits, err := s.Search(r.Context(), actor, Query{Text: d.Q, Category: d.Category, Audience: AudiencePublic, Today: Today(s.clock.Now())})
		if err != nil {
			s.log.Error("knowledge: public search", "err", err)
			http.Error(w, "服务暂时不可用，请稍后再试", http.StatusServiceUnavailable)
			return
		}
		d.Hits = hits
	}
	render(w, http.StatusOK, "search", d)
}

// handleArticlePage shows a published public article. Internal, draft and
// archived ones answer 404 like missing ones.
func (s *Store) handleArticlePage(w http.ResponseWriter, r *http.Request) {
	a, err := s.Live(r.Context(), r.PathValue("id"))
	if err == nil && a.Visibility != Public {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) {
		render(w, http.StatusNotFound, "notfound", &pageData{Title: "未找到"})
		return
	}
	if err != nil {
		s.log.Error("knowledge: article page", "err", err)
		http.Error(w, "服务暂时不可用，请稍后再试", http.StatusServiceUnavailable)
		return
	}
	today := Today(s.clock.Now())
	d := &pageData{Title: a.Title, A: a,
		Expired: a.ExpiresOn != nil && !today.Before(*a.ExpiresOn),
		NotYet:  a.EffectiveFrom != nil && today.Before(*a.EffectiveFrom)}
	for _, c := range a.Categories {
		d.Categories = append(d.Categories, categoryName(c))
	}
	render(w, http.StatusOK, "article", d)
}
