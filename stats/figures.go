package stats

import (
	"encoding/json"
	"fmt"
)

// The counters of a rollup row, in the order of the stats_rollup columns.
const (
	kRegistered = iota
	kAnswered
	kDispatched
	kSignDue
	kSigned
	kSignedOntime
	kSignSecs
	kReplied
	kRepliedOntime
	kReplySecs
	kReturned
	kResolved
	kRedone
	kEscalated
	kUrged
	kRated
	kSatisfied
	kBasic
	kDissatisfied
	kUnreachable
	kSolved
	nCounters
)

// counterCols are the column names (and JSON keys) of the counters.
var counterCols = [nCounters]string{
	"registered", "answered", "dispatched", "sign_due", "signed", "signed_ontime", "sign_secs",
	"replied", "replied_ontime", "reply_secs", "returned", "resolved", "redone", "escalated", "urged",
	"rated", "satisfied", "basic", "dissatisfied", "unreachable", "solved",
}

// counterLabels are the Chinese column headers of the counters.
var counterLabels = [nCounters]string{
	"受理量", "直接答复", "派单轮次", "应签收", "已签收", "按时签收", "签收用时(工作秒)",
	"办结反馈", "按时办结", "办结用时(工作秒)", "退单", "办结审核通过", "重办", "升级", "督办",
	"有效回访", "满意", "基本满意", "不满意", "未联系上", "已解决",
}

// Counts are the summed counters of some rollup rows.
type Counts [nCounters]int64

// Get returns a counter by its column name (0 for an unknown name).
func (c Counts) Get(name string) int64 {
	for i, n := range counterCols {
		if n == name {
			return c[i]
		}
	}
	return 0
}

func (c *Counts) add(o Counts) {
	for i := range c {
		c[i] += o[i]
	}
}

// MarshalJSON writes the counters as an object keyed by column name.
func (c Counts) MarshalJSON() ([]byte, error) {
	m := make(map[string]int64, nCounters)
	for i, n := range counterCols {
		m[n] = c[i]
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (c *Counts) UnmarshalJSON(b []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for i, n := range counterCols {
		c[i] = m[n]
	}
	return nil
}

// Figure is one published figure: a rate (a share between 0 and 1) or an
// average in working hours, with its definition as shown on the dashboard,
// in the exports and in docs/stats.md.
type Figure struct {
	Key        string // JSON key and ?metric= value
	Label      string // Chinese name
	Hours      bool   // an average in working hours, not a rate
	LowerBest  bool   // lower is better (退单率, 重办率, averages)
	Definition string // numerator ÷ denominator, in Chinese
	num        func(Counts) float64
	den        func(Counts) int64
}

// Value returns the figure's value and its denominator; ok is false when
// the denominator is zero (no value, shown as “—”).
func (f Figure) Value(c Counts) (v float64, num float64, den int64, ok bool) {
	num, den = f.num(c), f.den(c)
	if den == 0 {
		return 0, num, 0, false
	}
	v = num / float64(den)
	if f.Hours {
		v /= 3600
	}
	return v, num, den, true
}

// Format writes a value for people: “66.67%” or “1.55 工作小时”.
func (f Figure) Format(c Counts) string {
	v, _, _, ok := f.Value(c)
	if !ok {
		return "—"
	}
	if f.Hours {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.2f%%", v*100)
}

func one(k int) func(Counts) float64 { return func(c Counts) float64 { return float64(c[k]) } }
func cnt(k int) func(Counts) int64   { return func(c Counts) int64 { return c[k] } }

// Figures are the published figures, 三率 first.
var Figures = []Figure{
	{Key: "response_rate", Label: "响应率",
		Definition: "签收时限落在本期的派单轮次中，主办单位在签收时限内签收的比例。分母不含签收前即被同意退单或并单的轮次；升级、超时未签收的轮次计入分母、不计入分子。",
		num:        one(kSignedOntime), den: cnt(kSignDue)},
	{Key: "solve_rate", Label: "解决率",
		Definition: "有效回访（不含“未联系上”）中，群众表示问题已解决的比例；回访未询问是否解决的，按“满意”或“基本满意”视为已解决。",
		num:        one(kSolved), den: cnt(kRated)},
	{Key: "satisfaction_rate", Label: "满意率",
		Definition: "有效回访（不含“未联系上”）中，“满意”与“基本满意”之和的比例。每次回访计一次，重办后再次回访另计。",
		num:        func(c Counts) float64 { return float64(c[kSatisfied] + c[kBasic]) }, den: cnt(kRated)},
	{Key: "sign_ontime_rate", Label: "按时签收率",
		Definition: "签收时限落在本期、主办单位已签收的派单轮次中，在签收时限内签收的比例。",
		num:        one(kSignedOntime), den: cnt(kSigned)},
	{Key: "reply_ontime_rate", Label: "按时办结率",
		Definition: "本期主办单位的办结反馈中，在办理期限（含批准的延期、挂起顺延）内反馈的比例。",
		num:        one(kRepliedOntime), den: cnt(kReplied)},
	{Key: "return_rate", Label: "退单率", LowerBest: true,
		Definition: "本期同意退单的次数 ÷ 本期派单轮次（首次派单、退单后改派、重办、升级）。",
		num:        one(kReturned), den: cnt(kDispatched)},
	{Key: "redo_rate", Label: "重办率", LowerBest: true,
		Definition: "本期重办的次数 ÷ 本期办结审核通过的次数。",
		num:        one(kRedone), den: cnt(kResolved)},
	{Key: "answer_rate", Label: "直接答复率",
		Definition: "本期受理的诉求中，热线在首次接触时直接答复办结的比例。",
		num:        one(kAnswered), den: cnt(kRegistered)},
	{Key: "avg_sign_hours", Label: "平均签收用时", Hours: true, LowerBest: true,
		Definition: "主办单位从派单到签收的平均工作时长（工作小时，08:30–12:00、13:30–17:30，节假日与调休按工作日历），按签收时限所在日统计。",
		num:        one(kSignSecs), den: cnt(kSigned)},
	{Key: "avg_reply_hours", Label: "平均办结用时", Hours: true, LowerBest: true,
		Definition: "主办单位从本轮派单到办结反馈的平均工作时长（工作小时，挂起期间不扣除），按反馈日统计。",
		num:        one(kReplySecs), den: cnt(kReplied)},
}

// FigureByKey returns a figure by its key.
func FigureByKey(key string) (Figure, bool) {
	for _, f := range Figures {
		if f.Key == key {
			return f, true
		}
	}
	return Figure{}, false
}
