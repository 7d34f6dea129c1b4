package duplicates

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"ＡＢＣ１２３，Ｘ":    "abc123 x",
		"大关西苑五幢三楼":    "大关西苑5幢3楼",
		"欠了十二个人三个月工资": "欠了12个人3个月工资",
		"一百零五号":       "105号",
		"二〇二六年":       "2026年",
		"梅湾新村12号楼":    "梅湾新村12幢",
		"12栋电瓶车":      "12幢电动车",
		"闻到煤气味":       "闻到燃气味",
		"来电人反映：丰潭路":   "  丰潭路",
		"两三点":         "23点",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSimilarity(t *testing.T) {
	a := "丰潭路388号楼下那家烧烤店，油烟直接往楼里排。"
	cases := []struct {
		b        string
		min, max float64
	}{
		{a, 1, 1},
		{"丰潭路３８８号楼下那家烧烤店！油烟直接往楼里排", 1, 1},                    // full width, other punctuation
		{"市民来电反映：丰潭路388号楼下那家烧烤店，油烟直接往楼里排，希望相关部门尽快处理。", 1, 1}, // boilerplate
		{"丰潭路388号烧烤店油烟直排居民楼。", 0.3, 0.9},
		{"想问一下灵活就业人员的社保怎么缴纳？", 0, 0.05},
		{"", 0, 0},
		{"。，！", 0, 0},
	}
	for _, c := range cases {
		if s := Similarity(a, c.b); s < c.min || s > c.max {
			t.Errorf("Similarity(%q) = %.3f, want [%.2f, %.2f]", c.b, s, c.min, c.max)
		}
	}
}

func TestHaversine(t *testing.T) {
	// One degree of latitude on the mean sphere.
	if d := Haversine(30, 120, 31, 120); math.Abs(d-111195) > 1 {
		t.Fatalf("1° of latitude: %.1f m", d)
	}
	if d := Haversine(30.2876, 120.1102, 30.2876, 120.1102); d != 0 {
		t.Fatalf("same point: %v", d)
	}
	// 杭州武林广场 to 宁波天一广场, about 146 km.
	if d := Haversine(30.2711, 120.1634, 29.8715, 121.5540); math.Abs(d-142000) > 5000 {
		t.Fatalf("Hangzhou–Ningbo: %.0f m", d)
	}
}

// FuzzSimilarity: never panics, in [0,1], symmetric, 1 for itself when it
// has any bigram.
func FuzzSimilarity(f *testing.F) {
	if fh, err := os.Open("testdata/fixture.jsonl"); err == nil {
		sc := bufio.NewScanner(fh)
		var prev string
		for i := 0; sc.Scan() && i < 40; i++ {
			var r struct{ Content string }
			if json.Unmarshal(sc.Bytes(), &r) == nil {
				f.Add(r.Content, prev)
				prev = r.Content
			}
		}
		fh.Close()
	}
	f.Add("", "")
	f.Add("十十十百百一二", "二〇二六年一百零五号")
	f.Add("\xff\xfe街道", "街道\x00小区")
	f.Fuzz(func(t *testing.T, a, b string) {
		s := Similarity(a, b)
		if math.IsNaN(s) || s < 0 || s > 1 {
			t.Fatalf("Similarity(%q, %q) = %v", a, b, s)
		}
		if r := Similarity(b, a); r != s {
			t.Fatalf("not symmetric: %v vs %v", s, r)
		}
		self := Similarity(a, a)
		if len(FingerprintOf(a)) > 0 && self != 1 || len(FingerprintOf(a)) == 0 && self != 0 {
			t.Fatalf("Similarity(a, a) = %v with %d bigrams", self, len(FingerprintOf(a)))
		}
		if n := Normalize(a); utf8.ValidString(a) && !utf8.ValidString(n) {
			t.Fatalf("Normalize made invalid UTF-8 of %q", a)
		}
		fp := FingerprintOf(a)
		for i := 1; i < len(fp); i++ {
			if fp[i] <= fp[i-1] {
				t.Fatal("fingerprint not sorted and unique")
			}
		}
	})
}
