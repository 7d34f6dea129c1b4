package console

import (
	"context"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/cases"
	"yici/internal/auth"
)

func actionLabel(a string) string { return cases.Action(a).Label() }
func stateLabel(s string) string  { return cases.State(s).Label() }

// Options tune the hub.
type Options struct {
	// Poll is the fallback interval of the tailer (other nodes' writes
	// also wake it through a coalesced NOTIFY).
	Poll time.Duration
	// NotifyEvery is the least time between two NOTIFYs of this node.
	NotifyEvery time.Duration
	// SendBuffer is the messages a connection may have queued before it
	// is dropped as too slow (it reconnects and resumes).
	SendBuffer int
	// Ring is the number of recent items kept for resumes without a query.
	Ring int
	// MaxBacklog is the most a resume replays; beyond, the browser reloads.
	MaxBacklog int
	// WriteTimeout drops a connection that cannot take a message in time.
	WriteTimeout time.Duration
	// Node names this process in presence rows.
	Node string
}

func (o *Options) defaults() {
	if o.Poll == 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.NotifyEvery == 0 {
		o.NotifyEvery = 50 * time.Millisecond
	}
	if o.SendBuffer == 0 {
		o.SendBuffer = 512
	}
	if o.Ring == 0 {
		o.Ring = 20000
	}
	if o.MaxBacklog == 0 {
		o.MaxBacklog = 50000
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = 10 * time.Second
	}
}

const notifyChannel = "yici_events"

// Hub tails the stream and fans it out to this node's connections.
type Hub struct {
	db   *pgxpool.Pool
	log  *slog.Logger
	opts Options

	wake chan struct{}

	mu    sync.Mutex
	conns map[*Conn]struct{}
	ring  []Item // the most recent items, oldest first
	// ringFloor: every item after it is in the ring.
	ringFloor int64
	head      int64 // position of the last item delivered
	started   chan struct{}

	delivered atomic.Int64
	dropped   atomic.Int64
	lagged    atomic.Int64
	presence  *presence

	// canSee says whether an actor may see a case (for presence on it).
	canSee func(auth.Actor, uuid.UUID) bool
}

// SetCanSee installs the case visibility check used for presence.
func (h *Hub) SetCanSee(fn func(auth.Actor, uuid.UUID) bool) { h.canSee = fn }

// NewHub returns a hub; Run starts it.
func NewHub(db *pgxpool.Pool, log *slog.Logger, o Options) *Hub {
	o.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{db: db, log: log, opts: o, wake: make(chan struct{}, 1), conns: map[*Conn]struct{}{}, started: make(chan struct{})}
	h.presence = newPresence(h)
	h.canSee = func(auth.Actor, uuid.UUID) bool { return false }
	return h
}

// Poke wakes the tailer: call it after a local commit that wrote events.
func (h *Hub) Poke() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Head is the position of the last item delivered.
func (h *Hub) Head() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

// Stats are counters for /metrics: connections now, items queued to
// connections, connections dropped as unable to write, and overflows
// caught up from the ring.
func (h *Hub) Stats() (conns int, delivered, dropped, lagged int64) {
	h.mu.Lock()
	conns = len(h.conns)
	h.mu.Unlock()
	return conns, h.delivered.Load(), h.dropped.Load(), h.lagged.Load()
}

