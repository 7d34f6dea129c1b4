package main

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Window is the measured part of the run: operations that start in
// [From, To) count in the report; the warm-up before and the drain after
// show only in the progress lines.
type Window struct{ From, To time.Time }

// In reports whether t is inside the window.
func (w Window) In(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// OpStats are the counters and latencies of one operation.
type OpStats struct {
	Name string

	all      Hist // every success, for the progress lines
	measured Hist // successes that started in the window

	okAll, failAll atomic.Uint64
	ok, fail       atomic.Uint64 // in the window
	retries        atomic.Uint64 // idempotent retries (whole run)

	mu   sync.Mutex
	errs map[string]uint64 // failures by class (whole run)
}

func newOpStats(name string) *OpStats { return &OpStats{Name: name, errs: map[string]uint64{}} }

// Done records one operation that started at start and took d; errClass
// is "" for a success.
func (s *OpStats) Done(w Window, start time.Time, d time.Duration, errClass string) {
	in := w.In(start)
	if errClass == "" {
		s.okAll.Add(1)
		s.all.Record(d)
		if in {
			s.ok.Add(1)
			s.measured.Record(d)
		}
		return
	}
	s.failAll.Add(1)
	if in {
		s.fail.Add(1)
	}
	s.mu.Lock()
	s.errs[errClass]++
	s.mu.Unlock()
}

// Errors returns the failure classes, most frequent first.
func (s *OpStats) Errors() []ErrCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ErrCount, 0, len(s.errs))
	for k, v := range s.errs {
		out = append(out, ErrCount{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N > out[j].N || out[i].N == out[j].N && out[i].Class < out[j].Class })
	return out
}

// ErrCount is a failure class and how often it happened.
type ErrCount struct {
	Class string `json:"class"`
	N     uint64 `json:"n"`
}

// Stats holds every operation's counters.
type Stats struct {
	W   Window
	Ops map[string]*OpStats
	// order of the operations in reports
	order []string
}

func newStats(w Window, names []string) *Stats {
	s := &Stats{W: w, Ops: map[string]*OpStats{}}
	for _, n := range names {
		s.Ops[n] = newOpStats(n)
		s.order = append(s.order, n)
	}
	return s
}
