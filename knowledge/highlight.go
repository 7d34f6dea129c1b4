package knowledge

import (
	"strconv"
	"strings"
)

// snippetRunes is the length of a search result's snippet.
const snippetRunes = 90

// termSet returns the terms of an analysed query.
func termSet(a Analyzed) map[string]bool {
	m := make(map[string]bool, len(a.Terms))
	for _, t := range a.Terms {
		m[t.Term] = true
	}
	return m
}

// marks returns, for every rune of text, whether a query term covers it.
func marks(rs []rune, terms map[string]bool) []bool {
	mk := make([]bool, len(rs))
	for _, t := range Tokenize(string(rs)) {
		if terms[t.Term] {
			for i := t.Start; i < t.End && i < len(mk); i++ {
				mk[i] = true
			}
		}
	}
	return mk
}

func spansOf(rs []rune, mk []bool) Spans {
	var out Spans
	for i := 0; i < len(rs); {
		j := i
		for j < len(rs) && mk[j] == mk[i] {
			j++
		}
		out = append(out, Span{Text: string(rs[i:j]), Hit: mk[i]})
		i = j
	}
	return out
}

// Highlight marks the query's terms in text; with max > 0 the text is cut
// to max runes around its best part.
func Highlight(text string, a Analyzed, max int) Spans {
	rs := []rune(text)
	mk := marks(rs, termSet(a))
	if max <= 0 || len(rs) <= max {
		return spansOf(rs, mk)
	}
	// The window of max runes with the most marked runes.
	best, bestN, n := 0, -1, 0
	for i := 0; i < len(rs); i++ {
		if mk[i] {
			n++
		}
		if i >= max && mk[i-max] {
			n--
		}
		if i >= max-1 && n > bestN {
			best, bestN = i-max+1, n
		}
	}
	// Start at a sentence start where one is near, keeping every marked
	// rune of the window.
	last := best
	for i := best; i < best+max; i++ {
		if mk[i] {
			last = i
		}
	}
	for k := 0; k <= 20 && best-k >= 0 && best-k+max > last; k++ {
		if s := best - k; s == 0 || strings.ContainsRune("。；！？\n", rs[s-1]) {
			best = s
			break
		}
	}
	if best+max > len(rs) {
		best = len(rs) - max
	}
	out := spansOf(rs[best:best+max], mk[best:best+max])
	if best > 0 {
		out = append(Spans{{Text: "…"}}, out...)
	}
	if best+max < len(rs) {
		out = append(out, Span{Text: "…"})
	}
	return out
}

// Snippet highlights the best part of an article's text: the answer of a
// Q&A, the fields of a guide (named).
func Snippet(c *Content, a Analyzed, max int) Spans {
	return Highlight(snippetText(c), a, max)
}

func snippetText(c *Content) string {
	if c.Type == QA || c.Guide == nil {
		return c.Answer
	}
	var b strings.Builder
	for _, f := range c.Guide.Named() {
		if f[1] == "" || f[0] == "主项名称" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(f[0] + "：" + f[1])
	}
	return b.String()
}

// TitleKey spells a title in ASCII for pg_trgm, which knows only ASCII
// letters and digits under the C locale: every Chinese character becomes
// three base-36 digits, so trigrams of the key stand for a character and
// for the order of two neighbours. Other runs of letters and digits stay
// as words; everything else separates.
func TitleKey(s string) string {
	var b strings.Builder
	prevHan := false
	for _, r := range Normalize(s) {
		switch {
		case isHan(r):
			if !prevHan && b.Len() > 0 {
				b.WriteByte(' ')
			}
			code := strconv.FormatInt(int64(r)%46656, 36)
			b.WriteString(strings.Repeat("0", 3-len(code)) + code)
			prevHan = true
		case isWord(r):
			if prevHan {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
			prevHan = false
		default:
			if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
				b.WriteByte(' ')
			}
			prevHan = false
		}
	}
	return strings.TrimSpace(b.String())
}
