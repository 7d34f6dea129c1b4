// Package taxonomy holds the case categories of the hotline (two levels,
// 4-digit codes whose first two digits are the group) with the default
// routing matrix, and the kinds of handling unit, and resolves a unit type
// against a case's territory to a unit id.
//
// The default data (taxonomy.csv, unit-types.csv) is embedded; operators'
// versions of the same files are read with ParseCategories and
// ParseUnitTypes and combined with New.
package taxonomy

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

//go:embed data/taxonomy.csv
var defaultCategories []byte

//go:embed data/unit-types.csv
var defaultUnitTypes []byte

// Unit type levels.
const (
	LevelTownship = "township" // the four platforms of a township (ZZ, SJ, ZF, BM)
	LevelCounty   = "county"   // county departments and the county social governance centre
	LevelUtility  = "utility"  // the city's utility companies
	LevelCenter   = "center"   // the city's 12345 hotline centre (HC)
)

// SLA classes of a category.
const (
	SLANormal  = "normal"
	SLAUrgent  = "urgent"
	SLAUtility = "utility"
	SLAConsult = "consult"
	SLARecord  = "record"
)

// Center is the unit type of the hotline centre, the last resort of routing.
const Center = "HC"

// Category is one case category with its default routing.
type Category struct {
	Code        string   // 4 digits, e.g. "0104"
	Group       string   // e.g. 城市管理
	GroupCode   string   // the first two digits of Code
	Name        string   // e.g. 餐饮油烟
	Lead        string   // lead unit type
	Co          []string // co-handling unit types
	SLAClass    string   // normal | urgent | utility | consult | record
	TypicalKind string   // 咨询 求助 投诉 举报 建议 表扬 其他
}

// UnitType is a kind of handling unit.
type UnitType struct {
	Code       string // e.g. ZF, ZFJ, WATER, HC
	Name       string
	Level      string // township | county | utility | center
	CountyLine string // for township types: the county unit type of the same line
	Note       string
}

// Taxonomy is a set of categories and unit types. It is immutable and safe
// for concurrent use.
type Taxonomy struct {
	cats     []*Category
	byCode   map[string]*Category
	units    []*UnitType
	unitByID map[string]*UnitType
}

var (
	defOnce sync.Once
	defTax  *Taxonomy
	defErr  error
)

// Default returns the embedded default taxonomy (60 categories in 14
// groups, 29 unit types), parsed once.
func Default() *Taxonomy {
	defOnce.Do(func() {
		var cats []*Category
		var units []*UnitType
		if cats, defErr = ParseCategories(bytes.NewReader(defaultCategories)); defErr != nil {
			return
		}
		if units, defErr = ParseUnitTypes(bytes.NewReader(defaultUnitTypes)); defErr != nil {
			return
		}
		defTax, defErr = New(cats, units)
	})
	if defErr != nil {
		panic("taxonomy: embedded data: " + defErr.Error())
	}
	return defTax
}

// Parse reads an operator's taxonomy from the two files in the format of the
// embedded ones.
func Parse(categories, unitTypes io.Reader) (*Taxonomy, error) {
	cats, err := ParseCategories(categories)
	if err != nil {
		return nil, err
	}
	units, err := ParseUnitTypes(unitTypes)
	if err != nil {
		return nil, err
	}
	return New(cats, units)
}

func readCSV(r io.Reader, want []string) ([]map[string]string, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("empty file")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[strings.TrimPrefix(strings.TrimSpace(h), "\ufeff")] = i
	}
	for _, w := range want {
		if _, ok := col[w]; !ok {
			return nil, fmt.Errorf("missing column %q", w)
		}
	}
	var out []map[string]string
	for n, r := range rows[1:] {
		if len(r) == 1 && strings.TrimSpace(r[0]) == "" {
			continue
		}
		m := map[string]string{}
		for name, i := range col {
			if i < len(r) {
				m[name] = strings.TrimSpace(r[i])
			}
		}
		m["#line"] = fmt.Sprint(n + 2)
		out = append(out, m)
	}
	return out, nil
}

