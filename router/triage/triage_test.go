package triage

import (
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"yici/router/taxonomy"
	"yici/router/territory"
)

func triager(t testing.TB) *Triager {
	t.Helper()
	tr, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestMaterialCoversTaxonomy(t *testing.T) {
	mat, err := loadMaterial(trainingFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range taxonomy.Default().Categories() {
		cm := mat.cats[c.Code]
		if cm == nil || len(cm.issues) < 5 || len(cm.keys) < 10 {
			t.Errorf("category %s %s: too little training material", c.Code, c.Name)
		}
	}
	for code := range mat.cats {
		if taxonomy.Default().Category(code) == nil {
			t.Errorf("material for unknown category %s", code)
		}
	}
	// generation is reproducible
	slot := placeSlot(territory.Zhejiang())
	a := mat.generate(20, 7, slot)
	b := mat.generate(20, 7, slot)
	if len(a) != len(b) || a[len(a)-1] != b[len(b)-1] || a[100] != b[100] {
		t.Fatal("generation is not deterministic")
	}
}

// Requests generated from the training material without any place name
// must not get a township: this checks the territory matcher against
// ordinary vocabulary (stems such as 下管, 家地, 于城 straddle words).
func TestNoTownshipInPlacelessText(t *testing.T) {
	mat, err := loadMaterial(trainingFS)
	if err != nil {
		t.Fatal(err)
	}
	mat.common["place"] = [][]tnode{{}}
	noPlace := func(string, *rand.Rand) (string, bool) { return "", true }
	z := territory.Zhejiang()
	n, wrong := 0, 0
	for _, s := range mat.generate(100, 4242, noPlace) {
		n++
		if m := z.MatchAddress(s.text); m.TownshipCode != "" {
			wrong++
			t.Logf("%s -> %s", m.Evidence, s.text)
		}
	}
	if float64(wrong) > 0.001*float64(n) {
		t.Fatalf("%d of %d place-less texts got a township", wrong, n)
	}
}

func TestTemplates(t *testing.T) {
	seq, err := parseTemplate("{楼下|隔壁}的{饭店|}油烟{很大}，{num}号")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"{a|b", "a}b", "{a|{b}"} {
		if _, err := parseTemplate(s); err == nil {
			t.Errorf("parseTemplate(%q) accepted", s)
		}
	}
	if len(seq) != 8 || seq[7].lit != "号" || seq[6].ref != "num" || len(seq[2].alts) != 2 || len(seq[2].alts[1]) != 0 {
		t.Fatalf("parsed %+v", seq)
	}
	ex := &expander{rng: rand.New(rand.NewPCG(1, 2)), pools: map[string][][]tnode{"num": {{{lit: "8"}}}}}
	for i := 0; i < 20; i++ {
		got := ex.gen(seq)
		if !strings.HasSuffix(got, "油烟很大，8号") || !(strings.HasPrefix(got, "楼下的") || strings.HasPrefix(got, "隔壁的")) {
			t.Fatalf("expanded %q", got)
		}
	}
}

func TestSuggestCategories(t *testing.T) {
	tr := triager(t)
	tests := []struct{ text, channel, want string }{
		{"小区楼下新开的烧烤店每天晚上油烟直排，熏得我们家窗户都不敢开。", "app", "0104"},
		{"我们公司老板已经三个月没发工资了，现在人也联系不上，十几个工人等着拿钱回家过年。", "phone", "0401"},
		{"请问新生儿上户口需要带哪些材料，可以在网上办吗？", "kiosk", "0705"},
		{"家里从早上开始停水，也没有看到任何通知，老人做饭都没水。", "phone", "1101"},
		{"单元里的电梯下午突然停在两层中间，我爸被关在里面半个小时。", "phone", "0305"},
		{"网格员巡查发现，某路口人行道上有三个水果摊占道经营，已劝离。", "grid", "0102"},
		{"特别感谢社区的网格员小李，我家漏水的事她跑前跑后帮忙协调，两天就解决了。", "web", "1401"},
		{"来电接通后一直没有声音，话务员询问多次无人应答后挂断。", "phone", "1403"},
	}
	for _, tt := range tests {
		s := tr.Suggest(tt.text, tt.channel)
		if s.Category != tt.want {
			t.Errorf("%s: category %s (top3 %v), want %s", tt.text, s.Category, s.Top3, tt.want)
		}
		if len(s.Top3) != 3 || s.Top3[0].Code != s.Category || s.Confidence < 0 || s.Confidence > 1 {
			t.Errorf("%s: bad suggestion %+v", tt.text, s)
		}
		for i := 1; i < len(s.Top3); i++ {
			if s.Top3[i].Score > s.Top3[i-1].Score {
				t.Errorf("%s: top3 not sorted: %v", tt.text, s.Top3)
			}
		}
	}
}

func TestSuggestPlaceAndLeadUnit(t *testing.T) {
	tr := triager(t)
	tests := []struct{ text, township, county, lead string }{
		// township-level lead (ZF) with a township: the township's platform
		{"杭州市西湖区文新街道某小区楼下饭店油烟直排，熏得人受不了", "330106013", "330106", "330106013-ZF"},
		// same without a township: the county line unit
		{"西湖区某小区楼下饭店油烟直排，熏得人受不了", "", "330106", "330106-ZFJ"},
		// county-level lead
		{"乐清市柳市镇一家厂拖欠我们工资三个月了", "330382114", "330382", "330382-RSJ"},
		// utility lead: the city's company
		{"乐清柳市镇这边从昨晚开始停电，到现在还没来电", "330382114", "330382", "3303-POWER"},
		// only the city named
		{"温州这边的自来水发黄，有铁锈味，不敢喝", "", "", "3303-WATER"},
		// nothing named: the hotline centre
		{"楼下饭店油烟直排，熏得人受不了", "", "", "HC"},
	}
	for _, tt := range tests {
		s := tr.Suggest(tt.text, "web")
		if s.TownshipCode != tt.township || s.CountyCode != tt.county || s.LeadUnit != tt.lead {
			t.Errorf("%s: got %s/%s lead %s (category %s), want %s/%s lead %s", tt.text,
				s.TownshipCode, s.CountyCode, s.LeadUnit, s.Category, tt.township, tt.county, tt.lead)
		}
	}
}

func TestUrgency(t *testing.T) {
	tests := []struct{ text, want string }{
		{"小区3号楼电梯困人，里面有个老人，按警铃没人应", UrgencyEmergency},
		{"我被困在电梯里了，快来人", UrgencyEmergency},
		{"楼道里闻到很重的煤气味，怀疑燃气泄漏", UrgencyEmergency},
		{"隔壁仓库着火了，烟很大", UrgencyEmergency},
		{"老房子的墙体倒塌了一半，里面还住着人", UrgencyEmergency},
		{"房屋开裂得厉害，感觉随时要塌", UrgencyEmergency},
		{"路边电线断了掉在地上，还在冒火花", UrgencyEmergency},
		{"河水漫进村里，有几户老人被困在家里出不来", UrgencyEmergency},
		// negation and hazards that are only risks
		{"电梯昨天故障停了一会，没有人被困，希望维保单位查一查", UrgencyNormal},
		{"楼道里电动车充电，存在火灾隐患，万一着火就麻烦了", UrgencyNormal},
		{"检查后未发现明火，只是有点焦味", UrgencyNormal},
		{"楼道里堆满纸箱，要是着火了谁负责", UrgencyNormal},
		{"去年这里起火过一次，现在又堆满了杂物", UrgencyNormal},
		{"不是燃气泄漏，是燃气费算错了", UrgencyNormal},
		// urgent
		{"外墙瓷砖一块块往下掉，下面就是人行道，很危险", UrgencyUrgent},
		{"路口的井盖不见了，晚上看不清，随时可能有人掉下去", UrgencyUrgent},
		{"墙上裂缝越来越大，随时可能出事", UrgencyUrgent},
		{"整栋楼从昨天早上停水到现在还没来水", UrgencyUrgent},
		// normal
		{"请问社保断缴了怎么补缴", UrgencyNormal},
		{"明天计划停电，想问一下几点来电", UrgencyNormal},
		{"楼上邻居晚上跺脚，吵得睡不着", UrgencyNormal},
	}
	for _, tt := range tests {
		got, why := detectUrgency(tt.text, nil)
		if got != tt.want {
			t.Errorf("%s: urgency %s (%s), want %s", tt.text, got, why, tt.want)
		}
	}
	// an urgent-class category needs only one cue
	cat := taxonomy.Default().Category("0204")
	if got, _ := detectUrgency("我家墙上出现了一道裂缝", cat); got != UrgencyUrgent {
		t.Errorf("0204 with a crack: %s", got)
	}
}

func TestKind(t *testing.T) {
	tax := taxonomy.Default()
	tests := []struct{ text, cat, channel, want string }{
		{"请问公积金提取需要什么材料？", "1301", "kiosk", "咨询"},
		{"我要举报楼下的饭店油烟直排", "0104", "web", "举报"},
		{"投诉某某药店态度恶劣", "0306", "web", "投诉"},
		{"感谢派出所民警帮我找回了走失的父亲，送上锦旗", "1401", "phone", "表扬"},
		{"建议在公园里增设一些公共厕所", "1402", "web", "建议"},
		{"红绿灯坏了好几天了也没人修", "0604", "app", "投诉"},
		{"来电无声", "1403", "phone", "其他"},
		{"家里停水了", "1101", "phone", "求助"},
	}
	for _, tt := range tests {
		got, _ := detectKind(tt.text, []*taxonomy.Category{tax.Category(tt.cat)}, []float64{1}, tt.channel)
		if got != tt.want {
			t.Errorf("%s: kind %s, want %s", tt.text, got, tt.want)
		}
	}
}

func TestSuggestConcurrent(t *testing.T) {
	tr := triager(t)
	want := tr.Suggest("乐清柳市镇停电了", "phone")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				if s := tr.Suggest("乐清柳市镇停电了", "phone"); s.Category != want.Category || s.LeadUnit != want.LeadUnit {
					t.Error("concurrent Suggest differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestNewErrors(t *testing.T) {
	if _, err := New(nil, territory.Zhejiang()); err == nil {
		t.Fatal("New(nil, ...) succeeded")
	}
	// an operator taxonomy whose categories have no material
	cats := "code,group,name,lead,co,sla_class,typical_kind\n9901,新,新类别,HC,,normal,其他\n"
	units := "code,name,level,county_line,note\nHC,热线,center,,\n"
	tax, err := taxonomy.Parse(strings.NewReader(cats), strings.NewReader(units))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(tax, territory.Zhejiang()); err == nil {
		t.Fatal("New without any material succeeded")
	}
}

// a request of about 200 characters
var text200 = "来电人反映：本人住在湖州市长兴县夹浦镇某村，村口那条小河这半个月来河水发黑发臭，水面上漂着一层白沫，" +
	"还有不少死鱼。上游有几家小印染厂，晚上经常听到抽水机的声音，怀疑是在偷偷往河里排污水。下游还有村民在河边洗衣服洗菜，" +
	"夏天孩子们也会下河玩水，大家都很担心身体受影响。之前跟村里反映过两次，说会向上面报告，但到现在也没有人来查。" +
	"希望环保部门尽快来取样检测，查清楚是哪家厂在排污，依法处理。"

func BenchmarkSuggest200Chars(b *testing.B) {
	tr := triager(b)
	b.ReportMetric(float64(utf8.RuneCountInString(text200)), "chars")
	for b.Loop() {
		tr.Suggest(text200, "phone")
	}
}

func BenchmarkTrain(b *testing.B) {
	for b.Loop() {
		if _, err := New(taxonomy.Default(), territory.Zhejiang()); err != nil {
			b.Fatal(err)
		}
	}
}
