package open311_test

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"yici/channels"
	"yici/channels/open311"
)

func TestIdempotentRetries(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{})
	ctx := context.Background()
	idOf := func(t *testing.T, a answer) string {
		t.Helper()
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		return str(t, a.jsonArray(t)[0], "service_request_id")
	}
	count := func(t *testing.T, content string) int {
		t.Helper()
		var n int
		if err := e.s.App.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE channel = 'open311' AND content = $1`, content).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("same request, same device", func(t *testing.T) {
		f := e.form("device_id", "d1", "description", "重试：丰潭路油烟")
		first := e.post(t, "/open311/v2/requests.json", f)
		second := e.post(t, "/open311/v2/requests.xml", f)
		if first.header.Get("Idempotent-Replayed") != "" || second.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay headers %q %q", first.header.Get("Idempotent-Replayed"), second.header.Get("Idempotent-Replayed"))
		}
		if id := idOf(t, first); second.xmlDoc(t).Children[0].text("service_request_id") != id || count(t, "重试：丰潭路油烟") != 1 {
			t.Fatalf("a retry made a second case")
		}
		// Another device, another key: other requests.
		if idOf(t, e.post(t, "/open311/v2/requests.json", e.form("device_id", "d2", "description", "重试：丰潭路油烟"))) == idOf(t, first) {
			t.Fatal("another device got the same case")
		}
		_, other, err := e.s.App.Keys.Create(ctx, channels.KeyOpen311, "另一个客户端", "")
		if err != nil {
			t.Fatal(err)
		}
		if idOf(t, e.post(t, "/open311/v2/requests.json", e.form("api_key", other, "device_id", "d1", "description", "重试：丰潭路油烟"))) == idOf(t, first) {
			t.Fatal("another key got the same case")
		}
		if n := count(t, "重试：丰潭路油烟"); n != 3 {
			t.Fatalf("%d cases", n)
		}
		// A changed description or place is another request.
		if idOf(t, e.post(t, "/open311/v2/requests.json", e.form("device_id", "d1", "description", "重试：丰潭路油烟", "lat", "30.2875"))) == idOf(t, first) {
			t.Fatal("another place, same case")
		}
	})

	t.Run("client token", func(t *testing.T) {
		a := idOf(t, e.post(t, "/open311/v2/requests.json", e.form("device_id", "d1", "description", "令牌：第一次"), "Idempotency-Key", "tok-1"))
		// The client says it is the same request, whatever the content now.
		b := idOf(t, e.post(t, "/open311/v2/requests.json", e.form("device_id", "d1", "description", "令牌：第二次"), "Idempotency-Key", "tok-1"))
		c := idOf(t, e.post(t, "/open311/v2/requests.json", e.form("device_id", "d1", "description", "令牌：第二次", "attribute[client_token]", "tok-1")))
		d := idOf(t, e.post(t, "/open311/v2/requests.json", e.form("device_id", "d1", "description", "令牌：第一次"), "Idempotency-Key", "tok-2"))
		if a != b || a != c || a == d {
			t.Fatalf("%s %s %s %s", a, b, c, d)
		}
		ref := e.caseOf(t, a).ChannelRef
		if ref != e.key.ID.String()+":d1:tok-1" {
			t.Fatalf("reference %q", ref)
		}
	})

	t.Run("16 concurrent retries make one case", func(t *testing.T) {
		for _, token := range []string{"", "concurrent-token"} {
			desc := "并发重试：丰潭路油烟" + token
			f := e.form("device_id", "d-concurrent", "description", desc)
			var wg sync.WaitGroup
			got := make([]answer, 16)
			for i := range got {
				wg.Add(1)
				go func() {
					defer wg.Done()
					got[i] = e.post(t, "/open311/v2/requests.json", url.Values(f), "Idempotency-Key", token)
				}()
			}
			wg.Wait()
			first := idOf(t, got[0])
			replayed := 0
			for _, a := range got {
				if idOf(t, a) != first {
					t.Fatalf("token %q: %s and %s", token, first, idOf(t, a))
				}
				if a.header.Get("Idempotent-Replayed") == "true" {
					replayed++
				}
			}
			if n := count(t, desc); n != 1 || replayed != 15 {
				t.Fatalf("token %q: %d cases, %d replays", token, n, replayed)
			}
			if c := e.caseOf(t, first); token != "" && !strings.HasSuffix(c.ChannelRef, ":"+token) {
				t.Fatalf("reference %q", c.ChannelRef)
			}
		}
	})
}

// The content reference includes the day: a retry seconds after midnight
// still finds the case of 23:59:50; the same report the next morning is a
// new case (a recurring problem is counted again).
func TestRetryAcrossMidnight(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	cst := time.FixedZone("CST", 8*3600)
	midnight := time.Date(2026, 11, 28, 0, 0, 0, 0, cst)
	now := midnight.Add(-10 * time.Second)
	setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }
	e := start(t, open311.Options{Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	ctx := context.Background()
	post := func(desc string) answer {
		t.Helper()
		a := e.post(t, "/open311/v2/requests.json", e.form("device_id", "night", "description", desc))
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		return a
	}
	// The store stamps cases with the real clock; pin them to the handler's.
	pin := func(a answer, at time.Time) string {
		no := str(t, a.jsonArray(t)[0], "service_request_id")
		if _, err := e.s.App.Env.Pool.Exec(ctx, `UPDATE cases SET created_at = $1 WHERE tracking_no = $2`, at, no); err != nil {
			t.Fatal(err)
		}
		return no
	}

	first := pin(post("半夜烧烤油烟"), now)
	setNow(midnight.Add(5 * time.Second))
	retry := post("半夜烧烤油烟")
	if got := str(t, retry.jsonArray(t)[0], "service_request_id"); got != first || retry.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("retry across midnight: %s, first %s", got, first)
	}
	setNow(midnight.Add(20 * time.Hour))
	if next := str(t, post("半夜烧烤油烟").jsonArray(t)[0], "service_request_id"); next == first {
		t.Fatal("the same report the next evening was taken for a retry")
	}

	// Created three hours before midnight: not a retry any more.
	setNow(midnight.Add(-3 * time.Hour))
	early := pin(post("傍晚的油烟"), midnight.Add(-3*time.Hour))
	setNow(midnight.Add(10 * time.Minute))
	if again := str(t, post("傍晚的油烟").jsonArray(t)[0], "service_request_id"); again == early {
		t.Fatal("a report of three hours ago was taken for a retry")
	}
}