// ParseCategories reads categories in the CSV format
// code,group,name,lead,co,sla_class,typical_kind (co is ';'-separated).
func ParseCategories(r io.Reader) ([]*Category, error) {
	rows, err := readCSV(r, []string{"code", "group", "name", "lead", "co", "sla_class", "typical_kind"})
	if err != nil {
		return nil, fmt.Errorf("taxonomy: categories: %w", err)
	}
	var out []*Category
	for _, m := range rows {
		c := &Category{Code: m["code"], Group: m["group"], Name: m["name"], Lead: m["lead"],
			SLAClass: m["sla_class"], TypicalKind: m["typical_kind"]}
		if len(c.Code) != 4 || strings.Trim(c.Code, "0123456789") != "" {
			return nil, fmt.Errorf("taxonomy: categories line %s: code %q is not 4 digits", m["#line"], c.Code)
		}
		if c.Lead == "" {
			return nil, fmt.Errorf("taxonomy: categories line %s: no lead unit type", m["#line"])
		}
		c.GroupCode = c.Code[:2]
		for _, co := range strings.Split(m["co"], ";") {
			if co = strings.TrimSpace(co); co != "" {
				c.Co = append(c.Co, co)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseUnitTypes reads unit types in the CSV format
// code,name,level,county_line,note.
func ParseUnitTypes(r io.Reader) ([]*UnitType, error) {
	rows, err := readCSV(r, []string{"code", "name", "level", "county_line"})
	if err != nil {
		return nil, fmt.Errorf("taxonomy: unit types: %w", err)
	}
	var out []*UnitType
	for _, m := range rows {
		u := &UnitType{Code: m["code"], Name: m["name"], Level: m["level"], CountyLine: m["county_line"], Note: m["note"]}
		switch u.Level {
		case LevelTownship, LevelCounty, LevelUtility, LevelCenter:
		default:
			return nil, fmt.Errorf("taxonomy: unit types line %s: unknown level %q", m["#line"], u.Level)
		}
		if u.Code == "" {
			return nil, fmt.Errorf("taxonomy: unit types line %s: no code", m["#line"])
		}
		out = append(out, u)
	}
	return out, nil
}

// New builds a taxonomy and checks it: codes unique, every lead, co and
// county line a known unit type, every township type with a county-level
// county line.
func New(cats []*Category, units []*UnitType) (*Taxonomy, error) {
	t := &Taxonomy{byCode: map[string]*Category{}, unitByID: map[string]*UnitType{}}
	for _, u := range units {
		if t.unitByID[u.Code] != nil {
			return nil, fmt.Errorf("taxonomy: duplicate unit type %s", u.Code)
		}
		t.unitByID[u.Code] = u
		t.units = append(t.units, u)
	}
	for _, u := range units {
		if u.Level == LevelTownship {
			l := t.unitByID[u.CountyLine]
			if l == nil || l.Level != LevelCounty {
				return nil, fmt.Errorf("taxonomy: township unit type %s has no county-level county line (%q)", u.Code, u.CountyLine)
			}
		}
	}
	for _, c := range cats {
		if t.byCode[c.Code] != nil {
			return nil, fmt.Errorf("taxonomy: duplicate category %s", c.Code)
		}
		for _, u := range append([]string{c.Lead}, c.Co...) {
			if t.unitByID[u] == nil {
				return nil, fmt.Errorf("taxonomy: category %s: unknown unit type %s", c.Code, u)
			}
		}
		t.byCode[c.Code] = c
		t.cats = append(t.cats, c)
	}
	sort.Slice(t.cats, func(i, j int) bool { return t.cats[i].Code < t.cats[j].Code })
	return t, nil
}

// Categories returns all categories by code.
func (t *Taxonomy) Categories() []*Category { return append([]*Category(nil), t.cats...) }

// Category returns the category with the code, or nil.
func (t *Taxonomy) Category(code string) *Category { return t.byCode[code] }

// UnitTypes returns all unit types in file order.
func (t *Taxonomy) UnitTypes() []*UnitType { return append([]*UnitType(nil), t.units...) }

// UnitType returns the unit type with the code, or nil.
func (t *Taxonomy) UnitType(code string) *UnitType { return t.unitByID[code] }

// Groups returns the group codes and names in order.
func (t *Taxonomy) Groups() [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for _, c := range t.cats {
		if !seen[c.GroupCode] {
			seen[c.GroupCode] = true
			out = append(out, [2]string{c.GroupCode, c.Group})
		}
	}
	return out
}

// DefaultUnitID resolves a unit type against a case's territory with the
// default unit-id scheme:
//
//   - township type with a township:        <township9>-<TYPE>  330106001-ZF
//   - township type, county but no township: <county6>-<LINE>   330106-ZFJ
//   - county type with a county:            <county6>-<TYPE>    330106-RSJ
//   - utility type with a city:             <city4>-<TYPE>      3301-WATER
//   - the centre HC with a city:            <city4>-HC          3301-HC
//   - whatever cannot be placed:            <city4>-HC, or HC when even the city is unknown
//
// The county is taken from the township code when countyCode is empty and
// the city from the first four digits of the county or township code. An
// unknown unit type is treated as a county type.
func (t *Taxonomy) DefaultUnitID(unitType, townshipCode, countyCode string) string {
	if len(townshipCode) != 9 {
		townshipCode = ""
	}
	if countyCode == "" && townshipCode != "" {
		countyCode = townshipCode[:6]
	}
	if len(countyCode) != 6 {
		countyCode = ""
	}
	city := ""
	switch {
	case countyCode != "":
		city = countyCode[:4]
	case townshipCode != "":
		city = townshipCode[:4]
	}
	center := Center
	if city != "" {
		center = city + "-" + Center
	}
	level, line := LevelCounty, ""
	if u := t.unitByID[unitType]; u != nil {
		level, line = u.Level, u.CountyLine
	}
	if unitType == Center {
		level = LevelCenter
	}
	switch level {
	case LevelTownship:
		if townshipCode != "" {
			return townshipCode + "-" + unitType
		}
		if countyCode != "" && line != "" {
			return countyCode + "-" + line
		}
	case LevelCounty:
		if countyCode != "" && unitType != "" {
			return countyCode + "-" + unitType
		}
	case LevelUtility:
		if city != "" {
			return city + "-" + unitType
		}
	}
	return center
}

// DefaultUnitID resolves a unit type with the default taxonomy; see
// (*Taxonomy).DefaultUnitID.
func DefaultUnitID(unitType, townshipCode, countyCode string) string {
	return Default().DefaultUnitID(unitType, townshipCode, countyCode)
}

// UnitTypeOf returns the unit type part of a unit id: "330106001-ZF" → "ZF",
// "3301-WATER" → "WATER", "HC" → "HC".
func UnitTypeOf(unitID string) string {
	if i := strings.LastIndexByte(unitID, '-'); i >= 0 {
		return unitID[i+1:]
	}
	return unitID
}
