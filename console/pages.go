package console

import (
	"embed"
	"html/template"
	"log/slog"
	"net/http"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/webui"
	"yici/router/taxonomy"
	"yici/router/territory"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Pages are the three server-rendered surfaces: the hotline agents'
// console (/console), the officers' workbench (/work) and the public
// tracking page (/track), with the sign-in page (/login). Their small
// plain JavaScript modules talk to the JSON API and the stream.
type Pages struct {
	Cases *cases.Store
	Auth  *auth.HTTP
	Tax   *taxonomy.Taxonomy
	Terr  *territory.Territory
	Log   *slog.Logger

	assets *webui.Assets
	pages  map[string]*template.Template
}

// Init parses the templates and loads the static files.
func (p *Pages) Init() {
	p.assets = webui.NewAssets(staticFS, "static", "/static/console/")
	names, _ := templateFS.ReadDir("templates")
	var files []string
	for _, n := range names {
		if n.Name() != "layout.html" {
			files = append(files, "templates/"+n.Name())
		}
	}
	p.pages = webui.Parse(templateFS, webui.Funcs(p.assets), "templates/layout.html", files...)
}

// Routes registers the pages and their static files:
//
//	GET /static/console/{file}  anyone: CSS and JavaScript of the pages
//	(each page's routes say who may open it)
func (p *Pages) Routes(mux *http.ServeMux) {
	if p.assets == nil {
		p.Init()
	}
	mux.Handle("GET /static/console/", p.assets)
	p.loginRoutes(mux)
	p.agentRoutes(mux)
	p.workRoutes(mux)
	p.trackRoutes(mux)
}

// render writes a page with the security headers.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := p.pages[name]
	if !ok {
		http.Error(w, "no page "+name, http.StatusInternalServerError)
		return
	}
	webui.Secure(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := t.Execute(w, data); err != nil {
		p.Log.Error("console: render", "page", name, "err", err)
	}
}
