package channels

import (
	"net/http"
	"time"

	"yici/internal/ratelimit"
)

// Limiter is the rate limiter of the public endpoints (internal/ratelimit).
type Limiter = ratelimit.Limiter

// NewLimiter allows perMinute requests a minute with bursts of burst.
func NewLimiter(perMinute float64, burst int) *Limiter { return ratelimit.New(perMinute, burst) }

// ClientIP is the address of the connection (proxies are not trusted).
func ClientIP(r *http.Request) string { return ratelimit.ClientIP(r) }

// TooMany answers 429 with Retry-After.
func TooMany(w http.ResponseWriter, wait time.Duration) { ratelimit.TooMany(w, wait) }
