package cti_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/channels"
	"yici/channels/cti"
	"yici/internal/app"
	"yici/internal/apptest"
)

// env is a running Yici with the connector mounted and a cti key.
type env struct {
	t     *testing.T
	s     *apptest.Server
	h     *cti.Handler
	token string
	inst  uuid.UUID

	mu   sync.Mutex
	pops []cti.ScreenPop // what OnScreenPop was given
}

func start(t *testing.T, opts cti.Options) *env {
	t.Helper()
	e := &env{t: t}
	opts.OnScreenPop = func(_ context.Context, p cti.ScreenPop) {
		e.mu.Lock()
		e.pops = append(e.pops, p)
		e.mu.Unlock()
	}
	e.s = apptest.Start(t, func(a *app.App) {
		e.h = cti.New(a.Intake, a.Keys, a.Cases, a.Env.Pool, opts)
		a.Replace("cti", e.h.Routes)
	})
	e.token, e.inst = e.key("pbx-main")
	return e
}

// key makes a cti key and returns its secret and id.
func (e *env) key(name string) (string, uuid.UUID) {
	e.t.Helper()
	k, secret, err := e.s.App.Keys.Create(context.Background(), channels.KeyCTI, name, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return secret, k.ID
}

func (e *env) hooked() []cti.ScreenPop {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]cti.ScreenPop(nil), e.pops...)
}

// reply is an HTTP answer.
type reply struct {
	code int
	hdr  http.Header
	body []byte
}

func (r reply) decode(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(r.body, out); err != nil {
		t.Fatalf("%d %s: %v", r.code, r.body, err)
	}
}

// errs returns the field errors of an answer.
func (r reply) errs(t *testing.T) []map[string]string {
	t.Helper()
	var out struct {
		Errors []map[string]string `json:"errors"`
	}
	r.decode(t, &out)
	return out.Errors
}

// raw posts a body to the connector with the given token.
func (e *env) raw(token, contentType string, body []byte, hdr http.Header) reply {
	e.t.Helper()
	req, err := http.NewRequest("POST", e.s.URL+"/api/v1/cti/"+url.PathEscape(token), bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		e.t.Fatalf("POST cti: %d %s", resp.StatusCode, b)
	}
	return reply{code: resp.StatusCode, hdr: resp.Header, body: b}
}

// form posts an event as a form, json as JSON.
func (e *env) form(v url.Values) reply {
	e.t.Helper()
	return e.raw(e.token, "application/x-www-form-urlencoded", []byte(v.Encode()), nil)
}

func (e *env) json(v map[string]any) reply {
	e.t.Helper()
	b, _ := json.Marshal(v)
	return e.raw(e.token, "application/json", b, nil)
}

func (e *env) expect(r reply, code int) reply {
	e.t.Helper()
	if r.code != code {
		e.t.Fatalf("got %d %s, want %d", r.code, r.body, code)
	}
	return r
}

func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.s.App.Env.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

type caseOut struct {
	ID           uuid.UUID   `json:"id"`
	TrackingNo   string      `json:"tracking_no"`
	State        cases.State `json:"state"`
	Channel      string      `json:"channel"`
	ChannelRef   string      `json:"channel_ref"`
	CitizenPhone string      `json:"citizen_phone"`
	CountyCode   string      `json:"county_code"`
	CreatedAt    time.Time   `json:"created_at"`
	Assignments  []any       `json:"assignments"`
}

// register has a signed-in agent register a case.
func register(t *testing.T, c *apptest.Client, body map[string]any) caseOut {
	t.Helper()
	var out caseOut
	if code := c.Do("POST", "/api/v1/cases", body, &out); code != http.StatusCreated {
		t.Fatalf("register: %d", code)
	}
	return out
}

func pops(t *testing.T, c *apptest.Client, after int64) []cti.ScreenPop {
	t.Helper()
	var out struct {
		ScreenPops []cti.ScreenPop `json:"screenpops"`
	}
	if code := c.Do("GET", "/api/v1/cti/screenpops?after="+strconv.FormatInt(after, 10), nil, &out); code != http.StatusOK {
		t.Fatalf("screenpops: %d", code)
	}
	return out.ScreenPops
}

var beijing, _ = time.LoadLocation("Asia/Shanghai")

