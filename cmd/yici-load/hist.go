package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// A latency histogram in microseconds with log-linear buckets: values
// below 128 µs exactly, above that 128 buckets per power of two, so any
// percentile is off by less than 0.8 %. Recording is lock-free (atomic
// adds), so thousands of goroutines can share one.

const (
	subBits    = 7
	subCount   = 1 << subBits // 128
	maxShift   = 40           // up to 2^47 µs: more than enough
	numBuckets = subCount + maxShift*subCount
)

// bucketOf returns the bucket of v (µs, ≥ 0).
func bucketOf(v int64) int {
	if v < subCount {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1 // v>>shift is in [128, 256)
	if shift >= maxShift {
		return numBuckets - 1
	}
	return subCount + shift*subCount + int(v>>shift) - subCount
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i)
	}
	shift := (i - subCount) / subCount
	m := int64((i-subCount)%subCount + subCount)
	return m << shift, (m+1)<<shift - 1
}

// Hist is a histogram that many goroutines record into.
type Hist struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Int64
	max    atomic.Int64
}

// Record adds one duration.
func (h *Hist) Record(d time.Duration) { h.RecordMicros(d.Microseconds()) }

// RecordMicros adds one value in µs.
func (h *Hist) RecordMicros(us int64) {
	if us < 0 {
		us = 0
	}
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Snap is a copy of a histogram at one moment.
type Snap struct {
	Counts []uint64
	N      uint64
	Sum    int64
	Max    int64
}

// Snapshot copies the histogram (not atomically as a whole: good enough
// for progress lines; the final report is taken when nobody records).
func (h *Hist) Snapshot() Snap {
	s := Snap{Counts: make([]uint64, numBuckets), N: h.n.Load(), Sum: h.sum.Load(), Max: h.max.Load()}
	for i := range s.Counts {
		s.Counts[i] = h.counts[i].Load()
	}
	return s
}

// Sub returns what was recorded between old and s (the maximum is the
// largest bucket's upper bound then, or s.Max when it is lower).
func (s Snap) Sub(old Snap) Snap {
	out := Snap{Counts: make([]uint64, numBuckets), N: s.N - old.N, Sum: s.Sum - old.Sum}
	top := -1
	for i := range s.Counts {
		out.Counts[i] = s.Counts[i] - old.Counts[i]
		if out.Counts[i] > 0 {
			top = i
		}
	}
	if top >= 0 {
		_, hi := bucketRange(top)
		out.Max = min(hi, s.Max)
	}
	return out
}

// Quantile returns the value (µs) below which a share q of the values lie:
// the midpoint of the bucket holding the q-th value, never above Max.
func (s Snap) Quantile(q float64) int64 {
	if s.N == 0 {
		return 0
	}
	if q >= 1 {
		return s.Max
	}
	rank := uint64(q*float64(s.N) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range s.Counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			return min((lo+hi)/2, s.Max)
		}
	}
	return s.Max
}

// Mean returns the average (µs).
func (s Snap) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return float64(s.Sum) / float64(s.N)
}
