package triage

import (
	"strings"

	"yici/router/taxonomy"
)

// Urgency: emergency when life or limb is at risk now (someone trapped in a
// lift, a gas leak, a fire, a collapsing building, live wires down, people
// cut off by water); urgent when serious but not life-threatening (a crack
// that is spreading, a missing manhole cover, a utility cut for days, a
// hazard that may hurt someone); normal otherwise. A cue preceded closely
// by a negation (没有人被困, 未发现明火, 不是漏气) does not count.

type urgCue struct {
	words []string // all must occur (the first is the one checked for negation)
	why   string
}

var emergencyCues = []urgCue{
	{[]string{"电梯困人"}, "电梯困人"},
	{[]string{"困在电梯"}, "电梯困人"},
	{[]string{"关在电梯"}, "电梯困人"},
	{[]string{"被困", "电梯"}, "电梯困人"},
	{[]string{"卡在电梯"}, "电梯困人"},
	{[]string{"燃气泄漏"}, "燃气泄漏"},
	{[]string{"煤气泄漏"}, "燃气泄漏"},
	{[]string{"天然气泄漏"}, "燃气泄漏"},
	{[]string{"液化气泄漏"}, "燃气泄漏"},
	{[]string{"漏气", "味"}, "燃气泄漏"},
	{[]string{"闻到煤气"}, "燃气泄漏"},
	{[]string{"闻到燃气"}, "燃气泄漏"},
	{[]string{"闻到天然气"}, "燃气泄漏"},
	{[]string{"煤气味"}, "燃气泄漏"},
	{[]string{"燃气味"}, "燃气泄漏"},
	{[]string{"着火"}, "火情"},
	{[]string{"起火"}, "火情"},
	{[]string{"失火"}, "火情"},
	{[]string{"火灾", "烧"}, "火情"},
	{[]string{"明火"}, "火情"},
	{[]string{"冒烟", "电"}, "火情"},
	{[]string{"烧起来"}, "火情"},
	{[]string{"爆炸了"}, "爆炸"},
	{[]string{"墙体倒塌"}, "倒塌"},
	{[]string{"倒塌"}, "倒塌"},
	{[]string{"坍塌"}, "倒塌"},
	{[]string{"要塌"}, "倒塌"},
	{[]string{"快塌"}, "倒塌"},
	{[]string{"塌下来"}, "倒塌"},
	{[]string{"塌了"}, "倒塌"},
	{[]string{"电线断"}, "电线断落"},
	{[]string{"电线掉"}, "电线断落"},
	{[]string{"电线落"}, "电线断落"},
	{[]string{"高压线断"}, "电线断落"},
	{[]string{"高压线掉"}, "电线断落"},
	{[]string{"触电"}, "触电"},
	{[]string{"被困", "水"}, "被水围困"},
	{[]string{"困住", "水"}, "被水围困"},
	{[]string{"溺水"}, "溺水"},
	{[]string{"有人落水"}, "溺水"},
}

var urgentCues = []string{"随时可能", "随时会", "危险", "紧急",
	"裂缝", "开裂", "倾斜", "漏电", "井盖丢", "井盖不见", "井盖没了", "缺了井盖", "掉下去", "摔倒", "砸到人",
	"砸伤", "咬伤", "受伤", "断了", "脱落", "停水", "停电", "没水", "没电", "断水", "断电",
	"卧床", "独居老人", "快掉下来", "往下掉", "冒烟", "积水很深", "安全隐患", "中毒", "上吐下泻"}

var urgentPhrases = newPhraseSet(urgentCues)

var (
	outageWords = []string{"停水", "停电", "停气", "没水", "没电", "断水", "断电", "没有水", "没有电"}
	longWords   = []string{"到现在还没", "至今", "一天一夜", "一整天", "两天", "三天", "好几天", "几天了", "十几个小时", "二十多个小时", "一个星期"}
)

func containsAny(text string, words []string) bool {
	for _, w := range words {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

var negations = []string{"没有", "没", "未", "无", "不是", "并非", "并未", "不会", "不存在", "排除"}

// negated reports whether the occurrence of cue at byte i is preceded,
// within a few characters and without a sentence break, by a negation.
func negated(text string, i int) bool {
	start := i - 12 // up to 4 Han characters
	if start < 0 {
		start = 0
	}
	for start < i && (text[start]&0xC0) == 0x80 {
		start++
	}
	before := text[start:i]
	if k := strings.LastIndexAny(before, "，。；！？,.;!?"); k >= 0 {
		before = before[k+1:]
	}
	for _, n := range negations {
		if strings.Contains(before, n) {
			return true
		}
	}
	return false
}

// hasUnnegated reports whether word occurs at least once without a negation
// before it.
func hasUnnegated(text, word string) bool {
	off := 0
	for {
		i := strings.Index(text[off:], word)
		if i < 0 {
			return false
		}
		if !negated(text, off+i) {
			return true
		}
		off += i + len(word)
	}
}

// detectUrgency returns the urgency level and a short reason. Requests of
// the record class (praise, invalid calls) are always normal: they tell of
// something past.
func detectUrgency(text string, cat *taxonomy.Category) (string, string) {
	if cat != nil && cat.SLAClass == taxonomy.SLARecord {
		return UrgencyNormal, ""
	}
	for _, c := range emergencyCues {
		ok := hasUnnegated(text, c.words[0])
		for _, w := range c.words[1:] {
			ok = ok && strings.Contains(text, w)
		}
		if ok && !hazardOnly(text, c.words[0]) {
			return UrgencyEmergency, c.why
		}
	}
	var hits []string
	seen := make([]bool, len(urgentCues))
	urgentPhrases.each(text, func(p, at int) {
		if !seen[p] && !negated(text, at) {
			seen[p] = true
		}
	})
	for i, w := range urgentCues {
		if seen[i] {
			hits = append(hits, w)
		}
	}
	// a utility cut that has lasted long
	if containsAny(text, outageWords) && containsAny(text, longWords) {
		return UrgencyUrgent, "长时间停水停电停气"
	}
	urgentClass := cat != nil && cat.SLAClass == taxonomy.SLAUrgent
	switch {
	case len(hits) >= 2, len(hits) == 1 && urgentClass:
		return UrgencyUrgent, "提示词“" + strings.Join(hits, "、") + "”"
	}
	return UrgencyNormal, ""
}

// hazardOnly reports cues that only describe a risk (火灾隐患, 怕起火, 万一着火):
// a hazard is reported, nothing is happening.
func hazardOnly(text, word string) bool {
	i := strings.Index(text, word)
	if i < 0 {
		return false
	}
	after := text[i+len(word):]
	for _, w := range []string{"隐患", "风险", "危险", "的话", "怎么办", "就完了", "谁负责", "的可能"} {
		if strings.HasPrefix(after, w) {
			return true
		}
	}
	start := i - 12
	if start < 0 {
		start = 0
	}
	for start < i && (text[start]&0xC0) == 0x80 {
		start++
	}
	before := text[start:i]
	// a risk (怕, 万一, 一旦 ...) or something past (以前, 去年, 曾经 ...)
	for _, w := range []string{"怕", "担心", "万一", "容易", "可能", "防止", "预防", "一旦", "会不会", "引发", "导致",
		"要是", "如果", "假如", "真", "曾", "以前", "去年", "上次", "之前", "发生过"} {
		if strings.Contains(before, w) {
			return true
		}
	}
	return false
}
