package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"yici/cases"
	"yici/console"
	"yici/internal/app"
	"yici/internal/apptest"
	"yici/internal/auth"
)

// msg is a stream message as a browser receives it.
type msg struct {
	V     int                `json:"v"`
	Type  string             `json:"type"`
	Pos   int64              `json:"pos"`
	Event *console.Event     `json:"event"`
	Pop   *console.ScreenPop `json:"pop"`
}

// dial opens the stream of a signed-in client, after last (-1: from now).
func dial(t testing.TB, s *apptest.Server, c *apptest.Client, last int64, origin string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	url := strings.Replace(s.URL, "http://", "ws://", 1) + "/console/ws"
	if last >= 0 {
		url += fmt.Sprintf("?last=%d", last)
	}
	h := http.Header{}
	req, _ := http.NewRequest("GET", s.URL, nil)
	if c.HTTP.Jar != nil {
		for _, ck := range c.HTTP.Jar.Cookies(req.URL) {
			h.Add("Cookie", ck.Name+"="+ck.Value)
		}
	}
	if origin == "" {
		origin = s.URL
	}
	h.Set("Origin", origin)
	return websocket.DefaultDialer.Dial(url, h)
}

func mustDial(t testing.TB, s *apptest.Server, c *apptest.Client, last int64) *websocket.Conn {
	t.Helper()
	ws, _, err := dial(t, s, c, last, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// collect reads stream items until want events of the given case arrived
// or the deadline passed; presence and hello messages are skipped.
func collect(t testing.TB, ws *websocket.Conn, until func(m msg) bool, d time.Duration) []msg {
	t.Helper()
	var out []msg
	ws.SetReadDeadline(time.Now().Add(d))
	defer ws.SetReadDeadline(time.Time{})
	for {
		var m msg
		if err := ws.ReadJSON(&m); err != nil {
			return out
		}
		if m.Type != "event" && m.Type != "screenpop" {
			continue
		}
		out = append(out, m)
		if until != nil && until(m) {
			return out
		}
	}
}

// The stream across two nodes on one database: each browser, whichever node
// it is on, gets the events it may see and only those, with no internal
// text.
func TestStreamAcrossNodesWithAuthorization(t *testing.T) {
	s1 := apptest.Start(t)
	s2 := apptest.StartOn(t, s1.DBURL, false)
	agentOn2 := mustDial(t, s2, s2.Login("agent"), -1)
	wenxinOn1 := mustDial(t, s1, s1.Login("wenxin-zf"), -1)
	beishanOn2 := mustDial(t, s2, s2.Login("beishan-zf"), -1)

	agent := s1.Login("agent")
	var c struct {
		ID         string `json:"id"`
		TrackingNo string `json:"tracking_no"`
	}
	agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "content": "文新街道丰潭路烧烤店油烟直排", "township_code": "330106013",
		"category": "0104", "citizen_name": "陈女士", "citizen_phone": "13812345678"}, &c)
	if code := agent.Do("POST", "/api/v1/cases/"+c.ID+"/route", map[string]any{}, nil); code != 200 {
		t.Fatalf("route: %d", code)
	}
	agent.Do("POST", "/api/v1/cases/"+c.ID+"/note", map[string]any{"reason": "内部备注：来电人情绪激动"}, nil)

	isNote := func(m msg) bool { return m.Event != nil && m.Event.CaseID.String() == c.ID && m.Event.Action == "note" }
	got := collect(t, agentOn2, isNote, 5*time.Second)
	actions := []string{}
	for _, m := range got {
		if m.Event.CaseID.String() == c.ID {
			actions = append(actions, m.Event.Action)
		}
	}
	if strings.Join(actions, ",") != "register,dispatch,note" {
		t.Fatalf("agent on the other node got %v", actions)
	}
	note := got[len(got)-1].Event
	if note.Text != "" || note.Public {
		t.Fatalf("an internal note's text reached the stream: %+v", note)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "陈女士") || strings.Contains(string(b), "13812345678") {
		t.Fatal("the citizen's identity is on the stream")
	}
	// The assigned unit's officer sees the case from its dispatch on.
	w := collect(t, wenxinOn1, isNote, 5*time.Second)
	if len(w) != 2 || w[0].Event.Action != "dispatch" || w[0].Event.Lead != "330106013-ZF" || w[1].Event.Action != "note" {
		t.Fatalf("officer of the unit got %+v", w)
	}
	// Another township's officer got nothing of it: the first thing it
	// sees is a case of its own.
	var c2 struct {
		ID string `json:"id"`
	}
	agent.Do("POST", "/api/v1/cases", map[string]any{"kind": "投诉", "content": "北山街道占道经营", "township_code": "330106002",
		"category": "0102", "citizen_phone": "13812345679"}, &c2)
	agent.Do("POST", "/api/v1/cases/"+c2.ID+"/route", map[string]any{}, nil)
	bs := collect(t, beishanOn2, func(m msg) bool { return m.Event.Action == "dispatch" }, 5*time.Second)
	if len(bs) != 1 || bs[0].Event.CaseID.String() != c2.ID {
		t.Fatalf("other township's officer got %d messages, want only its own dispatch: %+v", len(bs), bs)
	}
}

