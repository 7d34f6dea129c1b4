package triage

import "unicode/utf8"

// phraseSet finds many fixed phrases in a text in one pass with a
// character trie (cheaper than one strings.Contains per phrase).
type phraseSet struct {
	edges map[uint64]int32
	ends  [][]int32 // node -> indices of the phrases ending there
	n     int
}

func newPhraseSet(phrases []string) *phraseSet {
	ps := &phraseSet{edges: map[uint64]int32{}, ends: [][]int32{nil}, n: len(phrases)}
	for i, p := range phrases {
		var cur int32
		for _, r := range p {
			key := uint64(cur)<<32 | uint64(uint32(r))
			nx, ok := ps.edges[key]
			if !ok {
				nx = int32(len(ps.ends))
				ps.ends = append(ps.ends, nil)
				ps.edges[key] = nx
			}
			cur = nx
		}
		ps.ends[cur] = append(ps.ends[cur], int32(i))
	}
	return ps
}

// each calls f for every occurrence of every phrase, with the phrase index
// and the byte offset where it starts.
func (ps *phraseSet) each(text string, f func(phrase, at int)) {
	for i := 0; i < len(text); {
		cur := int32(0)
		for j := i; j < len(text); {
			r, sz := utf8.DecodeRuneInString(text[j:])
			nx, ok := ps.edges[uint64(cur)<<32|uint64(uint32(r))]
			if !ok {
				break
			}
			cur = nx
			j += sz
			for _, p := range ps.ends[cur] {
				f(int(p), i)
			}
		}
		_, sz := utf8.DecodeRuneInString(text[i:])
		i += sz
	}
}

// found returns, per phrase, whether it occurs in the text.
func (ps *phraseSet) found(text string) []bool {
	out := make([]bool, ps.n)
	ps.each(text, func(p, _ int) { out[p] = true })
	return out
}
