package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress prints one line a second until done closes: per operation the
// rate and latencies of the last second, the consoles' message rate and
// commit→browser latency. It also flushes the acked file and sweeps the
// tracker.
func (l *Load) progress(out io.Writer, start time.Time, done <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	prev := map[string]Snap{}
	prevFail := map[string]uint64{}
	for _, name := range l.stats.order {
		prev[name] = l.stats.Ops[name].all.Snapshot()
	}
	var prevC2B Snap
	var prevMsgs uint64
	if l.tracker != nil {
		prevC2B = l.tracker.AckToEvent.Snapshot()
		prevMsgs = l.consoles.messages.Load()
	}
	last := time.Now()
	for n := 1; ; n++ {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		now := time.Now()
		dt := now.Sub(last).Seconds()
		last = now
		_ = l.acks.Flush()
		if n%5 == 0 && l.tracker != nil {
			l.tracker.Sweep(30 * time.Second)
		}
		if l.cfg.Quiet {
			continue
		}
		var b strings.Builder
		el := now.Sub(start)
		phase := ""
		switch {
		case now.Before(l.stats.W.From):
			phase = " warm-up"
		case !now.Before(l.stats.W.To):
			phase = " drain"
		}
		fmt.Fprintf(&b, "%5.0fs%s", el.Seconds(), phase)
		for _, name := range l.stats.order {
			st := l.stats.Ops[name]
			s := st.all.Snapshot()
			d := s.Sub(prev[name])
			prev[name] = s
			fails := st.failAll.Load()
			fmt.Fprintf(&b, " | %s %.0f/s p50 %s p99 %s", name, float64(d.N)/dt, ms(d.Quantile(0.5)), ms(d.Quantile(0.99)))
			if f := fails - prevFail[name]; f > 0 {
				fmt.Fprintf(&b, " ERR %d", f)
			}
			prevFail[name] = fails
		}
		if l.tracker != nil {
			c := l.tracker.AckToEvent.Snapshot()
			d := c.Sub(prevC2B)
			prevC2B = c
			msgs := l.consoles.messages.Load()
			fmt.Fprintf(&b, " | consoles %d msgs %.0f/s c2b p50 %s p99 %s", l.consoles.connected.Load(), float64(msgs-prevMsgs)/dt,
				ms(d.Quantile(0.5)), ms(d.Quantile(0.99)))
			prevMsgs = msgs
		}
		fmt.Fprintln(out, b.String())
	}
}

// startConnectProgress prints the consoles connected every second while
// they connect; the returned function stops it.
func startConnectProgress(cs *Consoles, out io.Writer, quiet bool) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if quiet {
			<-done
			return
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(out, "  consoles connected %d (failed dials %d)\n", cs.connected.Load(), cs.failures.Load())
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// ms formats microseconds as milliseconds.
func ms(us int64) string {
	switch {
	case us >= 100_000:
		return fmt.Sprintf("%.0fms", float64(us)/1000)
	case us >= 10_000:
		return fmt.Sprintf("%.1fms", float64(us)/1000)
	}
	return fmt.Sprintf("%.2fms", float64(us)/1000)
}