// Run tails the stream until ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	var head int64
	for {
		var err error
		if head, err = Horizon(ctx, h.db); err == nil {
			break
		}
		h.log.Warn("console: horizon", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	h.mu.Lock()
	h.head, h.ringFloor = head, head
	h.mu.Unlock()
	close(h.started)
	go h.listen(ctx)
	go h.presence.run(ctx)
	tick := time.NewTicker(h.opts.Poll)
	defer tick.Stop()
	var lastNotify time.Time
	for {
		select {
		case <-ctx.Done():
			h.closeAll()
			return ctx.Err()
		case <-h.wake:
		case <-tick.C:
		}
		for {
			items, err := Fetch(ctx, h.db, head, 5000)
			if err != nil {
				if ctx.Err() == nil {
					h.log.Warn("console: tail", "err", err)
				}
				break
			}
			if len(items) == 0 {
				break
			}
			h.broadcast(items)
			head = items[len(items)-1].Pos
			// Tell the other nodes, at a low rate and off the write path.
			if time.Since(lastNotify) >= h.opts.NotifyEvery {
				lastNotify = time.Now()
				if _, err := h.db.Exec(ctx, `SELECT pg_notify($1, '')`, notifyChannel); err != nil && ctx.Err() == nil {
					h.log.Warn("console: notify", "err", err)
				}
			}
			if len(items) < 5000 {
				break
			}
		}
	}
}

// listen wakes the tailer when another node says it saw new rows.
func (h *Hub) listen(ctx context.Context) {
	for ctx.Err() == nil {
		err := func() error {
			conn, err := h.db.Acquire(ctx)
			if err != nil {
				return err
			}
			defer conn.Release()
			if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
				return err
			}
			defer conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+notifyChannel)
			for {
				if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
					return err
				}
				h.Poke()
			}
		}()
		if ctx.Err() != nil {
			return
		}
		h.log.Warn("console: listen", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func (h *Hub) broadcast(items []Item) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range items {
		it := &items[i] // shared by every connection's queue, never changed
		if it.Pos <= h.head {
			continue
		}
		h.head = it.Pos
		h.ring = append(h.ring, *it)
		for c := range h.conns {
			if c.behind || !c.sees(it) {
				continue
			}
			select {
			case c.send <- it:
				h.delivered.Add(1)
			default:
				// Its queue is full: it catches up from the ring (or the
				// database) by itself when it has written what it has;
				// nobody waits for it. A connection that cannot write at
				// all is dropped by its write deadline.
				c.behind = true
				h.lagged.Add(1)
				select {
				case c.nudge <- struct{}{}:
				default:
				}
			}
		}
	}
	if over := len(h.ring) - h.opts.Ring; over > 0 {
		h.ringFloor = h.ring[over-1].Pos
		h.ring = append(h.ring[:0:0], h.ring[over:]...)
	}
}

// after returns up to limit items after pos that c may see, from the ring;
// fromDB is true when the ring does not reach back that far. When there is
// nothing after pos, the connection is caught up and live again.
func (h *Hub) after(c *Conn, pos int64, limit int) (items []Item, head int64, fromDB bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	head = h.head
	if pos < h.ringFloor {
		return nil, head, true
	}
	i := sort.Search(len(h.ring), func(i int) bool { return h.ring[i].Pos > pos })
	for ; i < len(h.ring) && len(items) < limit; i++ {
		if c.sees(&h.ring[i]) {
			items = append(items, h.ring[i])
		}
	}
	if len(items) == 0 || items[len(items)-1].Pos >= head {
		c.behind = false
	}
	return items, head, false
}

// register adds a connection that has seen everything up to last, and
// returns the items it missed that the ring still holds (ok false when the
// ring does not reach back that far: read them from the database, up to
// the returned head).
func (h *Hub) register(c *Conn, last int64) (backlog []Item, head int64, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.conns[c] = struct{}{}
	head = h.head
	if last < 0 || last >= head {
		return nil, head, true
	}
	if last < h.ringFloor {
		return nil, head, false // older than the ring: read the database
	}
	for _, it := range h.ring {
		if it.Pos > last && c.sees(&it) {
			backlog = append(backlog, it)
		}
	}
	return backlog, head, true
}

func (h *Hub) unregister(c *Conn) {
	h.mu.Lock()
	h.removeLocked(c)
	h.mu.Unlock()
}

func (h *Hub) removeLocked(c *Conn) {
	if _, ok := h.conns[c]; ok {
		delete(h.conns, c)
		h.presence.leave(c)
	}
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		h.removeLocked(c)
		c.kill("shutdown")
	}
}

// sees reports whether the connection's user may see the item.
func (c *Conn) sees(it *Item) bool {
	switch it.Type {
	case "screenpop":
		return it.agent == c.actor.Username
	case "alert":
		return c.actor.Role == auth.Supervisor || c.actor.Role == auth.Dispatcher
	case "event":
		switch c.actor.Role {
		case auth.Agent, auth.Dispatcher, auth.Supervisor:
			return true
		case auth.Officer:
			for _, u := range it.units {
				if u == c.actor.UnitID {
					return true
				}
			}
		}
	}
	return false
}