func TestCallFlowEndToEnd(t *testing.T) {
	e := start(t, cti.Options{})
	agent, disp, sup := e.s.Login("agent"), e.s.Login("dispatcher"), e.s.Login("supervisor")
	const phone = "13812340001"

	// The caller's earlier cases: a complaint typed with spaces, a 举报, one
	// too old to show and one of somebody else.
	older := register(t, agent, map[string]any{"kind": "投诉", "content": "文新街道丰潭路烧烤店油烟直排，影响居民生活。", "citizen_phone": "138 1234 0001"})
	report := register(t, agent, map[string]any{"kind": "举报", "content": "某小区物业私自收取停车费，请有关部门查处。", "citizen_phone": phone})
	stale := register(t, agent, map[string]any{"kind": "咨询", "content": "社保卡补办需要什么材料？", "citizen_phone": phone})
	other := register(t, agent, map[string]any{"kind": "求助", "content": "楼道灯坏了很久没人修。", "citizen_phone": "13900000002"})
	if _, err := e.s.App.Env.Pool.Exec(context.Background(), `UPDATE cases SET created_at = now() - interval '100 days' WHERE id = $1`, stale.ID); err != nil {
		t.Fatal(err)
	}

	// newCall as JSON, ringing at two agents.
	var action map[string]string
	e.expect(e.json(map[string]any{"event": "newCall", "callId": "c-1001", "from": "+86 138-1234-0001", "to": "12345",
		"direction": "in", "queue": "hotline", "user": []string{"agent", "dispatcher"}}), 200).decode(t, &action)
	if action["action"] != "accept" || len(action) != 1 {
		t.Fatalf("newCall answered %v", action)
	}
	if n := len(pops(t, agent, 0)); n != 0 {
		t.Fatalf("%d screen-pops before the answer", n)
	}

	// answer as a form: the extension number is nobody's username, user is.
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"c-1001"}, "answeringNumber": {"8001"}, "user": {"agent"}}), 200)

	got := pops(t, agent, 0)
	if len(got) != 1 {
		t.Fatalf("agent sees %d screen-pops, want 1", len(got))
	}
	p := got[0]
	if p.CallID != "c-1001" || p.Agent != "agent" || p.Caller != phone || p.Installation != e.inst {
		t.Fatalf("screen-pop %+v", p)
	}
	want := []cti.HistoryItem{
		{TrackingNo: report.TrackingNo, State: cases.Registered, StateLabel: cases.Registered.Label()},
		{TrackingNo: older.TrackingNo, Title: "文新街道丰潭路烧烤店油烟直排", State: cases.Registered, StateLabel: cases.Registered.Label(),
			Date: older.CreatedAt.In(beijing).Format(time.DateOnly)},
	}
	if len(p.History) != len(want) {
		t.Fatalf("history %+v, want %+v (not %s, %s)", p.History, want, stale.TrackingNo, other.TrackingNo)
	}
	for i := range want {
		if p.History[i] != want[i] {
			t.Errorf("history[%d] = %+v, want %+v", i, p.History[i], want[i])
		}
	}
	// The stored history of the 举报 holds nothing but its number and state.
	var stored string
	if err := e.s.App.Env.Pool.QueryRow(context.Background(), `SELECT (history->0)::text FROM cti_screenpops WHERE id = $1`, p.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "物业") || strings.Contains(stored, "date") || strings.Contains(stored, "title") {
		t.Errorf("举报 entry stored as %s", stored)
	}
	if h := e.hooked(); len(h) != 1 || h[0].ID != p.ID || len(h[0].History) != 2 {
		t.Fatalf("OnScreenPop got %+v", h)
	}
	// The telephony system retries the answer, and a late one names another
	// agent: the call stays answered by the first, with one screen-pop.
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"c-1001"}, "answeringNumber": {"8001"}, "user": {"agent"}}), 200)
	e.expect(e.json(map[string]any{"cmd": "answer", "callId": "c-1001", "agent": "dispatcher"}), 200)
	if n := e.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'c-1001' AND state = 'answered' AND agent = 'agent'`); n != 1 {
		t.Fatal("a repeated answer changed the call")
	}
	if len(pops(t, agent, 0)) != 1 || len(e.hooked()) != 1 {
		t.Fatal("a repeated answer popped again")
	}
	// Only the agent who answered sees it.
	if n := len(pops(t, disp, 0)); n != 0 {
		t.Errorf("dispatcher sees %d screen-pops", n)
	}
	if n := len(pops(t, sup, 0)); n != 0 {
		t.Errorf("supervisor sees %d screen-pops", n)
	}
	if n := len(pops(t, agent, p.ID)); n != 0 {
		t.Errorf("%d screen-pops after the last one", n)
	}
	if code := e.s.Login("wenxin-zf").Do("GET", "/api/v1/cti/screenpops", nil, nil); code != http.StatusForbidden {
		t.Errorf("officer: %d", code)
	}
	if code := e.s.Anon().Do("GET", "/api/v1/cti/screenpops", nil, nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous: %d", code)
	}
	if code := agent.Do("GET", "/api/v1/cti/screenpops?after=x", nil, nil); code != http.StatusBadRequest {
		t.Errorf("after=x: %d", code)
	}

	// The agent registers the call's case.
	during := register(t, agent, map[string]any{"kind": "投诉", "content": "来电反映丰潭路烧烤店油烟问题仍未解决。", "citizen_phone": phone,
		"township_code": "330106013", "call_id": "c-1001"})

	e.expect(e.json(map[string]any{"cmd": "hangup", "callId": "c-1001", "cause": "normalClearing", "duration": 95}), 200)

	var call cti.Call
	if code := agent.Do("GET", "/api/v1/cti/calls/c-1001", nil, &call); code != http.StatusOK {
		t.Fatalf("call: %d", code)
	}
	if call.State != cti.StateEnded || call.HangupCause != "normalClearing" || call.Agent != "agent" || call.Caller != phone ||
		call.Callee != "12345" || call.Direction != "inbound" || call.Queue != "hotline" || call.Duration == nil || *call.Duration != 95 ||
		call.AnsweredAt == nil || call.EndedAt == nil || call.InstallationName != "pbx-main" ||
		strings.Join(call.RingUsers, ",") != "agent,dispatcher" {
		t.Fatalf("call %+v", call)
	}
	if call.Case == nil || call.Case.TrackingNo != during.TrackingNo || call.Case.ID != during.ID {
		t.Fatalf("call's case %+v, want %s", call.Case, during.TrackingNo)
	}
	if n := e.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'c-1001' AND case_id = $1 AND county_code = '330106'`, during.ID); n != 1 {
		t.Errorf("cti_calls.case_id not stored with the case's county (%d)", n)
	}

	// Every event again, some with other values: nothing changes.
	e.expect(e.json(map[string]any{"event": "newCall", "callId": "c-1001", "from": "13812340001", "direction": "in"}), 200).decode(t, &action)
	if action["action"] != "accept" {
		t.Errorf("repeated newCall: %v", action)
	}
	e.expect(e.form(url.Values{"event": {"answer"}, "callId": {"c-1001"}, "user": {"dispatcher"}}), 200)
	e.expect(e.form(url.Values{"event": {"hangup"}, "callId": {"c-1001"}, "cause": {"busy"}, "duration": {"3"}}), 200)
	var again cti.Call
	agent.Do("GET", "/api/v1/cti/calls/c-1001", nil, &again)
	if again.State != cti.StateEnded || again.HangupCause != "normalClearing" || *again.Duration != 95 || again.Agent != "agent" ||
		!again.EndedAt.Equal(*call.EndedAt) || !again.AnsweredAt.Equal(*call.AnsweredAt) {
		t.Errorf("repeated events changed the call: %+v", again)
	}
	if n := e.count(`SELECT count(*) FROM cti_screenpops`); n != 1 {
		t.Errorf("%d screen-pops after repeated answers", n)
	}
	if len(e.hooked()) != 1 || len(pops(t, disp, 0)) != 0 {
		t.Errorf("a repeated answer popped again")
	}

	// Who may read the call log.
	if code := e.s.Login("wenxin-zf").Do("GET", "/api/v1/cti/calls/c-1001", nil, nil); code != http.StatusForbidden {
		t.Errorf("officer reads the call log: %d", code)
	}
	if code := agent.Do("GET", "/api/v1/cti/calls/nope", nil, nil); code != http.StatusNotFound {
		t.Errorf("unknown call: %d", code)
	}
}

