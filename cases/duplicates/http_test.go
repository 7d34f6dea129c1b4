package duplicates_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/cases/duplicates"
	"yici/internal/app"
	"yici/internal/apptest"
)

// startApp runs the whole product with the detector's routes.
func startApp(t *testing.T) (*apptest.Server, *duplicates.Detector) {
	t.Helper()
	var d *duplicates.Detector
	s := apptest.Start(t, func(a *app.App) {
		d = duplicates.New(a.Env.Pool, a.Cases, duplicates.Options{})
		// Once internal/app mounts a detector itself, its routes are there.
		if _, pattern := a.Mux.Handler(httptest.NewRequest("GET", "/api/v1/alerts", nil)); pattern == "" {
			d.Routes(a.Mux)
		}
	})
	return s, d
}

type caseOut struct {
	ID         uuid.UUID   `json:"id"`
	TrackingNo string      `json:"tracking_no"`
	State      cases.State `json:"state"`
	ParentID   *uuid.UUID  `json:"parent_id"`
	Reply      string      `json:"reply"`
}

func register(t *testing.T, c *apptest.Client, township, category, phone, content string) caseOut {
	t.Helper()
	var out caseOut
	body := map[string]any{"kind": "投诉", "category": category, "township_code": township, "citizen_name": "市民",
		"citizen_phone": phone, "content": content}
	if code := c.Do("POST", "/api/v1/cases", body, &out); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	return out
}

func act(t *testing.T, c *apptest.Client, id uuid.UUID, action string, body map[string]any) caseOut {
	t.Helper()
	var out caseOut
	if code := c.Do("POST", "/api/v1/cases/"+id.String()+"/"+action, body, &out); code != http.StatusOK {
		t.Fatalf("%s: %d", action, code)
	}
	return out
}

func TestDuplicatesAPI(t *testing.T) {
	s, _ := startApp(t)
	agent := s.Login("agent")
	a := register(t, agent, "330106002", "0102", "13812340001", "保俶路宝石山脚下每天晚上都有流动摊贩摆摊卖烧烤，把人行道占满了。")
	b := register(t, agent, "330106002", "0102", "13812340002", "宝石山下保俶路晚上流动摊贩占道经营，人行道走不了人。")
	path := "/api/v1/cases/" + b.ID.String() + "/duplicates"
	for _, user := range []string{"agent", "dispatcher", "supervisor"} {
		var raw struct {
			CaseID     uuid.UUID         `json:"case_id"`
			Candidates []json.RawMessage `json:"candidates"`
		}
		if code := s.Login(user).Do("GET", path, nil, &raw); code != http.StatusOK {
			t.Fatalf("%s: %d", user, code)
		}
		var found bool
		for _, m := range raw.Candidates {
			var fields map[string]any
			var c duplicates.Candidate
			if err := json.Unmarshal(m, &fields); err != nil {
				t.Fatal(err)
			}
			// Minimal: no identity, no content.
			for k := range fields {
				if !slices.Contains([]string{"id", "tracking_no", "title", "state", "state_label", "created_at", "similarity",
					"reasons", "reason_labels", "distance_m"}, k) {
					t.Errorf("%s: candidate carries %q", user, k)
				}
			}
			_ = json.Unmarshal(m, &c)
			if c.ID == a.ID {
				found = true
				if !slices.Equal(c.Reasons, []duplicates.Reason{duplicates.SimilarContent}) || c.TrackingNo != a.TrackingNo {
					t.Errorf("%s: %+v", user, c)
				}
			}
		}
		if raw.CaseID != b.ID || !found {
			t.Fatalf("%s: %s not among %s", user, a.TrackingNo, raw.Candidates)
		}
	}
	for user, want := range map[string]int{"beishan-zf": http.StatusForbidden, "grid": http.StatusForbidden, "admin": http.StatusForbidden} {
		if code := s.Login(user).Do("GET", path, nil, nil); code != want {
			t.Errorf("%s: %d, want %d", user, code, want)
		}
	}
	if code := s.Anon().Do("GET", path, nil, nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}
	for _, id := range []string{uuid.NewString(), "not-a-case"} {
		if code := agent.Do("GET", "/api/v1/cases/"+id+"/duplicates", nil, nil); code != http.StatusNotFound {
			t.Errorf("%s: %d", id, code)
		}
	}
}

