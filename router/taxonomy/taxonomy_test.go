package taxonomy

import (
	"strings"
	"testing"
)

func TestDefault(t *testing.T) {
	tax := Default()
	if n := len(tax.Categories()); n != 60 {
		t.Fatalf("categories = %d, want 60", n)
	}
	if n := len(tax.Groups()); n != 14 {
		t.Fatalf("groups = %d, want 14", n)
	}
	if n := len(tax.UnitTypes()); n != 29 {
		t.Fatalf("unit types = %d, want 29", n)
	}
	c := tax.Category("0104")
	if c == nil || c.Name != "餐饮油烟" || c.Lead != "ZF" || c.GroupCode != "01" || c.Group != "城市管理" ||
		len(c.Co) != 1 || c.Co[0] != "STJ" || c.SLAClass != SLANormal || c.TypicalKind != "投诉" {
		t.Fatalf("0104 = %+v", c)
	}
	if c := tax.Category("0106"); len(c.Co) != 1 || c.Co[0] != "ZJJ" {
		t.Fatalf("0106 co = %v", c.Co)
	}
	if u := tax.UnitType("ZF"); u == nil || u.Level != LevelTownship || u.CountyLine != "ZFJ" {
		t.Fatalf("ZF = %+v", u)
	}
	for _, u := range tax.UnitTypes() {
		if u.Level == LevelTownship && tax.UnitType(u.CountyLine).Level != LevelCounty {
			t.Errorf("%s: county line %s", u.Code, u.CountyLine)
		}
	}
}

func TestDefaultUnitID(t *testing.T) {
	tests := []struct {
		typ, township, county, want string
	}{
		{"ZF", "330106001", "330106", "330106001-ZF"},
		{"ZF", "330106001", "", "330106001-ZF"}, // county from the township code
		{"ZF", "", "330106", "330106-ZFJ"},      // county line
		{"ZZ", "", "330382", "330382-SHZL"},
		{"SJ", "", "330382", "330382-SJJ"},
		{"BM", "", "331127", "331127-ZWJ"},
		{"ZF", "", "", "HC"},
		{"RSJ", "330106001", "330106", "330106-RSJ"},
		{"RSJ", "", "330106", "330106-RSJ"},
		{"RSJ", "330106001", "", "330106-RSJ"},
		{"RSJ", "", "", "HC"},
		{"WATER", "330106001", "330106", "3301-WATER"},
		{"POWER", "", "330382", "3303-POWER"},
		{"GAS", "", "", "HC"},
		{"HC", "330106001", "330106", "3301-HC"},
		{"HC", "", "", "HC"},
		{"XYZ", "", "330106", "330106-XYZ"}, // unknown types act as county types
		{"ZF", "33010600", "3301", "HC"},    // malformed codes are ignored
	}
	for _, tt := range tests {
		if got := DefaultUnitID(tt.typ, tt.township, tt.county); got != tt.want {
			t.Errorf("DefaultUnitID(%q,%q,%q) = %q, want %q", tt.typ, tt.township, tt.county, got, tt.want)
		}
	}
}

func TestUnitTypeOf(t *testing.T) {
	for in, want := range map[string]string{"330106001-ZF": "ZF", "3301-WATER": "WATER", "HC": "HC", "": ""} {
		if got := UnitTypeOf(in); got != want {
			t.Errorf("UnitTypeOf(%q) = %q", in, got)
		}
	}
}

func TestParseOperatorVersion(t *testing.T) {
	cats := "code,group,name,lead,co,sla_class,typical_kind\n0101,城市管理,违法建设,ZZ,ZRJ;ZF,normal,举报\n"
	units := "code,name,level,county_line,note\nZZ,综治,township,SHZL,\nZF,执法,township,ZFJ,\nSHZL,社会治理中心,county,,\nZFJ,执法局,county,,\nZRJ,资规局,county,,\nHC,热线,center,,\n"
	tax, err := Parse(strings.NewReader(cats), strings.NewReader(units))
	if err != nil {
		t.Fatal(err)
	}
	c := tax.Category("0101")
	if c.Lead != "ZZ" || strings.Join(c.Co, ",") != "ZRJ,ZF" {
		t.Fatalf("%+v", c)
	}
	if got := tax.DefaultUnitID(c.Lead, "", "330382"); got != "330382-SHZL" {
		t.Fatal(got)
	}
	bad := []struct{ cats, units string }{
		{"code,group,name,lead,co,sla_class,typical_kind\n0101,a,b,NOPE,,normal,举报\n", units},
		{"code,group,name,lead,co,sla_class,typical_kind\n101,a,b,ZZ,,normal,举报\n", units},
		{cats, "code,name,level,county_line,note\nZZ,x,township,,\n"},
		{cats, "code,name,level,county_line,note\nZZ,x,galaxy,,\n"},
		{"code,name\n", units},
	}
	for i, b := range bad {
		if _, err := Parse(strings.NewReader(b.cats), strings.NewReader(b.units)); err == nil {
			t.Errorf("bad input %d accepted", i)
		}
	}
}
