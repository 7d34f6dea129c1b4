package knowledge

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Type is the kind of article.
type Type string

// The two kinds of article.
const (
	QA    Type = "qa"    // policy Q&A: question, answer, policy basis
	Guide Type = "guide" // service guide with the 八统一 fields
)

// Label is the type's Chinese name.
func (t Type) Label() string {
	if t == Guide {
		return "办事指南"
	}
	return "政策问答"
}

// Visibility says who may read an article.
type Visibility string

// Visibilities.
const (
	Public   Visibility = "public"   // everyone, the public knowledge page too
	Internal Visibility = "internal" // hotline and unit staff only (派单口径, 处理指引)
)

// Status is the state of one version of an article.
type Status string

// The lifecycle: draft → review → published → archived. Publishing a newer
// version supersedes the published one; every version is kept.
const (
	Draft      Status = "draft"
	Review     Status = "review"
	Published  Status = "published"
	Superseded Status = "superseded"
	Archived   Status = "archived"
)

// Label is the status's Chinese name.
func (s Status) Label() string {
	switch s {
	case Draft:
		return "草稿"
	case Review:
		return "待审核"
	case Published:
		return "已发布"
	case Superseded:
		return "已被新版本取代"
	case Archived:
		return "已归档"
	}
	return string(s)
}

// GuideFields are the 八统一 fields of a service guide.
type GuideFields struct {
	MainItem   string `json:"主项名称"`
	SubItem    string `json:"子项名称"`
	Basis      string `json:"适用依据"`
	Materials  string `json:"申请材料"`
	Process    string `json:"办事流程"`
	BackOffice string `json:"业务经办流程"`
	TimeLimit  string `json:"办理时限"`
	Form       string `json:"表单内容"`
}

// Named returns the fields with their Chinese names, in the 八统一 order.
func (g *GuideFields) Named() [][2]string {
	if g == nil {
		return nil
	}
	return [][2]string{{"主项名称", g.MainItem}, {"子项名称", g.SubItem}, {"适用依据", g.Basis}, {"申请材料", g.Materials},
		{"办事流程", g.Process}, {"业务经办流程", g.BackOffice}, {"办理时限", g.TimeLimit}, {"表单内容", g.Form}}
}

// Content is what an author writes: one version of an article.
type Content struct {
	Type          Type         `json:"type"`
	Title         string       `json:"title"`
	Question      string       `json:"question,omitempty"`
	Answer        string       `json:"answer,omitempty"`
	Basis         string       `json:"basis,omitempty"` // policy basis of a Q&A (政策依据)
	Guide         *GuideFields `json:"guide,omitempty"`
	Categories    []string     `json:"categories"`
	Region        string       `json:"region"` // "33" province-wide, "3301" a city, "330106" a county
	Visibility    Visibility   `json:"visibility"`
	Tags          []string     `json:"tags"`
	Synonyms      []string     `json:"synonyms"`                 // the article's own extra search words
	EffectiveFrom *time.Time   `json:"effective_from,omitempty"` // a date (midnight UTC); nil: always
	ExpiresOn     *time.Time   `json:"expires_on,omitempty"`     // first day it is no longer in force; nil: never
}

// Article is one version of an article with its lifecycle data.
type Article struct {
	ID        string `json:"id"`
	Version   int    `json:"version"`
	Status    Status `json:"status"`
	OwnerUnit string `json:"owner_unit"`
	Content
	// Live is the article's published version (0: none).
	Live        int        `json:"live_version"`
	Latest      int        `json:"latest_version"`
	AuthorName  string     `json:"author_name"`
	Note        string     `json:"note,omitempty"` // review remark
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
}

// Limits on what an article holds.
const (
	maxTitle = 200
	maxText  = 20000
	maxList  = 50
	maxWordN = 64
)

