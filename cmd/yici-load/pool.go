package main

import (
	"bufio"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
)

// Pool keeps tracking numbers with their phone digits for lookups: the
// ones acknowledged during the run and those read from a file.
type Pool struct {
	mu    sync.Mutex
	items []poolItem
	next  int
	cap   int
}

type poolItem struct{ No, Last4 string }

func newPool(capacity int) *Pool { return &Pool{cap: capacity} }

// Add remembers a number (the oldest are forgotten beyond the capacity).
func (p *Pool) Add(no, last4 string) {
	p.mu.Lock()
	if len(p.items) < p.cap {
		p.items = append(p.items, poolItem{no, last4})
	} else {
		p.items[p.next] = poolItem{no, last4}
		p.next = (p.next + 1) % p.cap
	}
	p.mu.Unlock()
}

// Pick returns a random number; ok is false when there is none yet.
func (p *Pool) Pick(r *rand.Rand) (poolItem, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.items) == 0 {
		return poolItem{}, false
	}
	return p.items[r.IntN(len(p.items))], true
}

// Len is how many numbers the pool holds.
func (p *Pool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// LoadFile reads "tracking_no last4" lines (the filler's sample, or an
// acked file: its first and fifth columns).
func (p *Pool) LoadFile(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		switch {
		case len(fs) >= 5: // an acked file
			p.Add(fs[0], fs[4])
		case len(fs) == 2:
			p.Add(fs[0], fs[1])
		default:
			continue
		}
		n++
	}
	return n, sc.Err()
}
