// Command yici-load drives a running Yici server over its real interfaces
// and measures it: submissions through the app API (and optionally the
// public web form), tracking lookups, officers' queue reads, and N
// websocket consoles that read the live stream and time each submission
// from its acknowledgement to its event on every console.
//
//	yici-load -url http://127.0.0.1:8080 -app-key SECRET \
//	    -mix submit=70,track=20,queue=10 -clients 32 -duration 60s -consoles 2000
//
// It prints a progress line every second (stderr) and at the end the
// throughput and latency percentiles per operation (stdout; -json for
// JSON). Submissions are retried with the same Idempotency-Key on network
// errors and 5xx; every acknowledged one is written to -acked FILE.
//
// With -fill N it fills the database instead with N realistic cases (with
// their assignments, events and timers) by COPY; see fill.go.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// Config is the command line.
type Config struct {
	URL          string
	AppKey       string
	Mix          Mix
	Clients      int
	Duration     time.Duration
	Warmup       time.Duration
	Grace        time.Duration
	Rate         float64
	Consoles     int
	ConsoleUsers Mix
	ConsoleRamp  int
	QueueUsers   []string
	Password     string
	Photos       float64
	Wenxin       float64
	TrackFile    string
	TrackMiss    float64
	Acked        string
	JSON         bool
	Quiet        bool
	Retries      int
	Timeout      time.Duration
	ServerPID    int
	Seed         uint64
}

const usageText = `yici-load drives a running Yici server and measures it.

usage:
  yici-load -url URL -app-key KEY [-mix submit=70,track=20,queue=10] [-clients 32] [-duration 60s] [-consoles N] …
  yici-load -fill N (-data DIR | -database-url URL) [-fill-sample FILE] …
  yici-load -check-acked FILE (-data DIR | -database-url URL)

Create the app key with: yici keys create --kind app --name load --data DIR (the secret is the last line).
Raise the server's limits for the run, e.g. YICI_TRACK_RATE=1000000 YICI_WEB_RATE=1000000, and ulimit -n
for thousands of consoles (both processes). Operations of the mix:
  submit  POST /api/v1/requests (app API, Idempotency-Key; retried on network errors and 5xx)
  web     GET /report then POST /report (the public form; needs YICI_WEB_RATE raised)
  track   POST /api/v1/track (a number acknowledged in this run or from -track-file; -track-miss wrong ones)
  queue   GET /api/v1/queues/unit as one of -queue-users (officers)

flags:
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintf(os.Stderr, "yici-load: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("yici-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	var cfg Config
	var mix, users, queueUsers string
	fs.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "the server's base URL")
	fs.StringVar(&cfg.AppKey, "app-key", os.Getenv("YICI_LOAD_APP_KEY"), "app key for POST /api/v1/requests (env YICI_LOAD_APP_KEY)")
	fs.StringVar(&mix, "mix", "submit=70,track=20,queue=10", "operations and their weights: submit, web, track, queue")
	fs.IntVar(&cfg.Clients, "clients", 32, "concurrent clients, each issuing operations back to back")
	fs.DurationVar(&cfg.Duration, "duration", 60*time.Second, "measured time")
	fs.DurationVar(&cfg.Warmup, "warmup", 5*time.Second, "time before the measurement (shown in progress, not in the report)")
	fs.DurationVar(&cfg.Grace, "grace", 3*time.Second, "with consoles: how long to wait for the events of the last submissions")
	fs.Float64Var(&cfg.Rate, "rate", 0, "operations a second in all (0: as fast as the clients go)")
	fs.IntVar(&cfg.Consoles, "consoles", 0, "websocket consoles reading the live stream")
	fs.StringVar(&users, "console-users", "agent=4,dispatcher=3,supervisor=1,wenxin-zf=40,wenxin-zz=30,beishan-zf=8,xihu-zjj=6,xihu-shzl=6,hz-water=2",
		"accounts of the consoles and their shares (each account signs in once; its consoles share the session)")
	fs.IntVar(&cfg.ConsoleRamp, "console-ramp", 500, "consoles connected a second at most")
	fs.StringVar(&queueUsers, "queue-users", "wenxin-zf,wenxin-zz,beishan-zf,xihu-zjj,xihu-shzl,hz-water", "officers whose unit queues are read")
	fs.StringVar(&cfg.Password, "password", "yici2026", "password of the console and queue accounts")
	fs.Float64Var(&cfg.Photos, "photos", 0.05, "share of app submissions with a photo (multipart)")
	fs.Float64Var(&cfg.Wenxin, "wenxin", 0.2, "share of submissions about 文新街道 (where the demo officers work)")
	fs.StringVar(&cfg.TrackFile, "track-file", "", "tracking numbers to look up: lines 'tracking_no last4' (-fill-sample) or an -acked file")
	fs.Float64Var(&cfg.TrackMiss, "track-miss", 0.05, "share of lookups with a wrong number")
	fs.StringVar(&cfg.Acked, "acked", "", "append every acknowledged submission to this file")
	fs.BoolVar(&cfg.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&cfg.Quiet, "quiet", false, "no progress lines")
	fs.IntVar(&cfg.Retries, "retries", 8, "retries of a submission on network errors, 5xx and 429")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "timeout of one request")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "pid of the yici server on this machine: report its VmRSS and CPU (and its PostgreSQL's)")
	fs.Uint64Var(&cfg.Seed, "seed", uint64(time.Now().UnixNano()), "random seed")
	var fill FillConfig
	fill.flags(fs)
	cpuprofile := fs.String("cpuprofile", "", "write this tool's own CPU profile to the file")
	checkAcked := fs.String("check-acked", "", "check that every tracking number of this -acked file is in the database (-data or -database-url), then exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *checkAcked != "" {
		return CheckAcked(ctx, *checkAcked, fill, stdout, stderr)
	}
	if fill.N > 0 || fill.Reindex {
		return Fill(ctx, fill, stdout, stderr)
	}
	var err error
	if cfg.Mix, err = ParseMix(mix, knownOps); err != nil {
		if cfg.Consoles == 0 || strings.TrimSpace(mix) != "" {
			return fmt.Errorf("-mix: %w", err)
		}
	}
	if cfg.Consoles > 0 {
		if cfg.ConsoleUsers, err = ParseMix(users, nil); err != nil {
			return fmt.Errorf("-console-users: %w", err)
		}
	}
	for _, u := range strings.Split(queueUsers, ",") {
		if u = strings.TrimSpace(u); u != "" {
			cfg.QueueUsers = append(cfg.QueueUsers, u)
		}
	}
	switch {
	case cfg.Clients < 1:
		return errors.New("-clients must be at least 1")
	case cfg.Duration <= 0:
		return errors.New("-duration must be positive")
	case cfg.Mix.Has(OpQueue) && len(cfg.QueueUsers) == 0:
		return errors.New("the mix reads queues: give -queue-users")
	}
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	return Run(ctx, cfg, stdout, stderr)
}
