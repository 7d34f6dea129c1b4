package cases

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"yici/internal/auth"
)

// Action is one step of the lifecycle.
type Action string

// The actions.
const (
	ActRegister         Action = "register"          // 登记/受理
	ActAnswer           Action = "answer"            // 直接答复
	ActSubmit           Action = "submit"            // 转待派单
	ActDispatch         Action = "dispatch"          // 派单
	ActSign             Action = "sign"              // 签收
	ActRequestReturn    Action = "request_return"    // 退单申请
	ActApproveReturn    Action = "approve_return"    // 同意退单
	ActRejectReturn     Action = "reject_return"     // 驳回退单
	ActRequestExtension Action = "request_extension" // 延期申请
	ActApproveExtension Action = "approve_extension" // 同意延期
	ActRejectExtension  Action = "reject_extension"  // 驳回延期
	ActSuspend          Action = "suspend"           // 挂起
	ActResume           Action = "resume"            // 恢复
	ActReply            Action = "reply"             // 办结反馈
	ActApproveReview    Action = "approve_review"    // 办结审核通过
	ActRejectReview     Action = "reject_review"     // 办结审核退回
	ActCallback         Action = "callback"          // 回访
	ActRedo             Action = "redo"              // 重办
	ActUrge             Action = "urge"              // 督办
	ActEscalate         Action = "escalate"          // 升级至县级
	ActDeadlineWarning  Action = "deadline_warning"  // 临期预警 (80%)
	ActDeadlineOverdue  Action = "deadline_overdue"  // 超期催办 (100%)
	ActCallbackAttempt  Action = "callback_attempt"  // 回访未接通
	ActReapplyPolicy    Action = "reapply_policy"    // 重新适用时限政策
	ActMerge            Action = "merge"             // 并单
	ActFollowParent     Action = "follow_parent"     // 随主件办结
	ActNote             Action = "note"              // 补充说明 / 内部备注
)

// Label is the Chinese name of the action.
func (a Action) Label() string {
	switch a {
	case ActRegister:
		return "受理登记"
	case ActAnswer:
		return "直接答复"
	case ActSubmit:
		return "转派单"
	case ActDispatch:
		return "派单"
	case ActSign:
		return "签收"
	case ActRequestReturn:
		return "申请退单"
	case ActApproveReturn:
		return "同意退单"
	case ActRejectReturn:
		return "驳回退单"
	case ActRequestExtension:
		return "申请延期"
	case ActApproveExtension:
		return "同意延期"
	case ActRejectExtension:
		return "驳回延期"
	case ActSuspend:
		return "挂起"
	case ActResume:
		return "恢复办理"
	case ActReply:
		return "办结反馈"
	case ActApproveReview:
		return "办结审核通过"
	case ActRejectReview:
		return "办结审核退回"
	case ActCallback:
		return "回访"
	case ActRedo:
		return "重办"
	case ActUrge:
		return "督办"
	case ActEscalate:
		return "升级至县级办理"
	case ActDeadlineWarning:
		return "临期预警"
	case ActDeadlineOverdue:
		return "超期催办"
	case ActCallbackAttempt:
		return "回访未接通"
	case ActReapplyPolicy:
		return "重新适用时限"
	case ActMerge:
		return "并单"
	case ActFollowParent:
		return "随主件办结"
	case ActNote:
		return "补充说明"
	}
	return string(a)
}

// Sentinel errors; a *TransitionError wraps one of them.
var (
	ErrNotFound      = errors.New("case not found")
	ErrForbiddenRole = errors.New("role may not take this action")
	ErrNotAssigned   = errors.New("case is not assigned to the actor's unit")
	ErrWrongState    = errors.New("action not allowed in the current state")
	ErrWindowClosed  = errors.New("the time allowed for this action has passed")
	ErrNeedsReason   = errors.New("a reason is required")
	ErrNeedsHigher   = errors.New("needs the approval of a supervisor")
	ErrInvalid       = errors.New("invalid input")
)

// TransitionError says why an action was refused.
type TransitionError struct {
	Action Action
	State  State
	Role   auth.Role
	Err    error
	Detail string
}

