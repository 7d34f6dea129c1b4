package territory

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Match is the place that a text names. Codes are "" when unknown: a text
// that names only a county gets the county and its city and an empty
// township. Confidence is in [0,1]: about 0.9 and above for a township named
// in full or confirmed by its county, lower for a bare short form, 0.6 for a
// county alone, 0.4 for a city alone, 0 for nothing.
type Match struct {
	TownshipCode string
	CountyCode   string
	CityCode     string
	Confidence   float64
	Evidence     string
}

const (
	lvCity uint8 = iota + 1
	lvCounty
	lvTownship
)

type entry struct {
	code   string
	county string // county code ("" for a city)
	city   string
	level  uint8
	full   bool // full official name (or an equally explicit alias such as 乐清县)
	risky  bool // weak evidence alone (common word, generic stem)
	stem   bool // township stem: may be followed by a suffix
	name   string
}

// index is a character trie over all matchable names.
type index struct {
	edges   map[uint64]int32 // (node<<32 | rune) -> child node
	ents    [][]int32        // node -> entry ids
	entries []entry
}

func (ix *index) node(parent int32, r rune) (int32, bool) {
	n, ok := ix.edges[uint64(parent)<<32|uint64(uint32(r))]
	return n, ok
}

func (ix *index) insert(name string, e entry) {
	var cur int32
	for _, r := range name {
		n, ok := ix.node(cur, r)
		if !ok {
			n = int32(len(ix.ents))
			ix.ents = append(ix.ents, nil)
			ix.edges[uint64(cur)<<32|uint64(uint32(r))] = n
		}
		cur = n
	}
	e.name = name
	for _, id := range ix.ents[cur] {
		o := ix.entries[id]
		if o.code == e.code && o.full == e.full && o.stem == e.stem {
			return
		}
	}
	ix.entries = append(ix.entries, e)
	ix.ents[cur] = append(ix.ents[cur], int32(len(ix.entries)-1))
}

func buildIndex(t *Territory, natStems, natNames map[string]int) *index {
	ix := &index{edges: map[uint64]int32{}, ents: [][]int32{nil}}
	// names of counties and cities: a township stem equal to one of them is
	// not used bare (新昌 is the county; 新昌 + 镇 would still be a township).
	higher := map[string]bool{}
	for _, d := range t.divs {
		switch d.Level {
		case LevelCity:
			if unmatchableName(d.Name) {
				continue
			}
			e := entry{code: d.Code, city: d.Code, level: lvCity}
			e.full = true
			ix.insert(d.Name, e)
			higher[d.Name] = true
			if s := d.Short(); s != "" {
				e.full = false
				ix.insert(s, e)
				higher[s] = true
			}
		case LevelCounty:
			if unmatchableName(d.Name) {
				continue
			}
			e := entry{code: d.Code, county: d.Code, city: d.Parent, level: lvCounty, full: true}
			ix.insert(d.Name, e)
			higher[d.Name] = true
			if s := d.Short(); s != "" {
				higher[s] = true
				// old or loose suffixes (乐清县 for 乐清市, 萧山市 for 萧山区) are as explicit as the full name
				for _, suf := range []string{"县", "市", "区"} {
					ix.insert(s+suf, e)
				}
				e.full = false
				e.risky = riskyCountyStems[s]
				ix.insert(s, e)
			}
		}
	}
	for _, d := range t.divs {
		if d.Level != LevelTownship {
			continue
		}
		county := d.Parent
		city := ""
		if c := t.divs[county]; c != nil {
			city = c.Parent
		}
		e := entry{code: d.Code, county: county, city: city, level: lvTownship, full: true}
		s := d.Short()
		if s == "" {
			// non-standard names (开发区, 围垦区, 红山农场): explicit, but the
			// generic ones that recur across the country are weak
			e.risky = commonWords[d.Name] || natNames[d.Name] >= 2
		}
		ix.insert(d.Name, e)
		if s != "" && !higher[s] {
			e.full = false
			e.stem = true
			e.risky = commonWords[s] || natStems[s] >= 4
			ix.insert(s, e)
		}
	}
	return ix
}

type hit struct {
	start, end int // byte offsets in the text
	ids        []int32
	suffixed   bool // a township stem followed by 镇/乡/街道
	blocked    bool // a township stem followed by 路/村/公司 ...
	straddle   bool // may straddle two words: see boundaryChars
}

