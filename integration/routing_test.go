package integration

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"yici/router"
	"yici/router/taxonomy"
)

func TestRoutingOverHTTP(t *testing.T) {
	s := startServer(t)
	agent := s.Login("agent")
	admin := s.Login("admin")
	officer := s.Login("wenxin-zf")

	// Triage suggests; the agent registers and dispatches by the decision.
	var sg struct {
		Category     string `json:"category"`
		TownshipCode string `json:"township_code"`
		Urgency      string `json:"urgency"`
	}
	text := "杭州市西湖区文新街道有家烧烤店油烟直排，楼上住户窗户都不敢开"
	if code := s.Anon().Do("POST", "/api/v1/triage", map[string]string{"text": text}, &sg); code != 200 {
		t.Fatalf("triage: %d", code)
	}
	if sg.Category != "0104" || sg.TownshipCode != "330106013" {
		t.Errorf("triage suggested %+v", sg)
	}
	var c caseOut
	agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "content": text, "citizen_phone": "13900002222"}, &c)
	var res struct {
		Case     caseOut         `json:"case"`
		Decision router.Decision `json:"decision"`
	}
	// Overriding the lead without a reason is refused.
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID+"/route", map[string]any{"category": "0104", "township_code": "330106013", "lead": "330106-ZFJ"}, nil); code != http.StatusUnprocessableEntity {
		t.Fatalf("override without reason: %d", code)
	}
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID+"/route", map[string]any{"category": "0104", "township_code": "330106013"}, &res); code != 200 {
		t.Fatalf("route: %d", code)
	}
	if res.Decision.Lead != "330106013-ZF" || res.Case.State != "pending_sign" || len(res.Decision.Steps) == 0 {
		t.Fatalf("decision %+v", res.Decision)
	}
	if code := officer.Do("GET", "/api/v1/cases/"+c.ID+"/route", nil, nil); code != http.StatusForbidden {
		t.Fatalf("an officer reads routing explanations: %d", code)
	}

	// Pickers.
	var divs struct {
		Divisions []struct{ Code, Name string } `json:"divisions"`
	}
	s.Anon().Do("GET", "/api/v1/divisions?parent=330106", nil, &divs)
	if len(divs.Divisions) != 12 {
		t.Errorf("西湖区 has %d townships", len(divs.Divisions))
	}

	// Rule sets: agents may not touch them; an invalid set is refused with
	// the problem named; a valid one is activated.
	rules := router.DefaultRules(taxonomy.Default())
	if code := agent.Do("POST", "/api/v1/admin/rules", map[string]any{"rules": rules}, nil); code != http.StatusForbidden {
		t.Fatalf("agent proposing rules: %d", code)
	}
	var bad struct {
		Errors []struct {
			Field     string `json:"field"`
			MessageZH string `json:"message_zh"`
		} `json:"errors"`
	}
	for _, tc := range []struct {
		rules []router.Rule
		want  string
	}{
		{append(append([]router.Rule(nil), rules...), router.Rule{ID: "x", Category: "0101", LeadUnit: "330106-NOPE"}), "330106-NOPE"},
		{rules[1:], "0101"}, // 违法建设 left without an owner
	} {
		if code := admin.Do("POST", "/api/v1/admin/rules", map[string]any{"rules": tc.rules}, &bad); code != http.StatusUnprocessableEntity {
			t.Fatalf("invalid rules: %d", code)
		}
		all := ""
		for _, e := range bad.Errors {
			all += e.MessageZH + "\n"
		}
		if !strings.Contains(all, tc.want) {
			t.Fatalf("validation errors do not name %s:\n%s", tc.want, all)
		}
	}
	var rs router.RuleSet
	good := append(rules, router.Rule{ID: "xihu-oil", Category: "0104", Territory: "330106", LeadType: "STJ"})
	if code := admin.Do("POST", "/api/v1/admin/rules", map[string]any{"rules": good, "note": "西湖区油烟改派"}, &rs); code != http.StatusCreated {
		t.Fatalf("propose: %d", code)
	}
	if code := admin.Do("POST", "/api/v1/admin/rules/"+strconv.Itoa(rs.Version)+"/activate", nil, nil); code != 200 {
		t.Fatalf("activate: %d", code)
	}
	var c2 caseOut
	agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "content": text, "township_code": "330106013", "category": "0104", "citizen_phone": "13900002222"}, &c2)
	agent.Do("POST", "/api/v1/cases/"+c2.ID+"/route", map[string]any{}, &res)
	if res.Decision.Lead != "330106-STJ" || res.Decision.RuleVersion != rs.Version {
		t.Fatalf("new rule set not used: %+v", res.Decision)
	}
	// Units: deactivate, and the admin sees it.
	var u router.Unit
	if code := admin.Do("PATCH", "/api/v1/admin/units/330106005-ZF", map[string]any{"merged_into": "330106013-ZF"}, &u); code != 200 || u.Active {
		t.Fatalf("merge unit: %d %+v", code, u)
	}
}