func TestCallLinkedAtAnswerAndOutOfOrderEvents(t *testing.T) {
	e := start(t, cti.Options{})
	agent := e.s.Login("agent")

	// The hangup arrives first: the call is logged, ended; a late answer
	// names the agent but neither reopens it nor pops.
	e.expect(e.form(url.Values{"cmd": {"hangup"}, "callId": {"late-1"}, "cause": {"noAnswer"}, "from": {"13700000003"}}), 200)
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"late-1"}, "agent": {"agent"}}), 200)
	var call cti.Call
	agent.Do("GET", "/api/v1/cti/calls/late-1", nil, &call)
	if call.State != cti.StateEnded || call.HangupCause != "noAnswer" || call.Caller != "13700000003" || call.Agent != "agent" {
		t.Fatalf("call %+v", call)
	}
	if len(pops(t, agent, 0)) != 0 {
		t.Fatal("an answer after the hangup popped")
	}

	// A case registered before the answer event is linked by the answer.
	c := register(t, agent, map[string]any{"kind": "咨询", "content": "公积金提取需要什么材料？", "citizen_phone": "13700000004", "call_id": "early-1"})
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"early-1"}, "from": {"13700000004"}}), 200)
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"early-1"}, "agent": {"agent"}}), 200)
	if n := e.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'early-1' AND case_id = $1 AND state = 'answered'`, c.ID); n != 1 {
		t.Fatal("the answer did not link the case")
	}
	// An answering number that is nobody's account is logged, but pops nothing.
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"ext-1"}, "from": {"13700000005"}}), 200)
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"ext-1"}, "answeringNumber": {"8002"}}), 200)
	if n := e.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'ext-1' AND agent = '8002' AND state = 'answered'`); n != 1 {
		t.Fatal("answer by extension not logged")
	}
	if n := e.count(`SELECT count(*) FROM cti_screenpops WHERE call_id = 'ext-1'`); n != 0 {
		t.Fatal("a screen-pop for no account")
	}
	// An officer is not the hotline centre: no screen-pop for them either.
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"off-1"}, "from": {"13700000006"}}), 200)
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"off-1"}, "agent": {"wenxin-zf"}}), 200)
	if n := e.count(`SELECT count(*) FROM cti_screenpops WHERE call_id = 'off-1'`); n != 0 {
		t.Fatal("a screen-pop for an officer")
	}
}