func TestAlertsAPI(t *testing.T) {
	s, _ := startApp(t)
	agent := s.Login("agent")
	// The app runs the detector at every registration: the tenth report
	// raises the hot spot.
	for i := range 10 {
		register(t, agent, "330106002", "0603", fmt.Sprintf("1381234%d100", i),
			"北山路断桥边上的路灯全都不亮了，晚上一片漆黑，走路很危险。")
	}
	var alerts struct {
		Alerts []duplicates.Alert `json:"alerts"`
	}
	s.Login("supervisor").Do("GET", "/api/v1/alerts", nil, &alerts)
	if len(alerts.Alerts) != 1 || alerts.Alerts[0].Count != 10 {
		t.Fatalf("no hot spot after ten reports: %+v", alerts.Alerts)
	}
	raised := &alerts.Alerts[0]
	type list struct {
		Alerts []duplicates.Alert `json:"alerts"`
	}
	for _, user := range []string{"supervisor", "dispatcher"} {
		var l list
		if code := s.Login(user).Do("GET", "/api/v1/alerts", nil, &l); code != http.StatusOK {
			t.Fatalf("%s: %d", user, code)
		}
		if len(l.Alerts) != 1 || l.Alerts[0].ID != raised.ID || l.Alerts[0].Count != 10 || len(l.Alerts[0].TrackingNos) != 10 {
			t.Fatalf("%s: %+v", user, l.Alerts)
		}
	}
	sup := s.Login("supervisor")
	var l list
	if code := sup.Do("GET", "/api/v1/alerts?since=2999-01-01", nil, &l); code != http.StatusOK || len(l.Alerts) != 0 {
		t.Fatalf("since the future: %d %+v", code, l.Alerts)
	}
	if code := sup.Do("GET", "/api/v1/alerts?since=2020-01-01T00:00:00Z&limit=5", nil, &l); code != http.StatusOK || len(l.Alerts) != 1 {
		t.Fatalf("since 2020: %d %+v", code, l.Alerts)
	}
	for _, q := range []string{"?since=yesterday", "?limit=0", "?limit=x"} {
		if code := sup.Do("GET", "/api/v1/alerts"+q, nil, nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d", q, code)
		}
	}
	for user, want := range map[string]int{"agent": http.StatusForbidden, "beishan-zf": http.StatusForbidden, "grid": http.StatusForbidden} {
		if code := s.Login(user).Do("GET", "/api/v1/alerts", nil, nil); code != want {
			t.Errorf("%s: %d, want %d", user, code, want)
		}
	}
	if code := s.Anon().Do("GET", "/api/v1/alerts", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}
}

type tracked struct {
	State    cases.State `json:"state"`
	Status   string      `json:"status"`
	Reply    string      `json:"reply"`
	Timeline []struct {
		Action string `json:"action"`
		Text   string `json:"text"`
	} `json:"timeline"`
}

func track(t *testing.T, s *apptest.Server, no, phone string) tracked {
	t.Helper()
	var v tracked
	if code := s.Anon().Do("POST", "/api/v1/track", map[string]string{"tracking_no": no, "phone_last4": phone[len(phone)-4:]}, &v); code != http.StatusOK {
		t.Fatalf("track %s: %d", no, code)
	}
	return v
}

func (v tracked) has(action, text string) bool {
	for _, e := range v.Timeline {
		if e.Action == action && (text == "" || e.Text == text) {
			return true
		}
	}
	return false
}

