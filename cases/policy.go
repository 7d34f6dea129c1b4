package cases

import (
	"fmt"
	"strings"

	"yici/internal/workcal"
)

// Policy is the set of deadlines a case runs under. A case keeps the policy
// it started with (a copy is stored with it).
type Policy struct {
	Version      int          `json:"version"`
	Sign         workcal.Span `json:"sign"`          // 签收 within
	Return       workcal.Span `json:"return"`        // 退单 allowed within, from dispatch
	Resolve      workcal.Span `json:"resolve"`       // 办结 within, from dispatch
	MaxExtension workcal.Span `json:"max_extension"` // one extension up to this without a supervisor
	SignGrace    workcal.Span `json:"sign_grace"`    // overdue for sign-for this long: escalate
	ResolveGrace workcal.Span `json:"resolve_grace"` // overdue for resolution this long: escalate
	Rules        []string     `json:"rules"`         // the rules that gave the values
}

// PolicyRule sets some of the deadlines for the cases it matches. Empty
// match fields match anything. Among matching rules, for each deadline the
// rule with the highest Rank (priority, then region specificity) that sets
// it wins.
type PolicyRule struct {
	Name     string  `json:"name"`
	Kind     Kind    `json:"kind,omitempty"`
	Class    string  `json:"class,omitempty"` // category deadline class: normal urgent utility consult record
	Urgency  Urgency `json:"urgency,omitempty"`
	Region   string  `json:"region,omitempty"` // province, city or county code prefix
	Priority int     `json:"priority"`

	Sign         *workcal.Span `json:"sign,omitempty"`
	Return       *workcal.Span `json:"return,omitempty"`
	Resolve      *workcal.Span `json:"resolve,omitempty"`
	MaxExtension *workcal.Span `json:"max_extension,omitempty"`
	SignGrace    *workcal.Span `json:"sign_grace,omitempty"`
	ResolveGrace *workcal.Span `json:"resolve_grace,omitempty"`
}

// PolicySet is a versioned list of rules.
type PolicySet struct {
	Version int          `json:"version"`
	Rules   []PolicyRule `json:"rules"`
}

func span(s string) *workcal.Span {
	sp, err := workcal.ParseSpan(s)
	if err != nil {
		panic(err)
	}
	return &sp
}

// DefaultPolicies are the deadline defaults: sign-for within 2 working
// hours; 退单 within 2 working days of dispatch; consultations in 2 working
// days; 求助 and 建议 in 10; 投诉 and 举报 in 15; utilities in 24 hours;
// urgent cases in 1 working day; emergencies in 2 hours; one extension of
// at most 10 working days without a supervisor's approval.
func DefaultPolicies() PolicySet {
	return PolicySet{Version: 1, Rules: []PolicyRule{
		{Name: "默认", Priority: 0, Sign: span("2wh"), Return: span("2wd"), Resolve: span("15wd"), MaxExtension: span("10wd"),
			SignGrace: span("2wh"), ResolveGrace: span("1wd")},
		{Name: "咨询", Kind: Consultation, Priority: 10, Resolve: span("2wd")},
		{Name: "求助", Kind: Help, Priority: 10, Resolve: span("10wd")},
		{Name: "建议", Kind: Suggestion, Priority: 10, Resolve: span("10wd")},
		{Name: "投诉", Kind: Complaint, Priority: 10, Resolve: span("15wd")},
		{Name: "举报", Kind: Report, Priority: 10, Resolve: span("15wd")},
		{Name: "表扬", Kind: Praise, Priority: 10, Resolve: span("5wd")},
		{Name: "其他", Kind: Other, Priority: 10, Resolve: span("5wd")},
		{Name: "公用事业", Class: "utility", Priority: 20, Sign: span("2h"), Resolve: span("24h"), SignGrace: span("1h"), ResolveGrace: span("4h")},
		{Name: "紧急", Urgency: Urgent, Priority: 30, Sign: span("1wh"), Resolve: span("1wd"), ResolveGrace: span("4wh")},
		{Name: "特急", Urgency: Emergency, Priority: 40, Sign: span("1h"), Resolve: span("2h"), SignGrace: span("1h"), ResolveGrace: span("2h")},
	}}
}

// Validate checks a policy set: the catch-all rule must set every deadline.
func (ps PolicySet) Validate() error {
	p := ps.Resolve("", "", "", "")
	if p.Sign.N == 0 || p.Return.N == 0 || p.Resolve.N == 0 || p.MaxExtension.N == 0 || p.SignGrace.N == 0 || p.ResolveGrace.N == 0 {
		return fmt.Errorf("policy set %d: a rule matching every case must set sign, return, resolve, max_extension, sign_grace and resolve_grace", ps.Version)
	}
	for i, r := range ps.Rules {
		if r.Name == "" {
			return fmt.Errorf("policy rule %d: name required", i)
		}
		if r.Kind != "" && !r.Kind.Valid() {
			return fmt.Errorf("policy rule %q: unknown kind %q", r.Name, r.Kind)
		}
		if r.Urgency != "" && !r.Urgency.Valid() {
			return fmt.Errorf("policy rule %q: unknown urgency %q", r.Name, r.Urgency)
		}
	}
	return nil
}

func (r PolicyRule) matches(kind Kind, class string, urg Urgency, region string) bool {
	return (r.Kind == "" || r.Kind == kind) &&
		(r.Class == "" || r.Class == class) &&
		(r.Urgency == "" || r.Urgency == urg) &&
		(r.Region == "" || strings.HasPrefix(region, r.Region))
}

func (r PolicyRule) rank() int { return r.Priority*100 + len(r.Region) }

// Resolve returns the policy of a case of this kind, category class,
// urgency and region (its county code, or a shorter known prefix).
func (ps PolicySet) Resolve(kind Kind, class string, urg Urgency, region string) Policy {
	p := Policy{Version: ps.Version}
	best := [6]int{-1, -1, -1, -1, -1, -1}
	names := [6]string{}
	for _, r := range ps.Rules {
		if !r.matches(kind, class, urg, region) {
			continue
		}
		rk := r.rank()
		set := func(i int, dst *workcal.Span, src *workcal.Span) {
			if src != nil && rk > best[i] {
				best[i], *dst, names[i] = rk, *src, r.Name
			}
		}
		set(0, &p.Sign, r.Sign)
		set(1, &p.Return, r.Return)
		set(2, &p.Resolve, r.Resolve)
		set(3, &p.MaxExtension, r.MaxExtension)
		set(4, &p.SignGrace, r.SignGrace)
		set(5, &p.ResolveGrace, r.ResolveGrace)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if n != "" && !seen[n] {
			seen[n] = true
			p.Rules = append(p.Rules, n)
		}
	}
	return p
}
