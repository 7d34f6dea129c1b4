package cti

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"yici/channels"
	"yici/internal/auth"
	"yici/internal/httpx"
)

// Blocked is a number on the block list: its inbound calls are answered
// {"action":"reject","reason":"busy"}.
type Blocked struct {
	Phone     string    `json:"phone"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// BlockKey is how a number is kept on the block list: a mainland number in
// its standard form (13812345678, 0571-88001234), any other number as its
// digits with a leading + (3 to 20 digits). ok is false for anything else.
func BlockKey(s string) (string, bool) {
	if p, ok := channels.NormalizePhone(s); ok {
		return p, true
	}
	return digits(channels.CleanLine(s))
}

func badPhone() httpx.FieldError {
	return httpx.FieldError{Field: "phone", Rule: "phone",
		MessageZH: "电话号码格式不正确，请填写手机号、带区号的固话，或 3 到 20 位数字（国际号码以 + 开头）",
		MessageEN: "phone must be a mainland mobile or landline number, or 3 to 20 digits (international numbers with a leading +)"}
}

// BlockRequest is the body of POST /api/v1/admin/cti/blocklist.
type BlockRequest struct {
	Phone  string `json:"phone"`
	Reason string `json:"reason"`
}

func (h *Handler) handleBlockList(w http.ResponseWriter, r *http.Request) {
	rows, err := h.db.Query(r.Context(), `SELECT phone, reason, created_by, created_at FROM cti_blocklist ORDER BY created_at DESC, phone`)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Blocked, error) {
		var b Blocked
		err := r.Scan(&b.Phone, &b.Reason, &b.CreatedBy, &b.CreatedAt)
		return b, err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"blocklist": list})
}

func (h *Handler) handleBlock(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	var req BlockRequest
	if err := httpx.DecodeJSON(w, r, 4096, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	var errs httpx.Errors
	phone, ok := BlockKey(req.Phone)
	switch {
	case channels.CleanLine(req.Phone) == "":
		errs = append(errs, fieldError("phone", "required", ""))
	case !ok:
		errs = append(errs, badPhone())
	}
	reason := channels.CleanLine(req.Reason)
	if utf8.RuneCountInString(reason) > 200 {
		errs = append(errs, fieldError("reason", "max", "200"))
	}
	if len(errs) > 0 {
		h.fail(w, r, errs)
		return
	}
	ctx := r.Context()
	var b Blocked
	status := http.StatusCreated
	err := h.db.QueryRow(ctx, `INSERT INTO cti_blocklist (phone, reason, created_by) VALUES ($1, $2, $3)
		ON CONFLICT (phone) DO NOTHING RETURNING phone, reason, created_by, created_at`, phone, reason, actor.Username).
		Scan(&b.Phone, &b.Reason, &b.CreatedBy, &b.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// Blocked already: the new reason replaces the old one.
		status = http.StatusOK
		err = h.db.QueryRow(ctx, `UPDATE cti_blocklist SET reason = $2 WHERE phone = $1 RETURNING phone, reason, created_by, created_at`, phone, reason).
			Scan(&b.Phone, &b.Reason, &b.CreatedBy, &b.CreatedAt)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.Info("cti: number blocked", "phone", b.Phone, "by", actor.Username)
	httpx.JSON(w, status, b)
}

func (h *Handler) handleUnblock(w http.ResponseWriter, r *http.Request) {
	actor, _ := auth.FromContext(r.Context())
	raw := r.PathValue("phone")
	if raw == "" {
		raw = r.URL.Query().Get("phone")
	}
	phone, ok := BlockKey(raw)
	if !ok {
		h.fail(w, r, httpx.Errors{badPhone()})
		return
	}
	tag, err := h.db.Exec(r.Context(), `DELETE FROM cti_blocklist WHERE phone = $1`, phone)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if tag.RowsAffected() == 0 {
		httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "phone", Rule: "exists", MessageZH: "该号码不在黑名单中", MessageEN: "this number is not blocked"})
		return
	}
	h.log.Info("cti: number unblocked", "phone", phone, "by", actor.Username)
	w.WriteHeader(http.StatusNoContent)
}
