package stats

import (
	"bufio"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/auth"
	"yici/internal/httpx"
)

// HubStats is what the console's live stream tells about itself
// (console.Hub has it).
type HubStats interface {
	Stats() (conns int, delivered, dropped, lagged int64)
}

// MetricsOptions configure the operators' metrics.
type MetricsOptions struct {
	DB  *pgxpool.Pool // pool statistics and the folded counters; nil leaves them out
	Hub HubStats      // websocket figures; nil leaves them out
	// Token, when set (YICI_METRICS_TOKEN), is required as
	// “Authorization: Bearer <token>” from every address.
	Token string
	// Mux resolves the route pattern of requests whose *http.Request the
	// middleware does not see routed (when it wraps more than the mux,
	// e.g. the session middleware, which passes on a copy).
	Mux *http.ServeMux
	// Buckets are the upper bounds of the latency histogram in seconds.
	Buckets []float64
}

// Metrics counts HTTP requests and writes the Prometheus text format.
type Metrics struct {
	o  MetricsOptions
	mu sync.Mutex
	h  map[hkey]*histogram
}

type hkey struct{ method, route, code string }

type histogram struct {
	counts []uint64 // per bucket (not cumulative)
	sum    float64
	n      uint64
}

// NewMetrics returns the operators' metrics.
func NewMetrics(o MetricsOptions) *Metrics {
	if len(o.Buckets) == 0 {
		o.Buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	}
	sort.Float64s(o.Buckets)
	return &Metrics{o: o, h: map[hkey]*histogram{}}
}

// Routes registers
//
//	GET /metrics   with Options.Token set: a request carrying “Authorization: Bearer <token>” (from anywhere);
//	               without a token: a signed-in admin, or a direct loopback connection (no Forwarded or
//	               X-Forwarded-For header, so nothing that came through a reverse proxy); others 401 or 403
func (m *Metrics) Routes(mux *http.ServeMux) {
	mux.Handle("GET /metrics", m)
}

// Allowed reports whether r may read the metrics (see Routes).
func (m *Metrics) Allowed(r *http.Request) (bool, int) {
	if m.o.Token != "" {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && subtle.ConstantTimeCompare([]byte(tok), []byte(m.o.Token)) == 1 {
			return true, 0
		}
		return false, http.StatusUnauthorized
	}
	if a, ok := auth.FromContext(r.Context()); ok && a.Role == auth.Admin {
		return true, 0
	}
	if r.Header.Get("Forwarded") != "" || r.Header.Get("X-Forwarded-For") != "" {
		return false, http.StatusForbidden
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err == nil && ip != nil && ip.IsLoopback() {
		return true, 0
	}
	return false, http.StatusForbidden
}

// Middleware records the latency of every request by method, route
// pattern and status class.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := httpx.Recording(w)
		defer func() {
			// The mux names the route on the request it serves; when a
			// middleware in between passed on a copy, it is looked up.
			pattern := r.Pattern
			if pattern == "" && m.o.Mux != nil {
				_, pattern = m.o.Mux.Handler(r)
			}
			m.observe(r.Method, pattern, sw.Status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

func (m *Metrics) observe(method, route string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	} else if _, path, ok := strings.Cut(route, " "); ok {
		route = path // the method is a label of its own
	}
	switch method {
	case "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS":
	default:
		method = "other"
	}
	if status == 0 {
		status = http.StatusOK
	}
	k := hkey{method, route, strconv.Itoa(status/100) + "xx"}
	s := d.Seconds()
	m.mu.Lock()
	h := m.h[k]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(m.o.Buckets))}
		m.h[k] = h
	}
	for i, b := range m.o.Buckets {
		if s <= b {
			h.counts[i]++
			break
		}
	}
	h.sum += s
	h.n++
	m.mu.Unlock()
}

