package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"yici/router/territory"
)

// Load is one run: the clients, the consoles and what they measure.
type Load struct {
	cfg   Config
	base  string
	hc    *http.Client
	runID string

	stats    *Stats
	acks     *AckLog
	pool     *Pool
	tracker  *Tracker
	sessions *Sessions
	consoles *Consoles
	geo      *geo
	photos   [][]byte

	queueSessions []*Session

	intake struct {
		acked, routed, replayed atomic.Uint64
	}
	lookups struct {
		trackFound, trackMiss, queueItems, queueBytes atomic.Uint64
	}
	next atomic.Int64 // paced start slots (-rate)
}

// client is one goroutine issuing operations back to back.
type client struct {
	id  int
	r   *rand.Rand
	gen *gen
	seq int
}

// Run carries out a load run and writes the report to stdout.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	l := &Load{cfg: cfg, base: cfg.URL, hc: newHTTPClient(cfg.Clients + 8)}
	l.runID = fmt.Sprintf("load%x", time.Now().UnixNano()&0xffffffffff)
	var err error
	if l.geo, err = newGeo(territory.Zhejiang()); err != nil {
		return err
	}
	l.pool = newPool(200_000)
	if cfg.TrackFile != "" {
		n, err := l.pool.LoadFile(cfg.TrackFile)
		if err != nil {
			return fmt.Errorf("-track-file: %w", err)
		}
		fmt.Fprintf(stderr, "read %d tracking numbers from %s\n", n, cfg.TrackFile)
	}
	if l.acks, err = OpenAckLog(cfg.Acked); err != nil {
		return fmt.Errorf("-acked: %w", err)
	}
	defer l.acks.Close()
	if cfg.Mix.Has(OpSubmit) && cfg.Photos > 0 {
		l.photos = makePhotos(16, cfg.Seed)
	}
	l.sessions = newSessions(l.base, cfg.Password, l.hc)
	if cfg.Mix.Has(OpQueue) {
		for _, u := range cfg.QueueUsers {
			s, err := l.sessions.Get(ctx, u)
			if err != nil {
				return err
			}
			if s.Role != "officer" {
				return fmt.Errorf("-queue-users: %s is a %s, not an officer", u, s.Role)
			}
			l.queueSessions = append(l.queueSessions, s)
		}
	}
	if cfg.Mix.Has(OpSubmit) && cfg.AppKey == "" {
		return errors.New("the mix submits through the app API: give -app-key (yici keys create --kind app --name load)")
	}
	var names []string
	for _, op := range knownOps {
		if cfg.Mix.Has(op) {
			names = append(names, op)
		}
	}

	srv := newServerWatch(cfg.ServerPID)
	self := newServerWatch(os.Getpid())
	rssBefore := srv.RSS()

	// Consoles first: they must be listening before the traffic starts.
	stopConsoles, cancelConsoles := context.WithCancel(context.Background())
	defer cancelConsoles()
	// The window is set once the consoles are up; the tracker and the
	// stats read it then.
	var w Window
	if cfg.Consoles > 0 {
		l.tracker = newTracker(Window{}) // the window is set below
		l.consoles = newConsoles(l, cfg.ConsoleUsers.Spread(cfg.Consoles))
		t0 := time.Now()
		fmt.Fprintf(stderr, "connecting %d consoles (%s) at up to %d/s…\n", cfg.Consoles, cfg.ConsoleUsers, cfg.ConsoleRamp)
		prog := startConnectProgress(l.consoles, stderr, cfg.Quiet)
		err := l.consoles.Start(ctx, stopConsoles, cfg.ConsoleRamp)
		prog()
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d of %d consoles connected in %.1fs\n", l.consoles.connected.Load(), cfg.Consoles, time.Since(t0).Seconds())
		time.Sleep(2 * time.Second) // let the server settle (presence writes) before measuring memory
	}
	rssConnected := srv.RSS()

	start := time.Now()
	w = Window{From: start.Add(cfg.Warmup), To: start.Add(cfg.Warmup + cfg.Duration)}
	l.stats = newStats(w, names)
	if l.tracker != nil {
		l.tracker.SetWindow(w)
	}
	// CPU times from the end of the warm-up.
	var cpuMu sync.Mutex
	cpu0, self0 := srv.CPU(), self.CPU()
	warm := time.AfterFunc(cfg.Warmup, func() {
		c, s := srv.CPU(), self.CPU()
		cpuMu.Lock()
		cpu0, self0 = c, s
		cpuMu.Unlock()
	})
	defer warm.Stop()

	runCtx, stopRun := context.WithDeadline(ctx, w.To)
	defer stopRun()
	var wg sync.WaitGroup
	if len(names) > 0 {
		for i := 0; i < cfg.Clients; i++ {
			seed := cfg.Seed*1_000_003 + uint64(i)
			c := &client{id: i, r: rand.New(rand.NewPCG(seed, seed^0xda3e39cb94b95bdb)), gen: newGen(l.geo, seed, cfg.Wenxin)}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l.client(runCtx, ctx, c, start)
			}()
		}
	}
	progDone := make(chan struct{})
	progStopped := make(chan struct{})
	go func() {
		l.progress(stderr, start, progDone)
		close(progStopped)
	}()
	select {
	case <-runCtx.Done():
	case <-ctx.Done():
	}
	wg.Wait() // in-flight operations finish (their latencies count if they started in the window)
	end := time.Now()
	cpu1, self1 := srv.CPU(), self.CPU()
	warm.Stop()
	cpuMu.Lock()
	srvCPU, selfCPU := cpu1.Sub(cpu0), self1.Sub(self0)
	cpuMu.Unlock()
	cpuSecs := end.Sub(w.From).Seconds()
	rssEnd := srv.RSS()
	if l.tracker != nil && ctx.Err() == nil && cfg.Grace > 0 {
		time.Sleep(cfg.Grace) // late events of the last submissions
	}
	close(progDone)
	<-progStopped
	if l.consoles != nil {
		l.consoles.atEnd = l.consoles.connected.Load()
		cancelConsoles()
		l.consoles.Wait()
	}
	if err := l.acks.Flush(); err != nil {
		fmt.Fprintf(stderr, "acked file: %v\n", err)
	}
	rep := l.report(w, end, srv, rssBefore, rssConnected, rssEnd, srvCPU, selfCPU, cpuSecs)
	if cfg.JSON {
		return rep.WriteJSON(stdout)
	}
	rep.WriteText(stdout)
	return nil
}

// client issues operations from the mix until runCtx ends; in-flight
// operations use ctx (the whole program's), so that they finish.
func (l *Load) client(runCtx, ctx context.Context, c *client, start time.Time) {
	for runCtx.Err() == nil {
		if l.cfg.Rate > 0 {
			k := l.next.Add(1) - 1
			at := start.Add(time.Duration(float64(k) / l.cfg.Rate * float64(time.Second)))
			if d := time.Until(at); d > 0 && !sleepCtx(runCtx, d) {
				return
			}
		}
		op := l.cfg.Mix.Pick(c.r)
		t0 := time.Now()
		var class string
		switch op {
		case OpSubmit:
			class = l.submit(ctx, c)
		case OpWeb:
			class = l.webSubmit(ctx, c)
		case OpTrack:
			class = l.track(ctx, c)
		case OpQueue:
			class = l.queue(ctx, c)
		}
		l.stats.Ops[op].Done(l.stats.W, t0, time.Since(t0), class)
	}
}
