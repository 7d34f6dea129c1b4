package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Consoles are the staff browsers: each signs in (one session per account,
// shared by its tabs), opens /console/ws and reads the stream. The first
// message about a case on each console is matched with the submission's
// acknowledgement (Tracker). A dropped connection reconnects with the last
// position it saw, as the console page does.
type Consoles struct {
	l     *Load
	users []string // one account per console

	connected  atomic.Int64
	atEnd      int64         // connected when the run ended
	connects   atomic.Uint64 // successful upgrades, reconnections included
	reconnects atomic.Uint64
	failures   atomic.Uint64 // failed dials
	messages   atomic.Uint64
	events     atomic.Uint64
	bytes      atomic.Uint64
	ConnectLat Hist // dial + upgrade + hello

	wg sync.WaitGroup
}

func newConsoles(l *Load, users []string) *Consoles { return &Consoles{l: l, users: users} }

// Start connects the consoles, rate per second at most, and returns when
// all of them have tried once (or ctx ends). They read until stop ends.
func (cs *Consoles) Start(ctx, stop context.Context, rate int) error {
	u, err := url.Parse(cs.l.base)
	if err != nil {
		return err
	}
	if u.Scheme == "https" {
		u.Scheme = "wss"
	} else {
		u.Scheme = "ws"
	}
	u.Path = "/console/ws"
	wsURL := u.String()
	// Sign in every account first.
	sessions := make([]*Session, len(cs.users))
	for i, name := range cs.users {
		s, err := cs.l.sessions.Get(ctx, name)
		if err != nil {
			return err
		}
		sessions[i] = s
	}
	if rate <= 0 {
		rate = 1000
	}
	dialer := &websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 2048, WriteBufferSize: 512}
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	var tried sync.WaitGroup
	for i := range cs.users {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		tried.Add(1)
		cs.wg.Add(1)
		go func(sess *Session) {
			defer cs.wg.Done()
			cs.run(stop, dialer, wsURL, sess, &tried)
		}(sessions[i])
	}
	tried.Wait()
	return nil
}

// Wait returns when every console has closed (after stop ended).
func (cs *Consoles) Wait() { cs.wg.Wait() }

func (cs *Consoles) run(stop context.Context, dialer *websocket.Dialer, wsURL string, sess *Session, tried *sync.WaitGroup) {
	once := sync.OnceFunc(tried.Done)
	defer once()
	h := http.Header{"Cookie": {sess.Cookie}}
	last := int64(-1)
	for attempt := 0; stop.Err() == nil; attempt++ {
		target := wsURL
		if last >= 0 {
			target += "?last=" + strconv.FormatInt(last, 10)
		}
		t0 := time.Now()
		conn, resp, err := dialer.DialContext(stop, target, h)
		if resp != nil && resp.Body != nil {
			resp.Body.Close()
		}
		if err != nil {
			cs.failures.Add(1)
			once()
			if !sleepCtx(stop, backoff(attempt)) {
				return
			}
			continue
		}
		if attempt > 0 {
			cs.reconnects.Add(1)
		}
		cs.connects.Add(1)
		cs.connected.Add(1)
		closed := make(chan struct{})
		go func() {
			select {
			case <-stop.Done():
				conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
				conn.Close()
			case <-closed:
			}
		}()
		last = cs.read(conn, last, t0, once)
		close(closed)
		conn.Close()
		cs.connected.Add(-1)
		attempt = 0
		if !sleepCtx(stop, 100*time.Millisecond) {
			return
		}
	}
}

var (
	keyType     = []byte(`"type":"`)
	keyPos      = []byte(`"pos":`)
	keyTracking = []byte(`"tracking_no":"`)
)

// read reads messages until the connection ends and returns the last
// position seen. It looks only at what it needs (type, pos, tracking_no)
// without decoding the JSON: a console tool must stay cheap next to the
// server it measures.
func (cs *Consoles) read(conn *websocket.Conn, last int64, t0 time.Time, connected func()) int64 {
	tr := cs.l.tracker
	lastNo := ""
	hello := false
	var buf bytes.Buffer // reused: ReadMessage would allocate every message
	for {
		_, r, err := conn.NextReader()
		if err != nil {
			return last
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return last
		}
		msg := buf.Bytes()
		now := time.Now()
		cs.messages.Add(1)
		cs.bytes.Add(uint64(len(msg)))
		typ := field(msg, keyType, '"')
		if !hello && string(typ) == "hello" {
			hello = true
			cs.ConnectLat.Record(now.Sub(t0))
			connected()
			if last < 0 {
				if p, err := strconv.ParseInt(string(field(msg, keyPos, ',')), 10, 64); err == nil {
					last = p
				}
			}
			continue
		}
		if string(typ) != "event" {
			continue
		}
		cs.events.Add(1)
		if p, err := strconv.ParseInt(string(field(msg, keyPos, ',')), 10, 64); err == nil {
			last = p
		}
		no := field(msg, keyTracking, '"')
		if len(no) == 0 || string(no) == lastNo {
			continue // a case's registration and dispatch come in one transaction: the first counts
		}
		lastNo = string(no)
		if tr != nil {
			tr.Arrived(lastNo, now)
		}
	}
}

// field returns the bytes after key up to end (in the first occurrence).
func field(msg, key []byte, end byte) []byte {
	i := bytes.Index(msg, key)
	if i < 0 {
		return nil
	}
	rest := msg[i+len(key):]
	j := bytes.IndexByte(rest, end)
	if j < 0 {
		return nil
	}
	return rest[:j]
}
