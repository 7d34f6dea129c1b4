package triage

import (
	"math"
	"unicode/utf8"
)

// lexicon finds the categories' keywords ("key:" lines of the training
// material) in a text with a character trie.
type lexicon struct {
	edges map[uint64]int32
	ents  [][]lexEntry
	words []string
}

type lexEntry struct {
	class int
	word  int32
}

func newLexicon(m *material, classes []string) *lexicon {
	lx := &lexicon{edges: map[uint64]int32{}, ents: [][]lexEntry{nil}}
	idx := map[string]int{}
	for i, c := range classes {
		idx[c] = i
	}
	for _, code := range m.order {
		ci, ok := idx[code]
		if !ok {
			continue
		}
		for _, k := range m.cats[code].keys {
			lx.insert(k, ci)
		}
	}
	return lx
}

func (lx *lexicon) insert(word string, class int) {
	var cur int32
	for _, r := range word {
		r = normRune(r)
		key := uint64(cur)<<32 | uint64(uint32(r))
		n, ok := lx.edges[key]
		if !ok {
			n = int32(len(lx.ents))
			lx.ents = append(lx.ents, nil)
			lx.edges[key] = n
		}
		cur = n
	}
	for _, e := range lx.ents[cur] {
		if e.class == class {
			return
		}
	}
	lx.words = append(lx.words, word)
	lx.ents[cur] = append(lx.ents[cur], lexEntry{class, int32(len(lx.words) - 1)})
}

// score adds weight·√(distinct keywords found) to each class's score and
// returns the keywords found.
func (lx *lexicon) score(text string, sc []float64, weight float64) []lexEntry {
	var counts [256]int
	var found []lexEntry
	for i := 0; i < len(text); {
		cur := int32(0)
		for j := i; j < len(text); {
			r, sz := utf8.DecodeRuneInString(text[j:])
			n, ok := lx.edges[uint64(cur)<<32|uint64(uint32(normRune(r)))]
			if !ok {
				break
			}
			cur = n
			j += sz
		next:
			for _, e := range lx.ents[cur] {
				for _, f := range found {
					if f.word == e.word && f.class == e.class {
						continue next
					}
				}
				found = append(found, e)
				counts[e.class]++
			}
		}
		_, sz := utf8.DecodeRuneInString(text[i:])
		i += sz
	}
	for c := range sc {
		if counts[c] > 0 {
			sc[c] += weight * math.Sqrt(float64(counts[c]))
		}
	}
	return found
}

// wordsOf returns the keywords of one class among those found.
func (lx *lexicon) wordsOf(found []lexEntry, class int) []string {
	var out []string
	for _, e := range found {
		if e.class == class {
			out = append(out, lx.words[e.word])
		}
	}
	return out
}