var (
	idPattern       = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$`)
	regionPattern   = regexp.MustCompile(`^[0-9]{2}([0-9]{2}){0,2}$`)
	categoryPattern = regexp.MustCompile(`^[0-9]{2}([0-9]{2})?$`)
)

// ValidID reports whether id can name an article: 1–100 characters of
// letters, digits and . _ : - (starting with a letter or digit).
func ValidID(id string) bool { return idPattern.MatchString(id) }

// ErrInvalid marks content that fails validation; the error names the field.
var ErrInvalid = errors.New("knowledge: invalid article")

// InvalidError is a validation failure of one field.
type InvalidError struct {
	Field, MessageZH string
}

func (e *InvalidError) Error() string { return "knowledge: " + e.Field + ": " + e.MessageZH }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, zh string) error { return &InvalidError{Field: field, MessageZH: zh} }

func cleanList(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// Check normalises c (trims text, drops empty and repeated list items) and
// validates it.
func (c *Content) Check() error {
	c.Title = strings.TrimSpace(c.Title)
	c.Question = strings.TrimSpace(c.Question)
	c.Answer = strings.TrimSpace(c.Answer)
	c.Basis = strings.TrimSpace(c.Basis)
	c.Region = strings.TrimSpace(c.Region)
	c.Categories = cleanList(c.Categories)
	c.Tags = cleanList(c.Tags)
	c.Synonyms = cleanList(c.Synonyms)
	if c.Visibility == "" {
		c.Visibility = Public
	}
	if c.Region == "" {
		c.Region = "33"
	}
	if c.Guide != nil {
		g := c.Guide
		for _, p := range []*string{&g.MainItem, &g.SubItem, &g.Basis, &g.Materials, &g.Process, &g.BackOffice, &g.TimeLimit, &g.Form} {
			*p = strings.TrimSpace(*p)
		}
	}
	texts := []string{c.Title, c.Question, c.Answer, c.Basis}
	for _, f := range c.Guide.Named() {
		texts = append(texts, f[1])
	}
	for _, l := range [][]string{c.Categories, c.Tags, c.Synonyms} {
		texts = append(texts, l...)
	}
	for _, t := range texts {
		if !utf8.ValidString(t) || strings.ContainsRune(t, 0) {
			return invalid("text", "内容含有无效字符")
		}
	}
	total := 0
	for _, t := range texts {
		total += utf8.RuneCountInString(t)
	}
	switch {
	case c.Type != QA && c.Type != Guide:
		return invalid("type", "类型应为 qa（政策问答）或 guide（办事指南）")
	case c.Title == "":
		return invalid("title", "标题不能为空")
	case utf8.RuneCountInString(c.Title) > maxTitle:
		return invalid("title", fmt.Sprintf("标题不能超过 %d 字", maxTitle))
	case total > maxText:
		return invalid("text", fmt.Sprintf("正文合计不能超过 %d 字", maxText))
	case c.Type == QA && c.Answer == "":
		return invalid("answer", "政策问答须有答复内容")
	case c.Type == QA && c.Guide != nil:
		return invalid("guide", "政策问答不填写办事指南字段")
	case c.Type == Guide && c.Guide == nil:
		return invalid("guide", "办事指南须填写八统一字段")
	case c.Type == Guide && (c.Guide.MainItem == "" || c.Guide.Materials == "" || c.Guide.Process == ""):
		return invalid("guide", "办事指南至少须填写主项名称、申请材料和办事流程")
	case c.Visibility != Public && c.Visibility != Internal:
		return invalid("visibility", "可见范围应为 public 或 internal")
	case !regionPattern.MatchString(c.Region):
		return invalid("region", "适用地区应为省（2 位，如 33）、市（4 位）或县（6 位）行政区划代码")
	case len(c.Categories) > maxList || len(c.Tags) > maxList || len(c.Synonyms) > maxList:
		return invalid("tags", fmt.Sprintf("分类、标签、同义词各不超过 %d 个", maxList))
	case c.EffectiveFrom != nil && c.ExpiresOn != nil && !c.ExpiresOn.After(*c.EffectiveFrom):
		return invalid("expires_on", "失效日期须晚于生效日期")
	}
	for _, cat := range c.Categories {
		if !categoryPattern.MatchString(cat) {
			return invalid("categories", "分类代码应为 4 位数字（如 0402）")
		}
	}
	for _, l := range [][]string{c.Tags, c.Synonyms} {
		for _, w := range l {
			if utf8.RuneCountInString(w) > maxWordN {
				return invalid("tags", fmt.Sprintf("标签和同义词每个不超过 %d 字", maxWordN))
			}
		}
	}
	if c.Type == QA {
		c.Guide = nil
	}
	return nil
}

// InForce reports whether the content is in force on day (a date in
// Asia/Shanghai as midnight UTC): from its effective date, until the day
// before its expiry date.
func (c *Content) InForce(day time.Time) bool {
	if c.EffectiveFrom != nil && day.Before(*c.EffectiveFrom) {
		return false
	}
	return c.ExpiresOn == nil || day.Before(*c.ExpiresOn)
}

// Body is the text of the article besides its title, question and tags:
// the answer and basis of a Q&A, the fields of a guide.
func (c *Content) Body() string {
	var b strings.Builder
	b.WriteString(c.Answer)
	if c.Basis != "" {
		b.WriteString("\n")
		b.WriteString(c.Basis)
	}
	for _, f := range c.Guide.Named() {
		if f[1] != "" {
			b.WriteString("\n")
			b.WriteString(f[1])
		}
	}
	return strings.TrimSpace(b.String())
}

// AppliesTo reports whether an article of region serves an asker of
// place (a county or city code; "" = not known): province-wide ones and
// those of the asker's city or county do, and for an asker who named only
// a city those of its counties; one local to another place does not.
func AppliesTo(region, place string) bool {
	if place == "" || len(region) <= 2 {
		return true
	}
	return strings.HasPrefix(place, region) || strings.HasPrefix(region, place)
}

// shanghai is the zone of "today" for expiry.
var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// Today returns the date of t in Asia/Shanghai, as midnight UTC.
func Today(t time.Time) time.Time {
	y, m, d := t.In(shanghai).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
