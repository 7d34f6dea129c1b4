package router

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"yici/router/taxonomy"
	"yici/router/territory"
)

var (
	zjOnce  sync.Once
	zjUnits []Unit
)

func zhejiang(t testing.TB) (Directory, *taxonomy.Taxonomy, *territory.Territory) {
	t.Helper()
	terr := territory.Zhejiang()
	tax := taxonomy.Default()
	zjOnce.Do(func() { zjUnits = GenerateUnits(terr, tax) })
	return DirectoryOf(zjUnits), tax, terr
}

func TestGeneratedUnits(t *testing.T) {
	dir, _, _ := zhejiang(t)
	// 1,386 real townships (one of the 1,387 is a placeholder) × 4
	// platforms, 90 counties × 20 county units, 11 cities × 5 (4 utilities
	// and the hotline centre), and the provincial centre.
	if want := 1386*4 + 90*20 + 11*5 + 1; len(dir) != want {
		t.Errorf("%d units, want %d", len(dir), want)
	}
	for _, id := range []string{"330106013-ZF", "330106-RSJ", "3301-WATER", "3301-HC", "330382-SHZL", "HC"} {
		if !dir[id].Active {
			t.Errorf("unit %s missing", id)
		}
	}
	if got := dir["330106013-ZF"].Name; got != "文新街道综合执法平台" {
		t.Errorf("name %q", got)
	}
	if _, ok := dir["330383198-ZF"]; ok {
		t.Error("a unit was made for a placeholder township")
	}
}

// The default matrix gives every category an active owner in every county
// of Zhejiang, with and without a known township.
func TestEveryCategoryInEveryCountyResolves(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	if err := Validate(DefaultRules(tax), dir, tax, terr); err != nil {
		t.Fatal(err)
	}
	e := NewEngine(1, DefaultRules(tax), dir, tax, terr)
	n := 0
	for _, city := range terr.Cities() {
		for _, county := range terr.Counties(city.Code) {
			tws := terr.Townships(county.Code)
			for _, c := range tax.Categories() {
				sample := []string{""}
				if len(tws) > 0 {
					sample = append(sample, tws[0].Code, tws[len(tws)-1].Code)
				}
				for _, tw := range sample {
					if d := terr.Get(tw); d != nil && territory.Placeholder(d.Name) {
						continue
					}
					d := e.Route(Input{Category: c.Code, TownshipCode: tw, CountyCode: county.Code})
					n++
					if !dir[d.Lead].Active || d.Rule != "default-"+c.Code {
						t.Fatalf("%s in %s/%s: %+v", c.Code, county.Code, tw, d)
					}
					lt := tax.UnitType(c.Lead)
					switch {
					case lt.Level == taxonomy.LevelTownship && tw != "" && d.Lead != tw+"-"+c.Lead:
						t.Fatalf("%s in %s: lead %s", c.Code, tw, d.Lead)
					case lt.Level == taxonomy.LevelTownship && tw == "" && d.Lead != county.Code+"-"+lt.CountyLine:
						t.Fatalf("%s in %s without township: lead %s", c.Code, county.Code, d.Lead)
					}
				}
			}
		}
	}
	t.Logf("%d (category, territory) routes resolved to active units", n)
}

func TestFallbacksWithoutTerritory(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	e := NewEngine(1, DefaultRules(tax), dir, tax, terr)
	cases := []struct {
		name  string
		in    Input
		lead  string
		queue bool
	}{
		{"township platform, township known", Input{Category: "0104", TownshipCode: "330106013"}, "330106013-ZF", false},
		{"township platform, county only", Input{Category: "0104", CountyCode: "330106"}, "330106-ZFJ", false},
		{"ZZ line goes to SHZL", Input{Category: "0701", CountyCode: "330382"}, "330382-SHZL", false},
		{"BM line goes to ZWJ", Input{Category: "1001", CountyCode: "330522"}, "330522-ZWJ", false},
		{"county department", Input{Category: "0401", TownshipCode: "330106013"}, "330106-RSJ", false},
		{"utility by city", Input{Category: "1101", CountyCode: "330382"}, "3303-WATER", false},
		{"no county: city hotline centre", Input{Category: "0104", CityCode: "3301"}, "3301-HC", true},
		{"nothing known: provincial centre", Input{Category: "0104"}, "HC", true},
		{"no category: county SHZL 兜底", Input{TownshipCode: "330106013"}, "330106-SHZL", false},
		{"HC category", Input{Category: "1401", CountyCode: "330106"}, "3301-HC", true},
	}
	for _, tc := range cases {
		d := e.Route(tc.in)
		if d.Lead != tc.lead || d.Queue != tc.queue {
			t.Errorf("%s: lead %s queue %v, want %s %v\n%s", tc.name, d.Lead, d.Queue, tc.lead, tc.queue, strings.Join(d.Steps, "\n"))
		}
		if d.Summary == "" || len(d.Steps) == 0 {
			t.Errorf("%s: no explanation", tc.name)
		}
	}
}

