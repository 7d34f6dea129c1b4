// Package triage suggests, for a citizen's request in free text, its
// category (top 3 with scores), its place (township, county, city), kind,
// urgency, lead unit and a confidence.
//
// The category classifier is a multinomial naive Bayes over character
// n-grams (1–3) combined with keyword lexicons; it is trained at start-up
// (once per process, in about 0.4 s) on requests generated from the
// project's own training material in training/*.txt: for each of the 60
// categories a keyword lexicon, problem clauses and requests written as
// templates, and complete sentences, composed with shared channel openings
// and closings (phone transcripts, web and app forms, kiosk input, grid
// workers' patrol reports), places drawn from the territory, times and
// feelings into about 42,000 varied requests. Places come from
// territory.MatchAddress; the lead unit is the category's default lead unit
// type resolved with taxonomy.DefaultUnitID. Kind and urgency come from cue
// words (see detectKind and detectUrgency).
package triage

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"

	"yici/router/taxonomy"
	"yici/router/territory"
)

// AutoApplyThreshold is the confidence from which a suggestion can be
// applied without a dispatcher looking at it; below it the case goes to the
// dispatcher queue with the suggestion pre-filled. Measured on the
// development evaluation set (360 labelled requests): 91% of requests reach
// it, and 98% of those have the right category; below it the category is
// right about three times in four.
const AutoApplyThreshold = 0.75

// Channels a request arrives on.
var Channels = []string{"phone", "web", "app", "kiosk", "grid"}

// Kinds of request.
var Kinds = []string{"咨询", "求助", "投诉", "举报", "建议", "表扬", "其他"}

// Urgency levels.
const (
	UrgencyNormal    = "normal"
	UrgencyUrgent    = "urgent"
	UrgencyEmergency = "emergency"
)

// Scored is a category code with its score (a probability in [0,1]).
type Scored struct {
	Code  string
	Score float64
}

// Suggestion is the triage of one request. Place codes are "" when unknown.
type Suggestion struct {
	Category     string
	Top3         []Scored
	TownshipCode string
	CountyCode   string
	CityCode     string
	Kind         string
	Urgency      string
	LeadUnit     string
	Confidence   float64
	Evidence     []string // short human-readable reasons
}

// Triager suggests triage. It is immutable after New and safe for
// concurrent use.
type Triager struct {
	tax    *taxonomy.Taxonomy
	terr   *territory.Territory
	nb     *nbModel
	lex    *lexicon
	cats   []*taxonomy.Category // by classifier class index
	nTrain int
}

// trainingPerCategory is the number of requests generated per category
// (plus its keyword bags and complete sentences, and for the categories
// with frames as many framed requests); trainingSeed makes the generation
// reproducible.
const (
	trainingPerCategory = 600
	trainingSeed        = 12345
)

// New trains a triager for a taxonomy and a territory. Categories of the
// taxonomy without training material cannot be suggested; it is an error
// if none has material.
func New(tax *taxonomy.Taxonomy, terr *territory.Territory) (*Triager, error) {
	if tax == nil || terr == nil {
		return nil, fmt.Errorf("triage: taxonomy and territory are required")
	}
	mat, err := loadMaterial(trainingFS)
	if err != nil {
		return nil, fmt.Errorf("triage: training material: %w", err)
	}
	// keep the material of the taxonomy's categories
	var order []string
	for _, code := range mat.order {
		if tax.Category(code) != nil {
			order = append(order, code)
		}
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("triage: no category of the taxonomy has training material")
	}
	if len(order) > 255 {
		return nil, fmt.Errorf("triage: too many categories (%d)", len(order))
	}
	mat.order = order
	samples := mat.generate(trainingPerCategory, trainingSeed, placeSlot(terr))
	t := &Triager{tax: tax, terr: terr, nTrain: len(samples)}
	t.nb = trainNB(samples, nbAlpha)
	for _, c := range t.nb.classes {
		t.cats = append(t.cats, tax.Category(c))
	}
	t.lex = newLexicon(mat, t.nb.classes)
	return t, nil
}

var (
	defOnce sync.Once
	defT    *Triager
	defErr  error
)

// Default returns the triager for Zhejiang with the default taxonomy,
// trained once per process.
func Default() (*Triager, error) {
	defOnce.Do(func() { defT, defErr = New(taxonomy.Default(), territory.Zhejiang()) })
	return defT, defErr
}

// TrainingSize returns the number of generated training requests.
func (t *Triager) TrainingSize() int { return t.nTrain }

// placeSlot draws place names from the territory for the {city}, {county}
// and {township} slots of the templates, in full or short form.
func placeSlot(terr *territory.Territory) func(string, *rand.Rand) (string, bool) {
	var cities, counties, towns []*territory.Division
	cities = terr.Cities()
	for _, c := range cities {
		cs := terr.Counties(c.Code)
		counties = append(counties, cs...)
		for _, k := range cs {
			towns = append(towns, terr.Townships(k.Code)...)
		}
	}
	name := func(d *territory.Division, rng *rand.Rand) string {
		if s := d.Short(); s != "" && rng.IntN(3) == 0 {
			return s
		}
		return d.Name
	}
	return func(slot string, rng *rand.Rand) (string, bool) {
		var l []*territory.Division
		switch slot {
		case "city":
			l = cities
		case "county":
			l = counties
		case "township":
			l = towns
		default:
			return "", false
		}
		if len(l) == 0 {
			return "", true
		}
		return name(l[rng.IntN(len(l))], rng), true
	}
}