func TestOriginAllowList(t *testing.T) {
	s := apptest.Start(t)
	agent := s.Login("agent")
	if _, resp, err := dial(t, s, agent, -1, "https://evil.example"); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site websocket: %v %v", err, resp)
	}
	if _, resp, err := dial(t, s, s.Anon(), -1, ""); err == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no session: %v", err)
	}
	if _, resp, err := dial(t, s, s.Login("admin"), -1, ""); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("admin on the console: %v", err)
	}
}

// Hundreds of forced reconnects, alternating between two nodes, while
// events stream: every event arrives once, none missing, none twice.
func TestResumeWithoutLossOrDuplicates(t *testing.T) {
	s1 := apptest.Start(t)
	s2 := apptest.StartOn(t, s1.DBURL, false)
	nodes := []*apptest.Server{s1, s2}
	clients := []*apptest.Client{s1.Login("agent"), s2.Login("agent")}
	ctx := context.Background()
	start, err := console.Horizon(ctx, s1.App.Env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	// The producer: 800 events on a few cases, from both nodes' stores.
	const events = 800
	done := make(chan struct{})
	go func() {
		defer close(done)
		agent := auth.Actor{Role: auth.Agent, Name: "话务员"}
		var ids []string
		for i := 0; i < 4; i++ {
			c, _, err := s1.App.Cases.Create(ctx, agent, cases.NewCase{Kind: cases.Help, Content: fmt.Sprint("续传测试 ", i), Channel: cases.ChannelConsole})
			if err != nil {
				t.Error(err)
				return
			}
			ids = append(ids, c.ID.String())
		}
		for i := 4; i < events; i++ {
			st := nodes[i%2].App.Cases
			if _, err := st.Note(ctx, agent, uuid.MustParse(ids[i%4]), fmt.Sprint("第 ", i, " 条"), i%3 == 0, nil); err != nil {
				t.Error(err)
				return
			}
			if i%50 == 0 {
				time.Sleep(5 * time.Millisecond)
			}
		}
	}()
	seen := map[int64]int{}
	last := start
	rng := rand.New(rand.NewPCG(5, 6))
	reconnects := 0
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		n := reconnects % 2
		ws, _, err := dial(t, nodes[n], clients[n], last, "")
		if err != nil {
			t.Fatal(err)
		}
		reconnects++
		take := 1 + rng.IntN(6)
		ws.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		for take > 0 {
			var m msg
			if err := ws.ReadJSON(&m); err != nil {
				break
			}
			if m.Type != "event" {
				continue
			}
			seen[m.Pos]++
			if m.Pos <= last {
				t.Fatalf("position %d after %d", m.Pos, last)
			}
			last = m.Pos
			take--
		}
		ws.Close()
		select {
		case <-done:
			if len(seen) >= events {
				deadline = time.Now()
			}
		default:
		}
	}
	<-done
	all, err := console.Fetch(ctx, s1.App.Env.Pool, start, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		if seen[it.Pos] != 1 {
			t.Fatalf("event at %d seen %d times (of %d events, %d reconnects)", it.Pos, seen[it.Pos], len(all), reconnects)
		}
	}
	if len(seen) != len(all) || len(all) != events {
		t.Fatalf("saw %d distinct events, the table has %d, want %d", len(seen), len(all), events)
	}
	t.Logf("%d events over %d reconnects on two nodes: each exactly once", len(all), reconnects)
}

