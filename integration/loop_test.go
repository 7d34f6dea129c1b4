package integration

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/internal/auth"
)

type caseOut struct {
	ID           string `json:"id"`
	TrackingNo   string `json:"tracking_no"`
	State        string `json:"state"`
	CitizenName  string `json:"citizen_name"`
	CitizenPhone string `json:"citizen_phone"`
	DueAt        string `json:"due_at"`
	RedoCount    int    `json:"redo_count"`
	ReturnCount  int    `json:"return_count"`
}

func TestReadiness(t *testing.T) {
	s := startServer(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if code := s.Anon().Do("GET", p, nil, nil); code != 200 {
			t.Errorf("%s: %d", p, code)
		}
	}
}

// One case through the whole loop over HTTP: registration during a call,
// dispatch to the wrong township, 退单 and re-dispatch, sign-for, an
// extension, the reply, review, a dissatisfied callback and 重办, and the
// citizen's satisfied rating on the tracking API.
func TestWholeLoopOverHTTP(t *testing.T) {
	s := startServer(t)
	agent := s.Login("agent")
	disp := s.Login("dispatcher")
	wrong := s.Login("beishan-zf")
	zf := s.Login("wenxin-zf")
	zz := s.Login("wenxin-zz")

	var c caseOut
	reg := map[string]any{"kind": "举报", "category": "0101", "content": "文新街道某小区顶楼有人在搭建违章阳光房，已经施工三天了。",
		"address": "西湖区文新街道", "township_code": "330106013", "citizen_name": "匿名举报人甲", "citizen_phone": "13811112222", "call_id": "call-20261127-1"}
	if code := agent.Do("POST", "/api/v1/cases", reg, &c); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	var again caseOut
	if code := agent.Do("POST", "/api/v1/cases", reg, &again); code != http.StatusOK || again.ID != c.ID {
		t.Fatalf("retry with the same call id: %d %s vs %s", code, again.ID, c.ID)
	}
	act := func(cl *client, action string, body map[string]any, want int) caseOut {
		t.Helper()
		var out caseOut
		if code := cl.Do("POST", "/api/v1/cases/"+c.ID+"/"+action, body, &out); code != want {
			t.Fatalf("%s: %d, want %d", action, code, want)
		}
		return out
	}
	act(disp, "dispatch", map[string]any{"lead": "330106002-ZF", "co": []string{"330106-ZJJ"}}, 200)
	// Another township's officer cannot see it; the lead of the wrong township can.
	if code := zf.Do("GET", "/api/v1/cases/"+c.ID, nil, nil); code != http.StatusNotFound {
		t.Fatalf("unassigned officer sees the case: %d", code)
	}
	var seen caseOut
	wrong.Do("GET", "/api/v1/cases/"+c.ID, nil, &seen)
	if seen.CitizenName != cases.ConfidentialName || seen.CitizenPhone != "" {
		t.Fatalf("the unit sees the reporter: %q %q", seen.CitizenName, seen.CitizenPhone)
	}
	act(wrong, "request_return", map[string]any{"reason": ""}, http.StatusUnprocessableEntity)
	act(wrong, "request_return", map[string]any{"reason": "该小区属文新街道辖区"}, 200)
	act(agent, "approve_return", map[string]any{"reason": "同意"}, http.StatusForbidden)
	// Approving the return re-routes at once, without the unit that
	// returned it: by the matrix, to the township of the case.
	out := act(disp, "approve_return", map[string]any{"reason": "同意"}, 200)
	if out.State != "pending_sign" || out.ReturnCount != 1 {
		t.Fatalf("after return: %+v", out)
	}
	var route struct {
		Stored []struct {
			Decision struct {
				Lead string   `json:"lead"`
				Co   []string `json:"co"`
			} `json:"decision"`
		} `json:"stored"`
	}
	agent.Do("GET", "/api/v1/cases/"+c.ID+"/route", nil, &route)
	if n := len(route.Stored); n != 1 || route.Stored[0].Decision.Lead != "330106013-ZF" {
		t.Fatalf("re-routing decision: %+v", route)
	}
	act(wrong, "sign", nil, http.StatusForbidden) // they once held it, so they see it, but may not act
	act(zz, "sign", nil, http.StatusNotFound)     // the township's 综治 platform is not on this case
	out = act(zf, "sign", nil, 200)
	if out.State != "in_progress" {
		t.Fatalf("after sign: %s", out.State)
	}
	due, _ := time.Parse(time.RFC3339, out.DueAt)
	act(zf, "request_extension", map[string]any{"until": due.Add(72 * time.Hour), "reason": "需规划部门认定"}, 200)
	act(disp, "approve_extension", map[string]any{"reason": "同意"}, 200)
	out = act(zf, "reply", map[string]any{"reply": "已责令当事人停止搭建并限期拆除。", "note": "内部：当事人为执法队员张三的亲戚，需回避"}, 200)
	if out.State != "pending_review" {
		t.Fatalf("after reply: %s", out.State)
	}
	act(agent, "approve_review", nil, 200)
	out = act(agent, "callback", map[string]any{"satisfaction": "dissatisfied", "solved": false, "reason": "还没拆"}, 200)
	if out.State != "pending_sign" || out.RedoCount != 1 {
		t.Fatalf("after dissatisfied callback: %+v", out)
	}
	act(zf, "sign", nil, 200)
	act(zf, "reply", map[string]any{"reply": "违建已于今日拆除完毕。"}, 200)
	act(disp, "approve_review", nil, 200)

	// The citizen rates it on the tracking API.
	anon := s.Anon()
	var view cases.PublicView
	if code := anon.Do("POST", "/api/v1/track", map[string]string{"tracking_no": c.TrackingNo, "phone_last4": "2222"}, &view); code != 200 {
		t.Fatalf("track: %d", code)
	}
	if !view.CanRate || view.Phone != "138****2222" {
		t.Fatalf("tracking view: %+v", view)
	}
	text := fmt.Sprint(view)
	for _, secret := range []string{"张三", "内部", "匿名举报人甲", "13811112222", "该小区属文新街道辖区"} {
		if strings.Contains(text, secret) {
			t.Errorf("public view shows %q", secret)
		}
	}
	var miss map[string]any
	if code := anon.Do("POST", "/api/v1/track", map[string]string{"tracking_no": c.TrackingNo, "phone_last4": "0000"}, &miss); code != http.StatusNotFound {
		t.Fatalf("wrong phone digits: %d", code)
	}
	// Rating as the citizen is the callback of the store with a citizen actor
	// (the tracking page's form comes with the console issue).
	id := mustCaseID(s, c.TrackingNo)
	yes := true
	if _, err := s.App.Cases.Callback(t.Context(), citizen(), id, cases.CallbackResult{Satisfaction: cases.Satisfied, Solved: &yes}); err != nil {
		t.Fatal(err)
	}
	var final caseOut
	agent.Do("GET", "/api/v1/cases/"+c.ID, nil, &final)
	if final.State != "archived" {
		t.Fatalf("final state %s", final.State)
	}
	var evs struct {
		Events []cases.Event `json:"events"`
	}
	agent.Do("GET", "/api/v1/cases/"+c.ID+"/events", nil, &evs)
	got, err := cases.Replay(evs.Events)
	if err != nil || got.State != cases.Archived || got.RedoCount != 1 || got.ReturnCount != 1 || got.ExtCount != 1 {
		t.Fatalf("replay of %d events: %+v %v", len(evs.Events), got, err)
	}
}

func citizen() auth.Actor { return auth.CitizenActor() }

func mustCaseID(s *server, trackingNo string) uuid.UUID {
	s.T.Helper()
	c, err := s.App.Cases.GetByTrackingNo(s.T.Context(), trackingNo)
	if err != nil {
		s.T.Fatal(err)
	}
	return c.ID
}
