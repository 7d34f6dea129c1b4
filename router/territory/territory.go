// Package territory holds the statistical division codes of mainland China
// (统计用区划代码, 2023) and finds the township, county and city that a
// free-text address or call transcript names.
//
// The whole country's four division files are embedded gzip-compressed, so a
// deployment for another province needs only another province code:
//
//	zj := territory.Zhejiang()              // province 33, cached
//	t, err := territory.Load("33", "32")    // Zhejiang and Jiangsu
//	all, err := territory.LoadAll()         // every province
//
// Statistical placeholders (names containing 直辖村级区划) are not places: they
// are left out of the tree and never matched. City rows named 市辖区 or
// 省直辖县级行政区划 are kept in the tree (their counties hang below them) but
// are never matched by name.
package territory

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

//go:embed data/*.csv.gz
var dataFS embed.FS

// Division levels.
const (
	LevelProvince = "province"
	LevelCity     = "city"
	LevelCounty   = "county"
	LevelTownship = "township"
)

// Division is one administrative division: a province (2-digit code), city
// (4), county (6) or township/street (9). Parent is the code of the division
// above ("" for a province).
type Division struct {
	Code   string
	Name   string
	Level  string
	Parent string
}

// Short returns the common short form of the division's name ("" when the
// name has no safe short form). See ShortName.
func (d *Division) Short() string { return ShortName(d.Name, d.Level) }

// Territory is the division tree of one or more provinces plus a name index
// for MatchAddress. It is immutable after Load and safe for concurrent use.
type Territory struct {
	provinces []string
	divs      map[string]*Division
	children  map[string][]string
	idx       *index
}

// Placeholder reports whether a division name is a statistical placeholder
// rather than a place (e.g. 龙港县直辖村级区划).
func Placeholder(name string) bool { return strings.Contains(name, "直辖村级区划") }

// unmatchableName reports names that are structural rows rather than names a
// citizen would say (市辖区, 省直辖县级行政区划, ...).
func unmatchableName(name string) bool {
	return name == "市辖区" || name == "县" || strings.Contains(name, "直辖")
}

var (
	zjOnce sync.Once
	zjTerr *Territory
	zjErr  error
)

// Zhejiang returns the territory of Zhejiang (province 33), loaded once and
// cached. It panics only if the embedded data is corrupt, which the tests
// rule out.
func Zhejiang() *Territory {
	zjOnce.Do(func() { zjTerr, zjErr = Load("33") })
	if zjErr != nil {
		panic("territory: embedded data: " + zjErr.Error())
	}
	return zjTerr
}

// LoadAll loads every province of the embedded data.
func LoadAll() (*Territory, error) { return load(nil) }

// Load builds the territory of the given provinces (2-digit codes such as
// "33"). At least one code is required; unknown codes are an error.
func Load(provinceCodes ...string) (*Territory, error) {
	if len(provinceCodes) == 0 {
		return nil, fmt.Errorf("territory: no province code given")
	}
	want := map[string]bool{}
	for _, c := range provinceCodes {
		want[strings.TrimSpace(c)] = true
	}
	return load(want)
}

func readGz(name string) ([][]string, error) {
	raw, err := dataFS.ReadFile("data/" + name + ".csv.gz")
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer zr.Close()
	cr := csv.NewReader(zr)
	cr.ReuseRecord = false
	var rows [][]string
	header := true
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if header {
			header = false
			continue
		}
		rows = append(rows, rec)
	}
	return rows, nil
}

var (
	natOnce  sync.Once
	natStems map[string]int // township stem -> occurrences in the country
	natNames map[string]int // township full name -> occurrences in the country
	natErr   error
	natRows  [4][][]string
)

// nationalData parses the embedded files once per process: loading several
// territories does not parse them again. It also counts how often each
// township stem occurs in the whole country, a measure of how generic a
// stem is (城东, 新城, 太平 ... occur dozens of times).
func nationalData() ([4][][]string, map[string]int, map[string]int, error) {
	natOnce.Do(func() {
		for i, n := range []string{"provinces", "cities", "areas", "streets"} {
			natRows[i], natErr = readGz(n)
			if natErr != nil {
				return
			}
		}
		natStems = map[string]int{}
		natNames = map[string]int{}
		for _, r := range natRows[3] {
			if len(r) < 2 || Placeholder(r[1]) {
				continue
			}
			natNames[r[1]]++
			if s := ShortName(r[1], LevelTownship); s != "" {
				natStems[s]++
			}
		}
	})
	return natRows, natStems, natNames, natErr
}

