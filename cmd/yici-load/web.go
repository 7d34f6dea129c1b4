package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// webSubmit does what a browser does with the public form: load /report,
// post it (url-encoded, no photos), read the tracking number off the
// result page. The form's token is its idempotency key: a retry after a
// network error or a 5xx posts the same token.
func (l *Load) webSubmit(ctx context.Context, c *client) string {
	rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, l.base+"/report", nil)
	status, _, _, err := exchange(l.hc, req)
	cancel()
	if err != nil {
		return "form: " + netClass(err)
	}
	if status != http.StatusOK {
		return "form: " + statusClass(status)
	}
	rq := c.gen.request()
	tok := make([]byte, 16)
	rand.Read(tok)
	token := base64.RawURLEncoding.EncodeToString(tok)
	form := url.Values{"token": {token}, "content": {rq.Content}, "address": {rq.Address}, "citizen_name": {rq.Name}, "phone": {rq.Phone}}
	if c.r.IntN(2) == 0 {
		form.Set("kind", rq.Kind)
	}
	payload := form.Encode()
	st := l.stats.Ops[OpWeb]
	sent := time.Now()
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
		req, _ := http.NewRequestWithContext(rctx, http.MethodPost, l.base+"/report", strings.NewReader(payload))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", l.base)
		status, b, hdr, err := exchange(l.hc, req)
		cancel()
		if err == nil && (status == http.StatusOK) {
			no := attr(b, `data-no="`)
			if len(no) != 15 {
				return "no tracking number on the result page"
			}
			acked := time.Now()
			last4 := rq.Phone[len(rq.Phone)-4:]
			l.acks.Add(no, "web", token, status, last4, acked, false)
			l.pool.Add(no, last4)
			if l.tracker != nil {
				l.tracker.Acked(no, sent, acked)
			}
			if l.stats.W.In(sent) {
				l.intake.acked.Add(1)
			}
			return ""
		}
		if stop, again := l.again(ctx, st, attempt, status, hdr, err); !again {
			return stop
		}
	}
}

// attr returns the text after prefix up to the next quote.
func attr(b []byte, prefix string) string {
	i := bytes.Index(b, []byte(prefix))
	if i < 0 {
		return ""
	}
	rest := b[i+len(prefix):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
