package knowledge

import (
	"bufio"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Synonyms are groups of equivalent words (社保, 社会保险, 五险), applied to
// queries: a word of a group found in a query adds the other words of its
// group, at a reduced weight.
type Synonyms struct {
	groups [][]string
	group  map[string]int // normalised word → group
	maxLen int            // longest word, in runes
}

// ParseSynonyms reads one group a line, words separated by commas (ASCII
// or Chinese); blank lines and lines starting with # are skipped. A word
// may be in one group only.
func ParseSynonyms(r io.Reader) (*Synonyms, error) {
	s := &Synonyms{group: map[string]int{}}
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var g []string
		for _, w := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == '，' || r == '、' }) {
			w = strings.TrimSpace(Normalize(w))
			if w == "" {
				continue
			}
			if prev, dup := s.group[w]; dup {
				if prev == len(s.groups) {
					continue
				}
				return nil, fmt.Errorf("synonyms line %d: %q is already in the group of %q", n, w, s.groups[prev][0])
			}
			s.group[w] = len(s.groups)
			g = append(g, w)
			if l := utf8.RuneCountInString(w); l > s.maxLen {
				s.maxLen = l
			}
		}
		if len(g) > 1 {
			s.groups = append(s.groups, g)
		} else {
			for _, w := range g {
				delete(s.group, w)
			}
		}
	}
	return s, sc.Err()
}

// Groups returns the groups (normalised words).
func (s *Synonyms) Groups() [][]string {
	if s == nil {
		return nil
	}
	return s.groups
}

// Match is a synonym word found in a text.
type Match struct {
	Word       string
	Start, End int // rune offsets
	Others     []string
}

// Find returns the synonym words of normalised text, the longest match
// first at each place, left to right, not overlapping.
func (s *Synonyms) Find(text string) []Match {
	if s == nil || len(s.group) == 0 {
		return nil
	}
	rs := []rune(text)
	var out []Match
	for i := 0; i < len(rs); {
		found := 0
		for l := min(s.maxLen, len(rs)-i); l >= 1; l-- {
			w := string(rs[i : i+l])
			if _, ok := s.group[w]; ok {
				// A Latin word or number matches whole words only.
				if isWord(rs[i]) && i > 0 && isWord(rs[i-1]) || isWord(rs[i+l-1]) && i+l < len(rs) && isWord(rs[i+l]) {
					continue
				}
				found = l
				break
			}
		}
		if found == 0 {
			i++
			continue
		}
		w := string(rs[i : i+found])
		g := s.groups[s.group[w]]
		others := make([]string, 0, len(g)-1)
		for _, o := range g {
			if o != w {
				others = append(others, o)
			}
		}
		out = append(out, Match{Word: w, Start: i, End: i + found, Others: others})
		i += found
	}
	return out
}

// QueryTerm is one term of an analysed query.
type QueryTerm struct {
	Term string
	// Weight is 1 for a term of the query itself, less for one that a
	// synonym brought in.
	Weight float64
	// Start and End are the rune offsets in the cleaned query of the text
	// the term stands for (a synonym's term: the whole word it replaces).
	Start, End int
	Synonym    bool
	Place      bool // part of a place name
}

// Analyzed is a query ready for an index.
type Analyzed struct {
	Query   string      // as asked
	Cleaned string      // normalised, fillers and place names removed
	Place   string      // the county or city code the query names, if any
	Terms   []QueryTerm // distinct terms, the query's own first
	Runes   int         // length of the cleaned query in meaningful runes
}

// synonymWeight is the share of a word's weight that its synonyms get.
const synonymWeight = 0.7

// Analyze cleans a query, splits it into terms and adds the synonyms of
// its words. A synonym of n terms standing for a word of m terms gives
// each of its terms the weight synonymWeight·m/n, so a group counts about
// as much as the word itself however long its members are.
func Analyze(q string, syn *Synonyms) Analyzed {
	return analyzeClean(q, Clean(q), syn, nil)
}

func analyzeClean(q, cleaned string, syn *Synonyms, places [][2]int) Analyzed {
	a := Analyzed{Query: q, Cleaned: cleaned}
	idx := map[string]int{}
	add := func(t QueryTerm) {
		if i, ok := idx[t.Term]; ok {
			if t.Weight > a.Terms[i].Weight {
				a.Terms[i].Weight = t.Weight
			}
			return
		}
		idx[t.Term] = len(a.Terms)
		a.Terms = append(a.Terms, t)
	}
	toks := Tokenize(a.Cleaned)
	words := syn.Find(a.Cleaned)
	for _, t := range toks {
		qt := QueryTerm{Term: t.Term, Weight: 1, Start: t.Start, End: t.End}
		for _, p := range places {
			if t.Start < p[1] && t.End > p[0] {
				qt.Weight, qt.Place = placeWeight, true
			}
		}
		add(qt)
	}
	for _, r := range a.Cleaned {
		if isHan(r) || isWord(r) {
			a.Runes++
		}
	}
	for _, m := range words {
		own := 0
		for _, t := range toks {
			if t.Start >= m.Start && t.End <= m.End {
				own++
			}
		}
		if own == 0 {
			own = 1
		}
		for _, o := range m.Others {
			ts := Tokenize(o)
			for _, t := range ts {
				add(QueryTerm{Term: t.Term, Weight: synonymWeight * float64(own) / float64(len(ts)), Start: m.Start, End: m.End, Synonym: true})
			}
		}
	}
	sort.SliceStable(a.Terms, func(i, j int) bool { return !a.Terms[i].Synonym && a.Terms[j].Synonym })
	return a
}
