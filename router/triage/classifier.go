package triage

import (
	"math"
	"slices"
	"sort"
	"unicode"
	"unicode/utf8"
)

// Features are character n-grams (1 to 3) of the normalised text, taken
// within runs of letters and digits (punctuation and spaces split runs),
// each counted once per text, hashed to 64 bits.

const maxNgram = 3

// normRune folds full-width ASCII to ASCII, upper to lower case and every
// digit to '0'; it returns -1 for separators.
func normRune(r rune) rune {
	if r >= 0xFF01 && r <= 0xFF5E {
		r -= 0xFEE0
	}
	switch {
	case r >= '0' && r <= '9':
		return '0'
	case r >= 'A' && r <= 'Z':
		return r + 32
	case r >= 'a' && r <= 'z':
		return r
	case r < 0x80:
		return -1
	case unicode.Is(unicode.Han, r):
		return r
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return unicode.ToLower(r)
	}
	return -1
}

func mix(h uint64, r rune) uint64 {
	h ^= uint64(r)
	h *= 0x100000001b3
	h ^= h >> 29
	return h
}

// features appends the distinct n-gram hashes of text to buf.
func features(text string, buf []uint64) []uint64 {
	var win [maxNgram]rune
	n := 0
	for i := 0; i < len(text); {
		r, sz := utf8.DecodeRuneInString(text[i:])
		i += sz
		r = normRune(r)
		if r < 0 {
			n = 0
			continue
		}
		copy(win[:], win[1:])
		win[maxNgram-1] = r
		if n < maxNgram {
			n++
		}
		for k := 1; k <= n; k++ {
			h := uint64(0xcbf29ce484222325) + uint64(k)
			for _, c := range win[maxNgram-k:] {
				h = mix(h, c)
			}
			buf = append(buf, h)
		}
	}
	slices.Sort(buf)
	return slices.Compact(buf)
}

// nbModel is a multinomial naive Bayes classifier over binary n-gram
// features, stored sparsely: score(c) = Σ_f log((n_fc+α)/(N_c+αV)).
type nbModel struct {
	classes []string
	alpha   float64
	feats   map[uint64]int32
	post    [][]nbEntry // feature -> classes where it occurs
	logNorm []float64   // log(N_c + αV) per class
	logA    float64
}

type nbEntry struct {
	class uint8
	w     float32 // log(n_fc+α) - log α
}

func trainNB(samples []sample, alpha float64) *nbModel {
	m := &nbModel{alpha: alpha, feats: map[uint64]int32{}, logA: math.Log(alpha)}
	classIdx := map[string]int{}
	for _, s := range samples {
		if _, ok := classIdx[s.cat]; !ok {
			classIdx[s.cat] = len(m.classes)
			m.classes = append(m.classes, s.cat)
		}
	}
	sort.Strings(m.classes)
	for i, c := range m.classes {
		classIdx[c] = i
	}
	counts := map[uint64][]int32{} // feature -> count per class (dense, built once)
	total := make([]float64, len(m.classes))
	var buf []uint64
	for _, s := range samples {
		c := classIdx[s.cat]
		buf = features(s.text, buf[:0])
		for _, f := range buf {
			v := counts[f]
			if v == nil {
				v = make([]int32, len(m.classes))
				counts[f] = v
			}
			v[c]++
		}
		total[c] += float64(len(buf))
	}
	V := float64(len(counts))
	m.logNorm = make([]float64, len(m.classes))
	for c := range m.classes {
		m.logNorm[c] = math.Log(total[c] + alpha*V)
	}
	m.post = make([][]nbEntry, 0, len(counts))
	for f, v := range counts {
		var es []nbEntry
		for c, n := range v {
			if n > 0 {
				es = append(es, nbEntry{uint8(c), float32(math.Log(float64(n)+alpha) - m.logA)})
			}
		}
		m.feats[f] = int32(len(m.post))
		m.post = append(m.post, es)
	}
	return m
}

// scores returns the log-likelihood of the text under each class, and the
// number of known features.
func (m *nbModel) scores(text string, out []float64) ([]float64, int) {
	var arr [512]uint64
	fs := features(text, arr[:0])
	out = out[:0]
	for range m.classes {
		out = append(out, 0)
	}
	known := 0
	for _, f := range fs {
		id, ok := m.feats[f]
		if !ok {
			continue
		}
		known++
		for _, e := range m.post[id] {
			out[e.class] += float64(e.w)
		}
	}
	for c := range out {
		out[c] += float64(known) * (m.logA - m.logNorm[c])
	}
	return out, known
}