func TestConcurrentRetriesPopOnce(t *testing.T) {
	e := start(t, cti.Options{})
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"cc-1"}, "from": {"13700000013"}}), 200)
	body := []byte("cmd=answer&callId=cc-1&agent=agent")
	codes := make(chan int, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Post(e.s.URL+"/api/v1/cti/"+e.token, "application/x-www-form-urlencoded", bytes.NewReader(body))
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a retry got %d", c)
		}
	}
	if n := e.count(`SELECT count(*) FROM cti_screenpops WHERE call_id = 'cc-1'`); n != 1 || len(e.hooked()) != 1 {
		t.Fatalf("%d screen-pops stored, %d offered, want 1", n, len(e.hooked()))
	}
}

func TestCallIDsAreUniqueAcrossInstallations(t *testing.T) {
	e := start(t, cti.Options{})
	other, _ := e.key("pbx-backup")
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"dup-1"}, "from": {"13700000007"}}), 200)
	r := e.expect(e.raw(other, "application/x-www-form-urlencoded", []byte("cmd=newCall&callId=dup-1&from=13700000008"), nil), http.StatusConflict)
	if es := r.errs(t); len(es) != 1 || es[0]["field"] != "callId" || es[0]["rule"] != "unique" {
		t.Fatalf("errors %v", es)
	}
	if n := e.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'dup-1'`); n != 1 {
		t.Fatalf("%d calls dup-1", n)
	}
}

func TestBlockList(t *testing.T) {
	e := start(t, cti.Options{})
	sup, admin, agent := e.s.Login("supervisor"), e.s.Login("admin"), e.s.Login("agent")

	var b cti.Blocked
	if code := sup.Do("POST", "/api/v1/admin/cti/blocklist", map[string]string{"phone": "0571 8800 9999", "reason": "恶意骚扰"}, &b); code != http.StatusCreated {
		t.Fatalf("block: %d", code)
	}
	if b.Phone != "0571-88009999" || b.Reason != "恶意骚扰" || b.CreatedBy != "supervisor" {
		t.Fatalf("blocked %+v", b)
	}
	if code := admin.Do("POST", "/api/v1/admin/cti/blocklist", map[string]string{"phone": "057188009999", "reason": "多次恶意来电"}, &b); code != http.StatusOK || b.Reason != "多次恶意来电" {
		t.Fatalf("block again: %d %+v", code, b)
	}
	if code := agent.Do("POST", "/api/v1/admin/cti/blocklist", map[string]string{"phone": "13700000009"}, nil); code != http.StatusForbidden {
		t.Errorf("agent blocks: %d", code)
	}
	var bad struct {
		Errors []map[string]string `json:"errors"`
	}
	if code := admin.Do("POST", "/api/v1/admin/cti/blocklist", map[string]string{"phone": "call me"}, &bad); code != http.StatusBadRequest || bad.Errors[0]["field"] != "phone" {
		t.Errorf("bad phone: %d %v", code, bad)
	}
	var list struct {
		Blocklist []cti.Blocked `json:"blocklist"`
	}
	if code := admin.Do("GET", "/api/v1/admin/cti/blocklist", nil, &list); code != http.StatusOK || len(list.Blocklist) != 1 || list.Blocklist[0].Phone != "0571-88009999" {
		t.Fatalf("list: %d %+v", code, list)
	}

	var action map[string]string
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"b-1"}, "from": {"057188009999"}, "direction": {"in"}}), 200).decode(t, &action)
	if action["action"] != "reject" || action["reason"] != "busy" {
		t.Fatalf("blocked caller: %v", action)
	}
	if n := e.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'b-1' AND state = 'ended' AND hangup_cause = 'blocked'`); n != 1 {
		t.Fatal("refused call not logged")
	}
	// Calling a blocked number back is not refused.
	e.expect(e.json(map[string]any{"cmd": "newCall", "callId": "b-2", "from": "8001", "to": "0571-88009999", "direction": "out"}), 200).decode(t, &action)
	if action["action"] != "accept" {
		t.Fatalf("outbound call: %v", action)
	}

	if code := admin.Do("DELETE", "/api/v1/admin/cti/blocklist/0571-88009999", nil, nil); code != http.StatusNoContent {
		t.Fatalf("unblock: %d", code)
	}
	if code := sup.Do("DELETE", "/api/v1/admin/cti/blocklist?phone=057188009999", nil, nil); code != http.StatusNotFound {
		t.Fatalf("unblock twice: %d", code)
	}
	// A retry of the refused call gets the same answer; a new call is accepted.
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"b-1"}, "from": {"057188009999"}}), 200).decode(t, &action)
	if action["action"] != "reject" {
		t.Fatalf("retried refused call: %v", action)
	}
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"b-3"}, "from": {"057188009999"}}), 200).decode(t, &action)
	if action["action"] != "accept" {
		t.Fatalf("unblocked caller: %v", action)
	}
}

