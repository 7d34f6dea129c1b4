package main

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// newHTTPClient returns the client every operation shares: keep-alive
// connections, enough of them for every client goroutine.
func newHTTPClient(conns int) *http.Client {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// exchange sends req and reads the whole answer.
func exchange(hc *http.Client, req *http.Request) (status int, body []byte, hdr http.Header, err error) {
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp.StatusCode, nil, resp.Header, err
	}
	return resp.StatusCode, body, resp.Header, nil
}

// netClass names a transport failure.
func netClass(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "network"
}

// statusClass names an HTTP failure.
func statusClass(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "429 throttled"
	case status >= 500:
		return "5xx " + strconv.Itoa(status)
	}
	return strconv.Itoa(status)
}

// retryAfter reads Retry-After (seconds), at least min.
func retryAfter(h http.Header, min time.Duration) time.Duration {
	if h != nil {
		if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil && time.Duration(s)*time.Second > min {
			return time.Duration(s) * time.Second
		}
	}
	return min
}

// backoff is the wait before retry n (0, 1, …): 50 ms doubling up to 2 s.
func backoff(n int) time.Duration {
	d := 50 * time.Millisecond << min(n, 6)
	return min(d, 2*time.Second)
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
