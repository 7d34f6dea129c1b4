// Package cases is the closed loop: the case, its assignments to handling
// units, the lifecycle state machine and the append-only trail of events.
//
//	登记 → 直接答复
//	     → 待派单 → 派单 → 待签收 → 签收/办理中 → 办结反馈 → 办结审核 → 回访 → 归档
//
// with 退单, 延期, 挂起/恢复, 重办, 督办 and 并单. Every transition is a
// function that takes the actor and a reason, checks the actor's role and
// the current state, and writes the new state and an event in one
// transaction; it fails with a *TransitionError otherwise.
package cases

import (
	"time"

	"github.com/google/uuid"
)

// Kind is what the citizen asks for.
type Kind string

// The kinds of request.
const (
	Consultation Kind = "咨询"
	Help         Kind = "求助"
	Complaint    Kind = "投诉"
	Report       Kind = "举报" // report of wrongdoing: the reporter's identity is confidential
	Suggestion   Kind = "建议"
	Praise       Kind = "表扬"
	Other        Kind = "其他"
)

// Kinds lists every kind.
var Kinds = []Kind{Consultation, Help, Complaint, Report, Suggestion, Praise, Other}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Urgency of a case.
type Urgency string

// Urgencies.
const (
	Normal    Urgency = "normal"
	Urgent    Urgency = "urgent"
	Emergency Urgency = "emergency"
)

// Valid reports whether u is known.
func (u Urgency) Valid() bool { return u == Normal || u == Urgent || u == Emergency }

// Label is the Chinese name.
func (u Urgency) Label() string {
	switch u {
	case Urgent:
		return "紧急"
	case Emergency:
		return "特急"
	}
	return "一般"
}

// State of a case.
type State string

// The states.
const (
	Registered      State = "registered"       // 登记/受理
	Answered        State = "answered"         // 直接答复 (closed at first contact)
	PendingDispatch State = "pending_dispatch" // 待派单
	PendingSign     State = "pending_sign"     // 待签收
	InProgress      State = "in_progress"      // 办理中
	ReturnRequested State = "return_requested" // 退单审核中
	PendingReview   State = "pending_review"   // 办结审核
	PendingCallback State = "pending_callback" // 待回访
	Suspended       State = "suspended"        // 挂起
	Archived        State = "archived"         // 归档
	Merged          State = "merged"           // 已并单 (follows its parent)
)

// States lists every state.
var States = []State{Registered, Answered, PendingDispatch, PendingSign, InProgress, ReturnRequested,
	PendingReview, PendingCallback, Suspended, Archived, Merged}

// Label is the Chinese name.
func (s State) Label() string {
	switch s {
	case Registered:
		return "已受理"
	case Answered:
		return "已直接答复"
	case PendingDispatch:
		return "待派单"
	case PendingSign:
		return "待签收"
	case InProgress:
		return "办理中"
	case ReturnRequested:
		return "退单审核中"
	case PendingReview:
		return "办结审核中"
	case PendingCallback:
		return "待回访"
	case Suspended:
		return "已挂起"
	case Archived:
		return "已办结归档"
	case Merged:
		return "已并单"
	}
	return string(s)
}

// PublicLabel is the honest status in plain words for the citizen.
func (s State) PublicLabel() string {
	switch s {
	case Registered, PendingDispatch:
		return "已受理，正在分派承办单位"
	case Answered:
		return "已答复"
	case PendingSign:
		return "已派至承办单位，等待签收"
	case InProgress, ReturnRequested:
		return "承办单位正在办理"
	case PendingReview:
		return "承办单位已答复，热线中心审核中"
	case PendingCallback:
		return "已办结，等待回访"
	case Suspended:
		return "暂停办理（原因见进度）"
	case Archived:
		return "已办结"
	case Merged:
		return "已与同一事项合并办理"
	}
	return string(s)
}

// Open reports whether the case still needs work.
func (s State) Open() bool { return s != Answered && s != Archived && s != Merged }

// Channel through which a case came in.
type Channel string

// Channels.
const (
	ChannelPhone   Channel = "phone"
	ChannelWeb     Channel = "web"
	ChannelApp     Channel = "app"
	ChannelGrid    Channel = "grid"
	ChannelKiosk   Channel = "kiosk"
	ChannelOpen311 Channel = "open311"
	ChannelConsole Channel = "console" // registered by staff without a call
)

// Label is the Chinese name.
func (c Channel) Label() string {
	switch c {
	case ChannelPhone:
		return "电话"
	case ChannelWeb:
		return "网站"
	case ChannelApp:
		return "移动应用"
	case ChannelGrid:
		return "网格员上报"
	case ChannelKiosk:
		return "自助终端"
	case ChannelOpen311:
		return "Open311"
	case ChannelConsole:
		return "人工登记"
	}
	return string(c)
}

