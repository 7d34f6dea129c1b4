package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// track looks a case up as a citizen does on the tracking page: its number
// and the last four digits of the phone. Most lookups are of numbers
// acknowledged in this run or read from -track-file; a share (-track-miss)
// are wrong numbers, which must answer 404 like a wrong phone. A number
// that was acknowledged and is not found is an error ("lost?").
func (l *Load) track(ctx context.Context, c *client) string {
	it, ok := l.pool.Pick(c.r)
	miss := !ok || c.r.Float64() < l.cfg.TrackMiss
	if miss {
		// A well-formed number nobody was given (the check digit is wrong
		// one time in ten, as when people mistype).
		it = poolItem{No: fmt.Sprintf("%s%09d", time.Now().Format("060102"), c.r.IntN(1_000_000_000)), Last4: fmt.Sprintf("%04d", c.r.IntN(10000))}
	}
	js, _ := json.Marshal(map[string]string{"tracking_no": it.No, "phone_last4": it.Last4})
	rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodPost, l.base+"/api/v1/track", bytes.NewReader(js))
	req.Header.Set("Content-Type", "application/json")
	status, _, _, err := exchange(l.hc, req)
	switch {
	case err != nil:
		return netClass(err)
	case status == http.StatusOK:
		l.lookups.trackFound.Add(1) // (a random number that exists with those digits: possible, rare)
		return ""
	case status == http.StatusNotFound:
		if miss {
			l.lookups.trackMiss.Add(1)
			return ""
		}
		return "404 for an acknowledged number (lost?)"
	}
	return statusClass(status)
}

// queue reads an officer's unit queue, as the workbench does on opening and
// after each change (GET /api/v1/queues/unit, the default 200 items).
func (l *Load) queue(ctx context.Context, c *client) string {
	sess := l.queueSessions[c.r.IntN(len(l.queueSessions))]
	rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, l.base+"/api/v1/queues/unit", nil)
	req.Header.Set("Cookie", sess.Cookie)
	status, b, _, err := exchange(l.hc, req)
	switch {
	case err != nil:
		return netClass(err)
	case status == http.StatusOK:
		n := bytes.Count(b, []byte(`"tracking_no"`))
		l.lookups.queueItems.Add(uint64(n))
		l.lookups.queueBytes.Add(uint64(len(b)))
		return ""
	}
	return statusClass(status)
}