// Every citizen of a merged group is told the outcome: the newer case,
// merged into the older one, follows it, and its citizen sees the
// parent's reply on the tracking page once the parent is archived after
// the callback, or answered at once.
func TestMergedCaseTellsItsCitizenTheOutcome(t *testing.T) {
	s, _ := startApp(t)
	agent, disp, officer := s.Login("agent"), s.Login("dispatcher"), s.Login("beishan-zf")

	older := register(t, agent, "330106002", "0102", "13812345001", "保俶路菜市场门口的水果摊把摊位摆到人行道上，早上买菜的人挤不过去。")
	act(t, disp, older.ID, "dispatch", map[string]any{"lead": "330106002-ZF", "reason": "属地"})
	newer := register(t, agent, "330106002", "0102", "13812345002", "北山街道保俶路农贸市场门口水果店占道经营，货架摆满人行道。")

	var dups struct {
		Candidates []duplicates.Candidate `json:"candidates"`
	}
	agent.Do("GET", "/api/v1/cases/"+newer.ID.String()+"/duplicates", nil, &dups)
	if len(dups.Candidates) == 0 || dups.Candidates[0].ID != older.ID || !dups.Candidates[0].CreatedAt.Before(createdAt(t, s, newer.ID)) {
		t.Fatalf("the older case is not the first candidate: %+v", dups.Candidates)
	}
	// The newer becomes a child of the older (by its tracking number).
	child := act(t, disp, newer.ID, "merge", map[string]any{"parent": older.TrackingNo, "reason": "同一事项，并入 " + older.TrackingNo})
	if child.State != cases.Merged || child.ParentID == nil || *child.ParentID != older.ID {
		t.Fatalf("after merge: %+v", child)
	}
	v := track(t, s, newer.TrackingNo, "13812345002")
	if v.State != cases.Merged || v.Status != cases.Merged.PublicLabel() || !v.has("merge", "") {
		t.Fatalf("child while the parent is worked on: %+v", v)
	}

	act(t, officer, older.ID, "sign", nil)
	reply := "已责令保俶路菜市场门口水果店将货架撤回店内，并将每日巡查。"
	act(t, officer, older.ID, "reply", map[string]any{"reply": reply})
	if v := track(t, s, newer.TrackingNo, "13812345002"); v.State != cases.Merged || v.Reply != "" {
		t.Fatalf("the child shows the reply before review: %+v", v)
	}
	act(t, agent, older.ID, "approve_review", nil)
	if out := act(t, agent, older.ID, "callback", map[string]any{"satisfaction": "satisfied", "solved": true, "reason": "满意"}); out.State != cases.Archived {
		t.Fatalf("parent after callback: %s", out.State)
	}
	v = track(t, s, newer.TrackingNo, "13812345002")
	if v.State != cases.Archived || v.Reply != reply || !v.has("follow_parent", reply) {
		t.Fatalf("the child's citizen is not told the outcome: %+v", v)
	}
	// The merged child's own citizen did not rate; the parent's did.
	if p := track(t, s, older.TrackingNo, "13812345001"); p.State != cases.Archived || p.Reply != reply {
		t.Fatalf("parent: %+v", p)
	}

	// Answered at first contact: the child gets the answer.
	q1 := register(t, agent, "330106002", "1301", "13812345003", "北山街道的便民服务中心周六上午开门吗？")
	q2 := register(t, agent, "330106002", "1301", "13812345004", "北山街道便民服务中心周六上午办不办公？")
	act(t, agent, q2.ID, "merge", map[string]any{"parent": q1.ID.String(), "reason": "同一咨询"})
	answer := "北山街道便民服务中心周六上午 9:00—12:00 开放。"
	act(t, agent, q1.ID, "answer", map[string]any{"reply": answer})
	if v := track(t, s, q2.TrackingNo, "13812345004"); v.State != cases.Archived || v.Reply != answer || !v.has("follow_parent", answer) {
		t.Fatalf("the answered parent's child: %+v", v)
	}
}

func createdAt(t *testing.T, s *apptest.Server, id uuid.UUID) time.Time {
	t.Helper()
	c, err := s.App.Cases.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.CreatedAt
}