// scan finds the names in the text: the longest name starting at each
// position, then, where names overlap, the explicit ones (full names, stems
// followed by a suffix) before bare stems and longer before shorter, so that
// in 家住龙游县溪口镇 the county 龙游县 wins over the stem 住龙 of 住龙镇.
func (ix *index) scan(text string, buf []hit) []hit {
	for i := 0; i < len(text); {
		cur := int32(0)
		best, bestEnd := int32(-1), 0
		for j := i; j < len(text); {
			r, sz := utf8.DecodeRuneInString(text[j:])
			n, ok := ix.node(cur, r)
			if !ok {
				break
			}
			cur = n
			j += sz
			if len(ix.ents[cur]) > 0 {
				best, bestEnd = cur, j
			}
		}
		_, sz := utf8.DecodeRuneInString(text[i:])
		if best >= 0 {
			h := hit{start: i, end: bestEnd, ids: ix.ents[best]}
			rest := text[bestEnd:]
			if _, ok := hasAnyPrefix(rest, townshipSuffixes); ok {
				h.suffixed = true
			} else if _, ok := hasAnyPrefix(rest, blockingFollowers); ok || roadLike(rest) {
				h.blocked = true
			}
			if first, _ := utf8.DecodeRuneInString(text[i:]); boundaryChars[first] && i > 0 {
				prev, _ := utf8.DecodeLastRuneInString(text[:i])
				h.straddle = unicode.Is(unicode.Han, prev) && !locativeChars[prev]
			}
			buf = append(buf, h)
		}
		i += sz
	}
	if len(buf) < 2 {
		return buf
	}
	// keep a non-overlapping set, best hits first
	rank := func(h *hit) (bool, int) {
		explicit := h.suffixed
		for _, id := range h.ids {
			explicit = explicit || ix.entries[id].full
		}
		return explicit, h.end - h.start
	}
	order := make([]int, len(buf))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ea, la := rank(&buf[order[a]])
		eb, lb := rank(&buf[order[b]])
		if ea != eb {
			return ea
		}
		return la > lb
	})
	keep := make([]bool, len(buf))
	for _, i := range order {
		ok := true
		for j := range buf {
			if keep[j] && buf[j].start < buf[i].end && buf[i].start < buf[j].end {
				ok = false
				break
			}
		}
		keep[i] = ok
	}
	out := buf[:0]
	for i := range buf {
		if keep[i] {
			out = append(out, buf[i])
		}
	}
	return out
}

type townCand struct {
	code, county, city string
	conf               float64
	pos                int
	why                string
}

