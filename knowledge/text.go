package knowledge

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// The text analysis shared by indexing and querying: normalisation,
// overlapping character bigrams for Chinese, words for Latin letters and
// digits. PostgreSQL's text search parsers know no Chinese, so terms are
// made here and stored as a tsvector built from our own tokens.

// Normalize folds full-width ASCII to half-width, the ideographic space to
// a space and Latin letters to lower case.
func Normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E:
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if r < utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isHan reports whether r is a Chinese character.
func isHan(r rune) bool { return unicode.Is(unicode.Han, r) }

// isWord reports whether r belongs to a Latin word or a number.
func isWord(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
}

// maxWord caps the length of a Latin word or number term.
const maxWord = 32

// Token is one term with its ordinal position in the text.
type Token struct {
	Term string
	Pos  int // 0, 1, 2, ... in the order the terms were made
	// Start and End are the rune offsets of the text the term covers.
	Start, End int
}

// Tokenize splits normalised text into terms: every two adjacent Chinese
// characters make a term (a run of one character is a term by itself),
// every run of Latin letters or digits is one term. Everything else
// separates.
func Tokenize(s string) []Token {
	rs := []rune(Normalize(s))
	var out []Token
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case isHan(r):
			j := i
			for j < len(rs) && isHan(rs[j]) {
				j++
			}
			if j-i == 1 {
				out = append(out, Token{Term: string(rs[i]), Pos: len(out), Start: i, End: j})
			}
			for k := i; k+1 < j; k++ {
				out = append(out, Token{Term: string(rs[k : k+2]), Pos: len(out), Start: k, End: k + 2})
			}
			i = j
		case isWord(r):
			j := i
			for j < len(rs) && isWord(rs[j]) {
				j++
			}
			w := rs[i:j]
			if len(w) > maxWord {
				w = w[:maxWord]
			}
			out = append(out, Token{Term: string(w), Pos: len(out), Start: i, End: j})
			i = j
		default:
			i++
		}
	}
	return out
}

// Terms returns the distinct terms of s in order of first appearance.
func Terms(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range Tokenize(s) {
		if !seen[t.Term] {
			seen[t.Term] = true
			out = append(out, t.Term)
		}
	}
	return out
}

// fillers are the phrases of a spoken or written question that carry no
// subject: politeness, question words, the asker talking about themself.
// Clean removes them (the longest first) before a query is split into
// terms, so their bigrams neither match nor count towards its length.
var fillers = sortedLongestFirst([]string{
	"请问一下", "请问", "我想问一下", "我想问问", "我想咨询一下", "我想咨询", "想咨询一下", "咨询一下", "想问一下", "想问问", "问一下",
	"我想了解一下", "想了解一下", "了解一下", "你好", "您好", "麻烦问一下", "麻烦你", "麻烦您", "谢谢", "打扰了", "帮我查一下", "帮忙",
	"怎么办呢", "怎么办啊", "怎么办", "该怎么", "应该怎么", "要怎么", "怎么样", "怎样", "怎么", "如何",
	"是不是", "能不能", "可不可以", "可以吗", "行不行", "有没有", "需不需要", "要不要", "会不会",
	"什么时候", "为什么", "什么", "哪里", "哪儿", "去哪", "多少", "多久", "一下",
	"我们", "我家", "我的", "我想", "我要", "你们", "现在",
})

// particles are the one-character words removed where they end a clause
// (so the 请 of 申请 or the 了 of 了解 stay).
const particles = "吗呢吧啊呀哦嘛了么的"

func sortedLongestFirst(ss []string) []string {
	out := append([]string(nil), ss...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && utf8.RuneCountInString(out[j]) > utf8.RuneCountInString(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Clean normalises a query, removes its filler words and punctuation and
// returns its words separated by single spaces.
func Clean(q string) string {
	q = Normalize(q)
	for _, f := range fillers {
		if strings.Contains(q, f) {
			q = strings.ReplaceAll(q, f, " ")
		}
	}
	rs := []rune(q)
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		switch {
		case !isHan(r) && !isWord(r):
			rs[i] = ' '
		case strings.ContainsRune(particles, r) && (i+1 == len(rs) || !isHan(rs[i+1])):
			rs[i] = ' '
		}
	}
	words := strings.Fields(string(rs))
	// A leading 请 or 我 addresses the listener or names the asker.
	if len(words) > 0 {
		for _, p := range []string{"请", "我"} {
			words[0] = strings.TrimPrefix(words[0], p)
		}
	}
	return strings.Join(strings.Fields(strings.Join(words, " ")), " ")
}
