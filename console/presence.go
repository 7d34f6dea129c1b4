package console

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"github.com/google/uuid"

	"yici/internal/auth"
)

// Presence: who is online, and who has which case open or is editing it.
// Each node writes its connections to console_presence (at once on a
// change, and a heartbeat every 15 s) and reads everyone's rows every 2 s;
// browsers get the whole picture when they connect and changes after.

const (
	presenceRead  = 2 * time.Second
	presenceBeat  = 15 * time.Second
	presenceStale = 45 * time.Second
)

// OnlineUser is a person with the console open.
type OnlineUser struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	UnitID   string `json:"unit_id,omitempty"`
}

// OnCase is a person on a case.
type OnCase struct {
	Username string `json:"username"`
	Name     string `json:"name"`
	Editing  bool   `json:"editing"`
}

type connState struct {
	caseID  uuid.UUID
	editing bool
}

type presence struct {
	h *Hub

	mu     sync.Mutex
	local  map[*Conn]connState
	left   []string // conn ids to delete
	dirty  chan struct{}
	online map[string]OnlineUser
	cases  map[uuid.UUID][]OnCase
}

func newPresence(h *Hub) *presence {
	return &presence{h: h, local: map[*Conn]connState{}, dirty: make(chan struct{}, 1),
		online: map[string]OnlineUser{}, cases: map[uuid.UUID][]OnCase{}}
}

func (p *presence) poke() {
	select {
	case p.dirty <- struct{}{}:
	default:
	}
}

func (p *presence) join(c *Conn) {
	p.mu.Lock()
	p.local[c] = connState{}
	online, cases := p.online, p.cases
	p.mu.Unlock()
	c.sendCtrl(snapshotMessage(c, online, cases))
	p.poke()
}

func (p *presence) leave(c *Conn) {
	p.mu.Lock()
	if _, ok := p.local[c]; ok {
		delete(p.local, c)
		p.left = append(p.left, c.id)
	}
	p.mu.Unlock()
	p.poke()
}

func (p *presence) open(c *Conn, id uuid.UUID, editing bool) {
	p.mu.Lock()
	if _, ok := p.local[c]; ok {
		p.local[c] = connState{caseID: id, editing: editing}
	}
	p.mu.Unlock()
	p.poke()
}

func (p *presence) run(ctx context.Context) {
	read := time.NewTicker(presenceRead)
	defer read.Stop()
	beat := time.Now()
	for {
		force := false
		select {
		case <-ctx.Done():
			p.h.db.Exec(context.WithoutCancel(ctx), `DELETE FROM console_presence WHERE node = $1`, p.h.opts.Node)
			return
		case <-p.dirty:
		case <-read.C:
			if time.Since(beat) > presenceBeat {
				force, beat = true, time.Now()
			}
		}
		if err := p.write(ctx, force); err != nil && ctx.Err() == nil {
			p.h.log.Warn("console: presence write", "err", err)
		}
		if err := p.read(ctx); err != nil && ctx.Err() == nil {
			p.h.log.Warn("console: presence read", "err", err)
		}
	}
}

// write stores this node's connections (all of them: the rows are small).
func (p *presence) write(ctx context.Context, _ bool) error {
	p.mu.Lock()
	left := p.left
	p.left = nil
	var conns, names, users, roles, units []string
	var uids []uuid.UUID
	var cases []*uuid.UUID
	var editing []bool
	for c, st := range p.local {
		conns = append(conns, c.id)
		uids = append(uids, c.actor.ID)
		users = append(users, c.actor.Username)
		names = append(names, c.actor.Name)
		roles = append(roles, string(c.actor.Role))
		units = append(units, c.actor.UnitID)
		if st.caseID != uuid.Nil {
			id := st.caseID
			cases = append(cases, &id)
		} else {
			cases = append(cases, nil)
		}
		editing = append(editing, st.editing)
	}
	p.mu.Unlock()
	db := p.h.db
	if len(left) > 0 {
		if _, err := db.Exec(ctx, `DELETE FROM console_presence WHERE node = $1 AND conn = ANY($2)`, p.h.opts.Node, left); err != nil {
			return err
		}
	}
	if len(conns) == 0 {
		return nil
	}
	_, err := db.Exec(ctx, `INSERT INTO console_presence (node, conn, user_id, username, name, role, unit_id, case_id, editing, updated_at)
		SELECT $1, * , now() FROM unnest($2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::bool[])
		ON CONFLICT (node, conn) DO UPDATE SET case_id = excluded.case_id, editing = excluded.editing, updated_at = now()`,
		p.h.opts.Node, conns, uids, users, names, roles, units, cases, editing)
	return err
}