// MatchAddress finds the township (and its county and city) that a free
// text names: addresses, web forms and phone transcripts such as
// "住温州市乐清市智仁乡寨头村" or "乐清智仁那边". Full names and common short
// forms are recognised; county and city names in the same text decide
// between townships of the same name (城东街道 exists in five counties). A
// township is returned only when the text names one unambiguously: when only
// a county or a city is named, the township is empty. Short stems that are
// ordinary words or generic place words (新华, 城南, 白云 ...) count only with
// a suffix or with their county named.
func (t *Territory) MatchAddress(text string) Match {
	var arr [16]hit
	hits := t.idx.scan(text, arr[:0])
	if len(hits) == 0 {
		return Match{}
	}
	ents := t.idx.entries

	// context: cities and counties named.
	type ctxItem struct {
		code string
		pos  int
		full bool
	}
	var cities, counties []ctxItem
	var ambCounties []string // counties named by an ambiguous short name (several provinces)
	for _, h := range hits {
		for _, id := range h.ids {
			if e := &ents[id]; e.level == lvCity {
				cities = append(cities, ctxItem{e.code, h.start, e.full})
			}
		}
	}
	cityNamed := func(code string) bool {
		for _, c := range cities {
			if c.code == code {
				return true
			}
		}
		return false
	}
	for hi, h := range hits {
		var cands []*entry
		for _, id := range h.ids {
			if e := &ents[id]; e.level == lvCounty {
				cands = append(cands, e)
			}
		}
		if len(cands) == 0 {
			continue
		}
		if len(cands) > 1 && len(cities) > 0 {
			var f []*entry
			for _, e := range cands {
				if cityNamed(e.city) {
					f = append(f, e)
				}
			}
			if len(f) > 0 {
				cands = f
			}
		}
		e := cands[0]
		if !e.full && h.blocked {
			continue // 定海路, 江山大道: a road named after the county
		}
		if e.risky && !e.full {
			// a risky short county name needs its city right before it, or one
			// of its townships right after it.
			ok := false
			if hi > 0 && hits[hi-1].end == h.start {
				for _, id := range hits[hi-1].ids {
					if ents[id].level == lvCity && ents[id].code == e.city {
						ok = true
					}
				}
			}
			if hi+1 < len(hits) && hits[hi+1].start-h.end <= 3 {
				for _, id := range hits[hi+1].ids {
					if ents[id].level == lvTownship && ents[id].county == e.code {
						ok = true
					}
				}
			}
			if !ok {
				continue
			}
		}
		if len(cands) > 1 {
			for _, c := range cands {
				ambCounties = append(ambCounties, c.code)
			}
			continue
		}
		counties = append(counties, ctxItem{e.code, h.start, e.full})
	}
	countyNamed := func(code string) bool {
		for _, c := range counties {
			if c.code == code {
				return true
			}
		}
		for _, c := range ambCounties {
			if c == code {
				return true
			}
		}
		return false
	}
	anyCtx := len(counties) > 0 || len(cities) > 0

	// townships.
	var best *townCand
	var tmp [8]*entry
	for _, h := range hits {
		cands := tmp[:0]
		for _, id := range h.ids {
			if e := &ents[id]; e.level == lvTownship {
				cands = append(cands, e)
			}
		}
		if len(cands) == 0 {
			continue
		}
		explicit := cands[0].full || h.suffixed
		if !explicit && h.blocked {
			continue
		}
		risky := false
		for _, e := range cands {
			risky = risky || e.risky
		}
		if !explicit && h.straddle {
			// unless right after a place name (乐清里山): then the county decides
			risky = true
		}
		// narrow by the counties, then the cities, named in the text
		ctx := ""
		var f []*entry
		for _, e := range cands {
			if countyNamed(e.county) {
				f = append(f, e)
			}
		}
		if len(f) > 0 {
			ctx = "county"
		} else {
			for _, e := range cands {
				if cityNamed(e.city) {
					f = append(f, e)
				}
			}
			if len(f) > 0 {
				ctx = "city"
			} else {
				f = cands
			}
		}
		if len(f) != 1 {
			continue // ambiguous
		}
		e := f[0]
		var conf float64
		switch {
		case explicit && ctx == "county":
			conf = 0.97
		case explicit && ctx == "city":
			conf = 0.93
		case explicit && risky:
			continue
		case explicit && !anyCtx:
			conf = 0.9
		case explicit: // another county named, not this one's
			conf = 0.7
		case ctx == "county":
			conf = 0.92
			if risky {
				conf = 0.85
			}
		case risky:
			continue
		case ctx == "city":
			conf = 0.85
		case !anyCtx:
			conf = 0.75
		default:
			continue // a bare stem contradicting the named county
		}
		if best == nil || conf > best.conf {
			form := "全称"
			if !e.full {
				form = "简称"
				if h.suffixed {
					form = "名称"
				}
			}
			why := "乡镇" + form + "“" + text[h.start:h.end] + "”"
			switch ctx {
			case "county":
				why += "，所在县市区已提及"
			case "city":
				why += "，所在设区市已提及"
			}
			best = &townCand{code: e.code, county: e.county, city: e.city, conf: conf, pos: h.start, why: why}
		}
	}
	if best != nil {
		return Match{TownshipCode: best.code, CountyCode: best.county, CityCode: best.city, Confidence: best.conf, Evidence: best.why}
	}
	if len(counties) > 0 {
		// the first county named explicitly, else the first named at all
		c := counties[0]
		for _, x := range counties {
			if x.full {
				c = x
				break
			}
		}
		d := t.divs[c.code]
		conf := 0.6
		if !c.full {
			conf = 0.55
		}
		return Match{CountyCode: c.code, CityCode: d.Parent, Confidence: conf, Evidence: "县市区“" + d.Name + "”，未提及乡镇"}
	}
	if len(cities) > 0 {
		d := t.divs[cities[0].code]
		return Match{CityCode: d.Code, Confidence: 0.4, Evidence: "设区市“" + d.Name + "”，未提及县市区"}
	}
	return Match{}
}

// NameOf returns the name of a division code, or "".
func (t *Territory) NameOf(code string) string {
	if d := t.divs[code]; d != nil {
		return d.Name
	}
	return ""
}

// FullName returns the names from city down to the division, e.g.
// "温州市乐清市智仁乡".
func (t *Territory) FullName(code string) string {
	var parts []string
	for d := t.divs[code]; d != nil && d.Level != LevelProvince; d = t.divs[d.Parent] {
		if !unmatchableName(d.Name) {
			parts = append(parts, d.Name)
		}
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return b.String()
}
