package cases

import (
	"fmt"
	"sort"

	"github.com/google/uuid"
)

// Rebuilt is the state of a case as the trail of its events tells it. The
// trail is the truth: Replay(events) must equal what the case row and its
// assignments say (a test checks it after random walks of transitions).
type Rebuilt struct {
	State        State
	Round        int
	Assignments  []RebuiltAssignment
	ReturnCount  int
	RedoCount    int
	ExtCount     int
	UrgeCount    int
	Satisfaction Satisfaction
	ParentID     *uuid.UUID
	Reply        string
}

// RebuiltAssignment is one unit's part as the trail tells it.
type RebuiltAssignment struct {
	Round int
	Unit  string
	Role  AssignmentRole
	State AssignmentState
}

func dataString(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

func dataInt(d map[string]any, k string) int {
	f, _ := d[k].(float64)
	return int(f)
}

// Replay folds a case's events, oldest first, into its state.
func Replay(events []Event) (Rebuilt, error) {
	var r Rebuilt
	type key struct {
		round int
		unit  string
	}
	parts := map[key]*RebuiltAssignment{}
	signed := map[key]bool{}
	var order []key
	live := func(round int, fn func(k key, a *RebuiltAssignment)) {
		for _, k := range order {
			if a := parts[k]; k.round == round && a.State.Live() {
				fn(k, a)
			}
		}
	}
	for i, e := range events {
		if e.Seq != i+1 {
			return r, fmt.Errorf("event %d has seq %d: the trail has a gap", i+1, e.Seq)
		}
		if i > 0 && e.From != r.State {
			return r, fmt.Errorf("event %d (%s) starts from %s, but the case was %s", e.Seq, e.Action, e.From, r.State)
		}
		unit := dataString(e.Data, "unit")
		switch e.Action {
		case ActDispatch, ActRedo, ActEscalate:
			live(r.Round, func(_ key, a *RebuiltAssignment) { a.State = AClosed })
			r.Round = dataInt(e.Data, "round")
			units := []string{dataString(e.Data, "lead")}
			if co, ok := e.Data["co"].([]any); ok {
				for _, u := range co {
					s, _ := u.(string)
					units = append(units, s)
				}
			}
			for j, u := range units {
				role := Co
				if j == 0 {
					role = Lead
				}
				k := key{r.Round, u}
				parts[k] = &RebuiltAssignment{Round: r.Round, Unit: u, Role: role, State: APendingSign}
				order = append(order, k)
			}
			if e.Action == ActRedo {
				r.RedoCount++
				r.Satisfaction = ""
			}
		case ActSign:
			k := key{r.Round, unit}
			if a := parts[k]; a != nil {
				a.State = ASigned
				signed[k] = true
			}
		case ActRequestReturn:
			if a := parts[key{r.Round, unit}]; a != nil {
				a.State = AReturnRequested
			}
		case ActApproveReturn:
			live(r.Round, func(_ key, a *RebuiltAssignment) {
				if a.State == AReturnRequested {
					a.State = AReturned
				} else {
					a.State = AClosed
				}
			})
			r.ReturnCount++
		case ActRejectReturn:
			k := key{r.Round, unit}
			if a := parts[k]; a != nil {
				a.State = APendingSign
				if signed[k] {
					a.State = ASigned
				}
			}
		case ActReply:
			if a := parts[key{r.Round, unit}]; a != nil {
				a.State = AReplied
				if a.Role == Lead {
					r.Reply = e.Reason
				}
			}
		case ActRejectReview:
			if a := parts[key{r.Round, unit}]; a != nil {
				a.State = ASigned
			}
		case ActApproveReview:
			live(r.Round, func(_ key, a *RebuiltAssignment) { a.State = AClosed })
		case ActApproveExtension:
			r.ExtCount++
		case ActUrge:
			r.UrgeCount++
		case ActCallback:
			r.Satisfaction = Satisfaction(dataString(e.Data, "satisfaction"))
		case ActCallbackAttempt:
			if e.To == Archived {
				r.Satisfaction = Unreachable
			}
		case ActAnswer, ActFollowParent:
			r.Reply = e.Reason
		case ActMerge:
			if p, err := uuid.Parse(dataString(e.Data, "parent")); err == nil {
				r.ParentID = &p
			}
			for _, k := range order {
				if a := parts[k]; a.State.Live() {
					a.State = AClosed
				}
			}
		}
		r.State = e.To
	}
	for _, k := range order {
		r.Assignments = append(r.Assignments, *parts[k])
	}
	sortRebuilt(r.Assignments)
	return r, nil
}

func sortRebuilt(as []RebuiltAssignment) {
	sort.Slice(as, func(i, j int) bool {
		if as[i].Round != as[j].Round {
			return as[i].Round < as[j].Round
		}
		return as[i].Unit < as[j].Unit
	})
}

// Snapshot is what the stored rows say, in the shape of Rebuilt.
func Snapshot(c *Case) Rebuilt {
	r := Rebuilt{State: c.State, Round: c.DispatchRound, ReturnCount: c.ReturnCount, RedoCount: c.RedoCount,
		ExtCount: c.ExtCount, UrgeCount: c.UrgeCount, Satisfaction: c.Satisfaction, ParentID: c.ParentID, Reply: c.Reply}
	for _, a := range c.Assignments {
		r.Assignments = append(r.Assignments, RebuiltAssignment{Round: a.Round, Unit: a.UnitID, Role: a.Role, State: a.State})
	}
	sortRebuilt(r.Assignments)
	return r
}
