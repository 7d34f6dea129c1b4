package channels

import (
	"strings"
	"testing"

	"yici/internal/httpx"
	"yici/router/taxonomy"
	"yici/router/territory"
)

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, want string }{
		{"13812345678", "13812345678"},
		{"+86 138-1234-5678", "13812345678"},
		{"0086 13812345678", "13812345678"},
		{"８６１３８１２３４５６７８", "13812345678"},
		{"0571-88001234", "0571-88001234"},
		{"(0571)8800123", "0571-8800123"},
		{"010 66001234", "010-66001234"},
		{"02087654321", "020-87654321"},
		{"12345", ""},
		{"1381234567", ""},
		{"23812345678", ""},
		{"0571-880012", ""},
		{"138a2345678", ""},
		{"+1 4155550100", ""},
	}
	for _, tc := range cases {
		got, ok := NormalizePhone(tc.in)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%q: got %q %v, want %q", tc.in, got, ok, tc.want)
		}
	}
}

func TestCleanText(t *testing.T) {
	in := "  楼下\x00饭店\r\n油烟\u202e大\u200b\t很  "
	if got := CleanText(in); got != "楼下饭店\n油烟大\t很" {
		t.Errorf("CleanText: %q", got)
	}
	if got := CleanLine("a\n b\t\tc"); got != "a b c" {
		t.Errorf("CleanLine: %q", got)
	}
}

// The validation messages name the field, in Chinese and English.
func TestValidationMessages(t *testing.T) {
	v := NewValidator(taxonomy.Default(), territory.Zhejiang())
	lat := 91.0
	cases := []struct {
		name  string
		s     Submission
		field string
		rule  string
		zh    string
	}{
		{"empty content", Submission{Ref: "r"}, "content", "required", "诉求内容不能为空"},
		{"long content", Submission{Ref: "r", Content: strings.Repeat("字", 4001)}, "content", "max", "不能超过 4000 个字"},
		{"bad kind", Submission{Ref: "r", Content: "x", Kind: "闲聊"}, "kind", "oneof", "诉求类型必须是以下之一"},
		{"unknown category", Submission{Ref: "r", Content: "x", Category: "9999"}, "category", "category", "诉求类别代码不存在"},
		{"unknown township", Submission{Ref: "r", Content: "x", TownshipCode: "330106999"}, "township_code", "township", "乡镇（街道）代码不存在"},
		{"placeholder township", Submission{Ref: "r", Content: "x", TownshipCode: "330383198"}, "township_code", "township", "代码不存在"},
		{"county as township", Submission{Ref: "r", Content: "x", TownshipCode: "330106"}, "township_code", "township", "代码不存在"},
		{"bad phone", Submission{Ref: "r", Content: "x", Phone: "12345"}, "phone", "cnphone", "联系电话格式不正确"},
		{"latitude", Submission{Ref: "r", Content: "x", Lat: &lat, Lon: &lat}, "lat", "latitude", "纬度应在 -90 到 90 之间"},
		{"half a point", Submission{Ref: "r", Content: "x", Lon: ptr(120.1)}, "lat", "required_with", "纬度"},
		{"long name", Submission{Ref: "r", Content: "x", CitizenName: strings.Repeat("王", 51)}, "citizen_name", "max", "姓名不能超过 50 个字"},
		{"urgency", Submission{Ref: "r", Content: "x", Urgency: "asap"}, "urgency", "oneof", "紧急程度必须是以下之一"},
		{"no reference", Submission{Content: "x"}, "ref", "required", "请求编号不能为空"},
	}
	for _, tc := range cases {
		err := v.Struct(&tc.s)
		es, ok := err.(httpx.Errors)
		if !ok || len(es) == 0 {
			t.Errorf("%s: got %v", tc.name, err)
			continue
		}
		e := es[0]
		if e.Field != tc.field || e.Rule != tc.rule || !strings.Contains(e.MessageZH, tc.zh) || !strings.Contains(e.MessageEN, tc.field) {
			t.Errorf("%s: got %+v, want field %s rule %s zh %q", tc.name, e, tc.field, tc.rule, tc.zh)
		}
	}
	ok := Submission{Ref: "r", Content: "楼下油烟", Phone: "13812345678", TownshipCode: "330106013", Category: "0104", Kind: "投诉"}
	if err := v.Struct(&ok); err != nil {
		t.Errorf("valid submission refused: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"13812345678", "+86 0571-88001234", "８６", "(010)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := NormalizePhone(s)
		if ok {
			if q, ok2 := NormalizePhone(p); !ok2 || q != p {
				t.Fatalf("%q → %q is not stable", s, p)
			}
		}
	})
}
