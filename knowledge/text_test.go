package knowledge

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	var got []string
	for _, tk := range Tokenize("社保卡，ＡＰＰ办理12345！浙") {
		got = append(got, tk.Term)
	}
	want := []string{"社保", "保卡", "app", "办理", "12345", "浙"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	tk := Tokenize("我要办社保")[3]
	if tk.Term != "社保" || tk.Start != 3 || tk.End != 5 {
		t.Fatalf("offsets: %+v", tk)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"请问一下社保怎么转移呢？":     "社保 转移",
		"我想咨询一下申请低保需要什么材料": "申请低保需要 材料",
		"了解养老金了吗":          "了解养老金",
	} {
		if got := Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSynonyms(t *testing.T) {
	syn, err := ParseSynonyms(strings.NewReader("# comment\n社保,社会保险,五险\n养老保险，职工养老保险\n\n12345,市长热线\n"))
	if err != nil {
		t.Fatal(err)
	}
	ms := syn.Find("职工养老保险和社保打市长热线123456")
	var words []string
	for _, m := range ms {
		words = append(words, m.Word)
	}
	// the longest word wins; a number matches whole numbers only
	if !reflect.DeepEqual(words, []string{"职工养老保险", "社保", "市长热线"}) {
		t.Fatalf("found %v", words)
	}
	if _, err := ParseSynonyms(strings.NewReader("社保,社会保险\n社保,五险\n")); err == nil {
		t.Fatal("a word in two groups was accepted")
	}
	a := Analyze("社保怎么交", syn)
	weights := map[string]float64{}
	for _, qt := range a.Terms {
		weights[qt.Term] = qt.Weight
	}
	// 社保 (one term) brings 社会保险 (three terms) at 0.7/3 each, 五险 at 0.7
	if weights["社保"] != 1 || weights["五险"] != synonymWeight || weights["会保"] < 0.23 || weights["会保"] > 0.24 {
		t.Fatalf("weights %v", weights)
	}
}

func TestPlaces(t *testing.T) {
	s, _ := newStore(t)
	a := s.Analyzer().Analyze("在余杭一个工地干活，工钱找谁要")
	if a.Place != "330110" {
		t.Fatalf("place %q", a.Place)
	}
	for _, qt := range a.Terms {
		if qt.Term == "余杭" && (!qt.Place || qt.Weight != placeWeight) {
			t.Fatalf("place term %+v", qt)
		}
		if qt.Term == "工钱" && (qt.Place || qt.Weight != 1) {
			t.Fatalf("subject term %+v", qt)
		}
	}
	if a := s.Analyzer().Analyze("养老保险怎么交"); a.Place != "" {
		t.Fatalf("no place named, got %q", a.Place)
	}
}

func TestTitleKey(t *testing.T) {
	k := TitleKey("社保卡APP补办")
	if strings.ContainsFunc(k, func(r rune) bool { return r > 127 }) || len(strings.Fields(k)) != 3 {
		t.Fatalf("key %q", k)
	}
	if TitleKey("社保") == TitleKey("保社") || TitleKey("？！") != "" {
		t.Fatal("keys do not keep order, or punctuation makes a key")
	}
}

func TestHighlight(t *testing.T) {
	a := Analyze("社保转移", nil)
	text := strings.Repeat("无关内容。", 30) + "养老保险关系转移接续，社保可以转移。" + strings.Repeat("其他说明。", 30)
	sp := Highlight(text, a, 40)
	s := sp.String()
	if len([]rune(s)) > 42 || !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") || !strings.Contains(s, "社保可以转移") {
		t.Fatalf("snippet %q", s)
	}
	if got := string(Highlight("<社保>", a, 0).HTML()); got != "&lt;<mark>社保</mark>&gt;" {
		t.Fatalf("html %s", got)
	}
	if parseMarked("a"+hlPre+"社保"+hlPost+"b<").HTML() != "a<mark>社保</mark>b&lt;" {
		t.Fatal("Meilisearch highlights")
	}
}

func TestAppliesTo(t *testing.T) {
	for _, c := range []struct {
		region, place string
		want          bool
	}{{"33", "330106", true}, {"3301", "330106", true}, {"330106", "330106", true}, {"330212", "330106", false},
		{"330106", "", true}, {"330106", "3301", true}, {"330212", "3301", false}} {
		if AppliesTo(c.region, c.place) != c.want {
			t.Errorf("AppliesTo(%s, %s) != %v", c.region, c.place, c.want)
		}
	}
}
