package cti

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/cases"
	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
)

// draftRef is the channel reference of the draft case made of a call's
// transcript or voicemail: scoped by installation, apart from the bare
// callId of the case an agent registers during the call.
func draftRef(inst uuid.UUID, callID, source string) string {
	return inst.String() + ":" + callID + ":" + source
}

// ReviewReason is why a transcript's or voicemail's case waits for a
// dispatcher.
const ReviewReason = "电话录音转写/语音留言，需人工核实后派单"

// draft makes a transcript or a voicemail into a case in the dispatchers'
// queue (待派单): registered through intake with Review set, so never
// routed on its own, and linked to the call by its reference and by the
// call's data on its registration event. A retry returns the same case.
func (h *Handler) draft(w http.ResponseWriter, r *http.Request, key channels.Key, e Event) error {
	ctx := r.Context()
	citizen := ""
	var c callRow
	err := h.db.QueryRow(ctx, `SELECT caller, callee, direction FROM cti_calls WHERE installation = $1 AND call_id = $2`, key.ID, e.CallID).
		Scan(&c.caller, &c.callee, &c.direction)
	switch {
	case err == nil:
		citizen = c.citizen()
	case !errors.Is(err, pgx.ErrNoRows):
		return err
	}
	if citizen == "" {
		citizen = number(e.Citizen())
	}
	phone := ""
	if p, ok := channels.NormalizePhone(citizen); ok {
		phone = p
	}
	prefix, who := "【通话转写】", "电话录音转写"
	if e.Cmd == CmdVoicemail {
		prefix, who = "【语音留言】", "语音留言"
	}
	sub := channels.Submission{
		Title: prefix + cases.TitleOf(e.Text), Content: e.Text, Phone: phone,
		Channel: cases.ChannelPhone, Ref: draftRef(key.ID, e.CallID, e.Cmd), Review: true,
		Extra: map[string]any{"cti": map[string]any{"installation": key.ID.String(), "installation_name": key.Name,
			"call_id": e.CallID, "source": e.Cmd, "caller": citizen}},
	}
	actor := auth.SystemActor(who)
	var res channels.Result
	err = h.cs.InTx(ctx, func(ctx context.Context) error {
		var err error
		if res, err = h.in.Submit(ctx, actor, sub); err != nil {
			return err
		}
		// Intake leaves a phone case for the agent on the line; there is
		// none for a transcript, so it goes to the dispatchers' queue.
		if res.Created && res.Case.State == cases.Registered {
			k, err := h.cs.Submit(ctx, actor, res.Case.ID, ReviewReason)
			if err != nil {
				return err
			}
			res.Case = k
		}
		return nil
	})
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	httpx.JSON(w, status, map[string]any{"status": "ok", "case": map[string]any{
		"tracking_no": res.Case.TrackingNo, "state": res.Case.State, "state_label": res.Case.State.Label()}})
	return nil
}