func load(want map[string]bool) (*Territory, error) {
	rows, stems, names, err := nationalData()
	if err != nil {
		return nil, fmt.Errorf("territory: %w", err)
	}
	t := &Territory{divs: map[string]*Division{}, children: map[string][]string{}}
	add := func(d *Division) {
		t.divs[d.Code] = d
		if d.Parent != "" {
			t.children[d.Parent] = append(t.children[d.Parent], d.Code)
		}
	}
	for _, r := range rows[0] {
		if len(r) < 2 || (want != nil && !want[r[0]]) {
			continue
		}
		t.provinces = append(t.provinces, r[0])
		add(&Division{Code: r[0], Name: r[1], Level: LevelProvince})
	}
	if want != nil && len(t.provinces) != len(want) {
		var missing []string
		for c := range want {
			if t.divs[c] == nil {
				missing = append(missing, c)
			}
		}
		sort.Strings(missing)
		return nil, fmt.Errorf("territory: unknown province code(s) %s", strings.Join(missing, ","))
	}
	for _, r := range rows[1] { // code,name,provinceCode
		if len(r) < 3 || t.divs[r[2]] == nil {
			continue
		}
		add(&Division{Code: r[0], Name: r[1], Level: LevelCity, Parent: r[2]})
	}
	for _, r := range rows[2] { // code,name,cityCode,provinceCode
		if len(r) < 4 || t.divs[r[2]] == nil {
			continue
		}
		add(&Division{Code: r[0], Name: r[1], Level: LevelCounty, Parent: r[2]})
	}
	for _, r := range rows[3] { // code,name,areaCode,provinceCode,cityCode
		if len(r) < 3 || t.divs[r[2]] == nil || Placeholder(r[1]) {
			continue
		}
		add(&Division{Code: r[0], Name: r[1], Level: LevelTownship, Parent: r[2]})
	}
	for _, c := range t.children {
		sort.Strings(c)
	}
	sort.Strings(t.provinces)
	t.idx = buildIndex(t, stems, names)
	return t, nil
}

// Provinces returns the codes of the loaded provinces.
func (t *Territory) Provinces() []string { return append([]string(nil), t.provinces...) }

// Get returns the division with the code, or nil.
func (t *Territory) Get(code string) *Division { return t.divs[code] }

func (t *Territory) list(codes []string) []*Division {
	out := make([]*Division, 0, len(codes))
	for _, c := range codes {
		out = append(out, t.divs[c])
	}
	return out
}

// Cities returns the cities of all loaded provinces, by code.
func (t *Territory) Cities() []*Division {
	var out []*Division
	for _, p := range t.provinces {
		out = append(out, t.list(t.children[p])...)
	}
	return out
}

// Counties returns the counties of a city, by code.
func (t *Territory) Counties(cityCode string) []*Division {
	if d := t.divs[cityCode]; d == nil || d.Level != LevelCity {
		return nil
	}
	return t.list(t.children[cityCode])
}

// Townships returns the townships and streets of a county, by code.
func (t *Territory) Townships(countyCode string) []*Division {
	if d := t.divs[countyCode]; d == nil || d.Level != LevelCounty {
		return nil
	}
	return t.list(t.children[countyCode])
}

// CountyOf returns the county of a township (or the county itself), or nil.
func (t *Territory) CountyOf(code string) *Division {
	d := t.divs[code]
	for d != nil && d.Level != LevelCounty {
		if d.Level != LevelTownship {
			return nil
		}
		d = t.divs[d.Parent]
	}
	return d
}

// CityOf returns the city of a township, county or city, or nil.
func (t *Territory) CityOf(code string) *Division {
	d := t.divs[code]
	for d != nil && d.Level != LevelCity {
		if d.Level == LevelProvince {
			return nil
		}
		d = t.divs[d.Parent]
	}
	return d
}

// Len returns the number of divisions of each level: provinces, cities,
// counties, townships.
func (t *Territory) Len() (provinces, cities, counties, townships int) {
	for _, d := range t.divs {
		switch d.Level {
		case LevelProvince:
			provinces++
		case LevelCity:
			cities++
		case LevelCounty:
			counties++
		case LevelTownship:
			townships++
		}
	}
	return
}
