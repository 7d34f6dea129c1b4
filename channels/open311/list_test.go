package open311_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"yici/cases"
	"yici/channels/open311"
	"yici/internal/auth"
)

// ids lists the service_request_id of a JSON list answer.
func ids(t testing.TB, a answer) []string {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	var out []string
	for _, r := range a.jsonArray(t) {
		out = append(out, str(t, r, "service_request_id"))
	}
	return out
}

func TestListRequests(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{})
	ctx := context.Background()
	db := e.s.App.Env.Pool
	sys := auth.SystemActor("测试")
	mk := func(ref, category, content string) *cases.Case {
		c, _, err := e.s.App.Cases.Create(ctx, sys, cases.NewCase{Kind: cases.Complaint, Category: category, Content: content,
			Channel: cases.ChannelPhone, ChannelRef: ref})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := mk("old", "0104", "一百天前的油烟投诉")
	oldAt := time.Now().Add(-100 * 24 * time.Hour)
	if _, err := db.Exec(ctx, `UPDATE cases SET created_at = $1 WHERE id = $2`, oldAt, old.ID); err != nil {
		t.Fatal(err)
	}
	hidden := mk("nuisance", open311.UnlistedCategory, "无效来电：对方一直不说话")
	recent := mk("recent", "0602", "出租车拒载")

	all := ids(t, e.get(t, "/open311/v2/requests.json"))
	t.Run("default: the last 90 days, newest first", func(t *testing.T) {
		if len(all) < 6 || all[0] != recent.TrackingNo || slices.Contains(all, old.TrackingNo) || slices.Contains(all, hidden.TrackingNo) {
			t.Fatalf("%v (recent %s, old %s, hidden %s)", all, recent.TrackingNo, old.TrackingNo, hidden.TrackingNo)
		}
		list := e.get(t, "/open311/v2/requests.json").jsonArray(t)
		for i := 1; i < len(list); i++ {
			if str(t, list[i-1], "requested_datetime") < str(t, list[i], "requested_datetime") {
				t.Fatalf("not newest first at %d", i)
			}
		}
		for _, r := range list {
			for _, k := range requestFields {
				if _, ok := r[k]; !ok {
					t.Fatalf("%s has no %s", r["service_request_id"], k)
				}
			}
			if !isW3C(r["requested_datetime"]) || !isW3C(r["updated_datetime"]) || (r["expected_datetime"] != nil && !isW3C(r["expected_datetime"])) {
				t.Fatalf("times %v", r)
			}
			str(t, r, "service_code")
			if s := str(t, r, "status"); s != "open" && s != "closed" {
				t.Fatalf("status %q", s)
			}
		}
		// Unlisted, but found by its id.
		if got := ids(t, e.get(t, "/open311/v2/requests/"+hidden.TrackingNo+".json")); !slices.Equal(got, []string{hidden.TrackingNo}) {
			t.Fatalf("by id: %v", got)
		}
		n := e.get(t, "/open311/v2/requests.xml").xmlDoc(t)
		if n.XMLName.Local != "service_requests" || len(n.Children) != len(all) {
			t.Fatalf("%s %d", n.XMLName.Local, len(n.Children))
		}
		for _, r := range n.Children {
			if r.XMLName.Local != "request" || !slices.Equal(r.names(), requestFields) {
				t.Fatalf("%v", r.names())
			}
		}
	})

	t.Run("status", func(t *testing.T) {
		open := ids(t, e.get(t, "/open311/v2/requests.json?status=open"))
		closed := ids(t, e.get(t, "/open311/v2/requests.json?status=closed"))
		if len(open) == 0 || len(closed) == 0 || len(open)+len(closed) != len(all) {
			t.Fatalf("open %d + closed %d != %d", len(open), len(closed), len(all))
		}
		for _, r := range e.get(t, "/open311/v2/requests.json?status=closed").jsonArray(t) {
			if r["status"] != "closed" {
				t.Fatalf("%v", r)
			}
		}
		if both := ids(t, e.get(t, "/open311/v2/requests.json?status=open,closed")); len(both) != len(all) {
			t.Fatalf("open,closed: %d", len(both))
		}
		if again := ids(t, e.get(t, "/open311/v2/requests.json?status=open&status=closed&status=")); len(again) != len(all) {
			t.Fatalf("repeated: %d", len(again))
		}
		bothFormats(t, func(t *testing.T, f string) {
			e.get(t, "/open311/v2/requests."+f+"?status=fixed").specError(t, f, http.StatusBadRequest, "status must be open or closed")
		})
	})

	t.Run("service_code", func(t *testing.T) {
		got := ids(t, e.get(t, "/open311/v2/requests.json?service_code=0602"))
		if !slices.Equal(got, []string{recent.TrackingNo}) {
			t.Fatalf("%v", got)
		}
		two := ids(t, e.get(t, "/open311/v2/requests.json?service_code=0602,0402"))
		rep := ids(t, e.get(t, "/open311/v2/requests.json?service_code=0602&service_code=0402"))
		if len(two) != 2 || !slices.Equal(two, rep) {
			t.Fatalf("%v %v", two, rep)
		}
		e.get(t, "/open311/v2/requests.json?service_code=9999").specError(t, "json", http.StatusBadRequest, "service_code 9999 is not a known service")
	})

	t.Run("service_request_id overrides the rest", func(t *testing.T) {
		q := "service_request_id=" + old.TrackingNo + "," + recent.TrackingNo + ",123,," + hidden.TrackingNo +
			"&status=closed&service_code=0101&start_date=2001-01-01T00:00:00Z&end_date=2001-01-02T00:00:00Z&page_size=1"
		if got := ids(t, e.get(t, "/open311/v2/requests.json?"+q)); !slices.Equal(got, []string{recent.TrackingNo, hidden.TrackingNo, old.TrackingNo}) {
			t.Fatalf("%v", got)
		}
	})

	t.Run("90-day window", func(t *testing.T) {
		w3 := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339)) }
		got := ids(t, e.get(t, "/open311/v2/requests.json?start_date="+w3(oldAt.Add(-time.Hour))+"&end_date="+w3(oldAt.Add(time.Hour))))
		if !slices.Equal(got, []string{old.TrackingNo}) {
			t.Fatalf("%v", got)
		}
		// start only: 90 days from it; end only: 90 days up to it.
		if got := ids(t, e.get(t, "/open311/v2/requests.json?start_date="+w3(oldAt.Add(-time.Hour)))); !slices.Equal(got, []string{old.TrackingNo}) {
			t.Fatalf("start only: %v", got)
		}
		if got := ids(t, e.get(t, "/open311/v2/requests.json?end_date="+w3(oldAt.Add(time.Hour)))); !slices.Equal(got, []string{old.TrackingNo}) {
			t.Fatalf("end only: %v", got)
		}
		// An offset's "+" sent unescaped arrives as a space; a bare date is midnight in China.
		cst := time.FixedZone("CST", 8*3600)
		raw := oldAt.In(cst).Add(-time.Hour).Format("2006-01-02T15:04:05") + "+08:00"
		if got := ids(t, e.get(t, "/open311/v2/requests.json?start_date="+raw+"&end_date="+w3(oldAt.Add(time.Hour)))); !slices.Equal(got, []string{old.TrackingNo}) {
			t.Fatalf("unescaped +: %v", got)
		}
		day := oldAt.In(cst).Format("2006-01-02")
		next := oldAt.In(cst).Add(24 * time.Hour).Format("2006-01-02")
		if got := ids(t, e.get(t, "/open311/v2/requests.json?start_date="+day+"&end_date="+next)); !slices.Equal(got, []string{old.TrackingNo}) {
			t.Fatalf("dates: %v", got)
		}
		// 2026-01-01 to 2026-04-01 is exactly 90 days: allowed.
		if a := e.get(t, "/open311/v2/requests.json?start_date=2026-01-01T00:00:00Z&end_date=2026-04-01T00:00:00Z"); a.status != 200 {
			t.Fatalf("90 days: %d %s", a.status, a.body)
		}
		bothFormats(t, func(t *testing.T, f string) {
			e.get(t, "/open311/v2/requests."+f+"?start_date=2026-01-01T00:00:00Z&end_date=2026-04-01T00:00:01Z").
				specError(t, f, http.StatusBadRequest, "may not span more than 90 days")
			e.get(t, "/open311/v2/requests."+f+"?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z").
				specError(t, f, http.StatusBadRequest, "end_date must not be before start_date")
			e.get(t, "/open311/v2/requests."+f+"?start_date=yesterday").specError(t, f, http.StatusBadRequest, "start_date must be a W3C date-time")
			e.get(t, "/open311/v2/requests."+f+"?end_date=2026-13-01").specError(t, f, http.StatusBadRequest, "end_date must be a W3C date-time")
		})
		// Empty dates are missing ones: the default window.
		if got := ids(t, e.get(t, "/open311/v2/requests.json?start_date=&end_date=&status=&service_code=&page=&page_size=")); !slices.Equal(got, all) {
			t.Fatalf("empty parameters: %v", got)
		}
	})

	t.Run("page and page_size", func(t *testing.T) {
		p1 := ids(t, e.get(t, "/open311/v2/requests.json?page_size=2"))
		p2 := ids(t, e.get(t, "/open311/v2/requests.json?page_size=2&page=2"))
		if !slices.Equal(p1, all[:2]) || !slices.Equal(p2, all[2:4]) {
			t.Fatalf("%v %v of %v", p1, p2, all)
		}
		beyond := e.get(t, "/open311/v2/requests.json?page=50&page_size=1000")
		if strings.TrimSpace(string(beyond.body)) != "[]" {
			t.Fatalf("beyond the end: %s", beyond.body)
		}
		if n := e.get(t, "/open311/v2/requests.xml?page=50").xmlDoc(t); n.XMLName.Local != "service_requests" || len(n.Children) != 0 {
			t.Fatalf("%+v", n)
		}
		for _, q := range []string{"page_size=0", "page_size=1001", "page_size=x", "page=0", "page=-1", "page=1000000"} {
			if a := e.get(t, "/open311/v2/requests.json?"+q); a.status != http.StatusBadRequest {
				t.Errorf("%s: %d", q, a.status)
			}
		}
		e.get(t, "/open311/v2/requests.json?page_size=1001").specError(t, "json", http.StatusBadRequest, "page_size must be an integer from 1 to 1000")
	})

	t.Run("extensions", func(t *testing.T) {
		list := e.get(t, "/open311/v2/requests.json?extensions=true").jsonArray(t)
		for _, r := range list {
			ea, ok := r["extended_attributes"].(map[string]any)
			notes, ok2 := r["notes"].([]any)
			if !ok || !ok2 || len(notes) == 0 || str(t, ea, "channel") == "" || str(t, ea, "detailed_status") == "" {
				t.Fatalf("%v", r)
			}
			for _, n := range notes {
				n := n.(map[string]any)
				if !isW3C(n["datetime"]) || str(t, n, "description") == "" || str(t, n, "type") == "" {
					t.Fatalf("note %v", n)
				}
			}
			if first := notes[0].(map[string]any); first["type"] != "register" {
				t.Fatalf("first note %v", first)
			}
		}
		x := e.get(t, "/open311/v2/requests.xml?extensions=true").xmlDoc(t)
		r := x.Children[0]
		notes, _ := r.child("notes")
		ext, _ := r.child("extended_attributes")
		if len(notes.Children) == 0 || notes.Children[0].XMLName.Local != "note" ||
			!slices.Equal(notes.Children[0].names(), []string{"datetime", "description", "type"}) || ext.text("channel") != "phone" {
			t.Fatalf("%v %+v", r.names(), notes)
		}
		for _, r := range e.get(t, "/open311/v2/requests.json?extensions=false").jsonArray(t) {
			if _, ok := r["notes"]; ok {
				t.Fatal("notes with extensions=false")
			}
		}
	})

	t.Run("at most 1000 a page", func(t *testing.T) {
		if _, err := db.Exec(ctx, `INSERT INTO cases (id, tracking_no, kind, title, content, channel, state, policy, created_at, updated_at, category)
			SELECT gen_random_uuid(), 'bulk' || i, '咨询', '批量', '批量咨询 ' || i, 'web', 'answered', '{}', now() - make_interval(secs => i), now(), '0402'
			FROM generate_series(1, 1005) i`); err != nil {
			t.Fatal(err)
		}
		first := e.get(t, "/open311/v2/requests.json?service_code=0402")
		var l []json.RawMessage
		if err := json.Unmarshal(first.body, &l); err != nil || len(l) != 1000 {
			t.Fatalf("%d results, %v", len(l), err)
		}
		second := ids(t, e.get(t, "/open311/v2/requests.json?service_code=0402&page=2"))
		if len(second) != 1005+1-1000 { // the demo's 0402 answer as well
			t.Fatalf("page 2: %d", len(second))
		}
	})

	t.Run("the list query uses the indexes", func(t *testing.T) {
		conn, err := db.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, `SET enable_seqscan = off`); err != nil {
			t.Fatal(err)
		}
		defer conn.Exec(ctx, `RESET enable_seqscan`)
		now := time.Now()
		for _, withCodes := range []bool{false, true} {
			for _, states := range [][]string{open311.StatesOf(true), open311.StatesOf(false), append(open311.StatesOf(true), open311.StatesOf(false)...)} {
				args := []any{now.Add(-90 * 24 * time.Hour), now, 1000, 0}
				if withCodes {
					args = append(args, []string{"0104"})
				}
				plan := explain(t, ctx, conn, open311.ListSQL(states, withCodes), args...)
				if strings.Contains(plan, "Seq Scan on cases") || strings.Count(plan, "cases_state") < len(states) {
					t.Fatalf("the list query does not use cases_state for every state:\n%s", plan)
				}
			}
		}
		plan := explain(t, ctx, conn, open311.BoundSQL, now)
		if strings.Contains(plan, "Seq Scan") || !strings.Contains(plan, "case_events_pkey") {
			t.Fatalf("the event bound does not use the primary key:\n%s", plan)
		}
	})
}
