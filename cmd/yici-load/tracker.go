package main

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Tracker matches acknowledged submissions with their events on the
// consoles: commit→browser latency is the time from the acknowledgement
// (the HTTP response, sent after the commit) to the arrival of the case's
// first stream message on each console. An event may beat the response
// (the stream and the response race after the commit): it waits here for
// the acknowledgement and counts as 0 ("before the ack"). The time from
// sending the request to the event is recorded as well, an upper bound.
type Tracker struct {
	win    atomic.Pointer[Window]
	seed   maphash.Seed
	shards [64]trackShard

	AckToEvent  Hist // per console and case: event arrival − acknowledgement (0 when earlier)
	SendToEvent Hist // per console and case: event arrival − request sent
	early       atomic.Uint64
	arrivals    atomic.Uint64 // matched (console, case) arrivals in the window
}

type trackShard struct {
	mu sync.Mutex
	m  map[string]*tracked
}

type tracked struct {
	sent, acked time.Time
	early       []time.Time // arrivals before the acknowledgement
	seen        bool        // on at least one console
	first       time.Time   // first arrival
	born        time.Time
}

func newTracker(w Window) *Tracker {
	t := &Tracker{seed: maphash.MakeSeed()}
	t.SetWindow(w)
	for i := range t.shards {
		t.shards[i].m = map[string]*tracked{}
	}
	return t
}

// SetWindow sets the measured window (submissions sent in it count).
func (t *Tracker) SetWindow(w Window) { t.win.Store(&w) }

func (t *Tracker) in(at time.Time) bool { return t.win.Load().In(at) }

func (t *Tracker) shard(no string) *trackShard {
	return &t.shards[maphash.String(t.seed, no)%uint64(len(t.shards))]
}

// Acked registers an acknowledged submission.
func (t *Tracker) Acked(no string, sent, acked time.Time) {
	sh := t.shard(no)
	sh.mu.Lock()
	e := sh.m[no]
	if e == nil {
		e = &tracked{born: acked}
		sh.m[no] = e
	}
	e.sent, e.acked = sent, acked
	early := e.early
	e.early = nil
	sh.mu.Unlock()
	if !t.in(sent) {
		return
	}
	for _, at := range early {
		t.early.Add(1)
		t.record(e, at)
	}
}

func (t *Tracker) record(e *tracked, at time.Time) {
	t.arrivals.Add(1)
	t.AckToEvent.Record(max(0, at.Sub(e.acked)))
	t.SendToEvent.Record(at.Sub(e.sent))
}

// Arrived registers the first message of case no on one console.
func (t *Tracker) Arrived(no string, at time.Time) {
	sh := t.shard(no)
	sh.mu.Lock()
	e := sh.m[no]
	if e == nil {
		e = &tracked{born: at}
		sh.m[no] = e
	}
	if !e.seen {
		e.seen, e.first = true, at
	}
	if e.acked.IsZero() {
		e.early = append(e.early, at)
		sh.mu.Unlock()
		return
	}
	sh.mu.Unlock()
	if t.in(e.sent) {
		t.record(e, at)
	}
}

// Sweep forgets events of cases this run did not submit (other traffic)
// once they are older than age.
func (t *Tracker) Sweep(age time.Duration) {
	cut := time.Now().Add(-age)
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for k, e := range sh.m {
			if e.acked.IsZero() && e.born.Before(cut) {
				delete(sh.m, k)
			}
		}
		sh.mu.Unlock()
	}
}

// Delivery counts the submissions acknowledged in the window and those
// whose case reached at least one console, with the latency from the
// acknowledgement to the first console.
func (t *Tracker) Delivery() (acked, seen int, first Snap) {
	var h Hist
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for _, e := range sh.m {
			if e.acked.IsZero() || !t.in(e.sent) {
				continue
			}
			acked++
			if e.seen {
				seen++
				h.Record(max(0, e.first.Sub(e.acked)))
			}
		}
		sh.mu.Unlock()
	}
	return acked, seen, h.Snapshot()
}