func TestPrecedence(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	rules := append(DefaultRules(tax),
		Rule{ID: "xihu-group-01", Category: "01", Territory: "330106", LeadType: "ZFJ"},
		Rule{ID: "wenxin-oil", Category: "0104", Territory: "330106013", LeadType: "STJ"},
		Rule{ID: "hz-0104", Category: "0104", Territory: "3301", LeadType: "SJ"},
		Rule{ID: "zj-0104-hi", Category: "0104", Territory: "33", LeadType: "ZJJ", Priority: 100},
		Rule{ID: "hz-0104-urgent", Category: "0104", Territory: "3301", Urgency: "urgent", LeadType: "YJJ"},
		Rule{ID: "hz-0104-gas", Category: "0104", Territory: "3301", Keywords: []string{"煤气罐"}, LeadType: "XFJ", Priority: 10},
		Rule{ID: "hz-0104-prio", Category: "0104", Territory: "3301", Priority: 5, LeadType: "WJJ"},
		Rule{ID: "fixed-unit", Category: "0202", Territory: "330106", LeadUnit: "330106-ZWJ"},
		Rule{ID: "app-kind", Category: "0301", Channel: "app", Kind: "投诉", LeadType: "SJJ"},
	)
	e := NewEngine(2, rules, dir, tax, terr)
	cases := []struct {
		name string
		in   Input
		rule string
		lead string
	}{
		{"township rule beats county group rule", Input{Category: "0104", TownshipCode: "330106013"}, "wenxin-oil", "330106-STJ"},
		{"county group rule beats city category rule (territory first)", Input{Category: "0104", TownshipCode: "330106005"}, "xihu-group-01", "330106-ZFJ"},
		{"city rule beats province priority 100 (territory before priority)", Input{Category: "0104", TownshipCode: "330110001"}, "hz-0104-gas", "330110-XFJ"},
		{"priority among same territory and category", Input{Category: "0104", TownshipCode: "330110001", Content: "油烟"}, "hz-0104-prio", "330110-WJJ"},
		{"urgency condition", Input{Category: "0104", TownshipCode: "330110001", Urgency: "urgent", Content: "油烟"}, "hz-0104-prio", "330110-WJJ"},
		{"province priority beats default", Input{Category: "0104", TownshipCode: "330382001"}, "zj-0104-hi", "330382-ZJJ"},
		{"fixed unit", Input{Category: "0202", TownshipCode: "330106013"}, "fixed-unit", "330106-ZWJ"},
		{"channel and kind conditions", Input{Category: "0301", Channel: "app", Kind: "投诉", TownshipCode: "330106013"}, "app-kind", "330106-SJJ"},
		{"conditions not met fall to default", Input{Category: "0301", Channel: "web", Kind: "投诉", TownshipCode: "330106013"}, "default-0301", "330106013-SJ"},
	}
	// keywords: the gas rule needs its keyword
	cases[2].in.Content = "楼下饭店后厨堆了好几个煤气罐"
	for _, tc := range cases {
		d := e.Route(tc.in)
		if d.Rule != tc.rule || d.Lead != tc.lead {
			t.Errorf("%s: rule %s lead %s, want %s %s\nsteps: %v\nlost: %+v", tc.name, d.Rule, d.Lead, tc.rule, tc.lead, d.Steps, d.Lost)
		}
	}
	// The losers say why they lost.
	d := e.Route(Input{Category: "0104", TownshipCode: "330106013"})
	why := map[string]string{}
	for _, l := range d.Lost {
		why[l.Rule] = l.Why
	}
	if !strings.Contains(why["xihu-group-01"], "地域") || !strings.Contains(why["default-0104"], "地域") {
		t.Errorf("losers: %+v", d.Lost)
	}
	if !strings.Contains(why["hz-0104-gas"], "关键词") {
		t.Errorf("keyword rule's miss not explained: %+v", d.Lost)
	}
}

