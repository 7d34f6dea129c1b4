package cases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"yici/internal/auth"
	"yici/internal/httpx"
)

// The deadline policy is data: versions in deadline_policies, one active,
// edited by the admin, picked up by every node within a second. A running
// case keeps the policy it started with unless the admin re-applies the
// active one to it.

// PolicyVersion is a stored policy set.
type PolicyVersion struct {
	Version     int        `json:"version"`
	Status      string     `json:"status"`
	Note        string     `json:"note,omitempty"`
	Author      string     `json:"author,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	ActivatedAt *time.Time `json:"activated_at,omitempty"`
	Set         PolicySet  `json:"set"`
}

type policyHolder struct{ p atomic.Pointer[PolicySet] }

// UsePolicyStore makes the store read its deadline policy from the
// database (installing the defaults as version 1 when there is none).
func (s *Store) UsePolicyStore(ctx context.Context) error {
	def := DefaultPolicies()
	b, _ := json.Marshal(def)
	if _, err := s.db.Exec(ctx, `INSERT INTO deadline_policies (version, status, rules, note, author, activated_at)
		SELECT 1, 'active', $1, '默认时限（最多跑一次工作规范）', 'system', now() WHERE NOT EXISTS (SELECT 1 FROM deadline_policies)`, b); err != nil {
		return err
	}
	h := &policyHolder{}
	s.policyHolder = h
	if err := s.ReloadPolicies(ctx); err != nil {
		return err
	}
	s.policies = func() PolicySet { return *h.p.Load() }
	return nil
}

// ReloadPolicies reads the active policy set.
func (s *Store) ReloadPolicies(ctx context.Context) error {
	v, err := s.scanPolicy(s.db.QueryRow(ctx, `SELECT version, status, note, author, created_at, activated_at, rules FROM deadline_policies WHERE status = 'active'`))
	if err != nil {
		return err
	}
	s.policyHolder.p.Store(&v.Set)
	return nil
}

// RunPolicies polls for a new active version every interval.
func (s *Store) RunPolicies(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var v int
		if err := s.db.QueryRow(ctx, `SELECT version FROM deadline_policies WHERE status = 'active'`).Scan(&v); err != nil {
			continue
		}
		if cur := s.policyHolder.p.Load(); cur != nil && cur.Version != v {
			s.ReloadPolicies(ctx)
		}
	}
}

func (s *Store) scanPolicy(row pgx.Row) (PolicyVersion, error) {
	var v PolicyVersion
	var b []byte
	err := row.Scan(&v.Version, &v.Status, &v.Note, &v.Author, &v.CreatedAt, &v.ActivatedAt, &b)
	if err == nil {
		err = json.Unmarshal(b, &v.Set)
		v.Set.Version = v.Version
	}
	return v, err
}

// PolicyVersions lists the versions, newest first.
func (s *Store) PolicyVersions(ctx context.Context) ([]PolicyVersion, error) {
	rows, err := s.db.Query(ctx, `SELECT version, status, note, author, created_at, activated_at, rules FROM deadline_policies ORDER BY version DESC`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (PolicyVersion, error) { return s.scanPolicy(r) })
}

// ProposePolicies stores a validated new version as a draft.
func (s *Store) ProposePolicies(ctx context.Context, set PolicySet, note, author string) (int, error) {
	if err := set.Validate(); err != nil {
		return 0, err
	}
	b, _ := json.Marshal(set)
	var v int
	err := s.db.QueryRow(ctx, `INSERT INTO deadline_policies (version, status, rules, note, author)
		SELECT coalesce(max(version), 0) + 1, 'draft', $1, $2, $3 FROM deadline_policies RETURNING version`, b, note, author).Scan(&v)
	return v, err
}

// ActivatePolicies makes a version the active one (new cases get it).
func (s *Store) ActivatePolicies(ctx context.Context, version int) error {
	err := pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM deadline_policies WHERE version = $1`, version).Scan(&n); err != nil || n == 0 {
			return fmt.Errorf("no policy version %d", version)
		}
		if _, err := tx.Exec(ctx, `UPDATE deadline_policies SET status = 'retired' WHERE status = 'active'`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE deadline_policies SET status = 'active', activated_at = now() WHERE version = $1`, version)
		return err
	})
	if err != nil {
		return err
	}
	if s.policyHolder != nil {
		return s.ReloadPolicies(ctx)
	}
	return nil
}

// policyRoutes registers the admin API of deadline policies:
//
//	GET  /api/v1/admin/policies                    admin, supervisor: the versions
//	POST /api/v1/admin/policies                    admin: propose a version {note, set: {rules}}
//	POST /api/v1/admin/policies/{version}/activate admin: new cases get it
//	POST /api/v1/admin/policies/reapply            admin, supervisor: re-apply the active version to running cases {case_ids, reason}
func (s *Store) policyRoutes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/admin/policies", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vs, err := s.PolicyVersions(r.Context())
		if err != nil {
			httpx.Fail(w, r, err)
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"versions": vs, "active": s.policies().Version})
	}), auth.Admin, auth.Supervisor))
	mux.Handle("POST /api/v1/admin/policies", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _ := auth.FromContext(r.Context())
		var req struct {
			Note string    `json:"note"`
			Set  PolicySet `json:"set"`
		}
		if err := httpx.DecodeJSON(w, r, 1<<20, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		v, err := s.ProposePolicies(r.Context(), req.Set, req.Note, actor.Username)
		if err != nil {
			httpx.Error(w, http.StatusUnprocessableEntity, httpx.FieldError{Field: "set", Rule: "valid", MessageZH: "时限政策无效：" + err.Error(), MessageEN: err.Error()})
			return
		}
		httpx.JSON(w, http.StatusCreated, map[string]any{"version": v})
	}), auth.Admin))
	mux.Handle("POST /api/v1/admin/policies/{version}/activate", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := strconv.Atoi(r.PathValue("version"))
		if err == nil {
			err = s.ActivatePolicies(r.Context(), v)
		}
		if err != nil {
			httpx.Error(w, http.StatusNotFound, httpx.FieldError{Field: "version", Rule: "exists", MessageZH: "时限政策版本不存在", MessageEN: err.Error()})
			return
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"active": v})
	}), auth.Admin))
	mux.Handle("POST /api/v1/admin/policies/reapply", auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		actor, _ := auth.FromContext(r.Context())
		var req struct {
			CaseIDs []uuid.UUID `json:"case_ids"`
			Reason  string      `json:"reason"`
		}
		if err := httpx.DecodeJSON(w, r, 1<<20, &req); err != nil {
			httpx.Fail(w, r, err)
			return
		}
		if len(req.CaseIDs) == 0 || len(req.CaseIDs) > 10000 {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "case_ids", Rule: "len", MessageZH: "请给出 1 至 10000 个工单", MessageEN: "give 1 to 10000 case ids"})
			return
		}
		type result struct {
			ID    uuid.UUID `json:"id"`
			Error string    `json:"error,omitempty"`
		}
		var out []result
		for _, id := range req.CaseIDs {
			_, err := s.ReapplyPolicy(r.Context(), actor, id, req.Reason)
			res := result{ID: id}
			var te *TransitionError
			if errors.As(err, &te) {
				res.Error = te.MessageZH()
			} else if err != nil {
				httpx.Fail(w, r, err)
				return
			}
			out = append(out, res)
		}
		httpx.JSON(w, http.StatusOK, map[string]any{"results": out})
	}), auth.Admin, auth.Supervisor))
}