// A client that stops reading is dropped when its queue is full; the
// others are not held up; the dropped one resumes without a gap.
func TestSlowClientIsDroppedAndResumes(t *testing.T) {
	s := apptest.StartConfigured(t, func(c *app.Config) {
		c.WSSendBuffer, c.WSWriteWait = 16, 3*time.Second
	})
	ctx := context.Background()
	start, _ := console.Horizon(ctx, s.App.Env.Pool)
	agent := s.Login("agent")
	slowDialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if err == nil {
			c.(*net.TCPConn).SetReadBuffer(2048)
		}
		return c, err
	}}
	h := http.Header{"Origin": {s.URL}}
	req, _ := http.NewRequest("GET", s.URL, nil)
	for _, ck := range agent.HTTP.Jar.Cookies(req.URL) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	slow, _, err := slowDialer.Dial(strings.Replace(s.URL, "http://", "ws://", 1)+"/console/ws?last="+fmt.Sprint(start), h)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast := mustDial(t, s, s.Login("dispatcher"), start)
	const events = 3000
	c, _, err := s.App.Cases.Create(ctx, auth.Actor{Role: auth.Agent, Name: "话务员"}, cases.NewCase{Kind: cases.Help,
		Content: strings.Repeat("一段很长的补充说明，", 40), Channel: cases.ChannelConsole})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < (events-1)/4+1; i++ {
				s.App.Cases.Note(ctx, auth.Actor{Role: auth.Agent, Name: "话务员"}, c.ID, strings.Repeat("公开的补充说明。", 60), true, nil)
			}
		}()
	}
	t0 := time.Now()
	got, lastFast, fastResumes := 0, start, 0
	fast.SetReadDeadline(time.Now().Add(60 * time.Second))
	for got < events+1 {
		var m msg
		if err := fast.ReadJSON(&m); err != nil {
			// On a starved machine even a reading client can miss the write
			// deadline: it resumes like any other, without a gap.
			if fastResumes++; fastResumes > 3 {
				t.Fatalf("fast client after %d events: %v", got, err)
			}
			fast = mustDial(t, s, s.Login("dispatcher"), lastFast)
			fast.SetReadDeadline(time.Now().Add(60 * time.Second))
			continue
		}
		if m.Type == "event" {
			if m.Pos <= lastFast {
				t.Fatalf("fast client: position %d after %d", m.Pos, lastFast)
			}
			got, lastFast = got+1, m.Pos
		}
	}
	t.Logf("fast client got %d events in %v (%d resumes)", got, time.Since(t0), fastResumes)
	wg.Wait()
	t.Logf("writers done after %v", time.Since(t0))
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, dropped, lagged := s.App.Hub.Stats()
		if dropped > 0 && lagged > 0 {
			t.Logf("dropped %d, caught up %d times", dropped, lagged)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the slow client was not dropped (dropped %d, lagged %d)", dropped, lagged)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The slow client (which never read a thing) reconnects and resumes
	// from where it was.
	slow.Close()
	last := start
	again := mustDial(t, s, agent, last)
	n := 0
	collect(t, again, func(m msg) bool { n++; return m.Pos >= fastLast(s) }, 20*time.Second)
	t.Logf("resumed after %v", time.Since(t0))
	all, _ := console.Fetch(ctx, s.App.Env.Pool, last, 100000)
	if n != len(all) {
		t.Fatalf("resumed with %d events, %d were missing", n, len(all))
	}
	t.Logf("slow client dropped; resumed all %d events", n)
}

func fastLast(s *apptest.Server) int64 { return s.App.Hub.Head() }

// Hot-spot alerts reach supervisors and dispatchers, not agents or officers.
func TestAlertsOnTheStream(t *testing.T) {
	s := apptest.Start(t)
	sup := mustDial(t, s, s.Login("supervisor"), -1)
	agent := mustDial(t, s, s.Login("agent"), -1)
	if _, err := s.App.Env.Pool.Exec(context.Background(), `INSERT INTO console_alerts (kind, township_code, county_code, category, count, case_ids, title)
		VALUES ('hotspot', '330106013', '330106', '0104', 10, '{}', '文新街道 餐饮油烟 24 小时内 10 件')`); err != nil {
		t.Fatal(err)
	}
	s.App.Hub.Poke()
	sup.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m struct {
			Type  string         `json:"type"`
			Alert *console.Alert `json:"alert"`
		}
		if err := sup.ReadJSON(&m); err != nil {
			t.Fatalf("supervisor got no alert: %v", err)
		}
		if m.Type == "alert" {
			if m.Alert.Count != 10 || m.Alert.TownshipCode != "330106013" {
				t.Fatalf("alert %+v", m.Alert)
			}
			break
		}
	}
	agent.SetReadDeadline(time.Now().Add(time.Second))
	for {
		var m struct {
			Type string `json:"type"`
		}
		if err := agent.ReadJSON(&m); err != nil {
			break // nothing more within the second
		}
		if m.Type == "alert" {
			t.Fatal("an agent got the supervisors' alert")
		}
	}
}
