package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"

	"yici/internal/auth"
	"yici/internal/httpx"
)

// Protocol is the version of the stream's messages (docs/console-protocol.md).
const Protocol = 1

// Timing of the websocket (as in gotify's hub: pings well inside the pong
// deadline; the write time is bounded by Options.WriteTimeout).
const (
	pongWait   = 60 * time.Second
	pingPeriod = 25 * time.Second
	readLimit  = 4096
)

// Conn is one browser's connection.
type Conn struct {
	hub   *Hub
	ws    *websocket.Conn
	actor auth.Actor
	id    string

	send  chan *Item // pointers: one queue slot is 8 bytes, not a copy of the item
	ctrl  chan []byte
	nudge chan struct{}
	done  chan struct{}
	once  sync.Once
	why   string
	// behind: the queue overflowed; the writer catches up from the ring.
	// Guarded by the hub's lock.
	behind bool
}

func (c *Conn) kill(why string) {
	c.once.Do(func() {
		c.why = why
		close(c.done)
		c.ws.Close()
	})
}

// sendCtrl queues a message that is not part of the positioned stream
// (presence); a connection that cannot take it is too slow and dropped.
func (c *Conn) sendCtrl(b []byte) {
	select {
	case c.ctrl <- b:
	case <-c.done:
	default:
		c.hub.dropped.Add(1)
		c.hub.unregister(c)
		c.kill("slow")
	}
}

// WS returns the handler of /console/ws: agents, dispatchers, supervisors
// and officers, authenticated by their session cookie at the upgrade,
// from an allowed origin only.
func (h *Hub) WS(origins []string) http.Handler {
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 4096,
		// Write buffers are taken from a pool for the time of a write:
		// ten thousand idle consoles do not hold 40 MB of them.
		WriteBufferPool: &sync.Pool{},
		CheckOrigin: func(r *http.Request) bool {
			o := r.Header.Get("Origin")
			if o == "" {
				return true // not a browser: no ambient credentials to abuse
			}
			u, err := url.Parse(o)
			if err != nil {
				return false
			}
			return strings.EqualFold(u.Host, r.Host) || slices.Contains(origins, o)
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, ok := auth.FromContext(r.Context())
		if !ok {
			httpx.Error(w, http.StatusUnauthorized, httpx.FieldError{Field: "session", Rule: "login", MessageZH: "请先登录", MessageEN: "please sign in"})
			return
		}
		switch actor.Role {
		case auth.Agent, auth.Dispatcher, auth.Supervisor, auth.Officer:
		default:
			httpx.Error(w, http.StatusForbidden, httpx.FieldError{Field: "role", Rule: "role", MessageZH: "您的角色不使用实时控制台", MessageEN: "your role has no live console"})
			return
		}
		last := int64(-1)
		if s := r.URL.Query().Get("last"); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "last", Rule: "int", MessageZH: "last 应为事件位置（非负整数）", MessageEN: "last must be an event position (a non-negative integer)"})
				return
			}
			last = n
		}
		select {
		case <-h.started:
		case <-r.Context().Done():
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return // the upgrader answered
		}
		ws.SetReadLimit(readLimit)
		b := make([]byte, 8)
		rand.Read(b)
		c := &Conn{hub: h, ws: ws, actor: actor, id: hex.EncodeToString(b),
			send: make(chan *Item, h.opts.SendBuffer), ctrl: make(chan []byte, 64), nudge: make(chan struct{}, 1), done: make(chan struct{})}
		backlog, head, inRing := h.register(c, last)
		h.presence.join(c)
		go c.writePump(last, backlog, head, inRing)
		c.readPump()
	})
}

type envelope struct {
	V     int        `json:"v"`
	Type  string     `json:"type"`
	Pos   int64      `json:"pos,omitempty"`
	Event *Event     `json:"event,omitempty"`
	Pop   *ScreenPop `json:"pop,omitempty"`
	Alert *Alert     `json:"alert,omitempty"`
}

func (c *Conn) write(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.writeRaw(b)
}

func (c *Conn) writeRaw(b []byte) error {
	c.ws.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	if err != nil {
		select {
		case <-c.done:
		default:
			c.hub.dropped.Add(1) // cannot take its messages: dropped, it resumes
		}
	}
	return err
}

func (c *Conn) writeItem(it Item) error {
	if it.wire != nil {
		return c.writeRaw(it.wire)
	}
	return c.write(it.envelope())
}