func sign(token string, ts int64, body []byte) http.Header {
	s := strconv.FormatInt(ts, 10)
	return http.Header{"X-Yici-Timestamp": {s}, "X-Yici-Signature": {"sha256=" + hex.EncodeToString(cti.Sign(token, s, body))}}
}

func TestAuthentication(t *testing.T) {
	e := start(t, cti.Options{})
	body := []byte("cmd=newCall&callId=auth-1&from=13700000010")
	const form = "application/x-www-form-urlencoded"
	now := time.Now().Unix()
	appKey, _ := func() (string, error) {
		_, s, err := e.s.App.Keys.Create(context.Background(), channels.KeyApp, "some-app", "")
		return s, err
	}()
	forgeries := map[string]struct {
		token string
		hdr   http.Header
	}{
		"wrong token":        {"yk_cti_not-a-key", nil},
		"empty-ish token":    {"x", nil},
		"an app's key":       {appKey, nil},
		"forged signature":   {e.token, sign("another-secret", now, body)},
		"signature of other": {e.token, sign(e.token, now, []byte("cmd=newCall&callId=auth-2"))},
		"stale timestamp":    {e.token, sign(e.token, now-6*60, body)},
		"future timestamp":   {e.token, sign(e.token, now+6*60, body)},
		"no timestamp":       {e.token, http.Header{"X-Yici-Signature": sign(e.token, now, body)["X-Yici-Signature"]}},
		"not hex":            {e.token, http.Header{"X-Yici-Timestamp": {strconv.FormatInt(now, 10)}, "X-Yici-Signature": {"sha256=zz"}}},
		"other scheme":       {e.token, http.Header{"X-Yici-Timestamp": {strconv.FormatInt(now, 10)}, "X-Yici-Signature": {"md5=00"}}},
	}
	for name, f := range forgeries {
		r := e.raw(f.token, form, body, f.hdr)
		if r.code != http.StatusForbidden {
			t.Errorf("%s: %d %s", name, r.code, r.body)
			continue
		}
		if es := r.errs(t); len(es) != 1 || es[0]["field"] != "token" || es[0]["message_zh"] == "" || es[0]["message_en"] == "" {
			t.Errorf("%s: errors %v", name, es)
		}
	}
	if n := e.count(`SELECT count(*) FROM cti_calls`); n != 0 {
		t.Fatalf("refused events logged %d calls", n)
	}
	// Signed and unsigned events are both accepted by default.
	e.expect(e.raw(e.token, form, body, sign(e.token, now, body)), 200)
	e.expect(e.raw(e.token, form, []byte("cmd=newCall&callId=auth-3"), nil), 200)

	// With RequireSignature, an unsigned event is refused.
	strict := start(t, cti.Options{RequireSignature: true})
	strict.expect(strict.raw(strict.token, form, body, nil), http.StatusForbidden)
	strict.expect(strict.raw(strict.token, form, body, sign(strict.token, time.Now().Unix(), body)), 200)
	// JSON is signed the same way.
	jb := []byte(`{"event":"hangup","callId":"auth-1","cause":"cancel"}`)
	strict.expect(strict.raw(strict.token, "application/json", jb, sign(strict.token, time.Now().Unix(), jb)), 200)
	if n := strict.count(`SELECT count(*) FROM cti_calls WHERE call_id = 'auth-1' AND hangup_cause = 'cancel'`); n != 1 {
		t.Fatal("signed JSON hangup not applied")
	}
}

