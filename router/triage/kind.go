package triage

import (
	"strings"

	"yici/router/taxonomy"
)

// A request's kind (咨询 求助 投诉 举报 建议 表扬 其他) is decided by cue words
// of the text weighed against the category's typical kind as a prior.

type cue struct {
	word string
	w    float64
}

var kindCues = map[string][]cue{
	// asking for information
	"咨询": {{"请问", 2}, {"咨询", 2}, {"想问", 1.5}, {"问一下", 1.5}, {"问问", 1}, {"想了解", 1.5}, {"了解一下", 1},
		{"怎么办理", 1.5}, {"如何办理", 1.5}, {"怎么申请", 1.2}, {"如何申请", 1.2}, {"需要什么", 1.2}, {"需要哪些", 1.2},
		{"哪些材料", 1.5}, {"什么材料", 1.5}, {"什么条件", 1.2}, {"在哪里办", 1.2}, {"去哪里办", 1.2}, {"能不能办", 1},
		{"是多少", 0.6}, {"标准是", 0.6}, {"怎么算", 0.8}, {"多久能", 0.8}, {"是否可以", 0.8}, {"可以吗", 0.5}, {"政策", 0.5}},
	// needing practical help with a difficulty
	"求助": {{"求助", 2}, {"帮帮", 1.5}, {"请求帮助", 2}, {"救救", 2}, {"求求", 1.5}, {"帮我们", 1}, {"帮助", 0.6},
		{"怎么办", 0.8}, {"没办法", 0.8}, {"走投无路", 1.5}, {"无助", 1}, {"急需", 1}, {"抢修", 1}, {"修一下", 0.8},
		{"维修", 0.4}, {"派人", 0.6}, {"困难", 0.5}, {"救助", 0.5}, {"协调", 0.5}},
	// dissatisfaction with a party or a nuisance suffered
	"投诉": {{"投诉", 2.5}, {"态度", 0.6}, {"不作为", 1}, {"扰民", 1}, {"多次", 0.6}, {"好几次", 0.6}, {"反复", 0.4},
		{"一直", 0.4}, {"至今", 0.6}, {"到现在", 0.5}, {"没人管", 0.8}, {"无人管", 0.8}, {"不管", 0.5}, {"不处理", 0.8},
		{"推诿", 1}, {"敷衍", 1}, {"说法", 0.8}, {"赔偿", 0.6}, {"退款", 0.6}, {"退费", 0.6}, {"太差", 0.6}, {"很差", 0.6},
		{"恶劣", 0.8}, {"过分", 0.8}, {"不合理", 0.8}, {"凭什么", 1}, {"合理吗", 1}, {"气愤", 0.8}, {"不满", 1},
		{"严重影响", 0.8}, {"睡不着", 0.6}, {"受不了", 0.6}, {"不负责", 0.8}},
	// reporting someone else's illegal conduct
	"举报": {{"举报", 2.5}, {"偷偷", 0.8}, {"非法", 1}, {"违法", 0.8}, {"违规", 0.6}, {"查处", 1}, {"取缔", 1},
		{"私自", 0.6}, {"擅自", 0.6}, {"无证", 0.8}, {"无照", 0.8}, {"偷排", 1}, {"偷倒", 1}, {"线索", 1}, {"涉嫌", 1},
		{"假冒", 0.6}, {"依法", 0.5}, {"严查", 1}},
	// a matter that is stuck: help is needed, not information
	"求助~": {{"一直没", 0.6}, {"还没有", 0.4}, {"没收到", 0.6}, {"没到账", 0.6}, {"批不下来", 0.6}, {"办不下来", 0.6},
		{"办不了", 0.5}, {"卡着", 0.5}, {"拖了", 0.4}},
	// the requester's own loss or nuisance
	"投诉~": {{"我家", 0.3}, {"我们家", 0.3}, {"给我", 0.4}, {"多收", 0.6}, {"我买", 0.4}, {"我们小区", 0.2}},
	// someone else's conduct
	"举报~": {{"有人", 0.5}, {"一户", 0.3}, {"一家", 0.2}, {"某", 0.3}},
	"建议": {{"建议", 1.2}, {"提议", 2}, {"提个建议", 2}, {"我建议", 2}, {"建议在", 1}, {"能否考虑", 1.5},
		{"可否", 0.8}, {"希望增设", 1.5}, {"增设", 0.8}, {"优化", 0.4}, {"供参考", 1.5}},
	"表扬": {{"表扬", 3}, {"感谢", 1.2}, {"点赞", 2.5}, {"锦旗", 3}, {"感谢信", 3}, {"非常满意", 1.5},
		{"致谢", 2}, {"谢意", 2}, {"辛苦了", 1}, {"暖心", 1}, {"好评", 1.5}},
}

const (
	kindPrior = 2.0
	gridHelp  = 1.0
)

type flatCue struct {
	kind, word string
	w          float64
	soft       bool // weak cues, not shown as reasons
}

// kindCueList flattens kindCues in a fixed order; kindPhrases finds them.
var kindCueList, kindPhrases = func() ([]flatCue, *phraseSet) {
	var l []flatCue
	var words []string
	for _, k := range append(Kinds, "投诉~", "举报~", "求助~") {
		for _, c := range kindCues[k] {
			l = append(l, flatCue{strings.TrimSuffix(k, "~"), c.word, c.w, strings.HasSuffix(k, "~")})
			words = append(words, c.word)
		}
	}
	return l, newPhraseSet(words)
}()

// detectKind returns the kind and a short reason. cats are the likely
// categories with their probabilities: their typical kinds, weighted by
// probability, are the prior.
func detectKind(text string, cats []*taxonomy.Category, probs []float64, channel string) (string, string) {
	score := map[string]float64{}
	why := map[string][]string{}
	found := kindPhrases.found(text)
	for i, c := range kindCueList {
		if found[i] {
			score[c.kind] += c.w
			if !c.soft {
				why[c.kind] = append(why[c.kind], c.word)
			}
		}
	}
	// questions count towards 咨询 (a few at most)
	if q := strings.Count(text, "？") + strings.Count(text, "?"); q > 0 {
		score["咨询"] += 0.3 * float64(min(q, 3))
	}
	// a grid worker's report asks the platform for help with a case
	if channel == "grid" {
		score["求助"] += gridHelp
	}
	suggestionCue := score["建议"] > 0
	typical, bestP := "其他", -1.0
	for i, cat := range cats {
		k, w := "其他", kindPrior
		if cat != nil && cat.TypicalKind != "" {
			k = cat.TypicalKind
		}
		switch k {
		case "建议":
			// a category whose requests are typically suggestions (signals,
			// opinions): without a suggestion cue the text reports a problem
			if !suggestionCue {
				k = "投诉"
			}
		case "表扬":
			w *= 2
		case "其他":
			w *= 4
		}
		score[k] += w * probs[i]
		if probs[i] > bestP {
			typical, bestP = k, probs[i]
		}
	}
	best, bestS := typical, score[typical]
	for _, k := range Kinds {
		if score[k] > bestS {
			best, bestS = k, score[k]
		}
	}
	if len(why[best]) == 0 {
		return best, "类别常见类型"
	}
	return best, "提示词“" + strings.Join(why[best], "、") + "”"
}
