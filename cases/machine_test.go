package cases

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"yici/internal/auth"
)

// The expected state machine, written out independently of rules: for each
// action, the states it may start from and who may take it. "officer:lead"
// means an officer of the unit holding the lead assignment, "officer:co"
// an officer of a co-handling unit; "officer:other" (an officer of an
// unrelated unit) is never allowed.
var expected = map[Action]struct{ from, who string }{
	ActAnswer:           {"registered pending_dispatch", "agent dispatcher"},
	ActSubmit:           {"registered", "agent dispatcher supervisor system"},
	ActDispatch:         {"registered pending_dispatch", "agent dispatcher supervisor system"},
	ActSign:             {"pending_sign in_progress", "officer:lead officer:co"},
	ActRequestReturn:    {"pending_sign in_progress", "officer:lead"},
	ActApproveReturn:    {"return_requested", "dispatcher supervisor"},
	ActRejectReturn:     {"return_requested", "dispatcher supervisor"},
	ActRequestExtension: {"in_progress", "officer:lead"},
	ActApproveExtension: {"in_progress suspended", "dispatcher supervisor"},
	ActRejectExtension:  {"in_progress suspended", "dispatcher supervisor"},
	ActSuspend:          {"in_progress", "officer:lead dispatcher supervisor"},
	ActResume:           {"suspended", "officer:lead dispatcher supervisor"},
	ActReply:            {"in_progress", "officer:lead officer:co"},
	ActApproveReview:    {"pending_review", "agent dispatcher supervisor"},
	ActRejectReview:     {"pending_review", "agent dispatcher supervisor"},
	ActCallback:         {"pending_callback", "agent dispatcher supervisor citizen system"},
	ActRedo:             {"pending_callback", "agent dispatcher supervisor system"},
	ActUrge:             {"pending_dispatch pending_sign in_progress return_requested pending_review suspended", "supervisor"},
	ActMerge:            {"registered pending_dispatch pending_sign", "agent dispatcher supervisor"},
	ActFollowParent:     {"merged", "system"},
	ActEscalate:         {"pending_sign in_progress", "dispatcher supervisor system"},
	ActDeadlineWarning:  {"pending_sign in_progress return_requested pending_callback", "system"},
	ActDeadlineOverdue:  {"pending_sign in_progress return_requested pending_callback", "system"},
	ActCallbackAttempt:  {"pending_callback", "agent dispatcher supervisor system"},
	ActReapplyPolicy:    {"pending_sign in_progress return_requested pending_review suspended", "supervisor admin system"},
	ActNote:             {"registered pending_dispatch pending_sign in_progress return_requested pending_review pending_callback suspended", "agent dispatcher supervisor officer:lead officer:co citizen grid system"},
}

type who struct {
	name  string
	actor auth.Actor
}

var everyone = []who{
	{"citizen", auth.CitizenActor()},
	{"agent", auth.Actor{Role: auth.Agent, Name: "话务员"}},
	{"dispatcher", auth.Actor{Role: auth.Dispatcher}},
	{"supervisor", auth.Actor{Role: auth.Supervisor}},
	{"admin", auth.Actor{Role: auth.Admin}},
	{"grid", auth.Actor{Role: auth.Grid}},
	{"system", auth.SystemActor("test")},
	{"officer:lead", auth.Actor{Role: auth.Officer, UnitID: "330106001-ZF"}},
	{"officer:co", auth.Actor{Role: auth.Officer, UnitID: "330106-ZJJ"}},
	{"officer:other", auth.Actor{Role: auth.Officer, UnitID: "330106002-ZF"}},
}

