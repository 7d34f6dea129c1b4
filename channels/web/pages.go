package web

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"yici/cases"
	"yici/channels"
	"yici/internal/httpx"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// base is what every page's layout needs.
type base struct {
	Title   string
	CSS     string
	JS      string // the script module, on the form only
	Hotline string
}

func (h *Handler) base(title string, withJS bool) base {
	b := base{Title: title, CSS: h.assetURL("web.css"), Hotline: Hotline}
	if withJS {
		b.JS = h.assetURL("report.js")
	}
	return b
}

func (h *Handler) parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"home.html", "report.html", "result.html", "message.html"} {
		out[name] = template.Must(template.New(name).ParseFS(templateFS, "templates/layout.html", "templates/"+name))
	}
	return out
}

// render writes a page, rendered whole first, so that a template failure
// is a clean 500 and never half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		h.log.ErrorContext(r.Context(), "web: template", "page", name, "err", err)
		http.Error(w, "服务器内部错误，请稍后再试或拨打 12345", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	if hd.Get("Cache-Control") == "" {
		hd.Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// homePage is the landing page.
type homePage struct{ base }

// messagePage is a page with one message: refused, too many, failed.
type messagePage struct {
	base
	Heading string
	Message string
}

func (h *Handler) renderMessage(w http.ResponseWriter, r *http.Request, status int, heading, msg string) {
	h.render(w, r, status, "message.html", messagePage{base: h.base(heading, false), Heading: heading, Message: msg})
}

// kindOption is one radio button of the kind.
type kindOption struct {
	Value   string
	Hint    string
	Checked bool
}

// kinds in the order shown, with a line in plain words.
var kinds = []kindOption{
	{Value: "投诉", Hint: "对问题不满意，要求处理"},
	{Value: "咨询", Hint: "了解政策、办事流程"},
	{Value: "求助", Hint: "遇到困难，需要帮助"},
	{Value: "建议", Hint: "对工作提出意见和建议"},
	{Value: "举报", Hint: "反映违法违规行为，身份严格保密"},
	{Value: "表扬", Hint: "表扬单位或工作人员"},
	{Value: "其他", Hint: "以上都不是"},
}

func validKind(k string) bool {
	for _, o := range kinds {
		if o.Value == k {
			return true
		}
	}
	return false
}

type categoryGroup struct {
	Name  string
	Items []*taxonomy.Category
}

func groupCategories(tax *taxonomy.Taxonomy) []categoryGroup {
	var out []categoryGroup
	idx := map[string]int{}
	for _, c := range tax.Categories() {
		i, ok := idx[c.GroupCode]
		if !ok {
			i = len(out)
			idx[c.GroupCode] = i
			out = append(out, categoryGroup{Name: c.Group})
		}
		out[i].Items = append(out[i].Items, c)
	}
	return out
}

type countyGroup struct {
	City     *territory.Division
	Counties []*territory.Division
}

// shownError is one line of the error summary.
type shownError struct {
	Field   string
	Anchor  string // the id of the field's first input, "" for none
	Message string
}

// anchors are the ids of the fields' inputs, in the order of the form.
var anchors = []struct{ field, id string }{
	{fToken, ""}, {"body", ""}, {fKind, "f-kind-0"}, {fContent, "f-content"}, {fCategory, "f-category"},
	{fCity, "f-city"}, {fCounty, "f-county"}, {fTownship, "f-township"}, {fAddress, "f-address"},
	{fName, "f-name"}, {fPhone, "f-phone"}, {fAnonymous, "f-anonymous"}, {fPhotos, "f-photos"},
}

// formPage is the report form, empty or shown again with its errors.
type formPage struct {
	base
	F          *Form
	Token      string
	CSRF       string // the staff session's token, when a signed-in member of staff fills the form
	Errors     []shownError
	byField    map[string][]string
	Kinds      []kindOption
	Categories []categoryGroup
	Cities     []*territory.Division
	Counties   []countyGroup
	Townships  []*territory.Division
	City       string // selected
	County     string
	Township   string
	ReportOpen bool // 举报 chosen: the confidentiality note is shown
	PhotosLost bool
	PhotoHint  string
	// Limits for the script's checks before upload.
	MaxFiles, MaxFileSize int
	MaxBody               int64
}

// Err is the message of a field's errors ("" when it has none).
func (p *formPage) Err(field string) string { return strings.Join(p.byField[field], "；") }

// Invalid reports whether a field has an error.
func (p *formPage) Invalid(field string) bool { return len(p.byField[field]) > 0 }

// formField maps an intake field to the form's.
func formField(field string) string {
	switch field {
	case "attachments":
		return fPhotos
	case "township":
		return fTownship
	case "county":
		return fCounty
	}
	return field
}

func (h *Handler) formPage(r *http.Request, f *Form, errs httpx.Errors) *formPage {
	p := &formPage{base: h.base("我要反映", true), F: f, Token: f.Token, byField: map[string][]string{},
		Categories: h.categories, Cities: h.cities, PhotosLost: f.PhotosSent > 0, PhotoHint: photoHint(h.opts.MaxBody),
		MaxFiles: channels.MaxFiles, MaxFileSize: channels.MaxFileSize, MaxBody: h.opts.MaxBody}
	if !ValidToken(p.Token) {
		p.Token = NewToken()
	}
	if s, ok := sessionCSRF(r); ok {
		p.CSRF = s
	}
	for _, k := range kinds {
		k.Checked = k.Value == f.Kind
		p.Kinds = append(p.Kinds, k)
	}
	p.ReportOpen = f.Kind == string(cases.Report)
	for _, c := range h.cities {
		p.Counties = append(p.Counties, countyGroup{City: c, Counties: h.terr.Counties(c.Code)})
	}
	// The selection shown: what was picked, completed upwards.
	p.City, p.County, p.Township = f.City, f.County, f.Township
	if d := h.terr.Get(p.Township); d != nil && d.Level == territory.LevelTownship {
		if p.County == "" {
			p.County = d.Parent
		}
	} else {
		p.Township = ""
	}
	if d := h.terr.Get(p.County); d != nil && d.Level == territory.LevelCounty {
		if p.City == "" {
			p.City = d.Parent
		}
		for _, t := range h.terr.Townships(d.Code) {
			if !territory.Placeholder(t.Name) {
				p.Townships = append(p.Townships, t)
			}
		}
	} else {
		p.County, p.Township = "", ""
	}
	for _, e := range errs {
		if e.Field == "ref" {
			continue // the token's error says it
		}
		field := formField(e.Field)
		p.byField[field] = append(p.byField[field], e.MessageZH)
	}
	for _, a := range anchors {
		for _, m := range p.byField[a.field] {
			p.Errors = append(p.Errors, shownError{Field: a.field, Anchor: a.id, Message: m})
		}
	}
	for field, ms := range p.byField { // any other field: in the summary, without a link
		known := false
		for _, a := range anchors {
			known = known || a.field == field
		}
		if !known {
			for _, m := range ms {
				p.Errors = append(p.Errors, shownError{Field: field, Message: m})
			}
		}
	}
	if len(p.Errors) > 0 {
		p.Title = "提交未成功 · 我要反映"
	}
	return p
}

func (h *Handler) renderForm(w http.ResponseWriter, r *http.Request, status int, f *Form, errs httpx.Errors) {
	h.render(w, r, status, "report.html", h.formPage(r, f, errs))
}

// resultPage is what the person sees once the case is registered.
type resultPage struct {
	base
	TrackingNo   string
	Grouped      string
	TrackURL     string
	Kind         string
	At           string
	Status       string
	Confidential bool
	// Resubmitted: the form had been filed before with other content.
	Resubmitted bool
}

var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

func (h *Handler) renderResult(w http.ResponseWriter, r *http.Request, c *cases.Case, resubmitted bool) {
	p := resultPage{base: h.base("提交成功", false), TrackingNo: c.TrackingNo, Grouped: GroupTrackingNo(c.TrackingNo),
		TrackURL: h.opts.PublicURL + "/track?no=" + c.TrackingNo, Kind: string(c.Kind),
		At: c.CreatedAt.In(shanghai).Format("2006-01-02 15:04"), Status: c.State.PublicLabel(),
		Confidential: c.Confidential, Resubmitted: resubmitted}
	h.render(w, r, http.StatusOK, "result.html", p)
}

// GroupTrackingNo writes a tracking number in groups for reading it out:
// 261128 9238 5217 0 (date, twice four digits, check digit).
func GroupTrackingNo(no string) string {
	if len(no) != cases.TrackingLen {
		return no
	}
	return no[:6] + " " + no[6:10] + " " + no[10:14] + " " + no[14:]
}

// photoHint is the line under the photo input.
func photoHint(maxBody int64) string {
	return "最多 " + strconv.Itoa(channels.MaxFiles) + " 张，支持 JPG、PNG、GIF、WebP，每张不超过 " +
		sizeText(channels.MaxFileSize) + "，合计不超过 " + sizeText(maxBody) + "。"
}
