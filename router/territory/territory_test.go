package territory

import (
	"strings"
	"testing"
)

func TestZhejiangTree(t *testing.T) {
	z := Zhejiang()
	p, c, k, tw := z.Len()
	// 1,387 township rows minus the placeholder 330383198 (龙港县直辖村级区划)
	if p != 1 || c != 11 || k != 90 || tw != 1386 {
		t.Fatalf("Len = %d %d %d %d, want 1 11 90 1386", p, c, k, tw)
	}
	if got := len(z.Cities()); got != 11 {
		t.Fatalf("Cities = %d", got)
	}
	if got := len(z.Counties("3303")); got != 12 {
		t.Fatalf("Counties(3303) = %d, want 12", got)
	}
	if z.Get("330383198") != nil {
		t.Fatal("placeholder 330383198 is in the tree")
	}
	d := z.Get("330382210")
	if d == nil || d.Name != "智仁乡" || d.Level != LevelTownship || d.Parent != "330382" {
		t.Fatalf("Get(330382210) = %+v", d)
	}
	if c := z.CountyOf("330382210"); c == nil || c.Name != "乐清市" {
		t.Fatalf("CountyOf = %+v", c)
	}
	if c := z.CityOf("330382210"); c == nil || c.Name != "温州市" {
		t.Fatalf("CityOf(township) = %+v", c)
	}
	if c := z.CityOf("330382"); c == nil || c.Code != "3303" {
		t.Fatalf("CityOf(county) = %+v", c)
	}
	if z.CountyOf("3303") != nil || z.CityOf("33") != nil || z.Get("110101") != nil {
		t.Fatal("lookups outside the levels or the province should be nil")
	}
	found := false
	for _, tw := range z.Townships("330382") {
		if tw.Code == "330382210" {
			found = true
		}
		if tw.Level != LevelTownship || tw.Parent != "330382" {
			t.Fatalf("bad township %+v", tw)
		}
	}
	if !found || z.Townships("3303") != nil || z.Counties("330382") != nil {
		t.Fatal("Townships/Counties")
	}
	if got := z.FullName("330382210"); got != "温州市乐清市智仁乡" {
		t.Fatalf("FullName = %q", got)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(); err == nil {
		t.Fatal("Load() without codes succeeded")
	}
	if _, err := Load("33", "99"); err == nil || !strings.Contains(err.Error(), "99") {
		t.Fatalf("Load(33,99) err = %v", err)
	}
	two, err := Load("33", "32")
	if err != nil {
		t.Fatal(err)
	}
	if got := two.Provinces(); len(got) != 2 || got[0] != "32" || got[1] != "33" {
		t.Fatalf("Provinces = %v", got)
	}
	if m := two.MatchAddress("南京市玄武区"); m.CountyCode != "320102" {
		t.Fatalf("Jiangsu match = %+v", m)
	}
	all, err := LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	p, c, _, _ := all.Len()
	if p != 31 || c < 300 {
		t.Fatalf("LoadAll: %d provinces, %d cities", p, c)
	}
	// 市辖区 rows stay in the tree (Beijing's districts hang below 1101) but are never matched
	if d := all.Get("1101"); d == nil || d.Name != "市辖区" {
		t.Fatalf("1101 = %+v", d)
	}
	if m := all.MatchAddress("住在北京市东城区东华门街道"); m.TownshipCode != "110101001" {
		t.Fatalf("Beijing match = %+v", m)
	}
	if m := all.MatchAddress("市辖区"); m.CityCode != "" {
		t.Fatalf("市辖区 matched: %+v", m)
	}
}

func TestShortName(t *testing.T) {
	tests := []struct{ name, level, want string }{
		{"文新街道", LevelTownship, "文新"},
		{"智仁乡", LevelTownship, "智仁"},
		{"鹤城街道", LevelTownship, "鹤城"},
		{"柳市镇", LevelTownship, "柳市"},
		{"莪山畲族乡", LevelTownship, "莪山"},
		{"司前畲族镇", LevelTownship, "司前"},
		{"乌镇镇", LevelTownship, "乌镇"},
		{"萧山经济技术开发区", LevelTownship, ""},
		{"红山农场", LevelTownship, ""},
		{"龙港县直辖村级区划", LevelTownship, ""},
		{"乐清市", LevelCounty, "乐清"},
		{"西湖区", LevelCounty, "西湖"},
		{"长兴县", LevelCounty, "长兴"},
		{"景宁畲族自治县", LevelCounty, "景宁"},
		{"城区", LevelCounty, ""}, // one character stem
		{"郊区", LevelCounty, ""},
		{"市辖区", LevelCounty, ""},
		{"温州市", LevelCity, "温州"},
		{"恩施土家族苗族自治州", LevelCity, "恩施"},
		{"市辖区", LevelCity, ""},
		{"浙江省", LevelProvince, "浙江"},
		{"广西壮族自治区", LevelProvince, "广西"},
		{"新疆维吾尔自治区", LevelProvince, "新疆"},
		{"文新街道", "galaxy", ""},
	}
	for _, tt := range tests {
		if got := ShortName(tt.name, tt.level); got != tt.want {
			t.Errorf("ShortName(%q, %s) = %q, want %q", tt.name, tt.level, got, tt.want)
		}
	}
}

func TestMatchAddress(t *testing.T) {
	z := Zhejiang()
	tests := []struct {
		text, township, county, city string
	}{
		// full names
		{"住温州市乐清市智仁乡寨头村，门口的路坏了", "330382210", "330382", "3303"},
		{"湖州市长兴县夹浦镇新塘村有人乱倒垃圾", "330522103", "330522", "3305"},
		{"杭州市西湖区文新街道某小区", "330106013", "330106", "3301"},
		{"景宁畲族自治县鹤溪街道", "331127002", "331127", "3311"},
		// short forms
		{"乐清智仁乡溪坑里有死猪", "330382210", "330382", "3303"},
		{"乐清智仁这边", "330382210", "330382", "3303"},
		{"柳市这边有家厂", "330382114", "330382", "3303"},
		{"景宁鹤溪那边", "331127002", "331127", "3311"},
		{"萧山瓜沥镇", "330109113", "330109", "3301"},
		{"家住龙游县溪口镇某村", "330825109", "330825", "3308"}, // not the stem 住龙 of 龙泉's 住龙镇
		{"柳市街道", "330382114", "330382", "3303"},       // the citizen's suffix differs from the official one
		// county context decides between townships of the same name
		{"温州乐清城东街道", "330382001", "330382", "3303"},
		{"东阳市城东街道", "330783006", "330783", "3307"},
		{"萧山区新塘街道", "330109004", "330109", "3301"},
		{"云和凤凰山那边有人摆摊", "331125004", "331125", "3311"}, // generic stem, county named
		// ambiguous without context: no township
		{"城东街道有人乱停车", "", "", ""},
		{"白云街道某小区", "", "", ""},
		// county or city only: never a township
		{"我在杭州西湖区", "", "330106", "3301"},
		{"乐清市区有个问题", "", "330382", "3303"},
		{"定海这边停水了", "", "330902", "3309"},
		{"乐清县", "", "330382", "3303"}, // old suffix
		{"温州这边", "", "", "3303"},
		// risky stems and other words
		{"新华书店门口", "", "", ""},
		{"人民医院门口", "", "", ""},
		{"天台上有人晒被子", "", "", ""},
		{"城南有个小区", "", "", ""},
		{"文新路上有车乱停", "", "", ""},
		{"常山县紫港东路一处厂房", "", "330822", "3308"},
		{"长兴县夹浦镇新塘村", "330522103", "330522", "3305"}, // 新塘 + 村 is a village, not 新塘街道
		{"直辖村级区划", "", "", ""},
		// stems that straddle two words
		{"我家地下车库漏水", "", "", ""},
		{"楼下管道堵了", "", "", ""},
		{"村里山上有人烧垃圾", "", "", ""},
		{"这里属于城管的事", "", "", ""},
		{"在下管那边", "330604105", "330604", "3306"}, // after a locative verb the stem is a place
		{"", "", "", ""},
	}
	for _, tt := range tests {
		m := z.MatchAddress(tt.text)
		if m.TownshipCode != tt.township || m.CountyCode != tt.county || m.CityCode != tt.city {
			t.Errorf("MatchAddress(%q) = %+v, want %s/%s/%s", tt.text, m, tt.township, tt.county, tt.city)
		}
		if (m.TownshipCode != "" || m.CountyCode != "" || m.CityCode != "") != (m.Confidence > 0) {
			t.Errorf("MatchAddress(%q): confidence %v", tt.text, m.Confidence)
		}
	}
}

// Every township named in full after its county is found.
func TestMatchEveryTownship(t *testing.T) {
	z := Zhejiang()
	for _, city := range z.Cities() {
		for _, county := range z.Counties(city.Code) {
			for _, tw := range z.Townships(county.Code) {
				text := "家住" + county.Name + tw.Name + "某村"
				if m := z.MatchAddress(text); m.TownshipCode != tw.Code {
					t.Errorf("%s: got %+v, want %s", text, m, tw.Code)
				}
			}
		}
	}
}

// Texts that name a county and ordinary words but no township must not get
// a township: roads and villages named like townships, common words.
func TestNoTownshipGuess(t *testing.T) {
	z := Zhejiang()
	fillers := []string{"人民路口", "新华书店旁边", "城南小区", "中心广场", "开发区管委会门口", "东方红村",
		"花园新村", "解放路", "胜利街", "朝阳小区", "白云山脚下", "江南水乡", "大门口", "村头", "街头巷尾"}
	n, wrong := 0, 0
	for _, city := range z.Cities() {
		for _, county := range z.Counties(city.Code) {
			for _, f := range fillers {
				n++
				if m := z.MatchAddress(county.Name + f + "有人乱倒垃圾"); m.TownshipCode != "" {
					wrong++
					t.Logf("%s%s -> %s %s", county.Name, f, m.TownshipCode, m.Evidence)
				}
			}
		}
	}
	if rate := float64(wrong) / float64(n); rate > 0.02 {
		t.Fatalf("wrong township guesses: %d of %d (%.3f)", wrong, n, rate)
	}
}

var benchText = "来电人反映：本人住温州市乐清市智仁乡寨头村，这一周在村口的溪坑里先后看到三头死猪，泡得发胀发臭，苍蝇成群。" +
	"听村里人说是上游养猪场半夜扔下来的，下游还有老人在溪边洗衣服洗菜，很担心会传病，希望有关部门尽快来处理。"

func BenchmarkMatchAddress(b *testing.B) {
	z := Zhejiang()
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		z.MatchAddress(benchText)
	}
}

func BenchmarkLoadZhejiang(b *testing.B) {
	for b.Loop() {
		if _, err := Load("33"); err != nil {
			b.Fatal(err)
		}
	}
}