// ServeHTTP answers GET /metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if ok, status := m.Allowed(r); !ok {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		}
		httpx.Error(w, status, httpx.FieldError{Field: "Authorization", Rule: "metrics", MessageZH: "无权读取运行指标", MessageEN: "not allowed to read the metrics"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	m.Write(ctx, w)
}

// Write writes every metric in the Prometheus text format (version 0.0.4).
// Figures it cannot read (the database away) are left out and counted in
// yici_metrics_errors.
func (m *Metrics) Write(ctx context.Context, out io.Writer) {
	w := &promWriter{w: bufio.NewWriter(out)}
	defer w.w.Flush()
	errs := 0
	if m.o.DB != nil {
		if err := m.writeFolded(ctx, w); err != nil {
			errs++
		}
		st := m.o.DB.Stat()
		w.family("yici_db_pool_connections", "gauge", "Connections of the database pool by state.")
		w.sample("yici_db_pool_connections", labels("state", "acquired"), float64(st.AcquiredConns()))
		w.sample("yici_db_pool_connections", labels("state", "idle"), float64(st.IdleConns()))
		w.sample("yici_db_pool_connections", labels("state", "constructing"), float64(st.ConstructingConns()))
		w.gauge("yici_db_pool_max_connections", "The pool's maximum size.", float64(st.MaxConns()))
		w.counter("yici_db_pool_acquires_total", "Connections acquired from the pool.", float64(st.AcquireCount()))
		w.counter("yici_db_pool_empty_acquires_total", "Acquires that had to wait for a connection.", float64(st.EmptyAcquireCount()))
		w.counter("yici_db_pool_canceled_acquires_total", "Acquires canceled before a connection came.", float64(st.CanceledAcquireCount()))
		w.counter("yici_db_pool_acquire_seconds_total", "Time spent acquiring connections.", st.AcquireDuration().Seconds())
		w.counter("yici_db_pool_new_connections_total", "Connections opened.", float64(st.NewConnsCount()))
	}
	if m.o.Hub != nil {
		conns, delivered, dropped, lagged := m.o.Hub.Stats()
		w.gauge("yici_ws_connections", "Open websocket connections of the live console on this node.", float64(conns))
		w.counter("yici_ws_delivered_total", "Stream items queued to websocket connections.", float64(delivered))
		w.counter("yici_ws_dropped_total", "Websocket connections dropped as unable to write.", float64(dropped))
		w.counter("yici_ws_lagged_total", "Websocket send-buffer overflows caught up from the ring.", float64(lagged))
	}
	m.writeHTTP(w)
	w.gauge("yici_metrics_errors", "Parts of this scrape that could not be read.", float64(errs))
}

// writeFolded writes the counters the rollup job folded from the trail.
func (m *Metrics) writeFolded(ctx context.Context, w *promWriter) error {
	rows, err := m.o.DB.Query(ctx, `SELECT name, label, sum(n)::bigint FROM stats_counts GROUP BY 1, 2 ORDER BY 1, 2`)
	if err != nil {
		return err
	}
	type kv struct {
		label string
		n     int64
	}
	by := map[string][]kv{}
	for rows.Next() {
		var name string
		var x kv
		if err := rows.Scan(&name, &x.label, &x.n); err != nil {
			rows.Close()
			return err
		}
		by[name] = append(by[name], x)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, f := range []struct{ name, metric, label, help string }{
		{"created", "yici_cases_created_total", "channel", "Cases registered, by channel (from the event trail, as of the last fold)."},
		{"routed", "yici_cases_routed_total", "channel", "Cases dispatched for the first time, by channel."},
		{"deadline", "yici_deadlines_fired_total", "action", "Deadline events of the scheduler, by action (deadline_warning, deadline_overdue 催办, escalate by the system)."},
		{"action", "yici_case_events_total", "action", "Case events, by action."},
	} {
		w.family(f.metric, "counter", f.help)
		for _, x := range by[f.name] {
			w.sample(f.metric, labels(f.label, x.label), float64(x.n))
		}
	}
	var events int64
	var at *time.Time
	if err := m.o.DB.QueryRow(ctx, `SELECT events, folded_at FROM stats_state WHERE id = 1`).Scan(&events, &at); err != nil {
		return err
	}
	w.counter("yici_stats_events_folded_total", "Events folded into the statistics rollups since the last rebuild.", float64(events))
	if at != nil {
		w.gauge("yici_stats_last_fold_timestamp_seconds", "When the rollup job last folded events (Unix time).", float64(at.UnixNano())/1e9)
	}
	return nil
}

func (m *Metrics) writeHTTP(w *promWriter) {
	m.mu.Lock()
	keys := make([]hkey, 0, len(m.h))
	snap := make(map[hkey]histogram, len(m.h))
	for k, h := range m.h {
		keys = append(keys, k)
		snap[k] = histogram{counts: append([]uint64(nil), h.counts...), sum: h.sum, n: h.n}
	}
	m.mu.Unlock()
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.route != b.route {
			return a.route < b.route
		}
		if a.method != b.method {
			return a.method < b.method
		}
		return a.code < b.code
	})
	const name = "yici_http_request_duration_seconds"
	w.family(name, "histogram", "Time to answer HTTP requests, by method, route pattern and status class.")
	for _, k := range keys {
		h := snap[k]
		base := labels("method", k.method, "route", k.route, "code", k.code)
		var cum uint64
		for i, b := range m.o.Buckets {
			cum += h.counts[i]
			w.sample(name+"_bucket", base+`,le="`+formatFloat(b)+`"`, float64(cum))
		}
		w.sample(name+"_bucket", base+`,le="+Inf"`, float64(h.n))
		w.sample(name+"_sum", base, h.sum)
		w.sample(name+"_count", base, float64(h.n))
	}
}

// promWriter writes the text exposition format.
type promWriter struct{ w *bufio.Writer }

func (p *promWriter) family(name, typ, help string) {
	fmt.Fprintf(p.w, "# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// sample writes one line; ls is the inside of the braces ("" for none).
func (p *promWriter) sample(name, ls string, v float64) {
	if ls != "" {
		fmt.Fprintf(p.w, "%s{%s} %s\n", name, ls, formatFloat(v))
		return
	}
	fmt.Fprintf(p.w, "%s %s\n", name, formatFloat(v))
}

func (p *promWriter) gauge(name, help string, v float64) {
	p.family(name, "gauge", help)
	p.sample(name, "", v)
}

func (p *promWriter) counter(name, help string, v float64) {
	p.family(name, "counter", help)
	p.sample(name, "", v)
}

// labels renders name="value" pairs with the values escaped.
func labels(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escapeLabel(kv[i+1]))
		b.WriteByte('"')
	}
	return b.String()
}

func escapeLabel(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}

func escapeHelp(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`).Replace(s)
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