func TestTranscriptAndVoicemailBecomeDrafts(t *testing.T) {
	e := start(t, cti.Options{})
	disp := e.s.Login("dispatcher")
	e.expect(e.form(url.Values{"cmd": {"newCall"}, "callId": {"t-1"}, "from": {"0086 137 0000 0011"}, "to": {"12345"}}), 200)
	e.expect(e.form(url.Values{"cmd": {"answer"}, "callId": {"t-1"}, "agent": {"agent"}}), 200)
	e.expect(e.form(url.Values{"cmd": {"hangup"}, "callId": {"t-1"}, "cause": {"normalClearing"}}), 200)

	text := "市民反映文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味。"
	var out struct {
		Case struct {
			TrackingNo string      `json:"tracking_no"`
			State      cases.State `json:"state"`
		} `json:"case"`
	}
	e.expect(e.form(url.Values{"cmd": {"transcript"}, "callId": {"t-1"}, "text": {text}}), http.StatusCreated).decode(t, &out)
	if out.Case.State != cases.PendingDispatch {
		t.Fatalf("transcript case %+v", out.Case)
	}
	first := out.Case.TrackingNo
	// A retry, as JSON this time, is the same case.
	e.expect(e.json(map[string]any{"cmd": "transcript", "callId": "t-1", "text": text}), http.StatusOK).decode(t, &out)
	if out.Case.TrackingNo != first {
		t.Fatalf("retry made %s, first %s", out.Case.TrackingNo, first)
	}

	var call cti.Call
	if code := disp.Do("GET", "/api/v1/cti/calls/t-1", nil, &call); code != http.StatusOK {
		t.Fatalf("call: %d", code)
	}
	if call.Case != nil || len(call.Drafts) != 1 || call.Drafts[0].TrackingNo != first || call.Drafts[0].Source != "transcript" {
		t.Fatalf("call's cases: %+v %+v", call.Case, call.Drafts)
	}
	var c caseOut
	if code := disp.Do("GET", "/api/v1/cases/"+call.Drafts[0].ID.String(), nil, &c); code != http.StatusOK {
		t.Fatalf("case: %d", code)
	}
	if c.State != cases.PendingDispatch || c.Channel != "phone" || c.ChannelRef != e.inst.String()+":t-1:transcript" ||
		c.CitizenPhone != "13700000011" || len(c.Assignments) != 0 {
		t.Fatalf("draft case %+v", c)
	}
	var evs struct {
		Events []cases.Event `json:"events"`
	}
	disp.Do("GET", "/api/v1/cases/"+c.ID.String()+"/events", nil, &evs)
	if len(evs.Events) != 2 || evs.Events[1].Action != cases.ActSubmit || evs.Events[1].To != cases.PendingDispatch {
		t.Fatalf("events %+v", evs.Events)
	}
	if link, _ := evs.Events[0].Data["cti"].(map[string]any); link["call_id"] != "t-1" || link["source"] != "transcript" {
		t.Fatalf("registration data %v", evs.Events[0].Data)
	}

	// A voicemail with its own id (no call logged): the number comes with it.
	e.expect(e.json(map[string]any{"event": "voicemail", "callId": "vm-77", "from": "13700000012", "text": "我家门口的路灯坏了一个星期了，麻烦派人修一下。"}), http.StatusCreated).decode(t, &out)
	vm, err := e.s.App.Cases.GetByChannelRef(context.Background(), cases.ChannelPhone, e.inst.String()+":vm-77:voicemail")
	if err != nil {
		t.Fatal(err)
	}
	if vm.State != cases.PendingDispatch || vm.CitizenPhone != "13700000012" || vm.TrackingNo != out.Case.TrackingNo || !strings.HasPrefix(vm.Title, "【语音留言】") {
		t.Fatalf("voicemail case %+v", vm)
	}

	// A transcript without text is refused, naming the field.
	r := e.expect(e.form(url.Values{"cmd": {"transcript"}, "callId": {"t-1"}}), http.StatusBadRequest)
	if es := r.errs(t); len(es) != 1 || es[0]["field"] != "text" || es[0]["rule"] != "required" {
		t.Fatalf("errors %v", es)
	}
}

