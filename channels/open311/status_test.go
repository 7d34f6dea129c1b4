package open311_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"yici/cases"
	"yici/channels/open311"
	"yici/internal/apptest"
	"yici/internal/auth"
)

// The table covers every state once, with statuses from the two sets.
func TestStatusTable(t *testing.T) {
	extended := []string{"open", "closed", "fixed", "in_progress", "action_scheduled", "investigating", "duplicate",
		"not_councils_responsibility", "no_further_action", "internal_referral", "reopen", "for_triage"}
	seen := map[cases.State]int{}
	for _, s := range open311.Statuses {
		seen[s.State]++
		if !slices.Contains(extended, s.Extended) {
			t.Errorf("%s: extended status %q is not one of mySociety's", s.State, s.Extended)
		}
		if s.Basic() != "open" && s.Basic() != "closed" {
			t.Errorf("%s: %q", s.State, s.Basic())
		}
		if open311.StatusOf(s.State) != s {
			t.Errorf("StatusOf(%s)", s.State)
		}
	}
	for _, st := range cases.States {
		if seen[st] != 1 {
			t.Errorf("state %s appears %d times", st, seen[st])
		}
	}
	if len(open311.Statuses) != len(cases.States) {
		t.Errorf("%d statuses for %d states", len(open311.Statuses), len(cases.States))
	}
	o, c := open311.StatesOf(true), open311.StatesOf(false)
	if len(o)+len(c) != len(cases.States) || len(o) == 0 || len(c) == 0 {
		t.Errorf("open %v closed %v", o, c)
	}
	if got := open311.StatusOf("no_such_state"); !got.Open {
		t.Errorf("an unknown state reads %v", got)
	}
}

// docs/open311.md shows the same table as open311.Statuses, row for row.
func TestStatusTableMatchesDocs(t *testing.T) {
	b, err := os.ReadFile("../../docs/open311.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Status\n")
	if !ok {
		t.Fatal("docs/open311.md has no Status section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var rows [][]string
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.Trim(strings.TrimSpace(c), "`"))
		}
		rows = append(rows, cells)
	}
	if len(rows) != len(open311.Statuses) {
		t.Fatalf("the docs list %d states, the code %d", len(rows), len(open311.Statuses))
	}
	for i, s := range open311.Statuses {
		if r := rows[i]; r[0] != string(s.State) || r[2] != s.Basic() || r[3] != s.Extended {
			t.Errorf("row %d: docs %v, code %s %s %s", i+1, r, s.State, s.Basic(), s.Extended)
		}
	}
}

// update is one entry of servicerequestupdates.
type update struct{ id, no, status, at, desc string }

func (e *env) updates(t testing.TB, q string) []update {
	t.Helper()
	a := e.get(t, "/open311/v2/servicerequestupdates.json?"+q)
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var out []update
	for _, u := range a.jsonArray(t) {
		if len(u) != 6 || str(t, u, "media_url") != "" || !isW3C(u["updated_datetime"]) {
			t.Fatalf("update %v", u)
		}
		out = append(out, update{str(t, u, "update_id"), str(t, u, "service_request_id"), str(t, u, "status"), str(t, u, "updated_datetime"), str(t, u, "description")})
	}
	return out
}

