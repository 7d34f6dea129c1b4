package channels

import (
	"net/http"
	"reflect"
	"strings"
	"unicode"

	"github.com/go-playground/validator/v10"

	"yici/cases"
	"yici/internal/httpx"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// Validator checks submissions with go-playground/validator and answers in
// the project's error format, naming the field in Chinese and English.
type Validator struct {
	v *validator.Validate
}

// fieldLabels are the Chinese names of the fields people fill in.
var fieldLabels = map[string]string{
	"kind": "诉求类型", "category": "诉求类别", "title": "标题", "content": "诉求内容", "address": "地址",
	"lat": "纬度", "long": "经度", "lon": "经度", "township_code": "乡镇（街道）", "county_code": "县（市、区）",
	"citizen_name": "姓名", "name": "姓名", "phone": "联系电话", "citizen_phone": "联系电话", "email": "电子邮箱",
	"urgency": "紧急程度", "ref": "请求编号", "channel": "渠道", "description": "问题描述", "service_code": "服务类别",
	"first_name": "名", "last_name": "姓", "address_string": "地址", "device_id": "设备编号", "media_url": "图片链接",
	"satisfaction": "满意度", "note": "补充说明", "text": "内容", "call_id": "通话编号",
}

// NewValidator builds the validator with the project's own rules:
// cnphone (mainland mobile or landline), township and county (a division
// code that exists), category (a taxonomy code).
func NewValidator(tax *taxonomy.Taxonomy, terr *territory.Territory) *Validator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name := strings.SplitN(f.Tag.Get("json"), ",", 2)[0]
		if name == "-" || name == "" {
			return strings.ToLower(f.Name)
		}
		return name
	})
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(v.RegisterValidation("cnphone", func(fl validator.FieldLevel) bool {
		_, ok := NormalizePhone(fl.Field().String())
		return ok
	}))
	must(v.RegisterValidation("township", func(fl validator.FieldLevel) bool {
		d := terr.Get(fl.Field().String())
		return d != nil && d.Level == territory.LevelTownship && !territory.Placeholder(d.Name)
	}))
	must(v.RegisterValidation("county", func(fl validator.FieldLevel) bool {
		d := terr.Get(fl.Field().String())
		return d != nil && d.Level == territory.LevelCounty
	}))
	must(v.RegisterValidation("category", func(fl validator.FieldLevel) bool {
		return tax.Category(fl.Field().String()) != nil
	}))
	return &Validator{v: v}
}

// Struct validates s; the error is an httpx.Errors of field errors (400).
func (v *Validator) Struct(s any) error {
	err := v.v.Struct(s)
	if err == nil {
		return nil
	}
	ves, ok := err.(validator.ValidationErrors)
	if !ok {
		return err
	}
	out := make(httpx.Errors, 0, len(ves))
	for _, fe := range ves {
		out = append(out, Message(fe.Field(), fe.Tag(), fe.Param()))
	}
	return out
}

// Message is the field error for a failed rule.
func Message(field, tag, param string) httpx.FieldError {
	label := fieldLabels[field]
	if label == "" {
		label = field
	}
	fe := httpx.FieldError{Field: field, Rule: tag}
	switch tag {
	case "required", "required_without", "required_if":
		fe.MessageZH, fe.MessageEN = label+"不能为空", field+" is required"
	case "max":
		fe.MessageZH, fe.MessageEN = label+"不能超过 "+param+" 个字", field+" must be at most "+param+" characters"
	case "min":
		fe.MessageZH, fe.MessageEN = label+"至少需要 "+param+" 个字", field+" must be at least "+param+" characters"
	case "len":
		fe.MessageZH, fe.MessageEN = label+"应为 "+param+" 位", field+" must be "+param+" characters long"
	case "numeric":
		fe.MessageZH, fe.MessageEN = label+"只能包含数字", field+" must be digits"
	case "oneof":
		fe.MessageZH, fe.MessageEN = label+"必须是以下之一："+strings.ReplaceAll(param, " ", "、"), field+" must be one of: "+param
	case "latitude":
		fe.MessageZH, fe.MessageEN = label+"应在 -90 到 90 之间", field+" must be a latitude between -90 and 90"
	case "longitude":
		fe.MessageZH, fe.MessageEN = label+"应在 -180 到 180 之间", field+" must be a longitude between -180 and 180"
	case "cnphone":
		fe.MessageZH, fe.MessageEN = label+"格式不正确，请填写手机号（如 13812345678）或带区号的固话（如 0571-88001234）",
			field+" must be a mainland mobile number (13812345678) or a landline with area code (0571-88001234)"
	case "township":
		fe.MessageZH, fe.MessageEN = label+"代码不存在", field+" is not a known township code"
	case "county":
		fe.MessageZH, fe.MessageEN = label+"代码不存在", field+" is not a known county code"
	case "category":
		fe.MessageZH, fe.MessageEN = label+"代码不存在", field+" is not a known category code"
	case "email":
		fe.MessageZH, fe.MessageEN = label+"格式不正确", field+" must be an e-mail address"
	case "uuid", "uuid4":
		fe.MessageZH, fe.MessageEN = label+"应为 UUID", field+" must be a UUID"
	case "url", "http_url":
		fe.MessageZH, fe.MessageEN = label+"应为网址", field+" must be a URL"
	case "utf8":
		fe.MessageZH, fe.MessageEN = label+"不是有效的 UTF-8 文本", field+" is not valid UTF-8"
	default:
		fe.MessageZH, fe.MessageEN = label+"不符合要求（"+tag+"）", field+" is invalid ("+tag+")"
	}
	return fe
}

// Unacceptable is a 422: well-formed but not acceptable.
func Unacceptable(field, tag, zh, en string) *httpx.Problem {
	return &httpx.Problem{Status: http.StatusUnprocessableEntity, Errs: httpx.Errors{{Field: field, Rule: tag, MessageZH: zh, MessageEN: en}}}
}

// NormalizePhone returns a mainland phone number in its standard form (see
// cases.NormalizePhone).
func NormalizePhone(s string) (string, bool) { return cases.NormalizePhone(s) }

// CleanText strips control characters (keeping newlines and tabs),
// direction overrides and zero-width characters, turns CRLF into LF and
// trims the ends. Invalid UTF-8 is the caller's to refuse first.
func CleanText(s string) string {
	if s == "" {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			b.WriteRune('\n')
		case unicode.IsControl(r):
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200B, r == 0x200E, r == 0x200F, r == 0xFEFF:
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// CleanLine is CleanText for one-line fields: newlines and tabs become spaces.
func CleanLine(s string) string {
	s = CleanText(s)
	return strings.Join(strings.Fields(s), " ")
}
