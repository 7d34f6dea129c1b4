package duplicates

import (
	"slices"
	"unicode"
)

// Fingerprint is the set of character bigrams of a normalised text, as
// sorted unique (rune<<32 | rune) pairs.
type Fingerprint []uint64

// boilerplate is what agents and citizens write in almost every request
// and says nothing about the matter: it is cut out before the bigrams are
// taken, so that two unrelated requests do not look alike because both
// "反映" something and "希望相关部门尽快处理". The administrative suffixes
// (街道, 社区, 小区) go too: cases compared for content share the township
// anyway.
var boilerplate = []string{
	"街道", "社区", "小区",
	"市民来电反映", "来电人反映", "来电人称", "来电反映", "市民反映", "反映", "来电人", "市民",
	"您好", "你好", "请问", "希望", "请求", "要求", "相关部门", "有关部门", "尽快", "处理", "解决",
	"谢谢", "一下", "情况", "问题", "现在", "已经", "我们", "一直", "这个", "那个", "什么时候",
}

// synonyms are a few spellings of the same thing that 12345 records mix
// freely (numbers are handled separately).
var synonyms = table([]string{"号楼", "幢", "栋", "幢", "电瓶车", "电动车", "煤气", "燃气"})

// cutter replaces the boilerplate by a space.
var cutter = func() phraseTable {
	var pairs []string
	for _, w := range boilerplate {
		pairs = append(pairs, w, " ")
	}
	return table(pairs)
}()

type phrase struct{ from, to []rune }

// phraseTable replaces phrases (longest first) in a rune slice: by first
// rune, the phrases that start with it.
type phraseTable map[rune][]phrase

func table(pairs []string) phraseTable {
	t := phraseTable{}
	for i := 0; i < len(pairs); i += 2 {
		p := phrase{[]rune(pairs[i]), []rune(pairs[i+1])}
		t[p.from[0]] = append(t[p.from[0]], p)
	}
	for _, ps := range t {
		slices.SortStableFunc(ps, func(a, b phrase) int { return len(b.from) - len(a.from) })
	}
	return t
}

func (t phraseTable) apply(in, out []rune) []rune {
	out = out[:0]
next:
	for i := 0; i < len(in); {
		for _, p := range t[in[i]] {
			if len(in)-i >= len(p.from) && slices.Equal(in[i:i+len(p.from)], p.from) {
				out = append(out, p.to...)
				i += len(p.from)
				continue next
			}
		}
		out = append(out, in[i])
		i++
	}
	return out
}

// Normalize prepares a text for comparison: full-width forms folded to
// ASCII, ASCII lower-cased, boilerplate cut out, Chinese numerals written
// in digits (五幢 and 5幢 alike), a few synonyms unified; everything that is
// not a letter or a digit becomes a space.
func Normalize(s string) string { return string(normalize(s, true)) }

func normalize(s string, cut bool) []rune {
	a := make([]rune, 0, len(s)/2)
	for _, r := range s {
		switch {
		case r >= 0xFF01 && r <= 0xFF5E: // full-width ASCII
			r -= 0xFEE0
		case r == 0x3000:
			r = ' '
		}
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		switch {
		case r >= 0x4E00 && r <= 0x9FFF, r == '〇': // CJK unified ideographs: most of the text
		case r < 0x80:
			if !('a' <= r && r <= 'z' || '0' <= r && r <= '9') {
				r = ' '
			}
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			r = ' '
		}
		a = append(a, r)
	}
	b := make([]rune, 0, len(a)+8)
	if cut {
		a, b = cutter.apply(a, b), a
	}
	a, b = numerals(a, b), a
	return synonyms.apply(a, b)
}

func numeral(r rune) bool {
	switch r {
	case '零', '〇', '一', '二', '两', '三', '四', '五', '六', '七', '八', '九', '十', '百':
		return true
	}
	return false
}

func digitOf(r rune) (int, bool) {
	switch r {
	case '零', '〇':
		return 0, true
	case '一':
		return 1, true
	case '二', '两':
		return 2, true
	case '三':
		return 3, true
	case '四':
		return 4, true
	case '五':
		return 5, true
	case '六':
		return 6, true
	case '七':
		return 7, true
	case '八':
		return 8, true
	case '九':
		return 9, true
	}
	return 0, false
}

// numerals rewrites runs of Chinese numerals in digits: 十二 → 12,
// 三十 → 30, 一百零五 → 105, 二〇二六 → 2026.
func numerals(in, out []rune) []rune {
	out = out[:0]
	for i := 0; i < len(in); {
		if !numeral(in[i]) {
			out = append(out, in[i])
			i++
			continue
		}
		j := i
		for j < len(in) && numeral(in[j]) {
			j++
		}
		out = numeralValue(in[i:j], out)
		i = j
	}
	return out
}

func numeralValue(run, out []rune) []rune {
	positional := true
	for _, r := range run {
		if r == '十' || r == '百' {
			positional = false
		}
	}
	if positional { // 二〇二六, 五, 两三
		for _, r := range run {
			d, _ := digitOf(r)
			out = append(out, rune('0'+d))
		}
		return out
	}
	// 十二, 三十, 一百零五; anything else (两三百, 十十) stays as written.
	total, cur := 0, -1
	for _, r := range run {
		switch r {
		case '零', '〇':
		case '十', '百':
			mult := 10
			if r == '百' {
				mult = 100
			}
			if cur < 0 {
				cur = 1
			}
			total += cur * mult
			cur = -1
		default:
			if cur >= 0 {
				return append(out, run...)
			}
			cur, _ = digitOf(r)
		}
	}
	if cur > 0 {
		total += cur
	}
	return append(out, []rune(itoa(total))...)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// FingerprintOf returns the bigram set of a text (Normalize first; bigrams
// never cross a space, so punctuation and cut-out boilerplate separate
// them).
func FingerprintOf(text string) Fingerprint { return fingerprint(normalize(text, true)) }

func fingerprint(n []rune) Fingerprint {
	out := make(Fingerprint, 0, len(n))
	var prev rune = -1
	for _, r := range n {
		if r == ' ' {
			prev = -1
			continue
		}
		if prev >= 0 {
			out = append(out, uint64(prev)<<32|uint64(uint32(r)))
		}
		prev = r
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// common counts the bigrams two fingerprints share.
func common(a, b Fingerprint) int {
	n, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			n++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return n
}

// Dice is the Dice coefficient of two bigram sets, 2|A∩B| / (|A|+|B|): 1
// for the same bigrams, 0 when none is shared or either is empty.
func (a Fingerprint) Dice(b Fingerprint) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	return 2 * float64(common(a, b)) / float64(len(a)+len(b))
}

// Overlap is |A∩B| / min(|A|,|B|): how much of the shorter text the
// longer one contains (measured on the fixture, not used by the rules).
func (a Fingerprint) Overlap(b Fingerprint) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	return float64(common(a, b)) / float64(min(len(a), len(b)))
}

// Similarity is the similarity of two requests' texts in [0,1]: the Dice
// coefficient of their character bigrams after Normalize. It is symmetric,
// 1 for texts that normalise alike, and 0 when either has no bigram.
func Similarity(a, b string) float64 {
	return FingerprintOf(a).Dice(FingerprintOf(b))
}