func TestReroutingExcludesReturnedUnits(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	rules := append(DefaultRules(tax), Rule{ID: "xihu-0104-alt", Category: "0104", LeadType: "STJ", Priority: -1})
	e := NewEngine(1, rules, dir, tax, terr)
	in := Input{Category: "0104", TownshipCode: "330106013"}
	first := e.Route(in)
	if first.Lead != "330106013-ZF" {
		t.Fatalf("first: %s", first.Lead)
	}
	in.Excluded, in.Returns = []string{"330106013-ZF"}, 1
	second := e.Route(in)
	if second.Lead != "330106-STJ" || second.Rule != "xihu-0104-alt" {
		t.Fatalf("after one return: %s by %s", second.Lead, second.Rule)
	}
	if !slices.ContainsFunc(second.Lost, func(c Candidate) bool { return c.Lead == "330106013-ZF" && strings.Contains(c.Why, "退单") }) {
		t.Errorf("the excluded unit is not explained: %+v", second.Lost)
	}
	in.Excluded = append(in.Excluded, "330106-STJ")
	in.Returns = 2
	in.ReturnReasons = []string{"文新街道综合执法平台：不属本街道", "西湖区生态环境分局：非工业污染"}
	third := e.Route(in)
	if third.Lead != "330106-SHZL" || !strings.Contains(strings.Join(third.Steps, " "), "非工业污染") {
		t.Fatalf("after two returns: %s %v", third.Lead, third.Steps)
	}
}

func TestMergedAndInactiveUnits(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	dir["330106013-ZF"] = UnitInfo{Name: "文新街道综合执法平台", Active: false, MergedInto: "330106011-ZF"}
	dir["330106005-ZF"] = UnitInfo{Name: "翠苑街道综合执法平台", Active: false}
	e := NewEngine(1, DefaultRules(tax), dir, tax, terr)
	if d := e.Route(Input{Category: "0104", TownshipCode: "330106013"}); d.Lead != "330106011-ZF" {
		t.Errorf("merged unit: %s %v", d.Lead, d.Steps)
	}
	if d := e.Route(Input{Category: "0104", TownshipCode: "330106005"}); d.Lead != "330106-ZFJ" {
		t.Errorf("deactivated unit: %s %v", d.Lead, d.Steps)
	}
}

func TestEscalation(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	e := NewEngine(1, DefaultRules(tax), dir, tax, terr)
	up, co, ok := e.Escalation("330106013-ZF", []string{"330106-ZJJ"})
	if !ok || up != "330106-ZFJ" || !slices.Equal(co, []string{"330106013-ZF", "330106-ZJJ"}) {
		t.Fatalf("escalation: %s %v %v", up, co, ok)
	}
	if up, _, _ := e.Escalation("330106013-ZZ", nil); up != "330106-SHZL" {
		t.Fatalf("ZZ escalates to %s", up)
	}
	if _, _, ok := e.Escalation("330106-RSJ", nil); ok {
		t.Fatal("a county unit escalated")
	}
}