func (it *Item) envelope() envelope {
	return envelope{V: Protocol, Type: it.Type, Pos: it.Pos, Event: it.Event, Pop: it.Pop, Alert: it.Alert}
}

func (c *Conn) writePump(last int64, backlog []Item, head int64, inRing bool) {
	defer func() {
		c.hub.unregister(c)
		c.kill("writer ended")
	}()
	ping := time.NewTicker(pingPeriod)
	defer ping.Stop()
	// The browser has seen everything up to start; when it comes from a
	// node that is ahead of this one, that is beyond this node's head.
	start := head
	if last >= 0 {
		start = last
	}
	if err := c.write(map[string]any{"v": Protocol, "type": "hello", "pos": start, "node": c.hub.opts.Node,
		"user": map[string]any{"username": c.actor.Username, "name": c.actor.Name, "role": c.actor.Role, "unit_id": c.actor.UnitID}}); err != nil {
		return
	}
	sent := start
	if last >= 0 && last < head {
		if !inRing {
			// Older than the ring: replay from the event table.
			n := 0
			for sent < head {
				items, err := Fetch(context.Background(), c.hub.db, sent, 5000)
				if err != nil || len(items) == 0 {
					break
				}
				for _, it := range items {
					if it.Pos > head {
						break
					}
					sent = it.Pos
					if !c.sees(&it) {
						continue
					}
					if n++; n > c.hub.opts.MaxBacklog {
						c.write(map[string]any{"v": Protocol, "type": "resync", "pos": head, "reason": "missed too many events: reload"})
						sent = head
						break
					}
					if err := c.writeItem(it); err != nil {
						return
					}
				}
			}
			sent = head
		} else {
			for _, it := range backlog {
				if err := c.writeItem(it); err != nil {
					return
				}
			}
			sent = head
		}
	}
	sent = max(sent, start)
	for {
		select {
		case <-c.done:
			return
		case it := <-c.send:
			if it.Pos <= sent {
				continue
			}
			sent = it.Pos
			if err := c.writeItem(*it); err != nil {
				return
			}
		case <-c.nudge:
			var err error
			if sent, err = c.catchUp(sent); err != nil {
				return
			}
		case b := <-c.ctrl:
			if err := c.writeRaw(b); err != nil {
				return
			}
		case <-ping.C:
			c.ws.SetWriteDeadline(time.Now().Add(c.hub.opts.WriteTimeout))
			if err := c.ws.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

// catchUp writes what is queued, then what the queue could not take, from
// the ring (or the database), until the connection is live again.
func (c *Conn) catchUp(sent int64) (int64, error) {
	for {
		select {
		case it := <-c.send:
			if it.Pos > sent {
				sent = it.Pos
				if err := c.writeItem(*it); err != nil {
					return sent, err
				}
			}
			continue
		default:
		}
		items, head, fromDB := c.hub.after(c, sent, 500)
		if fromDB {
			rows, err := Fetch(context.Background(), c.hub.db, sent, 2000)
			if err != nil {
				return sent, err
			}
			items = items[:0]
			for _, it := range rows {
				if it.Pos <= head && c.sees(&it) {
					items = append(items, it)
				}
			}
			if len(rows) == 0 {
				return sent, nil
			}
			if len(items) == 0 {
				sent = rows[len(rows)-1].Pos
				continue
			}
		}
		if len(items) == 0 {
			return sent, nil // live again
		}
		for _, it := range items {
			if it.Pos > sent {
				sent = it.Pos
				if err := c.writeItem(it); err != nil {
					return sent, err
				}
			}
		}
	}
}

// clientMessage is what a browser sends.
type clientMessage struct {
	Type    string `json:"type"` // open, close, editing
	CaseID  string `json:"case_id"`
	Editing bool   `json:"editing"`
}

func (c *Conn) readPump() {
	defer func() {
		c.hub.unregister(c)
		c.kill("reader ended")
	}()
	c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error {
		c.ws.SetReadDeadline(time.Now().Add(pongWait))
		return nil
	})
	for {
		_, b, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		c.ws.SetReadDeadline(time.Now().Add(pongWait))
		var m clientMessage
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch m.Type {
		case "open", "editing":
			id, err := uuid.Parse(m.CaseID)
			if err != nil || !c.hub.canSee(c.actor, id) {
				continue
			}
			c.hub.presence.open(c, id, m.Type == "editing" && m.Editing)
		case "close":
			c.hub.presence.open(c, uuid.Nil, false)
		}
	}
}
