package cases

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"yici/internal/auth"
)

// ConfidentialName is what a handling unit sees instead of a 举报
// reporter's (or an anonymous citizen's) name.
const ConfidentialName = "举报人信息保密"

// AnonymousName is shown instead of the name of a citizen who asked for
// anonymity.
const AnonymousName = "市民（匿名）"

// CanSee reports whether actor may see case c at all: the hotline centre
// sees every case; an officer only cases ever assigned to their unit.
func CanSee(c *Case, actor auth.Actor) bool {
	switch actor.Role {
	case auth.Agent, auth.Dispatcher, auth.Supervisor:
		return true
	case auth.Officer:
		for _, a := range c.Assignments {
			if a.UnitID == actor.UnitID {
				return true
			}
		}
	}
	return false
}

// ForActor returns a copy of c with what actor may not see removed: for
// anyone outside the hotline centre, the identity of a 举报 reporter or of
// a citizen who asked for anonymity; for officers, the internal notes of
// other units.
func ForActor(c *Case, actor auth.Actor) *Case {
	out := *c
	out.Assignments = append([]Assignment(nil), c.Assignments...)
	if actor.IsCentre() {
		return &out
	}
	if c.Confidential {
		out.CitizenName, out.CitizenPhone = ConfidentialName, ""
	} else if c.Anonymous {
		out.CitizenName, out.CitizenPhone = AnonymousName, ""
	}
	for i := range out.Assignments {
		if out.Assignments[i].UnitID != actor.UnitID {
			out.Assignments[i].Note = ""
		}
	}
	return &out
}

// MaskPhone shows the first three and last four digits: 138****5678.
func MaskPhone(p string) string {
	r := []rune(p)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// PublicEvent is one step of the public timeline.
type PublicEvent struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	Label  string    `json:"label"`
	Unit   string    `json:"unit,omitempty"` // unit name, never an officer's
	Text   string    `json:"text,omitempty"`
}

// PublicView is what the public tracking page shows: public events only,
// unit names without officer names, no internal notes, phone masked.
type PublicView struct {
	TrackingNo   string        `json:"tracking_no"`
	Kind         Kind          `json:"kind"`
	Title        string        `json:"title"`
	State        State         `json:"state"`
	Status       string        `json:"status"`
	Channel      string        `json:"channel"`
	Phone        string        `json:"phone"`
	CreatedAt    time.Time     `json:"created_at"`
	DueAt        *time.Time    `json:"due_at,omitempty"`
	Units        []string      `json:"units,omitempty"`
	Reply        string        `json:"reply,omitempty"`
	Satisfaction string        `json:"satisfaction,omitempty"`
	CanRate      bool          `json:"can_rate"`
	Timeline     []PublicEvent `json:"timeline"`
}

// Track returns the public view of a case, given its tracking number and
// the last four digits of the citizen's phone. A wrong or missing
// verification fails exactly like a number that does not exist.
func (s *Store) Track(ctx context.Context, trackingNo, phoneLast4 string) (*PublicView, *Case, error) {
	no := NormalizeTrackingNo(trackingNo)
	if !ValidTrackingNo(no) || len(phoneLast4) != 4 {
		return nil, nil, ErrNotFound
	}
	var stored string
	err := s.q(ctx).QueryRow(ctx, `SELECT phone_last4 FROM cases WHERE tracking_no = $1`, no).Scan(&stored)
	if err != nil || stored == "" || subtle.ConstantTimeCompare([]byte(stored), []byte(phoneLast4)) != 1 {
		return nil, nil, ErrNotFound
	}
	c, err := s.GetByTrackingNo(ctx, no)
	if err != nil {
		return nil, nil, err
	}
	evs, err := s.Events(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.publicView(ctx, c, evs)
	return v, c, err
}

// PublicViewOf returns the public view of a case the caller already may see.
func (s *Store) PublicViewOf(ctx context.Context, c *Case) (*PublicView, error) {
	evs, err := s.Events(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return s.publicView(ctx, c, evs)
}

func (s *Store) unitNames(ctx context.Context, ids []string) (map[string]string, error) {
	names := map[string]string{}
	if len(ids) == 0 {
		return names, nil
	}
	rows, err := s.q(ctx).Query(ctx, `SELECT id, name FROM units WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		names[id] = name
	}
	return names, rows.Err()
}

func (s *Store) publicView(ctx context.Context, c *Case, evs []Event) (*PublicView, error) {
	var ids []string
	for _, e := range evs {
		if e.ActorUnit != "" {
			ids = append(ids, e.ActorUnit)
		}
		if l := dataString(e.Data, "lead"); l != "" {
			ids = append(ids, l)
		}
	}
	for _, a := range c.Assignments {
		ids = append(ids, a.UnitID)
	}
	names, err := s.unitNames(ctx, ids)
	if err != nil {
		return nil, err
	}
	name := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id
	}
	v := &PublicView{TrackingNo: c.TrackingNo, Kind: c.Kind, Title: c.Title, State: c.State, Status: c.State.PublicLabel(),
		Channel: c.Channel.Label(), Phone: MaskPhone(c.CitizenPhone), CreatedAt: c.CreatedAt, Reply: c.Reply,
		Satisfaction: c.Satisfaction.Label(), CanRate: c.State == PendingCallback}
	if c.State.Open() && c.State != Registered && c.State != PendingDispatch {
		v.DueAt = c.DueAt
	}
	for _, a := range c.Assignments {
		if a.Round == c.DispatchRound && a.State != AReturned {
			v.Units = append(v.Units, name(a.UnitID))
		}
	}
	for _, e := range evs {
		if !e.Public {
			continue
		}
		pe := PublicEvent{At: e.At, Action: string(e.Action), Label: e.Action.Label()}
		if e.ActorUnit != "" {
			pe.Unit = name(e.ActorUnit)
		}
		switch e.Action {
		case ActRegister:
			pe.Text = "您的诉求已受理"
		case ActDispatch, ActRedo, ActEscalate:
			pe.Unit = name(dataString(e.Data, "lead"))
			pe.Text = "已派至" + pe.Unit + "办理"
			switch e.Action {
			case ActRedo:
				pe.Text = "重新交" + pe.Unit + "办理"
			case ActEscalate:
				pe.Text = "已升级由" + pe.Unit + "办理"
			}
		case ActSign:
			pe.Text = pe.Unit + "已签收，正在办理"
		case ActApproveExtension:
			if t, err := time.Parse(time.RFC3339Nano, dataString(e.Data, "due_at")); err == nil {
				pe.Text = "办理期限延长至 " + t.In(shanghai).Format("2006-01-02 15:04")
			}
		case ActSuspend:
			pe.Text = "暂停办理：" + e.Reason
		case ActResume:
			pe.Text = "恢复办理"
		case ActReply, ActAnswer, ActFollowParent:
			pe.Text = e.Reason
		case ActApproveReview:
			pe.Text = "已办结，等待回访"
		case ActCallback:
			pe.Text = "回访结果：" + Satisfaction(dataString(e.Data, "satisfaction")).Label()
		case ActMerge:
			pe.Text = "与同一事项（" + dataString(e.Data, "parent_tracking_no") + "）合并办理"
		case ActNote:
			pe.Text = e.Reason
		}
		v.Timeline = append(v.Timeline, pe)
	}
	return v, nil
}
