package open311

import (
	"regexp"
	"strings"
	"unicode/utf8"

	"yici/cases"
	"yici/channels"
	"yici/router/taxonomy"
)

// attribute is an extra field a service asks for (GET services/{code}:
// "attributes"); clients send it as attribute[code]=value.
type attribute struct {
	code        string
	datatype    string // string | singlevaluelist (the spec also has number, datetime, text, multivaluelist)
	required    bool
	label       string // the Chinese name, used when the value is added to the case content
	description string
	// datatypeDescription helps the person fill it in.
	datatypeDescription string
	values              []listValue
	// check normalises a string value; ok is false when it is not acceptable.
	check func(string) (string, bool)
	// urgency raises the case's urgency for a list key ("yes" → emergency).
	urgency map[string]cases.Urgency
	// hint explains a refused value, in Chinese and English.
	hintZH, hintEN string
}

type listValue struct{ key, name string }

var (
	accountRe = regexp.MustCompile(`^[0-9A-Za-z-]{1,30}$`)
	// A mainland plate: province character, city letter, 5 (6 for new
	// energy) letters or digits, the last possibly 挂, 学, 警, 港, 澳, 领, 使.
	plateRe = regexp.MustCompile(`^\p{Han}[A-Z][A-Z0-9]{4,5}[A-Z0-9挂学警港澳领使]$`)
)

func accountNo(s string) (string, bool) {
	s = strings.ReplaceAll(channels.CleanLine(s), " ", "")
	return s, accountRe.MatchString(s)
}

func plate(s string) (string, bool) {
	s = strings.ToUpper(channels.CleanLine(s))
	s = strings.NewReplacer(" ", "", "·", "", "•", "", "-", "", ".", "").Replace(s)
	return s, plateRe.MatchString(s)
}

func account(code, label, what string) attribute {
	return attribute{code: code, datatype: "string", label: label,
		description:         what + "（见缴费账单或营业厅回执），便于承办单位核实",
		datatypeDescription: "字母、数字或短横线，最多 30 位",
		check:               accountNo,
		hintZH:              "应为字母、数字或短横线，最多 30 位", hintEN: "must be letters, digits or dashes, at most 30"}
}

// definitions are the categories that ask for more than the standard
// fields. Utilities need the customer's account number to find the
// connection; parking needs the plate; an elevator report must say whether
// someone is trapped, because that makes it an emergency.
var definitions = map[string][]attribute{
	"0305": {{code: "trapped", datatype: "singlevaluelist", required: true, label: "是否有人被困",
		description:         "电梯内是否有人被困？有人被困时请同时拨打电梯应急救援电话 96333 或 119。",
		datatypeDescription: "选择其一",
		values:              []listValue{{"yes", "是，有人被困"}, {"no", "否，无人被困"}},
		urgency:             map[string]cases.Urgency{"yes": cases.Emergency},
		hintZH:              "只能是 yes 或 no", hintEN: "must be yes or no"}},
	"0601": {{code: "plate", datatype: "string", label: "车牌号",
		description:         "违停车辆的车牌号（选填）",
		datatypeDescription: "如 浙A12345，新能源车如 浙AD12345",
		check:               plate,
		hintZH:              "格式不正确（如 浙A12345）", hintEN: "must be a mainland plate such as 浙A12345"}},
	"1101": {account("account_no", "户号", "供水户号")},
	"1102": {account("account_no", "户号", "供电户号")},
	"1103": {account("account_no", "户号", "燃气户号")},
	"1104": {account("account_no", "户号", "宽带或固话账号")},
}

// keywords are the words of the category name and its group.
func keywords(c *taxonomy.Category) string {
	var out []string
	for _, w := range strings.FieldsFunc(c.Name, func(r rune) bool { return r == '与' || r == '、' || r == '和' }) {
		if utf8.RuneCountInString(w) > 0 {
			out = append(out, w)
		}
	}
	return strings.Join(append(out, c.Group), ", ")
}

func (h *Handler) serviceObject(c *taxonomy.Category) object {
	desc := c.Group + " · " + c.Name
	if u := h.tax.UnitType(c.Lead); u != nil {
		desc += "：一般由" + u.Name + "承办"
	}
	return object{
		{"service_code", c.Code},
		{"service_name", c.Name},
		{"description", desc},
		{"metadata", len(definitions[c.Code]) > 0},
		{"type", "realtime"},
		{"keywords", keywords(c)},
		{"group", c.Group},
	}
}

func (h *Handler) servicesDoc() doc {
	l := list{item: "service"}
	for _, c := range h.tax.Categories() {
		l.elems = append(l.elems, h.serviceObject(c))
	}
	return doc{root: "services", val: l}
}

func definitionDoc(code string) doc {
	attrs := list{item: "attribute"}
	for i, a := range definitions[code] {
		o := object{
			{"variable", true},
			{"code", a.code},
			{"datatype", a.datatype},
			{"required", a.required},
			{"datatype_description", a.datatypeDescription},
			{"order", i + 1},
			{"description", a.description},
		}
		if len(a.values) > 0 {
			vs := list{item: "value"}
			for _, v := range a.values {
				vs.elems = append(vs.elems, object{{"key", v.key}, {"name", v.name}})
			}
			o = append(o, field{"values", vs})
		}
		attrs.elems = append(attrs.elems, o)
	}
	return doc{root: "service_definition", val: object{{"service_code", code}, {"attributes", attrs}}}
}
