package triage

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"sort"
	"strings"
)

// The training material is written for this project (never taken from any
// evaluation set): per category a keyword lexicon ("key:"), problem clauses
// ("issue:") and requests ("ask:") written as templates, and a few complete
// sentences ("say:"); plus, in 00-common.txt, the openings and closings of
// each channel, places, times and generic feelings and requests shared by
// all categories. The generator below composes them into varied requests.
//
// Template syntax: {a|b|c} picks one alternative (groups nest), {a|} makes a
// part optional, and {name} refers to a pool: a "name:" list of
// 00-common.txt, or the place names {city} {county} {township} drawn from
// the territory.
//
//go:embed training/*.txt
var trainingFS embed.FS

type tnode struct {
	lit  string
	alts [][]tnode // a choice
	ref  string    // a pool reference
}

func parseTemplate(s string) ([]tnode, error) {
	seq, rest, err := parseSeq([]rune(s), false)
	if err != nil {
		return nil, err
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("unbalanced '}' in %q", s)
	}
	return seq, nil
}

// parseSeq parses until the end of input, or (inGroup) until '|' or '}'.
func parseSeq(rs []rune, inGroup bool) ([]tnode, []rune, error) {
	var seq []tnode
	var lit []rune
	flush := func() {
		if len(lit) > 0 {
			seq = append(seq, tnode{lit: string(lit)})
			lit = nil
		}
	}
	for len(rs) > 0 {
		r := rs[0]
		switch {
		case r == '{':
			flush()
			rs = rs[1:]
			var alts [][]tnode
			for {
				var alt []tnode
				var err error
				alt, rs, err = parseSeq(rs, true)
				if err != nil {
					return nil, nil, err
				}
				alts = append(alts, alt)
				if len(rs) == 0 {
					return nil, nil, fmt.Errorf("unclosed '{'")
				}
				if rs[0] == '}' {
					rs = rs[1:]
					break
				}
				rs = rs[1:] // '|'
			}
			if len(alts) == 1 && len(alts[0]) == 1 && alts[0][0].lit != "" && isPoolName(alts[0][0].lit) {
				seq = append(seq, tnode{ref: alts[0][0].lit})
			} else {
				seq = append(seq, tnode{alts: alts})
			}
		case inGroup && (r == '|' || r == '}'):
			flush()
			return seq, rs, nil
		case !inGroup && r == '}':
			return nil, nil, fmt.Errorf("unbalanced '}'")
		default:
			lit = append(lit, r)
			rs = rs[1:]
		}
	}
	if inGroup {
		return nil, nil, fmt.Errorf("unclosed '{'")
	}
	flush()
	return seq, rs, nil
}

func isPoolName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '.') {
			return false
		}
	}
	return s != ""
}

// expander fills templates.
type expander struct {
	other *catMaterial // the category lent to a frame's {other.key} / {other.issue}
	rng   *rand.Rand
	pools map[string][][]tnode
	slot  func(name string, rng *rand.Rand) (string, bool) // territory names
}

func (e *expander) expand(seq []tnode, b *strings.Builder) {
	for _, n := range seq {
		switch {
		case n.ref == "other.key" && e.other != nil && len(e.other.keys) > 0:
			b.WriteString(e.other.keys[e.rng.IntN(len(e.other.keys))])
		case n.ref == "other.issue" && e.other != nil && len(e.other.issues) > 0:
			e.expand(e.other.issues[e.rng.IntN(len(e.other.issues))], b)
		case n.ref != "":
			if e.slot != nil {
				if s, ok := e.slot(n.ref, e.rng); ok {
					b.WriteString(s)
					continue
				}
			}
			if p := e.pools[n.ref]; len(p) > 0 {
				e.expand(p[e.rng.IntN(len(p))], b)
			}
		case n.alts != nil:
			e.expand(n.alts[e.rng.IntN(len(n.alts))], b)
		default:
			b.WriteString(n.lit)
		}
	}
}

func (e *expander) gen(seq []tnode) string {
	var b strings.Builder
	e.expand(seq, &b)
	return b.String()
}

func (e *expander) pick(pool string) string {
	p := e.pools[pool]
	if len(p) == 0 {
		return ""
	}
	return e.gen(p[e.rng.IntN(len(p))])
}

// catMaterial is the material of one category.
type catMaterial struct {
	code   string
	name   string
	keys   []string
	issues [][]tnode
	asks   [][]tnode
	says   [][]tnode
	// frames wrap another category's words or problems (praise for a
	// solved problem, a suggestion on a topic, a complaint about how an
	// office handled a matter); frameSkip lists categories not to borrow.
	frames    [][]tnode
	frameSkip map[string]bool
}

type material struct {
	common map[string][][]tnode
	cats   map[string]*catMaterial
	order  []string
}

