package integration

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"yici/cases"
	"yici/internal/app"
	"yici/internal/apptest"
	"yici/internal/auth"
	"yici/internal/clock"
)

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// node is a `yici serve` process on the test database.
type node struct {
	cmd  *exec.Cmd
	addr string
}

func startNode(t *testing.T, bin, dbURL string) *node {
	t.Helper()
	return startNodeAt(t, bin, dbURL, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
}

func startNodeAt(t *testing.T, bin, dbURL, addr string) *node {
	t.Helper()
	n := spawnNode(t, bin, dbURL, addr)
	n.waitReady(t)
	return n
}

// spawnNode starts a node without waiting for it to be ready.
func spawnNode(t *testing.T, bin, dbURL, addr string) *node {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data", t.TempDir())
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "YICI_SCHEDULER_INTERVAL=50ms", "YICI_LOG_LEVEL=error", "YICI_DEMO=false")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := &node{cmd: cmd, addr: addr}
	t.Cleanup(func() { n.cmd.Process.Kill(); n.cmd.Wait() })
	return n
}

func (n *node) waitReady(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + n.addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("node did not become ready")
}

// Two processes fire the due timers of 300 cases; one is killed with
// SIGKILL in the middle and started again. Every timer fires exactly once:
// each case has one 80% warning, one overdue 催办 and one escalation.
func TestTimersSurviveAKilledProcess(t *testing.T) {
	bin := yici(t)
	// Cases dispatched 30 days ago, nobody signed: their sign-for timers are
	// all due (the resolution timers too, but the escalation re-dispatches
	// first and moves them).
	past := clock.NewFake(time.Now().Add(-30 * 24 * time.Hour))
	s := apptest.StartConfigured(t, func(c *app.Config) { c.Clock, c.SchedulerEvery = past, 0 })
	ctx := context.Background()
	agent := auth.Actor{Role: auth.Agent, Name: "话务员"}
	const n = 300
	for i := 0; i < n; i++ {
		c, _, err := s.App.Cases.Create(ctx, agent, cases.NewCase{Kind: cases.Complaint, Category: "0102", TownshipCode: "330106013",
			Content: fmt.Sprintf("文新街道第 %d 处占道经营", i), Channel: cases.ChannelConsole})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.App.Router.Dispatch(ctx, auth.Actor{Role: auth.Dispatcher, Name: "派单员"}, c.ID, cases.DispatchPlan{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	db := s.App.Env.Pool
	var due int
	db.QueryRow(ctx, `SELECT count(*) FROM case_timers WHERE fired_at IS NULL AND fire_at <= now()`).Scan(&due)
	t.Logf("%d timers due", due)

	// Both nodes start at once (waiting for the first to be ready before
	// starting the second gave it time to fire everything alone).
	a := spawnNode(t, bin, s.DBURL, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	b := spawnNode(t, bin, s.DBURL, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	// Kill one node as soon as the firing is under way.
	var firedBefore int
	startBy := time.Now().Add(60 * time.Second)
	for firedBefore < 60 {
		if time.Now().After(startBy) {
			t.Fatalf("only %d firings a minute after the nodes started", firedBefore)
		}
		db.QueryRow(ctx, `SELECT count(*) FROM case_events WHERE action IN ('deadline_warning','deadline_overdue','escalate')`).Scan(&firedBefore)
		time.Sleep(2 * time.Millisecond)
	}
	a.cmd.Process.Signal(syscall.SIGKILL)
	a.cmd.Wait()
	t.Logf("killed one node after %d of the %d firings", firedBefore, 3*n)
	if firedBefore >= 3*n {
		t.Fatal("the kill came after the work: the test proves nothing")
	}
	b.waitReady(t)
	startNode(t, bin, s.DBURL) // and a restart

	deadline := time.Now().Add(90 * time.Second)
	for {
		var escalated int
		db.QueryRow(ctx, `SELECT count(*) FROM case_events WHERE action = 'escalate'`).Scan(&escalated)
		if escalated >= n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d cases escalated", escalated, n)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // let anything that would double-fire do so
	rows, err := db.Query(ctx, `SELECT action, coalesce(data->>'timer', ''), count(*), count(DISTINCT case_id)
		FROM case_events WHERE action IN ('deadline_warning','deadline_overdue','escalate') GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seen := map[string]int{}
	for rows.Next() {
		var act, timer string
		var total, distinct int
		rows.Scan(&act, &timer, &total, &distinct)
		if total != distinct {
			t.Errorf("%s %s fired %d times on %d cases", act, timer, total, distinct)
		}
		seen[act+":"+timer] = total
	}
	for _, k := range []string{"deadline_warning:sign_warn", "deadline_overdue:sign_due", "escalate:"} {
		if seen[k] != n {
			t.Errorf("%s: %d, want %d (all: %v)", k, seen[k], n, seen)
		}
	}
	var left int
	db.QueryRow(ctx, `SELECT count(*) FROM case_timers WHERE fired_at IS NULL AND fire_at <= now()`).Scan(&left)
	if left != 0 {
		t.Errorf("%d due timers left unfired", left)
	}
}
