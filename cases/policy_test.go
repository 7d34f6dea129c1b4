package cases

import (
	"testing"

	"yici/internal/workcal"
)

func TestDefaultPolicies(t *testing.T) {
	ps := DefaultPolicies()
	if err := ps.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		kind    Kind
		class   string
		urg     Urgency
		sign    string
		resolve string
	}{
		{Consultation, "consult", Normal, "2wh", "2wd"},
		{Help, "normal", Normal, "2wh", "10wd"},
		{Suggestion, "normal", Normal, "2wh", "10wd"},
		{Complaint, "normal", Normal, "2wh", "15wd"},
		{Report, "normal", Normal, "2wh", "15wd"},
		{Help, "utility", Normal, "2h", "24h"},
		{Complaint, "normal", Urgent, "1wh", "1wd"},
		{Help, "utility", Emergency, "1h", "2h"},
	}
	for _, tc := range cases {
		p := ps.Resolve(tc.kind, tc.class, tc.urg, "330106")
		sign, _ := p.Sign.MarshalText()
		res, _ := p.Resolve.MarshalText()
		if string(sign) != tc.sign || string(res) != tc.resolve {
			t.Errorf("%s/%s/%s: sign %s resolve %s, want %s %s (rules %v)", tc.kind, tc.class, tc.urg, sign, res, tc.sign, tc.resolve, p.Rules)
		}
		if p.Return != (workcal.Span{N: 2, Unit: workcal.WorkingDays}) || p.MaxExtension != (workcal.Span{N: 10, Unit: workcal.WorkingDays}) {
			t.Errorf("%s: return %v, max extension %v", tc.kind, p.Return, p.MaxExtension)
		}
	}
}

func TestPolicyRegionWins(t *testing.T) {
	ps := DefaultPolicies()
	seven, _ := workcal.ParseSpan("7wd")
	ps.Rules = append(ps.Rules, PolicyRule{Name: "西湖区投诉", Kind: Complaint, Region: "330106", Priority: 10, Resolve: &seven})
	if got := ps.Resolve(Complaint, "normal", Normal, "330106").Resolve; got != seven {
		t.Errorf("county rule: got %v", got)
	}
	if got := ps.Resolve(Complaint, "normal", Normal, "330108").Resolve; got.N != 15 {
		t.Errorf("other county: got %v", got)
	}
	bad := PolicySet{Rules: []PolicyRule{{Name: "x", Resolve: &seven}}}
	if bad.Validate() == nil {
		t.Error("a set without sign/return defaults validated")
	}
}