func loadMaterial(fsys fs.FS) (*material, error) {
	m := &material{common: map[string][][]tnode{}, cats: map[string]*catMaterial{}}
	files, err := fs.Glob(fsys, "training/*.txt")
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		var cur *catMaterial
		common := false
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
		ln := 0
		for sc.Scan() {
			ln++
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if strings.HasPrefix(line, "== ") {
				head := strings.Fields(strings.TrimPrefix(line, "== "))
				cur, common = nil, false
				if len(head) > 0 && head[0] == "common" {
					common = true
					continue
				}
				if len(head) < 1 || len(head[0]) != 4 {
					return nil, fmt.Errorf("%s:%d: bad category header", f, ln)
				}
				if m.cats[head[0]] != nil {
					return nil, fmt.Errorf("%s:%d: category %s twice", f, ln, head[0])
				}
				cur = &catMaterial{code: head[0], name: strings.Join(head[1:], " ")}
				m.cats[head[0]] = cur
				m.order = append(m.order, head[0])
				continue
			}
			i := strings.Index(line, ":")
			if i < 0 {
				return nil, fmt.Errorf("%s:%d: no 'kind:' prefix", f, ln)
			}
			kind, body := strings.TrimSpace(line[:i]), strings.TrimSpace(line[i+1:])
			if common {
				seq, err := parseTemplate(body)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %v", f, ln, err)
				}
				m.common[kind] = append(m.common[kind], seq)
				continue
			}
			if cur == nil {
				return nil, fmt.Errorf("%s:%d: line outside a category", f, ln)
			}
			if kind == "key" {
				cur.keys = append(cur.keys, strings.Fields(body)...)
				continue
			}
			if kind == "frame.skip" {
				if cur.frameSkip == nil {
					cur.frameSkip = map[string]bool{}
				}
				for _, c := range strings.Fields(body) {
					cur.frameSkip[c] = true
				}
				continue
			}
			seq, err := parseTemplate(body)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", f, ln, err)
			}
			switch kind {
			case "issue":
				cur.issues = append(cur.issues, seq)
			case "ask":
				cur.asks = append(cur.asks, seq)
			case "say":
				cur.says = append(cur.says, seq)
			case "frame":
				cur.frames = append(cur.frames, seq)
			default:
				return nil, fmt.Errorf("%s:%d: unknown line kind %q", f, ln, kind)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// sample is one generated training request.
type sample struct {
	cat  string
	text string
}

var connectors = []string{"，", "，而且", "，还有", "，另外", "，同时", "，并且", "。另外", "。而且", "，甚至", "，更过分的是", "。还有就是", "，再加上"}
var placeWraps = []string{"%s", "我家住%s，", "我住在%s，", "地址：%s。", "%s这边", "在%s，", "%s附近", "我们%s", "%s的", "位置：%s，", "住%s，", "%s有个情况，"}

// generate composes perCat requests per category, deterministically.
func (m *material) generate(perCat int, seed uint64, slot func(string, *rand.Rand) (string, bool)) []sample {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ex := &expander{rng: rng, pools: m.common, slot: slot}
	channels := []string{"phone", "phone", "phone", "web", "web", "app", "kiosk", "kiosk", "grid", "grid"}
	var out []sample
	for _, code := range m.order {
		cm := m.cats[code]
		if len(cm.issues) == 0 {
			continue
		}
		for _, s := range cm.says {
			out = append(out, sample{code, ex.gen(s)})
			out = append(out, sample{code, ex.pick("open.phone") + ex.gen(s)})
		}
		// keyword bags: short lists of the category's own words
		for i := 0; i < perCat/10 && len(cm.keys) > 0; i++ {
			var b strings.Builder
			for j := 0; j < 2+rng.IntN(3); j++ {
				if j > 0 {
					b.WriteString("，")
				}
				b.WriteString(cm.keys[rng.IntN(len(cm.keys))])
			}
			out = append(out, sample{code, b.String()})
		}
		var lenders []*catMaterial
		if len(cm.frames) > 0 {
			for _, o := range m.order {
				if o != code && !cm.frameSkip[o] && len(m.cats[o].frames) == 0 {
					lenders = append(lenders, m.cats[o])
				}
			}
		}
		for i := 0; i < perCat && len(lenders) > 0; i++ {
			ex.other = lenders[rng.IntN(len(lenders))]
			ch := channels[rng.IntN(len(channels))]
			text := ex.pick("open."+ch) + ex.gen(cm.frames[rng.IntN(len(cm.frames))])
			if ch == "phone" && rng.Float64() < 0.3 {
				text = thirdPerson.Replace(text)
			}
			out = append(out, sample{code, text})
		}
		ex.other = nil
		for i := 0; i < perCat; i++ {
			ch := channels[rng.IntN(len(channels))]
			var b strings.Builder
			b.WriteString(ex.pick("open." + ch))
			short := ch == "kiosk" && rng.IntN(2) == 0
			if !short && rng.Float64() < 0.6 {
				w := placeWraps[rng.IntN(len(placeWraps))]
				b.WriteString(fmt.Sprintf(w, ex.pick("place")))
			}
			if !short && rng.Float64() < 0.45 {
				b.WriteString(ex.pick("time"))
				b.WriteString("，")
			}
			i1 := rng.IntN(len(cm.issues))
			b.WriteString(ex.gen(cm.issues[i1]))
			if !short && rng.Float64() < 0.55 && len(cm.issues) > 1 {
				i2 := rng.IntN(len(cm.issues) - 1)
				if i2 >= i1 {
					i2++
				}
				b.WriteString(connectors[rng.IntN(len(connectors))])
				b.WriteString(ex.gen(cm.issues[i2]))
			}
			if !short && rng.Float64() < 0.45 {
				if imp := ex.pick("impact"); imp != "" {
					b.WriteString("，")
					b.WriteString(imp)
				}
			}
			b.WriteString("。")
			if rng.Float64() < 0.7 {
				if len(cm.asks) > 0 && rng.Float64() < 0.6 {
					b.WriteString(ex.gen(cm.asks[rng.IntN(len(cm.asks))]))
				} else {
					b.WriteString(ex.pick("ask"))
				}
			}
			if rng.Float64() < 0.5 {
				b.WriteString(ex.pick("close." + ch))
			}
			text := b.String()
			if ch == "phone" && rng.Float64() < 0.3 {
				text = thirdPerson.Replace(text)
			}
			out = append(out, sample{code, text})
		}
	}
	return out
}

// phone transcripts are often written in the third person.
var thirdPerson = strings.NewReplacer("我家", "其家", "我妈", "其母亲", "我爸", "其父亲", "我们", "他们", "我", "其")
