package integration

import (
	"net/http"
	"testing"

	"yici/cases"
)

type queue struct {
	Items []cases.QueueItem `json:"items"`
}

func TestQueuesAndTracking(t *testing.T) {
	s := startServer(t)
	agent, disp, zf, other := s.Login("agent"), s.Login("dispatcher"), s.Login("wenxin-zf"), s.Login("beishan-zf")
	var q queue
	if code := agent.Do("GET", "/api/v1/queues/dispatch", nil, &q); code != 200 || len(q.Items) == 0 {
		t.Fatalf("dispatch queue: %d %d", code, len(q.Items))
	}
	if code := agent.Do("GET", "/api/v1/queues/returns", nil, nil); code != http.StatusForbidden {
		t.Fatalf("agent sees the returns queue: %d", code)
	}
	if code := zf.Do("GET", "/api/v1/queues/dispatch", nil, nil); code != http.StatusForbidden {
		t.Fatalf("officer sees the dispatch queue: %d", code)
	}
	// A unit's queue: the demo's 文新 cases, the most pressing first, with lights.
	zf.Do("GET", "/api/v1/queues/unit", nil, &q)
	if len(q.Items) == 0 {
		t.Fatal("文新 has no cases")
	}
	for _, it := range q.Items {
		if it.Light == "" || it.DueAt == nil && it.SignDue == nil {
			t.Errorf("item without deadline or light: %+v", it)
		}
	}
	var mine queue
	other.Do("GET", "/api/v1/queues/unit", nil, &mine)
	for _, it := range mine.Items {
		for _, z := range q.Items {
			if it.ID == z.ID {
				t.Fatalf("北山 sees 文新's case %s", it.TrackingNo)
			}
		}
	}
	// The demo case awaiting callback: the citizen rates it on the tracking API.
	var cb queue
	disp.Do("GET", "/api/v1/queues/callbacks", nil, &cb)
	if len(cb.Items) == 0 {
		t.Fatal("no case awaiting callback")
	}
	c, _ := s.App.Cases.Get(t.Context(), cb.Items[0].ID)
	last4 := cases.PhoneLast4(c.CitizenPhone)
	anon := s.Anon()
	if code := anon.Do("POST", "/api/v1/track/rating", map[string]any{"tracking_no": c.TrackingNo, "phone_last4": "0000", "satisfaction": "satisfied"}, nil); code != http.StatusNotFound {
		t.Fatalf("rating with wrong digits: %d", code)
	}
	var v cases.PublicView
	if code := anon.Do("POST", "/api/v1/track/rating", map[string]any{"tracking_no": c.TrackingNo, "phone_last4": last4, "satisfaction": "satisfied", "solved": true}, &v); code != 200 || v.State != cases.Archived {
		t.Fatalf("rating: %d %+v", code, v)
	}
	if code := anon.Do("POST", "/api/v1/track/rating", map[string]any{"tracking_no": c.TrackingNo, "phone_last4": last4, "satisfaction": "dissatisfied"}, nil); code != http.StatusConflict {
		t.Fatalf("rating twice: %d", code)
	}
	// Enumeration is throttled, whatever the numbers.
	throttled := false
	for i := 0; i < 40 && !throttled; i++ {
		code := anon.Do("POST", "/api/v1/track", map[string]any{"tracking_no": cases.TrackingNoFrom(c.CreatedAt, int64(i)), "phone_last4": "1234"}, nil)
		throttled = code == http.StatusTooManyRequests
	}
	if !throttled {
		t.Fatal("40 lookups from one address were not throttled")
	}
}