const (
	nbAlpha = 0.3
	// temperature per known feature when turning log-likelihoods into
	// probabilities (naive Bayes is over-confident on long texts)
	nbTempPerFeature = 0.06
	lexWeight        = 2.5
)

// classify returns class probabilities, best first.
func (t *Triager) classify(text string) ([]Scored, []string) {
	var arr [256]float64
	sc, known := t.nb.scores(text, arr[:0])
	hits := t.lex.score(text, sc, lexWeight)
	T := 1.0 + nbTempPerFeature*float64(known)
	best := math.Inf(-1)
	for _, s := range sc {
		best = math.Max(best, s)
	}
	sum := 0.0
	out := make([]Scored, len(sc))
	for i, s := range sc {
		p := math.Exp((s - best) / T)
		out[i] = Scored{t.nb.classes[i], p}
		sum += p
	}
	for i := range out {
		out[i].Score /= sum
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Code < out[j].Code
	})
	var ev []string
	if len(out) > 0 {
		for i, c := range t.nb.classes {
			if c == out[0].Code {
				ev = t.lex.wordsOf(hits, i)
			}
		}
	}
	return out, ev
}

// Suggest triages one request. channel is phone, web, app, kiosk or grid
// ("" when unknown).
func (t *Triager) Suggest(text, channel string) Suggestion {
	text = strings.TrimSpace(text)
	var s Suggestion
	probs, keyHits := t.classify(text)
	if len(probs) == 0 {
		return s
	}
	s.Category = probs[0].Code
	for i := 0; i < 3 && i < len(probs); i++ {
		s.Top3 = append(s.Top3, Scored{probs[i].Code, round3(probs[i].Score)})
	}
	cat := t.tax.Category(s.Category)
	ev := "类别：" + cat.Group + "/" + cat.Name
	if len(keyHits) > 0 {
		ev += "（" + strings.Join(keyHits, "、") + "）"
	}
	s.Evidence = append(s.Evidence, ev)

	m := t.terr.MatchAddress(text)
	s.TownshipCode, s.CountyCode, s.CityCode = m.TownshipCode, m.CountyCode, m.CityCode
	if m.Evidence != "" {
		s.Evidence = append(s.Evidence, "地点："+m.Evidence)
	} else {
		s.Evidence = append(s.Evidence, "地点：未识别")
	}

	var kindWhy, urgWhy string
	var kc []*taxonomy.Category
	var kp []float64
	for _, c := range s.Top3 {
		kc = append(kc, t.tax.Category(c.Code))
		kp = append(kp, c.Score)
	}
	s.Kind, kindWhy = detectKind(text, kc, kp, channel)
	if kindWhy != "" {
		s.Evidence = append(s.Evidence, "类型："+kindWhy)
	}
	s.Urgency, urgWhy = detectUrgency(text, cat)
	if urgWhy != "" {
		s.Evidence = append(s.Evidence, "紧急程度："+urgWhy)
	}

	s.LeadUnit = t.leadUnit(cat.Lead, m)
	s.Confidence = round3(t.confidence(probs, m, cat))
	return s
}

// leadUnit resolves the lead unit type against the place found; a text that
// names only a city goes to that city's unit (utilities) or hotline centre.
func (t *Triager) leadUnit(unitType string, m territory.Match) string {
	if m.CountyCode == "" && m.TownshipCode == "" && m.CityCode != "" {
		if u := t.tax.UnitType(unitType); u != nil && u.Level == taxonomy.LevelUtility {
			return m.CityCode + "-" + unitType
		}
		return m.CityCode + "-" + taxonomy.Center
	}
	return t.tax.DefaultUnitID(unitType, m.TownshipCode, m.CountyCode)
}

// confidence combines the category probability with how well the place is
// known for the lead unit: a township-level lead without a township falls
// back to its county line, a county-level lead without a county to the
// hotline centre.
func (t *Triager) confidence(probs []Scored, m territory.Match, cat *taxonomy.Category) float64 {
	p := probs[0].Score
	u := t.tax.UnitType(cat.Lead)
	level := taxonomy.LevelCounty
	if u != nil {
		level = u.Level
	}
	placeOK := true
	switch level {
	case taxonomy.LevelTownship:
		placeOK = m.TownshipCode != "" || m.CountyCode != ""
	case taxonomy.LevelCounty:
		placeOK = m.CountyCode != ""
	case taxonomy.LevelUtility:
		placeOK = m.CityCode != ""
	}
	if !placeOK {
		p *= 0.6
	}
	return math.Min(p, 0.99)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
