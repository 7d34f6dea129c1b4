package open311

import "yici/cases"

// Status is how one state of the case lifecycle reads in Open311.
type Status struct {
	State cases.State
	// Open is the GeoReport v2 status: "open" (it has been reported) or
	// "closed" (it has been resolved).
	Open bool
	// Extended is the status of mySociety's extended set (open, closed,
	// fixed, in_progress, action_scheduled, investigating, duplicate,
	// not_councils_responsibility, no_further_action, internal_referral,
	// reopen, for_triage), as servicerequestupdates and extensions=true
	// give it.
	Extended string
}

// Statuses is the one mapping of the lifecycle (cases.State) to Open311;
// docs/open311.md shows the same table with the reasons. The status filter
// of GET requests selects states by Open, so both always agree.
//
// Where we differ from cases.State.Open: 待回访 (pending_callback) is
// closed here, because the handling unit has finished and the hotline
// centre approved the answer; only the satisfaction callback is left. A
// dissatisfied callback sends it back to work (重办), and it reads "open"
// again. not_councils_responsibility is not used: no state means it (an
// unfounded 退单 is re-routed, not closed).
var Statuses = []Status{
	{cases.Registered, true, "open"},               // 已受理: received, not yet triaged
	{cases.PendingDispatch, true, "for_triage"},    // 待派单: waiting for a dispatcher
	{cases.PendingSign, true, "action_scheduled"},  // 待签收: sent to the responsible unit
	{cases.InProgress, true, "in_progress"},        // 办理中
	{cases.ReturnRequested, true, "investigating"}, // 退单审核中: the unit says it is not theirs; the centre checks
	{cases.PendingReview, true, "in_progress"},     // 办结审核中: the unit answered; the centre reviews the answer
	{cases.Suspended, true, "action_scheduled"},    // 挂起: paused for a stated reason, will resume
	{cases.PendingCallback, false, "fixed"},        // 待回访: handled and approved; satisfaction callback pending
	{cases.Archived, false, "closed"},              // 已办结归档
	{cases.Answered, false, "no_further_action"},   // 直接答复: answered at first contact, nothing to dispatch
	{cases.Merged, false, "duplicate"},             // 已并单: the same matter is handled under another request
}

var statusByState = func() map[cases.State]Status {
	m := make(map[cases.State]Status, len(Statuses))
	for _, s := range Statuses {
		m[s.State] = s
	}
	return m
}()

// StatusOf returns the Open311 status of a state; a state this table does
// not know reads as open.
func StatusOf(s cases.State) Status {
	if st, ok := statusByState[s]; ok {
		return st
	}
	return Status{State: s, Open: true, Extended: "open"}
}

// Basic is "open" or "closed".
func (s Status) Basic() string {
	if s.Open {
		return "open"
	}
	return "closed"
}

// statesOf lists the states whose basic status is open (or closed).
func statesOf(open bool) []string {
	var out []string
	for _, s := range Statuses {
		if s.Open == open {
			out = append(out, string(s.State))
		}
	}
	return out
}
