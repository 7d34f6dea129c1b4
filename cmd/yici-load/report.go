package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is what a run measured.
type Report struct {
	Config   ReportConfig   `json:"config"`
	Window   float64        `json:"window_seconds"`
	Ops      []OpReport     `json:"ops"`
	Intake   *IntakeReport  `json:"intake,omitempty"`
	Lookups  *LookupReport  `json:"lookups,omitempty"`
	Consoles *ConsoleReport `json:"consoles,omitempty"`
	Server   *ServerReport  `json:"server,omitempty"`
	Tool     ToolReport     `json:"load_tool"`
	Machine  MachineReport  `json:"machine"`
}

// ReportConfig repeats the settings of the run.
type ReportConfig struct {
	URL      string  `json:"url"`
	Mix      string  `json:"mix"`
	Clients  int     `json:"clients"`
	Duration string  `json:"duration"`
	Warmup   string  `json:"warmup"`
	Rate     float64 `json:"rate,omitempty"`
	Consoles int     `json:"consoles"`
	Users    string  `json:"console_users,omitempty"`
	Photos   float64 `json:"photos"`
	Command  string  `json:"command"`
}

// Latency is a distribution in milliseconds.
type Latency struct {
	N    uint64  `json:"n"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

func latencyOf(s Snap) Latency {
	f := func(us int64) float64 { return float64(us) / 1000 }
	return Latency{N: s.N, Mean: s.Mean() / 1000, P50: f(s.Quantile(0.5)), P90: f(s.Quantile(0.9)), P99: f(s.Quantile(0.99)), Max: f(s.Max)}
}

// OpReport is one operation in the window.
type OpReport struct {
	Op      string     `json:"op"`
	OK      uint64     `json:"ok"`
	Failed  uint64     `json:"failed"`
	Retries uint64     `json:"retries"`
	PerSec  float64    `json:"per_second"`
	Latency Latency    `json:"latency"`
	Errors  []ErrCount `json:"errors,omitempty"`
}

// IntakeReport is about the submissions acknowledged in the window.
type IntakeReport struct {
	Acked    uint64  `json:"acked"`
	PerSec   float64 `json:"acked_per_second"`
	Routed   uint64  `json:"routed"`
	Replayed uint64  `json:"replayed"` // a retry answered with the case of the first try
	// Cases that reached at least one console (needs a centre console to
	// be all of them), and the time from the acknowledgement to the first.
	Seen         int      `json:"seen_on_a_console,omitempty"`
	FirstConsole *Latency `json:"ack_to_first_console,omitempty"`
}

// LookupReport is about tracking lookups and queue reads.
type LookupReport struct {
	TrackFound  uint64  `json:"track_found"`
	TrackMissed uint64  `json:"track_wrong_number"`
	QueueItems  float64 `json:"queue_items_avg"`
	QueueKB     float64 `json:"queue_kb_avg"`
}

// ConsoleReport is about the websocket consoles.
type ConsoleReport struct {
	Consoles    int      `json:"consoles"`
	Connected   int64    `json:"connected_at_end"`
	Connects    uint64   `json:"connects"`
	Reconnects  uint64   `json:"reconnects"`
	DialFails   uint64   `json:"failed_dials"`
	Connect     Latency  `json:"connect"`
	Messages    uint64   `json:"messages"`
	Events      uint64   `json:"events"`
	MB          float64  `json:"megabytes"`
	Arrivals    uint64   `json:"matched_arrivals"`
	BeforeAck   uint64   `json:"arrived_before_ack"`
	AckToEvent  Latency  `json:"commit_to_browser"`
	SendToEvent Latency  `json:"send_to_browser"`
	Note        []string `json:"notes,omitempty"`
}

// ServerReport is the server process seen from /proc (-server-pid).
type ServerReport struct {
	PID             int     `json:"pid"`
	RSSBeforeMB     float64 `json:"rss_before_consoles_mb"`
	RSSConnectedMB  float64 `json:"rss_consoles_connected_mb"`
	RSSEndMB        float64 `json:"rss_end_mb"`
	PerConsoleKB    float64 `json:"rss_per_console_kb,omitempty"`
	CPUWindow       float64 `json:"cpu_window_seconds"`
	CPUSeconds      float64 `json:"cpu_seconds"`
	PostgresSeconds float64 `json:"postgres_cpu_seconds"`
	PostgresProcs   int     `json:"postgres_processes"`
}

// MachineReport is the whole machine's CPU in the window: the server, its
// PostgreSQL, this tool and everything else running (other work on the
// machine disturbs the figures; it is reported, not hidden).
type MachineReport struct {
	Cores        int     `json:"cores"`
	BusySeconds  float64 `json:"busy_cpu_seconds"`
	OtherSeconds float64 `json:"other_processes_cpu_seconds"`
	Load1        string  `json:"loadavg_at_end"`
}

// ToolReport is this process's own cost (it shares the machine).
type ToolReport struct {
	CPUWindow  float64 `json:"cpu_window_seconds"`
	CPUSeconds float64 `json:"cpu_seconds"`
	RSSMB      float64 `json:"rss_mb"`
}

func (l *Load) report(w Window, end time.Time, srv serverWatch, rssBefore, rssConnected, rssEnd int64, srvCPU, selfCPU CPUTimes, cpuSecs float64) *Report {
	to := w.To
	if end.Before(to) {
		to = end // stopped early
	}
	secs := to.Sub(w.From).Seconds()
	if secs <= 0 {
		secs = 1e-9
	}
	cfg := l.cfg
	r := &Report{Window: secs, Config: ReportConfig{URL: cfg.URL, Mix: cfg.Mix.String(), Clients: cfg.Clients, Duration: cfg.Duration.String(),
		Warmup: cfg.Warmup.String(), Rate: cfg.Rate, Consoles: cfg.Consoles, Photos: cfg.Photos, Command: strings.Join(os.Args, " ")}}
	if cfg.Consoles > 0 {
		r.Config.Users = cfg.ConsoleUsers.String()
	}
	for _, name := range l.stats.order {
		st := l.stats.Ops[name]
		s := st.measured.Snapshot()
		r.Ops = append(r.Ops, OpReport{Op: name, OK: st.ok.Load(), Failed: st.fail.Load(), Retries: st.retries.Load(),
			PerSec: float64(st.ok.Load()) / secs, Latency: latencyOf(s), Errors: st.Errors()})
	}
	if l.cfg.Mix.Has(OpSubmit) || l.cfg.Mix.Has(OpWeb) {
		in := &IntakeReport{Acked: l.intake.acked.Load(), Routed: l.intake.routed.Load(), Replayed: l.intake.replayed.Load()}
		in.PerSec = float64(in.Acked) / secs
		if l.tracker != nil {
			_, seen, first := l.tracker.Delivery()
			in.Seen = seen
			lat := latencyOf(first)
			in.FirstConsole = &lat
		}
		r.Intake = in
	}
	if l.cfg.Mix.Has(OpTrack) || l.cfg.Mix.Has(OpQueue) {
		lr := &LookupReport{TrackFound: l.lookups.trackFound.Load(), TrackMissed: l.lookups.trackMiss.Load()}
		if n := l.stats.Ops[OpQueue]; n != nil {
			if c := n.okAll.Load(); c > 0 {
				lr.QueueItems = float64(l.lookups.queueItems.Load()) / float64(c)
				lr.QueueKB = float64(l.lookups.queueBytes.Load()) / float64(c) / 1024
			}
		}
		r.Lookups = lr
	}
	if cs := l.consoles; cs != nil {
		cr := &ConsoleReport{Consoles: cfg.Consoles, Connected: cs.atEnd, Connects: cs.connects.Load(), Reconnects: cs.reconnects.Load(),
			DialFails: cs.failures.Load(), Connect: latencyOf(cs.ConnectLat.Snapshot()), Messages: cs.messages.Load(), Events: cs.events.Load(),
			MB: float64(cs.bytes.Load()) / (1 << 20), Arrivals: l.tracker.arrivals.Load(), BeforeAck: l.tracker.early.Load(),
			AckToEvent: latencyOf(l.tracker.AckToEvent.Snapshot()), SendToEvent: latencyOf(l.tracker.SendToEvent.Snapshot())}
		r.Consoles = cr
	}
	if srv.pid > 0 {
		sr := &ServerReport{PID: srv.pid, CPUWindow: cpuSecs, RSSBeforeMB: float64(rssBefore) / 1024, RSSConnectedMB: float64(rssConnected) / 1024, RSSEndMB: float64(rssEnd) / 1024,
			CPUSeconds: float64(srvCPU.Self) / ticksPerSecond, PostgresSeconds: float64(srvCPU.Postgres) / ticksPerSecond, PostgresProcs: srvCPU.PGProcs}
		if cfg.Consoles > 0 && rssConnected > 0 {
			sr.PerConsoleKB = float64(rssConnected-rssBefore) / float64(cfg.Consoles)
		}
		r.Server = sr
	}
	self := newServerWatch(os.Getpid())
	r.Tool = ToolReport{CPUWindow: cpuSecs, CPUSeconds: float64(selfCPU.Self) / ticksPerSecond, RSSMB: float64(self.RSS()) / 1024}
	busy := float64(selfCPU.Machine) / ticksPerSecond
	other := busy - r.Tool.CPUSeconds - float64(srvCPU.Self+srvCPU.Postgres)/ticksPerSecond
	load, _ := os.ReadFile("/proc/loadavg")
	r.Machine = MachineReport{Cores: runtime.NumCPU(), BusySeconds: busy, OtherSeconds: max(0, other), Load1: strings.TrimSpace(string(load))}
	return r
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// WriteText writes the report for people.
func (r *Report) WriteText(out io.Writer) {
	c := r.Config
	fmt.Fprintf(out, "\nyici-load: %s, mix %s, %d clients", c.URL, c.Mix, c.Clients)
	if c.Rate > 0 {
		fmt.Fprintf(out, " at %.0f op/s", c.Rate)
	}
	fmt.Fprintf(out, ", %s measured after %s warm-up", c.Duration, c.Warmup)
	if c.Consoles > 0 {
		fmt.Fprintf(out, ", %d consoles (%s)", c.Consoles, c.Users)
	}
	fmt.Fprintf(out, "\n\n")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tok\tfailed\tretries\tper s\tmean ms\tp50 ms\tp90 ms\tp99 ms\tmax ms\t")
	for _, o := range r.Ops {
		l := o.Latency
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", o.Op, o.OK, o.Failed, o.Retries, o.PerSec, l.Mean, l.P50, l.P90, l.P99, l.Max)
	}
	if cs := r.Consoles; cs != nil {
		for _, row := range []struct {
			name string
			l    Latency
		}{{"commit→browser", cs.AckToEvent}, {"send→browser", cs.SendToEvent}, {"ws connect", cs.Connect}} {
			l := row.l
			fmt.Fprintf(tw, "%s\t%d\t\t\t\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", row.name, l.N, l.Mean, l.P50, l.P90, l.P99, l.Max)
		}
	}
	tw.Flush()
	for _, o := range r.Ops {
		for _, e := range o.Errors {
			fmt.Fprintf(out, "  %s: %d × %s\n", o.Op, e.N, e.Class)
		}
	}
	if in := r.Intake; in != nil {
		fmt.Fprintf(out, "\nintake: %d submissions acknowledged in %.1fs = %.1f/s; routed at once %d (%.1f%%); answered from a retry %d\n",
			in.Acked, r.Window, in.PerSec, in.Routed, pct(in.Routed, in.Acked), in.Replayed)
		if in.FirstConsole != nil {
			fmt.Fprintf(out, "        seen on a console: %d (%.1f%%); ack → first console p50 %.2f ms p99 %.2f ms\n",
				in.Seen, pct(uint64(in.Seen), in.Acked), in.FirstConsole.P50, in.FirstConsole.P99)
		}
	}
	if lr := r.Lookups; lr != nil {
		fmt.Fprintf(out, "lookups: tracking found %d, wrong numbers %d; unit queue %.0f items (%.0f KB) a read\n", lr.TrackFound, lr.TrackMissed, lr.QueueItems, lr.QueueKB)
	}
	if cs := r.Consoles; cs != nil {
		fmt.Fprintf(out, "consoles: %d of %d connected at the end; %d reconnects, %d failed dials; %d messages (%d events, %.1f MB); %d (console, case) arrivals measured, %d before the ack\n",
			cs.Connected, cs.Consoles, cs.Reconnects, cs.DialFails, cs.Messages, cs.Events, cs.MB, cs.Arrivals, cs.BeforeAck)
	}
	if s := r.Server; s != nil {
		fmt.Fprintf(out, "server pid %d: VmRSS %.1f MB before consoles, %.1f MB with them, %.1f MB at the end", s.PID, s.RSSBeforeMB, s.RSSConnectedMB, s.RSSEndMB)
		if s.PerConsoleKB != 0 {
			fmt.Fprintf(out, " (%.1f KB per console)", s.PerConsoleKB)
		}
		fmt.Fprintf(out, "; CPU in %.1fs: server %.1f s, PostgreSQL %.1f s (%d processes) = %.2f + %.2f cores\n",
			s.CPUWindow, s.CPUSeconds, s.PostgresSeconds, s.PostgresProcs, s.CPUSeconds/s.CPUWindow, s.PostgresSeconds/s.CPUWindow)
	}
	fmt.Fprintf(out, "load tool: CPU %.1f s in %.1fs (%.2f cores), VmRSS %.0f MB\n", r.Tool.CPUSeconds, r.Tool.CPUWindow, r.Tool.CPUSeconds/r.Tool.CPUWindow, r.Tool.RSSMB)
	m := r.Machine
	fmt.Fprintf(out, "machine: %d cores, busy %.2f cores on average, of which other processes %.2f cores; loadavg %s\n",
		m.Cores, m.BusySeconds/r.Tool.CPUWindow, m.OtherSeconds/r.Tool.CPUWindow, m.Load1)
}

func pct(a, b uint64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}
