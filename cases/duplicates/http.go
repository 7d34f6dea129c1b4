package duplicates

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/internal/auth"
	"yici/internal/httpx"
)

// Routes registers the duplicate and alert API. Who may call what:
//
//	GET /api/v1/cases/{id}/duplicates  centre staff (agent, dispatcher, supervisor): the open cases that are probably the same matter
//	GET /api/v1/alerts?since=&limit=   supervisor, dispatcher: hot-spot alerts created after since (RFC 3339 or a date; default the last 24 h)
//
// Merging uses the case API: POST /api/v1/cases/{id}/merge {"parent": …}.
func (d *Detector) Routes(mux *http.ServeMux) {
	mux.Handle("GET /api/v1/cases/{id}/duplicates", auth.Require(http.HandlerFunc(d.handleDuplicates), auth.Agent, auth.Dispatcher, auth.Supervisor))
	mux.Handle("GET /api/v1/alerts", auth.Require(http.HandlerFunc(d.handleAlerts), auth.Supervisor, auth.Dispatcher))
}

// DuplicatesResponse is the answer of GET /api/v1/cases/{id}/duplicates.
type DuplicatesResponse struct {
	CaseID     uuid.UUID   `json:"case_id"`
	TrackingNo string      `json:"tracking_no"`
	Candidates []Candidate `json:"candidates"`
}

func (d *Detector) handleDuplicates(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		cases.Failure(w, r, cases.ErrNotFound)
		return
	}
	c, err := d.cs.Get(r.Context(), id)
	if err != nil {
		cases.Failure(w, r, err)
		return
	}
	cands, err := d.Find(r.Context(), c)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	httpx.JSON(w, http.StatusOK, DuplicatesResponse{CaseID: c.ID, TrackingNo: c.TrackingNo, Candidates: cands})
}

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return l
}()

// ParseSince reads the since parameter: an RFC 3339 time or a date
// (2006-01-02, midnight in China); empty means def.
func ParseSince(s string, def time.Time) (time.Time, bool) {
	if s == "" {
		return def, true
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, shanghai); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func (d *Detector) handleAlerts(w http.ResponseWriter, r *http.Request) {
	since, ok := ParseSince(r.URL.Query().Get("since"), d.cs.Now().Add(-24*time.Hour))
	if !ok {
		httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "since", Rule: "datetime",
			MessageZH: "since 须为 RFC 3339 时间（如 2026-03-02T09:00:00+08:00）或日期（如 2026-03-02）",
			MessageEN: "since must be an RFC 3339 time or a date (2006-01-02)"})
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			httpx.Error(w, http.StatusBadRequest, httpx.FieldError{Field: "limit", Rule: "range",
				MessageZH: "limit 须为 1 到 500 之间的整数", MessageEN: "limit must be an integer from 1 to 500"})
			return
		}
		limit = n
	}
	alerts, err := d.Alerts(r.Context(), since, limit)
	if err != nil {
		httpx.Fail(w, r, err)
		return
	}
	if alerts == nil {
		alerts = []Alert{}
	}
	httpx.JSON(w, http.StatusOK, map[string]any{"since": since, "alerts": alerts})
}