func TestValidationErrors(t *testing.T) {
	dir, tax, terr := zhejiang(t)
	cases := []struct {
		name  string
		rules []Rule
		want  string
	}{
		{"missing unit", append(DefaultRules(tax), Rule{ID: "x", Category: "0101", LeadUnit: "330106-NOPE"}), "does not exist"},
		{"unknown type", append(DefaultRules(tax), Rule{ID: "x", Category: "0101", LeadType: "ABC"}), "unknown unit type"},
		{"unknown category", append(DefaultRules(tax), Rule{ID: "x", Category: "9999", LeadType: "ZF"}), "unknown category"},
		{"duplicate id", append(DefaultRules(tax), Rule{ID: "default-0101", Category: "0101", LeadType: "ZF"}), "id used twice"},
		{"both leads", append(DefaultRules(tax), Rule{ID: "x", LeadType: "ZF", LeadUnit: "HC"}), "not both"},
		{"bad territory", append(DefaultRules(tax), Rule{ID: "x", Territory: "339999", LeadType: "ZF"}), "unknown territory"},
		{"bad deadline", append(DefaultRules(tax), Rule{ID: "x", Category: "0101", LeadType: "ZF", Deadline: "3 weeks"}), "deadline"},
		{"category without owner", slices.DeleteFunc(DefaultRules(tax), func(r Rule) bool { return r.ID == "default-0301" }), "0301"},
	}
	for _, tc := range cases {
		err := Validate(tc.rules, dir, tax, terr)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// A deactivated lead unit without a merge target is an error.
	dir2 := Directory{}
	for k, v := range dir {
		dir2[k] = v
	}
	dir2["330106-ZWJ"] = UnitInfo{Name: "x", Active: false}
	err := Validate(append(DefaultRules(tax), Rule{ID: "fixed", Category: "0202", LeadUnit: "330106-ZWJ"}), dir2, tax, terr)
	if err == nil || !strings.Contains(err.Error(), "deactivated") {
		t.Errorf("deactivated unit: %v", err)
	}
}

// bigRuleSet makes n rules: county and township overrides of random
// categories, with conditions, on top of the default matrix.
func bigRuleSet(tax *taxonomy.Taxonomy, terr *territory.Territory, n int) []Rule {
	rng := rand.New(rand.NewPCG(1, 2))
	rules := DefaultRules(tax)
	cats := tax.Categories()
	var counties, townships []string
	for _, c := range terr.Cities() {
		for _, k := range terr.Counties(c.Code) {
			counties = append(counties, k.Code)
			for _, tw := range terr.Townships(k.Code) {
				townships = append(townships, tw.Code)
			}
		}
	}
	types := []string{"ZF", "SJ", "ZZ", "BM", "ZJJ", "STJ", "GAJ", "SHZL"}
	for i := len(rules); i < n; i++ {
		r := Rule{ID: fmt.Sprintf("r%05d", i), Category: cats[rng.IntN(len(cats))].Code, LeadType: types[rng.IntN(len(types))], Priority: rng.IntN(10)}
		if rng.IntN(3) == 0 {
			r.Territory = townships[rng.IntN(len(townships))]
		} else {
			r.Territory = counties[rng.IntN(len(counties))]
		}
		switch rng.IntN(6) {
		case 0:
			r.Kind = "投诉"
		case 1:
			r.Keywords = []string{"夜间", "凌晨"}
		case 2:
			r.Urgency = "urgent"
		}
		rules = append(rules, r)
	}
	return rules
}

// BenchmarkRoute5000 routes random cases against a 5,000-rule active set
// and reports p50/p99 per decision.
func BenchmarkRoute5000(b *testing.B) {
	dir, tax, terr := zhejiang(b)
	e := NewEngine(1, bigRuleSet(tax, terr, 5000), dir, tax, terr)
	rng := rand.New(rand.NewPCG(3, 4))
	cats := tax.Categories()
	var tws []string
	for _, k := range terr.Counties("3301") {
		for _, tw := range terr.Townships(k.Code) {
			tws = append(tws, tw.Code)
		}
	}
	inputs := make([]Input, 4096)
	for i := range inputs {
		inputs[i] = Input{Category: cats[rng.IntN(len(cats))].Code, TownshipCode: tws[rng.IntN(len(tws))], Kind: "投诉",
			Channel: "phone", Urgency: "normal", Content: "楼下饭店夜间油烟扰民，开窗全是油烟味。"}
		if i%4 == 0 {
			inputs[i].TownshipCode = ""
			inputs[i].CountyCode = tws[rng.IntN(len(tws))][:6]
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		e.Route(inputs[i%len(inputs)])
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkCompile5000 is building the engine of a 5,000-rule set (the
// in-memory part of a reload).
func BenchmarkCompile5000(b *testing.B) {
	dir, tax, terr := zhejiang(b)
	rules := bigRuleSet(tax, terr, 5000)
	b.ReportAllocs()
	for b.Loop() {
		NewEngine(1, rules, dir, tax, terr)
	}
}

// BenchmarkValidate5000 is validating a 5,000-rule set (done before a set
// is stored or activated).
func BenchmarkValidate5000(b *testing.B) {
	dir, tax, terr := zhejiang(b)
	rules := bigRuleSet(tax, terr, 5000)
	for b.Loop() {
		if err := Validate(rules, dir, tax, terr); err != nil {
			b.Fatal(err)
		}
	}
}
