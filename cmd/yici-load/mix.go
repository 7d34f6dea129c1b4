package main

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// The operations a client can do.
const (
	OpSubmit = "submit" // POST /api/v1/requests (app key)
	OpWeb    = "web"    // GET /report, POST /report (the public form)
	OpTrack  = "track"  // POST /api/v1/track
	OpQueue  = "queue"  // GET /api/v1/queues/unit (an officer)
)

var knownOps = []string{OpSubmit, OpWeb, OpTrack, OpQueue}

// Weight is one entry of a weighted list.
type Weight struct {
	Name   string
	Weight int
}

// Mix is a weighted list of names: what each client does next, or which
// account a console signs in as.
type Mix struct {
	Items []Weight
	cum   []int
}

// ParseMix reads "a=70,b=20,c=10" (weights are whole numbers ≥ 0; a name
// alone weighs 1). With known non-nil, every name must be one of them.
func ParseMix(s string, known []string) (Mix, error) {
	var m Mix
	seen := map[string]bool{}
	total := 0
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, ws, hasW := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		w := 1
		if hasW {
			var err error
			w, err = strconv.Atoi(strings.TrimSpace(ws))
			if err != nil || w < 0 {
				return Mix{}, fmt.Errorf("mix %q: weight of %q must be a whole number ≥ 0", s, name)
			}
		}
		if name == "" {
			return Mix{}, fmt.Errorf("mix %q: empty name", s)
		}
		if known != nil && !contains(known, name) {
			return Mix{}, fmt.Errorf("mix %q: unknown %q (known: %s)", s, name, strings.Join(known, ", "))
		}
		if seen[name] {
			return Mix{}, fmt.Errorf("mix %q: %q twice", s, name)
		}
		seen[name] = true
		if w == 0 {
			continue
		}
		total += w
		m.Items = append(m.Items, Weight{name, w})
		m.cum = append(m.cum, total)
	}
	if total == 0 {
		return Mix{}, fmt.Errorf("mix %q: nothing to do (all weights 0)", s)
	}
	return m, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Total is the sum of the weights.
func (m Mix) Total() int {
	if len(m.cum) == 0 {
		return 0
	}
	return m.cum[len(m.cum)-1]
}

// Has reports whether name has a weight above 0.
func (m Mix) Has(name string) bool {
	for _, it := range m.Items {
		if it.Name == name {
			return true
		}
	}
	return false
}

// Pick draws a name by weight.
func (m Mix) Pick(r *rand.Rand) string { return m.At(r.IntN(m.Total())) }

// At returns the name at position n of [0, Total): the first weight
// entries are the first name, and so on (deterministic spreading).
func (m Mix) At(n int) string {
	for i, c := range m.cum {
		if n < c {
			return m.Items[i].Name
		}
	}
	return m.Items[len(m.Items)-1].Name
}

// Spread returns n names in the proportions of the weights (largest
// remainders), e.g. for n consoles over the accounts.
func (m Mix) Spread(n int) []string {
	total := m.Total()
	out := make([]string, 0, n)
	type rem struct {
		i int
		r int
	}
	var rems []rem
	for i, it := range m.Items {
		k := n * it.Weight / total
		for j := 0; j < k; j++ {
			out = append(out, it.Name)
		}
		rems = append(rems, rem{i, n * it.Weight % total})
	}
	for len(out) < n {
		best := 0
		for j := range rems {
			if rems[j].r > rems[best].r {
				best = j
			}
		}
		out = append(out, m.Items[rems[best].i].Name)
		rems[best].r = -1
	}
	return out
}

func (m Mix) String() string {
	var b strings.Builder
	for i, it := range m.Items {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%d", it.Name, it.Weight)
	}
	return b.String()
}