func TestBadRequests(t *testing.T) {
	e := start(t, cti.Options{})
	r := e.expect(e.form(url.Values{"cmd": {"transfer"}, "callId": {"x-1"}}), http.StatusBadRequest)
	es := r.errs(t)
	if len(es) != 1 || es[0]["field"] != "cmd" || es[0]["rule"] != "oneof" ||
		es[0]["message_zh"] != "事件类型必须是以下之一：newCall、answer、hangup、transcript、voicemail" ||
		es[0]["message_en"] != "cmd must be one of: newCall answer hangup transcript voicemail" {
		t.Fatalf("unknown command: %v", es)
	}
	big := append([]byte("cmd=transcript&callId=x-2&text="), bytes.Repeat([]byte("a"), cti.MaxBody)...)
	e.expect(e.raw(e.token, "application/x-www-form-urlencoded", big, nil), http.StatusRequestEntityTooLarge)
	e.expect(e.raw(e.token, "text/plain", []byte("cmd=newCall&callId=x-3"), nil), http.StatusUnsupportedMediaType)
	e.expect(e.raw(e.token, "application/json", []byte(`{"cmd":"newCall","callId":`), nil), http.StatusBadRequest)
	if n := e.count(`SELECT count(*) FROM cti_calls`); n != 0 {
		t.Fatalf("%d calls logged from bad requests", n)
	}
}

func TestRateLimits(t *testing.T) {
	// Buckets that do not refill during the test: 1 token per 1,000 minutes.
	e := start(t, cti.Options{PerInstallation: channels.NewLimiter(0.001, 2), PerIP: channels.NewLimiter(0.001, 5)})
	other, _ := e.key("pbx-backup")
	ev := func(token, id string) reply {
		return e.raw(token, "application/x-www-form-urlencoded", []byte("cmd=newCall&callId="+id), nil)
	}
	e.expect(ev(e.token, "r-1"), 200)
	e.expect(ev(e.token, "r-2"), 200)
	r := e.expect(ev(e.token, "r-3"), http.StatusTooManyRequests)
	if s, err := strconv.Atoi(r.hdr.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("Retry-After %q", r.hdr.Get("Retry-After"))
	}
	// Another installation has its own bucket...
	e.expect(ev(other, "r-4"), 200)
	e.expect(ev(other, "r-5"), 200)
	// ...but the address has used its five: even a wrong token is throttled.
	r = e.expect(ev("yk_cti_wrong", "r-6"), http.StatusTooManyRequests)
	if r.hdr.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	if n := e.count(`SELECT count(*) FROM cti_calls`); n != 4 {
		t.Fatalf("%d calls logged, want 4", n)
	}
}
