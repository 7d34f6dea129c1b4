package stats_test

import (
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

var (
	reSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*)?\})? (\S+)( -?[0-9]+)?$`)
	reLabel  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"`)
	reHelp   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*$`)
	reType   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$`)
)

func parseValue(s string) (float64, bool) {
	switch s {
	case "+Inf":
		return math.Inf(1), true
	case "-Inf":
		return math.Inf(-1), true
	case "NaN":
		return math.NaN(), true
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil
}

// checkExposition checks the Prometheus text format (0.0.4): the syntax
// of every line, one TYPE and HELP per family before its samples, a
// family's samples together, counters not negative, histogram buckets
// cumulative with +Inf equal to _count.
func checkExposition(t reporter, body string) {
	t.Helper()
	if !strings.HasSuffix(body, "\n") {
		t.Errorf("the exposition does not end with a newline")
	}
	types := map[string]string{}
	helps := map[string]bool{}
	seen := map[string]bool{} // families whose samples ended
	current := ""
	type hist struct {
		buckets map[float64]float64
		count   float64
		hasInf  bool
	}
	hists := map[string]*hist{}
	family := func(name string) string {
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suf); ok && types[base] == "histogram" {
				return base
			}
		}
		return name
	}
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		n := i + 1
		switch {
		case strings.HasPrefix(line, "# HELP "):
			m := reHelp.FindStringSubmatch(line)
			if m == nil || helps[m[1]] {
				t.Errorf("line %d: bad or repeated HELP: %q", n, line)
				continue
			}
			helps[m[1]] = true
		case strings.HasPrefix(line, "# TYPE "):
			m := reType.FindStringSubmatch(line)
			if m == nil || types[m[1]] != "" || seen[m[1]] || current == m[1] {
				t.Errorf("line %d: bad, repeated or late TYPE: %q", n, line)
				continue
			}
			types[m[1]] = m[2]
		case strings.HasPrefix(line, "#"):
		case line == "":
			t.Errorf("line %d: empty line", n)
		default:
			m := reSample.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("line %d: not a sample: %q", n, line)
				continue
			}
			v, ok := parseValue(m[3])
			if !ok {
				t.Errorf("line %d: bad value %q", n, m[3])
				continue
			}
			fam := family(m[1])
			if fam != current {
				if seen[fam] {
					t.Errorf("line %d: samples of %s are not together", n, fam)
				}
				if current != "" {
					seen[current] = true
				}
				current = fam
			}
			if types[fam] == "" {
				t.Errorf("line %d: %s has no TYPE", n, fam)
			}
			if types[fam] == "counter" && (v < 0 || math.IsNaN(v)) {
				t.Errorf("line %d: negative counter", n)
			}
			if types[fam] != "histogram" {
				continue
			}
			var le string
			var rest []string
			for _, l := range reLabel.FindAllStringSubmatch(m[2], -1) {
				if l[1] == "le" {
					le = l[2]
				} else {
					rest = append(rest, l[0])
				}
			}
			key := fam + "{" + strings.Join(rest, ",") + "}"
			h := hists[key]
			if h == nil {
				h = &hist{buckets: map[float64]float64{}}
				hists[key] = h
			}
			switch {
			case strings.HasSuffix(m[1], "_bucket"):
				b, ok := parseValue(le)
				if !ok {
					t.Errorf("line %d: bucket without le", n)
				}
				h.buckets[b] = v
				h.hasInf = h.hasInf || math.IsInf(b, 1)
			case strings.HasSuffix(m[1], "_count"):
				h.count = v
			}
		}
	}
	for key, h := range hists {
		var les []float64
		for le := range h.buckets {
			les = append(les, le)
		}
		sort.Float64s(les)
		for i := 1; i < len(les); i++ {
			if h.buckets[les[i]] < h.buckets[les[i-1]] {
				t.Errorf("%s: buckets not cumulative at le=%v", key, les[i])
			}
		}
		if !h.hasInf || h.buckets[math.Inf(1)] != h.count {
			t.Errorf("%s: +Inf bucket %v, count %v", key, h.buckets[math.Inf(1)], h.count)
		}
	}
	if len(types) == 0 {
		t.Errorf("no metric families")
	}
}

// The checker itself catches what it should.
func TestExpositionChecker(t *testing.T) {
	good := "# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n"
	for _, bad := range []string{
		"a_total 1\n", // no TYPE
		"# TYPE a counter\na -1\n",
		"# TYPE a gauge\na{x=1} 1\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\nh_count 2\n",
		"# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 3\nh_count 2\n",
		"# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n",
		"# TYPE a gauge\na one\n",
	} {
		if !fails(func(t reporter) { checkExposition(t, bad) }) {
			t.Errorf("accepted %q", bad)
		}
	}
	if fails(func(t reporter) { checkExposition(t, good) }) {
		t.Errorf("refused %q", good)
	}
}

// reporter is what checkExposition needs of a *testing.T.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

type recorder struct{ failed bool }

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }

// fails reports whether check found a fault.
func fails(check func(t reporter)) bool {
	r := &recorder{}
	check(r)
	return r.failed
}
