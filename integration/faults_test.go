package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/channels"
	"yici/console"
	"yici/internal/apptest"
	"yici/internal/auth"
	"yici/internal/pgserver"
	"yici/internal/schema"
)

// intake is a client load: workers submitting through the app API with
// idempotent retries, recording what was acknowledged.
type intake struct {
	url, key string
	stop     chan struct{}
	wg       sync.WaitGroup

	mu       sync.Mutex
	acked    map[string]string // idempotency key → tracking number
	statuses map[int]int
	retryOK  bool // a 503 carried Retry-After
	bad      []string
	n        atomic.Int64
}

func startIntake(url, key string, workers int) *intake {
	in := &intake{url: url, key: key, stop: make(chan struct{}), acked: map[string]string{}, statuses: map[int]int{}}
	client := &http.Client{Timeout: 6 * time.Second}
	for w := 0; w < workers; w++ {
		in.wg.Add(1)
		go func(w int) {
			defer in.wg.Done()
			for i := 0; ; i++ {
				select {
				case <-in.stop:
					return
				default:
				}
				idem := fmt.Sprintf("w%d-%d", w, i)
				body, _ := json.Marshal(map[string]any{"content": fmt.Sprintf("文新街道丰潭路第 %d 号门口占道经营", i), "phone": "13857101234", "kind": "投诉"})
				// Retry the same submission until it is acknowledged.
				for {
					select {
					case <-in.stop:
						return
					default:
					}
					req, _ := http.NewRequest("POST", in.url+"/api/v1/requests", bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Authorization", "Bearer "+in.key)
					req.Header.Set("Idempotency-Key", idem)
					t0 := time.Now()
					resp, err := client.Do(req)
					if err != nil {
						in.record(0, "", nil, time.Since(t0))
						time.Sleep(50 * time.Millisecond)
						continue
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					in.record(resp.StatusCode, idem, b, time.Since(t0))
					if resp.StatusCode/100 == 2 {
						break
					}
					if resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "" {
						in.mu.Lock()
						in.retryOK = true
						in.mu.Unlock()
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
		}(w)
	}
	return in
}

func (in *intake) record(status int, idem string, body []byte, took time.Duration) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.statuses[status]++
	if took > 5*time.Second {
		in.bad = append(in.bad, fmt.Sprintf("a request hung %v", took))
	}
	if status/100 == 2 {
		var out struct {
			TrackingNo string `json:"tracking_no"`
		}
		json.Unmarshal(body, &out)
		if prev, ok := in.acked[idem]; ok && prev != out.TrackingNo {
			in.bad = append(in.bad, fmt.Sprintf("%s acknowledged as %s and %s", idem, prev, out.TrackingNo))
		}
		in.acked[idem] = out.TrackingNo
		in.n.Add(1)
	}
	if status == 500 {
		in.bad = append(in.bad, "a 500: "+string(body))
	}
}

func (in *intake) halt() {
	close(in.stop)
	in.wg.Wait()
}

// checkAcked: every acknowledged submission is a case, once, with its
// registration event.
func checkAcked(t *testing.T, db *pgxpool.Pool, acked map[string]string) {
	t.Helper()
	ctx := context.Background()
	for idem, no := range acked {
		var n, evs int
		if err := db.QueryRow(ctx, `SELECT count(*), coalesce(sum((SELECT count(*) FROM case_events e WHERE e.case_id = c.id AND e.action = 'register')), 0)
			FROM cases c WHERE c.tracking_no = $1 AND c.channel_ref LIKE '%:' || $2`, no, idem).Scan(&n, &evs); err != nil {
			t.Fatal(err)
		}
		if n != 1 || evs != 1 {
			t.Fatalf("acknowledged %s (%s): %d cases, %d registration events", idem, no, n, evs)
		}
	}
	var dup int
	db.QueryRow(ctx, `SELECT count(*) FROM (SELECT channel_ref FROM cases WHERE channel = 'app' GROUP BY 1 HAVING count(*) > 1) d`).Scan(&dup)
	if dup != 0 {
		t.Fatalf("%d submissions stored twice", dup)
	}
}

// PostgreSQL stopped and restarted during intake: the server answers 503
// with Retry-After while it is down (never a 500 or a hang), recovers by
// itself within 5 seconds of the database coming back, and loses no
// acknowledged case.
func TestDatabaseRestartDuringIntake(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	pg, err := pgserver.Start(ctx, pgserver.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { pg.Stop() }()
	port := pg.Port
	url := pg.URL("postgres")
	// The demo database, cloned from nothing: migrate and seed it here.
	s := apptest.StartWith(t, url, true, nil)
	_, key, err := s.App.Keys.Create(ctx, channels.KeyApp, "load", "")
	if err != nil {
		t.Fatal(err)
	}
	in := startIntake(s.URL, key, 6)
	time.Sleep(time.Second)
	before := in.n.Load()
	pg.Stop()
	time.Sleep(2 * time.Second)
	during := in.n.Load()
	pg, err = pgserver.Start(ctx, pgserver.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	for in.n.Load() <= during {
		if time.Since(back) > 5*time.Second {
			t.Fatalf("no submission accepted within 5 s of the database coming back")
		}
		time.Sleep(20 * time.Millisecond)
	}
	recovered := time.Since(back)
	time.Sleep(500 * time.Millisecond)
	in.halt()
	t.Logf("accepted %d before the stop, %d while down, recovered %v after the restart; statuses %v", before, during-before, recovered.Round(time.Millisecond), in.statuses)
	if len(in.bad) > 0 {
		t.Fatalf("problems: %v", in.bad[:min(5, len(in.bad))])
	}
	if in.statuses[503] == 0 || !in.retryOK {
		t.Fatalf("no 503 with Retry-After while the database was down: %v", in.statuses)
	}
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkAcked(t, db, in.acked)
	var code int
	resp, err := http.Get(s.URL + "/readyz")
	if err == nil {
		code = resp.StatusCode
		resp.Body.Close()
	}
	if code != 200 {
		t.Fatalf("readyz after recovery: %d %v", code, err)
	}
	_ = schema.Latest
}

// kill -9 of the server during sustained intake: every submission that got
// a 2xx is in the database after the restart, none twice (the client
// retries with the same key), the event trail complete.
func TestServerKilledDuringIntake(t *testing.T) {
	bin := yici(t)
	s := apptest.Start(t)
	ctx := context.Background()
	_, key, err := s.App.Keys.Create(ctx, channels.KeyApp, "load", "")
	if err != nil {
		t.Fatal(err)
	}
	n := startNode(t, bin, s.DBURL)
	in := startIntake("http://"+n.addr, key, 6)
	for in.n.Load() < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	n.cmd.Process.Signal(syscall.SIGKILL)
	n.cmd.Wait()
	killedAt := in.n.Load()
	// The same address again.
	n2 := startNodeAt(t, bin, s.DBURL, n.addr)
	_ = n2
	for in.n.Load() < killedAt+100 {
		time.Sleep(5 * time.Millisecond)
	}
	in.halt()
	t.Logf("killed after %d acknowledged, %d acknowledged in all; statuses %v", killedAt, in.n.Load(), in.statuses)
	if len(in.bad) > 0 {
		t.Fatalf("problems: %v", in.bad[:min(5, len(in.bad))])
	}
	checkAcked(t, s.App.Env.Pool, in.acked)
	// Every routed case has its dispatch event; every event sequence has no gap.
	var gaps int
	s.App.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM cases c WHERE c.channel = 'app' AND c.version <> (SELECT count(*) FROM case_events e WHERE e.case_id = c.id)`).Scan(&gaps)
	if gaps != 0 {
		t.Fatalf("%d cases whose trail does not match their version", gaps)
	}
}

// Two server processes, one killed: a console on it reconnects to the
// other with its last position and misses nothing, receives nothing twice.
func TestConsoleMovesToTheOtherNode(t *testing.T) {
	bin := yici(t)
	s := apptest.Start(t)
	ctx := context.Background()
	a := startNode(t, bin, s.DBURL)
	b := startNode(t, bin, s.DBURL)
	start, err := console.Horizon(ctx, s.App.Env.Pool)
	if err != nil {
		t.Fatal(err)
	}
	// A signed-in agent's cookie, valid on every node (sessions live in the database).
	agent := s.Login("agent")
	cookie := ""
	req, _ := http.NewRequest("GET", s.URL, nil)
	for _, c := range agent.HTTP.Jar.Cookies(req.URL) {
		cookie = c.Name + "=" + c.Value
	}
	dial := func(addr string, last int64) *websocket.Conn {
		h := http.Header{"Cookie": {cookie}, "Origin": {"http://" + addr}}
		ws, _, err := websocket.DefaultDialer.Dial(fmt.Sprintf("ws://%s/console/ws?last=%d", addr, last), h)
		if err != nil {
			t.Fatal(err)
		}
		return ws
	}
	// The producer writes 400 events through the test's own node.
	const events = 400
	done := make(chan struct{})
	go func() {
		defer close(done)
		actor := auth.Actor{Role: auth.Agent, Name: "话务员"}
		c, _, err := s.App.Cases.Create(ctx, actor, cases.NewCase{Kind: cases.Help, Content: "节点切换测试", Channel: cases.ChannelConsole})
		if err != nil {
			t.Error(err)
			return
		}
		for i := 1; i < events; i++ {
			if _, err := s.App.Cases.Note(ctx, actor, c.ID, fmt.Sprint("第 ", i, " 条"), false, nil); err != nil {
				t.Error(err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	seen := map[int64]int{}
	last := start
	read := func(ws *websocket.Conn, until func() bool) error {
		for !until() {
			ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			var m struct {
				Type string `json:"type"`
				Pos  int64  `json:"pos"`
			}
			if err := ws.ReadJSON(&m); err != nil {
				return err
			}
			if m.Type == "event" {
				seen[m.Pos]++
				last = max(last, m.Pos)
			}
		}
		return nil
	}
	ws := dial(a.addr, start)
	read(ws, func() bool { return len(seen) >= 100 })
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	if err := read(ws, func() bool { return false }); err == nil {
		t.Fatal("the connection to the killed node stayed open")
	}
	ws.Close()
	ws = dial(b.addr, last)
	defer ws.Close()
	<-done
	if err := read(ws, func() bool { return len(seen) >= events }); err != nil {
		t.Fatalf("after moving to the other node, %d of %d events: %v", len(seen), events, err)
	}
	all, err := console.Fetch(ctx, s.App.Env.Pool, start, 100000)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range all {
		if seen[it.Pos] != 1 {
			t.Fatalf("event %d seen %d times", it.Pos, seen[it.Pos])
		}
	}
	if len(all) != events {
		t.Fatalf("%d events in the table, want %d", len(all), events)
	}
}