// fixture builds a case in state st whose live round has a lead and a co
// unit, in the sub-state each action needs to be possible at all.
func fixture(st State, act Action) *Case {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, shanghai)
	ret := now.Add(48 * time.Hour)
	c := &Case{State: st, DispatchRound: 1, ReturnUntil: &ret}
	lead := Assignment{UnitID: "330106001-ZF", Role: Lead, Round: 1, State: ASigned}
	co := Assignment{UnitID: "330106-ZJJ", Role: Co, Round: 1, State: ASigned}
	if act == ActSign {
		lead.State, co.State = APendingSign, APendingSign
	}
	if st == Registered || st == PendingDispatch {
		c.DispatchRound = 0
		c.Assignments = nil
	} else {
		c.Assignments = []Assignment{lead, co}
	}
	if act == ActApproveExtension || act == ActRejectExtension {
		u := now.Add(240 * time.Hour)
		c.ExtUntil = &u
	}
	return c
}

func TestStateMachineTable(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)
	if len(expected) != len(rules) {
		t.Fatalf("expected table has %d actions, the machine %d", len(expected), len(rules))
	}
	allowed, forbidden := 0, 0
	for act, exp := range expected {
		fromOK := map[State]bool{}
		for _, s := range strings.Fields(exp.from) {
			fromOK[State(s)] = true
		}
		whoOK := map[string]bool{}
		for _, w := range strings.Fields(exp.who) {
			whoOK[w] = true
		}
		for _, st := range States {
			for _, w := range everyone {
				c := fixture(st, act)
				err := Check(act, c, w.actor, "理由", now)
				want := fromOK[st] && whoOK[w.name]
				if c.Assignments == nil && w.actor.Role == auth.Officer {
					want = false // before dispatch no unit holds the case
				}
				name := fmt.Sprintf("%s/%s/%s", act, st, w.name)
				if want {
					allowed++
					if err != nil {
						t.Errorf("%s: want allowed, got %v", name, err)
					}
					continue
				}
				forbidden++
				var te *TransitionError
				if err == nil {
					t.Errorf("%s: want refused, got allowed", name)
				} else if !errors.As(err, &te) {
					t.Errorf("%s: want a *TransitionError, got %T", name, err)
				} else if te.MessageZH() == "" {
					t.Errorf("%s: no Chinese message", name)
				}
			}
		}
	}
	t.Logf("%d allowed and %d forbidden (action, state, actor) combinations checked", allowed, forbidden)
}

func TestRefusalKinds(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)
	lead := everyone[7].actor
	cases := []struct {
		name   string
		act    Action
		c      *Case
		actor  auth.Actor
		reason string
		want   error
	}{
		{"wrong role", ActApproveReturn, fixture(ReturnRequested, ActApproveReturn), everyone[1].actor, "x", ErrForbiddenRole},
		{"other unit", ActSign, fixture(PendingSign, ActSign), everyone[9].actor, "", ErrNotAssigned},
		{"co may not return", ActRequestReturn, fixture(InProgress, ActRequestReturn), everyone[8].actor, "x", ErrNotAssigned},
		{"wrong state", ActReply, fixture(PendingSign, ActReply), lead, "x", ErrWrongState},
		{"no reason", ActRequestReturn, fixture(InProgress, ActRequestReturn), lead, "  ", ErrNeedsReason},
		{"window closed", ActRequestReturn, func() *Case {
			c := fixture(InProgress, ActRequestReturn)
			past := now.Add(-time.Hour)
			c.ReturnUntil = &past
			return c
		}(), lead, "不属于本单位职责", ErrWindowClosed},
		{"already signed", ActSign, fixture(InProgress, ActReply), lead, "", ErrWrongState},
		{"no pending extension", ActApproveExtension, fixture(InProgress, ActReply), everyone[2].actor, "", ErrWrongState},
	}
	for _, tc := range cases {
		err := Check(tc.act, tc.c, tc.actor, tc.reason, now)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestAllowedForButtons(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)
	got := Allowed(fixture(PendingSign, ActSign), everyone[7].actor, now)
	want := map[Action]bool{ActSign: true, ActRequestReturn: true, ActNote: true}
	if len(got) != len(want) {
		t.Fatalf("lead officer on a pending case may %v, want %v", got, want)
	}
	for _, a := range got {
		if !want[a] {
			t.Errorf("unexpected action %s", a)
		}
	}
}