// Satisfaction recorded at the callback.
type Satisfaction string

// Satisfaction values.
const (
	Satisfied    Satisfaction = "satisfied"    // 满意
	Basic        Satisfaction = "basic"        // 基本满意
	Dissatisfied Satisfaction = "dissatisfied" // 不满意
	Unreachable  Satisfaction = "unreachable"  // 未联系上
)

// Label is the Chinese name.
func (s Satisfaction) Label() string {
	switch s {
	case Satisfied:
		return "满意"
	case Basic:
		return "基本满意"
	case Dissatisfied:
		return "不满意"
	case Unreachable:
		return "未联系上"
	}
	return ""
}

// Point is a WGS-84 position.
type Point struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Case is one citizen request.
type Case struct {
	ID            uuid.UUID
	TrackingNo    string
	CountyCode    string
	CityCode      string
	TownshipCode  string
	Kind          Kind
	Category      string
	Title         string
	Content       string
	Address       string
	Point         *Point
	Urgency       Urgency
	CitizenName   string
	CitizenPhone  string
	Anonymous     bool
	Confidential  bool // 举报: name and phone for the hotline centre only
	Channel       Channel
	ChannelRef    string
	Reporter      string // who filed it through a channel: "app:<key>:<phone>", "grid:<user>", ...
	State         State
	ResumeState   State
	ParentID      *uuid.UUID
	Policy        Policy
	DispatchRound int
	DispatchedAt  *time.Time
	SignDue       *time.Time
	DueAt         *time.Time
	ReturnUntil   *time.Time
	SuspendedAt   *time.Time
	ExtCount      int
	ExtUntil      *time.Time
	ExtReason     string
	ReturnCount   int
	RedoCount     int
	UrgeCount     int
	UrgeDue       *time.Time // a 督办 awaiting the lead unit's response
	CallbackTries int
	Reply         string
	Satisfaction  Satisfaction
	Solved        *bool
	RatedAt       *time.Time
	Version       int
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ClosedAt      *time.Time

	Assignments []Assignment
}

// AssignmentRole is lead (主办) or co-handling (协办).
type AssignmentRole string

// Assignment roles.
const (
	Lead AssignmentRole = "lead"
	Co   AssignmentRole = "co"
)

// AssignmentState is the state of one unit's part.
type AssignmentState string

// Assignment states.
const (
	APendingSign     AssignmentState = "pending_sign"
	ASigned          AssignmentState = "signed"
	AReplied         AssignmentState = "replied"
	AReturnRequested AssignmentState = "return_requested"
	AReturned        AssignmentState = "returned"
	AClosed          AssignmentState = "closed"
)

// Live reports whether the unit still holds the case.
func (s AssignmentState) Live() bool { return s != AReturned && s != AClosed }

// Assignment is one unit's part in a case.
type Assignment struct {
	ID           uuid.UUID       `json:"id"`
	UnitID       string          `json:"unit_id"`
	UnitName     string          `json:"unit_name,omitempty"`
	Role         AssignmentRole  `json:"role"`
	Round        int             `json:"round"`
	State        AssignmentState `json:"state"`
	DispatchedAt time.Time       `json:"dispatched_at"`
	SignedAt     *time.Time      `json:"signed_at,omitempty"`
	RepliedAt    *time.Time      `json:"replied_at,omitempty"`
	Reply        string          `json:"reply,omitempty"`
	Note         string          `json:"note,omitempty"` // internal
}

// LeadAssignment returns the live lead assignment, if any.
func (c *Case) LeadAssignment() *Assignment {
	for i := range c.Assignments {
		a := &c.Assignments[i]
		if a.Role == Lead && a.Round == c.DispatchRound && a.State.Live() {
			return a
		}
	}
	return nil
}

// AssignmentOf returns the live assignment of unit in the current round.
func (c *Case) AssignmentOf(unit string) *Assignment {
	for i := range c.Assignments {
		a := &c.Assignments[i]
		if a.UnitID == unit && a.Round == c.DispatchRound && a.State.Live() {
			return a
		}
	}
	return nil
}

// Event is one step of the trail.
type Event struct {
	ID         int64          `json:"id"`
	CaseID     uuid.UUID      `json:"case_id"`
	CountyCode string         `json:"county_code"`
	Seq        int            `json:"seq"`
	At         time.Time      `json:"at"`
	Action     Action         `json:"action"`
	ActorID    *uuid.UUID     `json:"actor_id,omitempty"`
	ActorName  string         `json:"actor_name"`
	ActorRole  string         `json:"actor_role"`
	ActorUnit  string         `json:"actor_unit,omitempty"`
	From       State          `json:"from"`
	To         State          `json:"to"`
	Reason     string         `json:"reason,omitempty"`
	Public     bool           `json:"public"`
	Data       map[string]any `json:"data,omitempty"`
}
