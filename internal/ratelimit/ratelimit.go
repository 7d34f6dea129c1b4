// Package ratelimit keeps token buckets per client (an address, a key) and
// answers 429 with Retry-After when one is empty.
package ratelimit

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"yici/internal/httpx"
)

// Limiter keeps one token bucket per client (IP or key), forgetting idle
// ones.
type Limiter struct {
	Rate  rate.Limit
	Burst int

	mu      sync.Mutex
	buckets map[string]*bucket
	swept   time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

// NewLimiter allows perMinute requests a minute with bursts of burst.
func New(perMinute float64, burst int) *Limiter {
	return &Limiter{Rate: rate.Limit(perMinute / 60), Burst: burst, buckets: map[string]*bucket{}}
}

// Allow takes a token for key; when there is none it returns how long to wait.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	now := time.Now()
	l.mu.Lock()
	if now.Sub(l.swept) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > 10*time.Minute {
				delete(l.buckets, k)
			}
		}
		l.swept = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{l: rate.NewLimiter(l.Rate, l.Burst)}
		l.buckets[key] = b
	}
	b.seen = now
	l.mu.Unlock()
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// ClientIP is the address of the connection (proxies are not trusted).
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// TooMany answers 429 with Retry-After.
func TooMany(w http.ResponseWriter, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	httpx.Error(w, http.StatusTooManyRequests, httpx.FieldError{Field: "rate", Rule: "rate_limit",
		MessageZH: "请求过于频繁，请 " + strconv.Itoa(secs) + " 秒后再试", MessageEN: "too many requests, retry in " + strconv.Itoa(secs) + "s"})
}

// Limit wraps h: each request takes a token of the bucket keyFn names.
func (l *Limiter) Limit(h http.Handler, keyFn func(*http.Request) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := l.Allow(keyFn(r)); !ok {
			TooMany(w, wait)
			return
		}
		h.ServeHTTP(w, r)
	})
}
