// Package webui is what the server-rendered pages share: embedded static
// files with content-hashed addresses, the strict security headers (no
// inline script or style), and template helpers (times in Asia/Shanghai).
package webui

import (
	"crypto/sha256"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// CSP is the Content-Security-Policy of every page: scripts and styles
// from this site only, no inline code, no framing.
const CSP = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Secure sets the headers of an HTML page.
func Secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

type asset struct {
	body []byte
	hash string
	ct   string
}

// Assets serves embedded files under a prefix, cached for a year behind
// addresses that carry their content hash.
type Assets struct {
	prefix string
	files  map[string]asset
}

// NewAssets reads every file of dir in fsys; they are served at prefix+name.
func NewAssets(fsys fs.FS, dir, prefix string) *Assets {
	a := &Assets{prefix: prefix, files: map[string]asset{}}
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if ct == "" {
			ct = "application/octet-stream"
		}
		a.files[strings.TrimPrefix(p, dir+"/")] = asset{body: b, hash: hex.EncodeToString(sum[:6]), ct: ct}
		return nil
	})
	if err != nil {
		panic("webui: embedded assets: " + err.Error())
	}
	return a
}

// URL is the versioned address of a file.
func (a *Assets) URL(name string) string {
	f, ok := a.files[name]
	if !ok {
		panic("webui: no asset " + name)
	}
	return a.prefix + name + "?v=" + f.hash
}

// ServeHTTP serves the files (register it at prefix).
func (a *Assets) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f, ok := a.files[strings.TrimPrefix(r.URL.Path, a.prefix)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("ETag", `"`+f.hash+`"`)
	if r.URL.Query().Get("v") == f.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+f.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(f.body)
}

// Shanghai is the time zone of every page.
var Shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// Funcs are the template helpers of every page.
func Funcs(assets *Assets) template.FuncMap {
	return template.FuncMap{
		"asset": assets.URL,
		"when": func(t any) string {
			switch v := t.(type) {
			case time.Time:
				if v.IsZero() {
					return ""
				}
				return v.In(Shanghai).Format("2006-01-02 15:04")
			case *time.Time:
				if v == nil {
					return ""
				}
				return v.In(Shanghai).Format("2006-01-02 15:04")
			}
			return ""
		},
		"groupNo": GroupTrackingNo,
	}
}

// GroupTrackingNo groups a tracking number for reading aloud:
// 261128 9238 5217 0.
func GroupTrackingNo(no string) string {
	if len(no) != 15 {
		return no
	}
	return no[:6] + " " + no[6:10] + " " + no[10:14] + " " + no[14:]
}

// Parse parses the layout with each page; pages are looked up by name.
func Parse(fsys fs.FS, funcs template.FuncMap, layout string, pages ...string) map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, p := range pages {
		t := template.Must(template.New(path.Base(layout)).Funcs(funcs).ParseFS(fsys, layout, p))
		out[strings.TrimSuffix(path.Base(p), ".html")] = t
	}
	return out
}
