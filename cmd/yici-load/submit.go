package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"time"
)

// appRequest is the body of POST /api/v1/requests.
type appRequest struct {
	Kind        string   `json:"kind,omitempty"`
	Content     string   `json:"content"`
	Address     string   `json:"address,omitempty"`
	Lat         *float64 `json:"lat,omitempty"`
	Lon         *float64 `json:"lon,omitempty"`
	CitizenName string   `json:"citizen_name,omitempty"`
	Phone       string   `json:"phone"`
}

type appAnswer struct {
	TrackingNo string `json:"tracking_no"`
	Routed     bool   `json:"routed"`
	Created    bool   `json:"created"`
}

// submit files one request through the app API. A network error or a 5xx
// is retried with the same Idempotency-Key (the server may have committed
// it: the retry must return the same case), so is a 429 after its
// Retry-After; each retry is counted.
func (l *Load) submit(ctx context.Context, c *client) string {
	rq := c.gen.request()
	body := appRequest{Content: rq.Content, Address: rq.Address, CitizenName: rq.Name, Phone: rq.Phone}
	if c.r.IntN(2) == 0 {
		body.Kind = rq.Kind // half of the people pick a kind, the rest leave it to triage
	}
	if rq.HasGeo {
		body.Lat, body.Lon = &rq.Lat, &rq.Lon
	}
	js, _ := json.Marshal(body)
	c.seq++
	key := fmt.Sprintf("%s-%d-%d", l.runID, c.id, c.seq)
	payload, ctype := js, "application/json"
	if l.cfg.Photos > 0 && c.r.Float64() < l.cfg.Photos {
		payload, ctype = multipartBody(js, l.photos[c.r.IntN(len(l.photos))], fmt.Sprintf("IMG_%d.jpg", c.seq))
	}
	st := l.stats.Ops[OpSubmit]
	sent := time.Now()
	for attempt := 0; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
		req, _ := http.NewRequestWithContext(rctx, http.MethodPost, l.base+"/api/v1/requests", bytes.NewReader(payload))
		req.Header.Set("Authorization", "Bearer "+l.cfg.AppKey)
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", ctype)
		status, b, hdr, err := exchange(l.hc, req)
		cancel()
		if err == nil && (status == http.StatusCreated || status == http.StatusOK) {
			var a appAnswer
			if err := json.Unmarshal(b, &a); err != nil || a.TrackingNo == "" {
				return "bad answer"
			}
			acked := time.Now()
			last4 := rq.Phone[len(rq.Phone)-4:]
			l.acks.Add(a.TrackingNo, "app", key, status, last4, acked, a.Routed)
			l.pool.Add(a.TrackingNo, last4)
			if l.tracker != nil {
				l.tracker.Acked(a.TrackingNo, sent, acked)
			}
			if l.stats.W.In(sent) {
				l.intake.acked.Add(1)
				if a.Routed {
					l.intake.routed.Add(1)
				}
				if !a.Created {
					l.intake.replayed.Add(1)
				}
			}
			return ""
		}
		if stop, again := l.again(ctx, st, attempt, status, hdr, err); !again {
			return stop
		}
	}
}

// multipartBody is a submission with one photo.
func multipartBody(request, photo []byte, name string) ([]byte, string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.WriteField("request", string(request))
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="photo"; filename="%s"`, name))
	h.Set("Content-Type", "image/jpeg")
	w, _ := mw.CreatePart(h)
	_, _ = w.Write(photo)
	_ = mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

// again decides after a failed exchange: a network error, a 5xx or a 429
// is retried (after a backoff or the Retry-After) up to -retries times,
// and counted; anything else stops with its class.
func (l *Load) again(ctx context.Context, st *OpStats, attempt, status int, hdr http.Header, err error) (string, bool) {
	var class string
	var wait time.Duration
	switch {
	case err != nil:
		if ctx.Err() != nil {
			return "canceled", false
		}
		class, wait = netClass(err), backoff(attempt)
	case status == http.StatusTooManyRequests:
		class, wait = statusClass(status), retryAfter(hdr, backoff(attempt))
	case status >= 500:
		class, wait = statusClass(status), backoff(attempt)
	default:
		return statusClass(status), false
	}
	if attempt >= l.cfg.Retries {
		return "gave up after " + class, false
	}
	st.retries.Add(1)
	st.mu.Lock()
	st.errs["retried: "+class]++
	st.mu.Unlock()
	if !sleepCtx(ctx, wait) {
		return "canceled", false
	}
	return "", true
}