func (e *TransitionError) Error() string {
	s := fmt.Sprintf("%s (%s) refused in state %s for role %s: %v", e.Action, e.Action.Label(), e.State, e.Role, e.Err)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap returns the sentinel.
func (e *TransitionError) Unwrap() error { return e.Err }

// MessageZH explains the refusal in Chinese.
func (e *TransitionError) MessageZH() string {
	var m string
	switch {
	case errors.Is(e.Err, ErrNotFound):
		m = "工单不存在"
	case errors.Is(e.Err, ErrForbiddenRole):
		m = "您的角色无权执行“" + e.Action.Label() + "”"
	case errors.Is(e.Err, ErrNotAssigned):
		m = "该工单未派给您所在的单位"
	case errors.Is(e.Err, ErrWrongState):
		m = "工单当前状态（" + e.State.Label() + "）不能“" + e.Action.Label() + "”"
	case errors.Is(e.Err, ErrWindowClosed):
		m = "已超过“" + e.Action.Label() + "”的时限"
	case errors.Is(e.Err, ErrNeedsReason):
		m = "“" + e.Action.Label() + "”必须填写理由"
	case errors.Is(e.Err, ErrNeedsHigher):
		m = "需要督办员（中心负责人）审批"
	default:
		m = "输入有误"
	}
	if e.Detail != "" {
		m += "：" + e.Detail
	}
	return m
}

// unitRule says which units' officers may act.
type unitRule int

const (
	noUnit   unitRule = iota // officers may not act
	leadUnit                 // the officer's unit holds the live lead assignment
	anyUnit                  // the officer's unit holds a live assignment (lead or co)
)

type rule struct {
	from         []State
	roles        []auth.Role
	officers     unitRule
	needsReason  bool
	needsPending bool // a pending 延期申请
}

var centre = []auth.Role{auth.Agent, auth.Dispatcher, auth.Supervisor}

func roles(rs ...auth.Role) []auth.Role { return rs }

func with(base []auth.Role, more ...auth.Role) []auth.Role {
	return append(slices.Clone(base), more...)
}

var openStates = []State{Registered, PendingDispatch, PendingSign, InProgress, ReturnRequested, PendingReview, PendingCallback, Suspended}

// rules is the state machine: for each action, the states it may start
// from and who may take it. The state it leads to is decided by the action
// (see Store), and for some by the case (the lead's reply, a callback).
var rules = map[Action]rule{
	ActAnswer:           {from: []State{Registered, PendingDispatch}, roles: roles(auth.Agent, auth.Dispatcher), needsReason: true},
	ActSubmit:           {from: []State{Registered}, roles: with(centre, auth.System)},
	ActDispatch:         {from: []State{Registered, PendingDispatch}, roles: with(centre, auth.System)},
	ActSign:             {from: []State{PendingSign, InProgress}, roles: roles(auth.Officer), officers: anyUnit},
	ActRequestReturn:    {from: []State{PendingSign, InProgress}, roles: roles(auth.Officer), officers: leadUnit, needsReason: true},
	ActApproveReturn:    {from: []State{ReturnRequested}, roles: roles(auth.Dispatcher, auth.Supervisor)},
	ActRejectReturn:     {from: []State{ReturnRequested}, roles: roles(auth.Dispatcher, auth.Supervisor), needsReason: true},
	ActRequestExtension: {from: []State{InProgress}, roles: roles(auth.Officer), officers: leadUnit, needsReason: true},
	ActApproveExtension: {from: []State{InProgress, Suspended}, roles: roles(auth.Dispatcher, auth.Supervisor), needsPending: true},
	ActRejectExtension:  {from: []State{InProgress, Suspended}, roles: roles(auth.Dispatcher, auth.Supervisor), needsPending: true, needsReason: true},
	ActSuspend:          {from: []State{InProgress}, roles: roles(auth.Officer, auth.Dispatcher, auth.Supervisor), officers: leadUnit, needsReason: true},
	ActResume:           {from: []State{Suspended}, roles: roles(auth.Officer, auth.Dispatcher, auth.Supervisor), officers: leadUnit},
	ActReply:            {from: []State{InProgress}, roles: roles(auth.Officer), officers: anyUnit, needsReason: true},
	ActApproveReview:    {from: []State{PendingReview}, roles: centre},
	ActRejectReview:     {from: []State{PendingReview}, roles: centre, needsReason: true},
	ActCallback:         {from: []State{PendingCallback}, roles: with(centre, auth.Citizen, auth.System)},
	ActRedo:             {from: []State{PendingCallback}, roles: with(centre, auth.System), needsReason: true},
	ActUrge:             {from: []State{PendingDispatch, PendingSign, InProgress, ReturnRequested, PendingReview, Suspended}, roles: roles(auth.Supervisor), needsReason: true},
	ActMerge:            {from: []State{Registered, PendingDispatch, PendingSign}, roles: centre, needsReason: true},
	ActEscalate:         {from: []State{PendingSign, InProgress}, roles: roles(auth.Dispatcher, auth.Supervisor, auth.System), needsReason: true},
	ActDeadlineWarning:  {from: []State{PendingSign, InProgress, ReturnRequested, PendingCallback}, roles: roles(auth.System)},
	ActDeadlineOverdue:  {from: []State{PendingSign, InProgress, ReturnRequested, PendingCallback}, roles: roles(auth.System)},
	ActCallbackAttempt:  {from: []State{PendingCallback}, roles: with(centre, auth.System)},
	ActReapplyPolicy:    {from: []State{PendingSign, InProgress, ReturnRequested, PendingReview, Suspended}, roles: roles(auth.Supervisor, auth.Admin, auth.System), needsReason: true},
	ActFollowParent:     {from: []State{Merged}, roles: roles(auth.System)},
	ActNote:             {from: openStates, roles: with(centre, auth.Officer, auth.Citizen, auth.Grid, auth.System), officers: anyUnit},
}

// Actions lists every action governed by the state machine (not register).
func Actions() []Action {
	out := make([]Action, 0, len(rules))
	for a := range rules {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// Check decides whether actor may take action act on c now, from the state
// machine alone (the store checks the action's own inputs as well). It is
// pure: the table tests walk every action, state and role through it.
func Check(act Action, c *Case, actor auth.Actor, reason string, now time.Time) error {
	r, ok := rules[act]
	fail := func(err error, detail string) error {
		return &TransitionError{Action: act, State: c.State, Role: actor.Role, Err: err, Detail: detail}
	}
	if !ok {
		return fail(ErrInvalid, "unknown action")
	}
	if !slices.Contains(r.roles, actor.Role) {
		return fail(ErrForbiddenRole, "")
	}
	if !slices.Contains(r.from, c.State) {
		return fail(ErrWrongState, "")
	}
	if actor.Role == auth.Officer {
		switch r.officers {
		case noUnit:
			return fail(ErrForbiddenRole, "")
		case leadUnit:
			if l := c.LeadAssignment(); l == nil || l.UnitID != actor.UnitID {
				return fail(ErrNotAssigned, "")
			}
		case anyUnit:
			if c.AssignmentOf(actor.UnitID) == nil {
				return fail(ErrNotAssigned, "")
			}
		}
	}
	if r.needsReason && len([]rune(trimSpace(reason))) == 0 {
		return fail(ErrNeedsReason, "")
	}
	if r.needsPending && c.ExtUntil == nil {
		return fail(ErrWrongState, "没有待审批的延期申请")
	}
	switch act {
	case ActSign:
		if a := c.AssignmentOf(actor.UnitID); a == nil || a.State != APendingSign {
			return fail(ErrWrongState, "本单位已签收")
		}
	case ActReply:
		a := c.AssignmentOf(actor.UnitID)
		if a == nil || a.State != ASigned {
			return fail(ErrWrongState, "请先签收")
		}
	case ActRequestReturn:
		if c.ReturnUntil != nil && now.After(*c.ReturnUntil) {
			return fail(ErrWindowClosed, "退单须在派单后规定时限内提出")
		}
	case ActRequestExtension:
		if c.ExtUntil != nil {
			return fail(ErrWrongState, "已有待审批的延期申请")
		}
	}
	return nil
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t' || s[0] == '\n' || s[0] == '\r') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// Allowed lists the actions actor may take on c now (for buttons).
func Allowed(c *Case, actor auth.Actor, now time.Time) []Action {
	var out []Action
	for _, a := range Actions() {
		if a == ActFollowParent {
			continue
		}
		// Reasons are checked when the action is taken, not offered.
		if err := Check(a, c, actor, "x", now); err == nil {
			out = append(out, a)
		}
	}
	return out
}