// read builds the picture from every node's rows and tells the local
// connections what changed.
func (p *presence) read(ctx context.Context) error {
	rows, err := p.h.db.Query(ctx, `SELECT username, name, role, unit_id, case_id, editing FROM console_presence
		WHERE updated_at > now() - $1::interval ORDER BY username`, presenceStale.String())
	if err != nil {
		return err
	}
	defer rows.Close()
	online := map[string]OnlineUser{}
	cases := map[uuid.UUID][]OnCase{}
	for rows.Next() {
		var u OnlineUser
		var caseID *uuid.UUID
		var editing bool
		if err := rows.Scan(&u.Username, &u.Name, &u.Role, &u.UnitID, &caseID, &editing); err != nil {
			return err
		}
		online[u.Username] = u
		if caseID != nil {
			on := cases[*caseID]
			found := false
			for i := range on {
				if on[i].Username == u.Username {
					on[i].Editing = on[i].Editing || editing
					found = true
				}
			}
			if !found {
				cases[*caseID] = append(on, OnCase{Username: u.Username, Name: u.Name, Editing: editing})
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	prevOnline, prevCases := p.online, p.cases
	p.online, p.cases = online, cases
	local := make([]*Conn, 0, len(p.local))
	for c := range p.local {
		local = append(local, c)
	}
	p.mu.Unlock()
	var joined []OnlineUser
	var left []string
	for name, u := range online {
		if _, ok := prevOnline[name]; !ok {
			joined = append(joined, u)
		}
	}
	for name := range prevOnline {
		if _, ok := online[name]; !ok {
			left = append(left, name)
		}
	}
	changed := map[uuid.UUID][]OnCase{}
	for id, on := range cases {
		if !sameOn(on, prevCases[id]) {
			changed[id] = on
		}
	}
	for id := range prevCases {
		if _, ok := cases[id]; !ok {
			changed[id] = []OnCase{}
		}
	}
	if len(joined) == 0 && len(left) == 0 && len(changed) == 0 {
		return nil
	}
	sort.Slice(joined, func(i, j int) bool { return joined[i].Username < joined[j].Username })
	sort.Strings(left)
	for _, c := range local {
		msg := map[string]any{"v": Protocol, "type": "presence", "joined": joined, "left": left, "cases": visibleCases(c, changed)}
		b, _ := json.Marshal(msg)
		c.sendCtrl(b)
	}
	return nil
}

func sameOn(a, b []OnCase) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// visibleCases keeps what the connection may see: the hotline centre sees
// everyone on every case; an officer only who is on the case they have
// open.
func visibleCases(c *Conn, cases map[uuid.UUID][]OnCase) map[string][]OnCase {
	out := map[string][]OnCase{}
	var mine uuid.UUID
	if c.actor.Role == auth.Officer {
		c.hub.presence.mu.Lock()
		mine = c.hub.presence.local[c].caseID
		c.hub.presence.mu.Unlock()
	}
	for id, on := range cases {
		if c.actor.Role != auth.Officer || id == mine {
			out[id.String()] = on
		}
	}
	return out
}

func snapshotMessage(c *Conn, online map[string]OnlineUser, cases map[uuid.UUID][]OnCase) []byte {
	list := make([]OnlineUser, 0, len(online))
	for _, u := range online {
		list = append(list, u)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Username < list[j].Username })
	b, _ := json.Marshal(map[string]any{"v": Protocol, "type": "presence", "full": true, "online": list, "cases": visibleCases(c, cases)})
	return b
}