// A request walks the lifecycle; at every step GET requests/{id} and
// servicerequestupdates read the state through the one table.
func TestLifecycleStatuses(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{})
	ctx := context.Background()
	officer := e.s.Login("wenxin-zf")
	agent := e.s.Login("agent")
	disp := e.s.Login("dispatcher")

	post := func(form url.Values) string {
		t.Helper()
		a := e.post(t, "/open311/v2/requests.json", form)
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		return str(t, a.jsonArray(t)[0], "service_request_id")
	}
	act := func(cl *apptest.Client, no, action string, body map[string]any) {
		t.Helper()
		if code := cl.Do("POST", "/api/v1/cases/"+e.caseOf(t, no).ID.String()+"/"+action, body, nil); code != 200 {
			t.Fatalf("%s %s: %d", no, action, code)
		}
	}
	check := func(no string, want cases.State) {
		t.Helper()
		if c := e.caseOf(t, no); c.State != want {
			t.Fatalf("%s is %s, want %s", no, c.State, want)
		}
		st := open311.StatusOf(want)
		r := e.get(t, "/open311/v2/requests/"+no+".json?extensions=true").jsonArray(t)[0]
		ea := r["extended_attributes"].(map[string]any)
		if r["status"] != st.Basic() || ea["detailed_status"] != st.Extended {
			t.Fatalf("%s in %s reads %v / %v, want %s / %s", no, want, r["status"], ea["detailed_status"], st.Basic(), st.Extended)
		}
		x := e.get(t, "/open311/v2/requests/"+no+".xml").xmlDoc(t).Children[0]
		if x.text("status") != st.Basic() {
			t.Fatalf("xml status %q", x.text("status"))
		}
		if st.Open {
			if ids := ids(t, e.get(t, "/open311/v2/requests.json?status=open")); !slices.Contains(ids, no) {
				t.Fatalf("%s (%s) not among the open ones", no, want)
			}
		} else if ids := ids(t, e.get(t, "/open311/v2/requests.json?status=closed")); !slices.Contains(ids, no) {
			t.Fatalf("%s (%s) not among the closed ones", no, want)
		}
		us := e.updates(t, "service_request_id="+no)
		if len(us) > 0 && us[len(us)-1].status != st.Extended {
			t.Fatalf("last update of %s: %+v, want %s", no, us[len(us)-1], st.Extended)
		}
	}

	main := post(e.form("device_id", "walk"))
	check(main, cases.PendingSign) // dispatched at once: triage places 文新街道
	act(officer, main, "sign", map[string]any{})
	check(main, cases.InProgress)
	act(officer, main, "suspend", map[string]any{"reason": "等待店主回国后约谈（约谈对象 李某）"})
	check(main, cases.Suspended)
	act(officer, main, "resume", map[string]any{})
	check(main, cases.InProgress)
	act(officer, main, "reply", map[string]any{"reply": "已责令该店加装油烟净化设备，复查合格。"})
	check(main, cases.PendingReview)
	act(agent, main, "approve_review", map[string]any{})
	check(main, cases.PendingCallback)
	act(agent, main, "callback", map[string]any{"satisfaction": "satisfied", "solved": true})
	check(main, cases.Archived)

	r := e.get(t, "/open311/v2/requests/"+main+".json").jsonArray(t)[0]
	c := e.caseOf(t, main)
	if r["status_notes"] != "已责令该店加装油烟净化设备，复查合格。" || r["expected_datetime"] != nil || c.ClosedAt == nil ||
		r["updated_datetime"] != c.ClosedAt.In(time.FixedZone("", 8*3600)).Format(time.RFC3339) {
		t.Fatalf("archived: %v (closed %v)", r, c.ClosedAt)
	}

	returned := post(e.form("device_id", "walk", "description", "文新街道丰潭路另一家店油烟也很大"))
	act(officer, returned, "request_return", map[string]any{"reason": "该店属于翠苑街道"})
	check(returned, cases.ReturnRequested)

	queued := post(e.form("lat", "\x00delete", "long", "\x00delete", "address_string", "小区门口", "description", "楼下有家店油烟很大"))
	check(queued, cases.PendingDispatch)

	var reg struct {
		TrackingNo string `json:"tracking_no"`
	}
	if code := agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "category": "0104", "content": "文新街道丰潭路烧烤店油烟（同一件事）",
		"citizen_name": "钱七", "citizen_phone": "13700001111"}, &reg); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	check(reg.TrackingNo, cases.Registered)
	act(disp, reg.TrackingNo, "merge", map[string]any{"parent": returned, "reason": "同一事项"})
	check(reg.TrackingNo, cases.Merged)
	if r := e.get(t, "/open311/v2/requests/"+reg.TrackingNo+".json").jsonArray(t)[0]; !strings.Contains(str(t, r, "status_notes"), returned) {
		t.Fatalf("merged: %v", r)
	}
	// The demo's consultation answered at first contact.
	var answered string
	for _, r := range e.get(t, "/open311/v2/requests.json?service_code=0402").jsonArray(t) {
		answered = str(t, r, "service_request_id")
	}
	check(answered, cases.Answered)

	t.Run("servicerequestupdates", func(t *testing.T) {
		us := e.updates(t, "service_request_id="+main)
		var statuses []string
		for i, u := range us {
			if u.no != main || !strings.HasPrefix(u.id, main+"-") || (i > 0 && u.at < us[i-1].at) {
				t.Fatalf("update %d: %+v", i, u)
			}
			statuses = append(statuses, u.status)
		}
		want := []string{"action_scheduled", "in_progress", "action_scheduled", "in_progress", "in_progress", "fixed", "closed"}
		if !slices.Equal(statuses, want) {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
		if us[2].desc != "暂停办理：等待店主回国后约谈（约谈对象 李某）" || us[4].desc != "已责令该店加装油烟净化设备，复查合格。" || us[1].desc != "文新街道综合执法平台已签收，正在办理" {
			t.Fatalf("descriptions %+v", us)
		}

		now := time.Now()
		w := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
		recent := e.updates(t, "start_date="+w(now.Add(-time.Hour))+"&end_date="+w(now.Add(time.Hour)))
		n := 0
		for _, u := range recent {
			if u.no == main {
				n++
			}
		}
		if n != len(want) {
			t.Fatalf("%d updates of %s in the last hour, want %d", n, main, len(want))
		}
		if ids := e.updates(t, ""); len(ids) != len(recent) {
			t.Fatalf("default window: %d, last hour %d", len(ids), len(recent))
		}
		if past := e.updates(t, "start_date="+w(now.Add(-10*24*time.Hour))+"&end_date="+w(now.Add(-9*24*time.Hour))); len(past) != 0 {
			t.Fatalf("updates ten days ago: %v", past)
		}
		// Dates with ids: both apply.
		if none := e.updates(t, "service_request_id="+main+"&end_date="+w(now.Add(-24*time.Hour))); len(none) != 0 {
			t.Fatalf("%v", none)
		}
		if page := e.updates(t, "service_request_id="+main+"&page_size=2&page=2"); len(page) != 2 || page[0].id != us[2].id {
			t.Fatalf("page 2: %+v", page)
		}
		bothFormats(t, func(t *testing.T, f string) {
			e.get(t, "/open311/v2/servicerequestupdates."+f+"?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z").
				specError(t, f, http.StatusBadRequest, "may not span more than 90 days")
		})
		x := e.get(t, "/open311/v2/servicerequestupdates.xml?service_request_id="+main).xmlDoc(t)
		if x.XMLName.Local != "service_request_updates" || len(x.Children) != len(want) || x.Children[0].XMLName.Local != "request_update" ||
			!slices.Equal(x.Children[0].names(), []string{"update_id", "service_request_id", "status", "updated_datetime", "description", "media_url"}) {
			t.Fatalf("%s", e.get(t, "/open311/v2/servicerequestupdates.xml?service_request_id="+main).body)
		}
	})

	t.Run("private updates keep no typed text", func(t *testing.T) {
		sys := auth.SystemActor("测试")
		c, _, err := e.s.App.Cases.Create(ctx, sys, cases.NewCase{Kind: cases.Report, Category: "0101", Content: "举报某人违建",
			TownshipCode: "330106013", Channel: cases.ChannelPhone, ChannelRef: "private-updates"})
		if err != nil {
			t.Fatal(err)
		}
		act(disp, c.TrackingNo, "dispatch", map[string]any{"lead": "330106013-ZF"})
		act(officer, c.TrackingNo, "sign", map[string]any{})
		act(officer, c.TrackingNo, "suspend", map[string]any{"reason": "举报人张某要求暂缓"})
		for _, u := range e.updates(t, "service_request_id="+c.TrackingNo) {
			if strings.Contains(u.desc, "张某") {
				t.Fatalf("private update shows the reason: %+v", u)
			}
		}
		a := e.get(t, "/open311/v2/requests/"+c.TrackingNo+".json?extensions=true")
		if strings.Contains(string(a.body), "张某") {
			t.Fatalf("private notes show the reason: %s", a.body)
		}
	})
}
