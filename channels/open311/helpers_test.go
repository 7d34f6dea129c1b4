package open311_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/channels"
	"yici/channels/open311"
	"yici/internal/app"
	"yici/internal/apptest"
)

// env is the whole product on a fresh database with the Open311 routes,
// and an open311 key.
type env struct {
	s      *apptest.Server
	h      *open311.Handler
	secret string
	key    channels.Key
}

// start runs the product; limits not set are generous, so that only the
// rate limit test meets them.
func start(t *testing.T, opts open311.Options) *env {
	t.Helper()
	if opts.IPPerMinute == 0 {
		opts.IPPerMinute, opts.IPBurst = 1e6, 1e6
	}
	if opts.KeyPerMinute == 0 {
		opts.KeyPerMinute, opts.KeyBurst = 1e6, 1e6
	}
	e := &env{}
	e.s = apptest.Start(t, func(a *app.App) {
		e.h = open311.New(a.Intake, a.Keys, a.Cases, a.Tax, opts)
		a.Replace("open311", e.h.Routes)
	})
	var err error
	e.key, e.secret, err = e.s.App.Keys.Create(context.Background(), channels.KeyOpen311, "测试客户端", "")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// answer is one HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func do(t testing.TB, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, b}
}

func (e *env) get(t testing.TB, path string) answer {
	t.Helper()
	req, _ := http.NewRequest("GET", e.s.URL+path, nil)
	return do(t, req)
}

func (e *env) post(t testing.TB, path string, form url.Values, header ...string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", e.s.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return do(t, req)
}

// form is a valid request for service 0104 with the key.
func (e *env) form(kv ...string) url.Values {
	v := url.Values{"api_key": {e.secret}, "service_code": {"0104"}, "lat": {"30.2874"}, "long": {"120.1309"},
		"description": {"文新街道丰潭路一家烧烤店油烟直排，整栋楼都是油烟味。"}}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "\x00delete" {
			v.Del(kv[i])
			continue
		}
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// jsonArray decodes a JSON array answer of objects, keeping numbers as
// json.Number so that their type is visible.
func (a answer) jsonArray(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("not a JSON array (%d): %v\n%s", a.status, err, a.body)
	}
	return out
}

func (a answer) jsonObject(t testing.TB) map[string]any {
	t.Helper()
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(a.body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("not a JSON object (%d): %v\n%s", a.status, err, a.body)
	}
	return out
}

// node is a parsed XML element.
type node struct {
	XMLName  xml.Name
	Children []node `xml:",any"`
	Text     string `xml:",chardata"`
}

// child returns the first child element named name.
func (n node) child(name string) (node, bool) {
	for _, c := range n.Children {
		if c.XMLName.Local == name {
			return c, true
		}
	}
	return node{}, false
}

func (n node) text(name string) string {
	c, _ := n.child(name)
	return strings.TrimSpace(c.Text)
}

// xmlDoc parses an XML answer strictly: declaration, UTF-8, one root.
func (a answer) xmlDoc(t testing.TB) node {
	t.Helper()
	if !bytes.HasPrefix(a.body, []byte(`<?xml version="1.0" encoding="utf-8"?>`)) {
		t.Fatalf("no XML declaration with encoding: %.80s", a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Fatalf("XML content type %q", ct)
	}
	var n node
	dec := xml.NewDecoder(bytes.NewReader(a.body))
	dec.Strict = true
	if err := dec.Decode(&n); err != nil {
		t.Fatalf("malformed XML (%d): %v\n%s", a.status, err, a.body)
	}
	// Nothing but white space after the root.
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after the root: %v", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || strings.TrimSpace(string(cd)) != "" {
			t.Fatalf("content after the root element: %v", tok)
		}
	}
	return n
}

// specError checks an error answer in the spec's format: the status, an
// array of errors (<errors><error>) each with a numeric code equal to the
// status and a description; one description contains want.
func (a answer) specError(t testing.TB, format string, status int, want string) {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.body)
	}
	var descs []string
	if format == "json" {
		if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Fatalf("JSON content type %q", ct)
		}
		errs := a.jsonArray(t)
		if len(errs) == 0 {
			t.Fatalf("empty error list")
		}
		for _, e := range errs {
			if len(e) != 2 {
				t.Fatalf("an error has fields other than code and description: %v", e)
			}
			code, ok := e["code"].(json.Number)
			if !ok || code.String() != strconv.Itoa(status) {
				t.Fatalf("code %#v, want the number %d", e["code"], status)
			}
			d, ok := e["description"].(string)
			if !ok || d == "" {
				t.Fatalf("description %#v", e["description"])
			}
			descs = append(descs, d)
		}
	} else {
		n := a.xmlDoc(t)
		if n.XMLName.Local != "errors" || len(n.Children) == 0 {
			t.Fatalf("root %s with %d children, want <errors> with errors", n.XMLName.Local, len(n.Children))
		}
		for _, c := range n.Children {
			if c.XMLName.Local != "error" || c.text("code") != strconv.Itoa(status) || c.text("description") == "" {
				t.Fatalf("bad error element %+v", c)
			}
			descs = append(descs, c.text("description"))
		}
	}
	if !strings.Contains(strings.Join(descs, "\n"), want) {
		t.Fatalf("no description contains %q: %q", want, descs)
	}
}

// isW3C reports whether s is a W3C date-time with the +08:00 offset.
func isW3C(s any) bool {
	str, ok := s.(string)
	if !ok {
		return false
	}
	_, err := time.Parse(time.RFC3339, str)
	return err == nil && strings.HasSuffix(str, "+08:00")
}

// str returns m[k], failing unless it is a JSON string.
func str(t testing.TB, m map[string]any, k string) string {
	t.Helper()
	s, ok := m[k].(string)
	if !ok {
		t.Fatalf("%s is %#v, not a string", k, m[k])
	}
	return s
}

// names lists the element names of n's children.
func (n node) names() []string {
	var out []string
	for _, c := range n.Children {
		out = append(out, c.XMLName.Local)
	}
	return out
}

// bothFormats runs fn for json and xml.
func bothFormats(t *testing.T, fn func(t *testing.T, format string)) {
	for _, f := range []string{"json", "xml"} {
		t.Run(f, func(t *testing.T) { fn(t, f) })
	}
}

// explain returns the plan of a query.
func explain(t testing.TB, ctx context.Context, conn *pgxpool.Conn, sql string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(ctx, "EXPLAIN "+sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
