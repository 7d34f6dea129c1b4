package knowledge

import (
	"sort"
	"unicode/utf8"

	"yici/router/territory"
)

// Analyzer turns a query into terms: it cleans the text, takes out the
// place it names (a county or city is where the asker is, not what they
// ask about: 在余杭 should not rank 余杭区 articles on other subjects
// first), splits it into terms and adds synonyms.
type Analyzer struct {
	Synonyms *Synonyms
	// Territory finds place names; nil leaves them in the query.
	Territory *territory.Territory
}

// placeWeight is the weight of the terms of a place name in a query: the
// place mostly says where the asker is, yet an article may be about it
// (杭州低保标准), so its terms still count, a little.
const placeWeight = 0.5

// place returns the county (or, failing that, city) a cleaned query names,
// and the rune spans of the names of that place and of its parents.
func (az *Analyzer) place(q string) (string, [][2]int) {
	if az == nil || az.Territory == nil {
		return "", nil
	}
	m := az.Territory.MatchAddress(q)
	code := ""
	switch {
	case m.CountyCode != "" && m.Confidence >= 0.5:
		code = m.CountyCode
	case m.CityCode != "" && m.Confidence >= 0.4:
		code = m.CityCode
	default:
		return "", nil
	}
	var names []string
	for _, c := range []string{m.TownshipCode, code, m.CityCode} {
		if d := az.Territory.Get(c); d != nil && c != "" {
			names = append(names, d.Name)
			if s := d.Short(); s != "" {
				names = append(names, s)
			}
		}
	}
	sort.SliceStable(names, func(i, j int) bool { return utf8.RuneCountInString(names[i]) > utf8.RuneCountInString(names[j]) })
	rs := []rune(q)
	taken := make([]bool, len(rs))
	var spans [][2]int
	for _, n := range names {
		nr := []rune(n)
		for i := 0; i+len(nr) <= len(rs); i++ {
			if string(rs[i:i+len(nr)]) != n || taken[i] || taken[i+len(nr)-1] {
				continue
			}
			for k := i; k < i+len(nr); k++ {
				taken[k] = true
			}
			spans = append(spans, [2]int{i, i + len(nr)})
		}
	}
	return code, spans
}

// Analyze analyses q.
func (az *Analyzer) Analyze(q string) Analyzed {
	cleaned := Clean(q)
	code, spans := az.place(cleaned)
	var syn *Synonyms
	if az != nil {
		syn = az.Synonyms
	}
	a := analyzeClean(q, cleaned, syn, spans)
	a.Place = code
	return a
}
