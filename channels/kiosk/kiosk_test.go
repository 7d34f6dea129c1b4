package kiosk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"yici/cases"
	"yici/channels"
	"yici/channels/kiosk"
	"yici/internal/app"
	"yici/internal/apptest"
	"yici/internal/auth"
	"yici/internal/httpx"
)

const (
	wenxin  = "330106013" // 西湖区文新街道, the demo kiosks' home
	cuiyuan = "330106005" // 西湖区翠苑街道, same county
	xihu    = "330106"
)

// start runs the whole app with the kiosk channel; tune changes the
// options (the defaults here are generous limits, so that only the rate
// limit test meets them).
func start(t *testing.T, tune ...func(*app.Config)) *apptest.Server {
	t.Helper()
	return apptest.StartConfigured(t, func(c *app.Config) {
		c.KioskKeyRate, c.KioskIPRate = 60000, 60000
		for _, f := range tune {
			f(c)
		}
	})
}

// device is one kiosk: its key and an HTTP client that sends it.
type device struct {
	*apptest.Client
	key    channels.Key
	secret string
}

func newDevice(t *testing.T, s *apptest.Server, name, township string) *device {
	t.Helper()
	key, secret, err := s.App.Keys.Create(context.Background(), channels.KeyKiosk, name, township)
	if err != nil {
		t.Fatal(err)
	}
	c := s.Anon()
	c.Header.Set("Authorization", "Bearer "+secret)
	return &device{Client: c, key: key, secret: secret}
}

// raw sends a body as it is and returns the status, headers and body.
func (d *device) raw(t *testing.T, method, path string, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, d.S.URL+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range d.Header {
		req.Header[k] = v
	}
	resp, err := d.HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, resp.Header, b
}

type answer struct {
	ID           string       `json:"id"`
	Status       string       `json:"status"`
	TrackingNo   string       `json:"tracking_no"`
	State        string       `json:"state"`
	Routed       bool         `json:"routed"`
	Category     string       `json:"category"`
	CategoryName string       `json:"category_name"`
	Receipt      string       `json:"receipt"`
	Errors       httpx.Errors `json:"errors"`
}

type batchAnswer struct {
	Results []answer     `json:"results"`
	Errors  httpx.Errors `json:"errors"`
}

func newID() string { return uuid.NewString() }

func item(id, content string, extra ...any) map[string]any {
	m := map[string]any{"id": id, "content": content, "phone": "13812345678"}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func caseOf(t *testing.T, s *apptest.Server, no string) *cases.Case {
	t.Helper()
	c, err := s.App.Cases.GetByTrackingNo(context.Background(), no)
	if err != nil {
		t.Fatalf("case %s: %v", no, err)
	}
	return c
}

// seedCases registers n cases of a category in a township, created ago.
func seedCases(t *testing.T, s *apptest.Server, n int, category, township string, ago time.Duration) {
	t.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		c, _, err := s.App.Cases.Create(ctx, auth.SystemActor("测试"), cases.NewCase{Kind: cases.Complaint, Category: category,
			Content: fmt.Sprintf("测试诉求 %s %d", category, i), TownshipCode: township, Channel: cases.ChannelConsole})
		if err != nil {
			t.Fatal(err)
		}
		if ago > 0 {
			if _, err := s.App.Env.Pool.Exec(ctx, `UPDATE cases SET created_at = created_at - $2::interval WHERE id = $1`, c.ID, ago.String()); err != nil {
				t.Fatal(err)
			}
		}
	}
}

type categoriesAnswer struct {
	Township struct {
		Code string `json:"code"`
		Name string `json:"name"`
	} `json:"township"`
	Categories []kiosk.Category `json:"categories"`
}

func TestCategoriesReflectTheTownshipsOwnCases(t *testing.T) {
	s := start(t)
	a := newDevice(t, s, "文新街道便民服务中心 1 号机", wenxin)
	b := newDevice(t, s, "翠苑街道便民服务中心 1 号机", cuiyuan)

	var before categoriesAnswer
	if code := a.Do("GET", "/api/v1/kiosk/categories", nil, &before); code != 200 {
		t.Fatalf("categories: %d", code)
	}
	for _, c := range before.Categories {
		if c.Source != "default" {
			t.Fatalf("the demo data has one case per category at most, yet %s is %s", c.Code, c.Source)
		}
	}

	seedCases(t, s, 3, "0603", wenxin, 0)                // 道路井盖与路灯: common in 文新
	seedCases(t, s, 2, "0802", cuiyuan, 0)               // 校外培训: common in 翠苑, so in the county
	seedCases(t, s, 1, "0101", wenxin, 0)                // one case is no pattern
	seedCases(t, s, 4, "1204", wenxin, 100*24*time.Hour) // too old to count
	seedCases(t, s, 5, "0305", "330102001", 0)           // another county (上城区)

	var got categoriesAnswer
	a.Do("GET", "/api/v1/kiosk/categories", nil, &got)
	if got.Township.Code != wenxin || got.Township.Name != "文新街道" {
		t.Errorf("township: %+v", got.Township)
	}
	if len(got.Categories) != 10 {
		t.Fatalf("%d categories, want 10", len(got.Categories))
	}
	seen := map[string]bool{}
	for i, c := range got.Categories {
		if seen[c.Code] {
			t.Errorf("%s twice", c.Code)
		}
		seen[c.Code] = true
		if c.Name == "" || c.Group == "" || c.Hint == "" {
			t.Errorf("category %d incomplete: %+v", i, c)
		}
		if c.Code == "1403" {
			t.Errorf("无效来电 offered to citizens")
		}
		if i >= 2 && c.Source != "default" {
			t.Errorf("category %d: %+v, want a default", i, c)
		}
		if (c.Code == "1204" || c.Code == "0305" || c.Code == "0101") && c.Source != "default" {
			t.Errorf("%s counted: %+v", c.Code, c)
		}
	}
	if c := got.Categories[0]; c.Code != "0603" || c.Source != "township" || c.Name != "道路井盖与路灯" || c.Group != "交通出行" {
		t.Errorf("first: %+v, want 0603 from the township", c)
	}
	if c := got.Categories[1]; c.Code != "0802" || c.Source != "county" {
		t.Errorf("second: %+v, want 0802 from the county", c)
	}

	// 翠苑's kiosk sees its own first, then 文新's through the county.
	var other categoriesAnswer
	b.Do("GET", "/api/v1/kiosk/categories", nil, &other)
	if len(other.Categories) < 2 || other.Categories[0].Code != "0802" || other.Categories[0].Source != "township" ||
		other.Categories[1].Code != "0603" || other.Categories[1].Source != "county" {
		t.Errorf("翠苑: %+v", other.Categories[:2])
	}
}

func TestTownshipsHomeFirstThenTheCounty(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	var got struct {
		County    kiosk.Place   `json:"county"`
		Townships []kiosk.Place `json:"townships"`
	}
	if code := d.Do("GET", "/api/v1/kiosk/townships", nil, &got); code != 200 {
		t.Fatalf("townships: %d", code)
	}
	if got.County.Code != xihu || got.County.Name != "西湖区" {
		t.Errorf("county: %+v", got.County)
	}
	want := s.App.Terr.Townships(xihu)
	if len(got.Townships) != len(want) || len(want) < 5 {
		t.Fatalf("%d townships, the county has %d", len(got.Townships), len(want))
	}
	if h := got.Townships[0]; h.Code != wenxin || !h.Home || h.Name != "文新街道" {
		t.Errorf("first: %+v", h)
	}
	seen := map[string]bool{}
	for i, p := range got.Townships {
		if seen[p.Code] || !strings.HasPrefix(p.Code, xihu) || (i > 0 && p.Home) {
			t.Errorf("township %d: %+v", i, p)
		}
		seen[p.Code] = true
		if i > 1 && p.Code < got.Townships[i-1].Code {
			t.Errorf("not in code order at %d", i)
		}
	}
}

func TestSubmitRoutesOrQueuesAndIsIdempotent(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	ctx := context.Background()

	// A clear category in the kiosk's own township: dispatched at once.
	id := newID()
	var a answer
	code := d.Do("POST", "/api/v1/kiosk/requests", item(id, "丰潭路一家烧烤店油烟直排，熏得没法开窗。", "category", "0104",
		"name", "陈女士", "address", "丰潭路 100 号", "created_at", "2026-03-15T14:05:00+08:00"), &a)
	if code != 201 || a.Status != "created" || !cases.ValidTrackingNo(a.TrackingNo) {
		t.Fatalf("submit: %d %+v", code, a)
	}
	if !a.Routed || a.State != string(cases.PendingSign) || a.Category != "0104" || a.CategoryName != "餐饮油烟" ||
		a.Receipt != "/api/v1/kiosk/receipts/"+a.TrackingNo || a.ID != id {
		t.Errorf("answer: %+v", a)
	}
	c := caseOf(t, s, a.TrackingNo)
	if c.Channel != cases.ChannelKiosk || c.ChannelRef != d.key.ID.String()+":"+id || c.Reporter != "kiosk:"+d.key.ID.String() {
		t.Errorf("channel %s ref %s reporter %s", c.Channel, c.ChannelRef, c.Reporter)
	}
	if c.TownshipCode != wenxin || c.CitizenName != "陈女士" || c.CitizenPhone != "13812345678" || c.Address != "丰潭路 100 号" {
		t.Errorf("case: %+v", c)
	}
	if lead := c.LeadAssignment(); lead == nil || lead.UnitID != wenxin+"-ZF" {
		t.Errorf("lead: %+v", c.Assignments)
	}
	evs, err := s.App.Cases.Events(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	dev, _ := evs[0].Data["kiosk"].(map[string]any)
	if evs[0].ActorName != "自助终端 文新 1 号机" || dev["device_time"] != "2026-03-15T14:05:00+08:00" || dev["request_id"] != id {
		t.Errorf("registration: %s %v", evs[0].ActorName, evs[0].Data)
	}

	// The same id again, even garbled: the same case, nothing new.
	var again answer
	code = d.Do("POST", "/api/v1/kiosk/requests", item(strings.ToUpper(id), "别的内容"), &again)
	if code != 200 || again.Status != "duplicate" || again.TrackingNo != a.TrackingNo {
		t.Errorf("re-send: %d %+v", code, again)
	}
	var n int
	s.App.Env.Pool.QueryRow(ctx, `SELECT count(*) FROM cases WHERE channel = 'kiosk'`).Scan(&n)
	if n != 1 {
		t.Errorf("%d kiosk cases, want 1", n)
	}

	// No category and nothing triage is sure of: the dispatcher's queue.
	var q answer
	code = d.Do("POST", "/api/v1/kiosk/requests", item(newID(), "你好，我有点事情想反映一下，麻烦联系我。"), &q)
	if code != 201 || q.Routed || q.State != string(cases.PendingDispatch) {
		t.Errorf("vague: %d %+v", code, q)
	}

	// About another township of the county.
	var o answer
	d.Do("POST", "/api/v1/kiosk/requests", item(newID(), "翠苑一区门口路灯坏了一个星期。", "category", "0603", "township_code", cuiyuan), &o)
	if c := caseOf(t, s, o.TrackingNo); c.TownshipCode != cuiyuan || c.CountyCode != xihu {
		t.Errorf("elsewhere: township %s county %s", c.TownshipCode, c.CountyCode)
	}

	// Another kiosk's device may generate the same UUID: its own case.
	other := newDevice(t, s, "翠苑 1 号机", cuiyuan)
	var b answer
	if code := other.Do("POST", "/api/v1/kiosk/requests", item(id, "翠苑街道垃圾没人清。"), &b); code != 201 || b.TrackingNo == a.TrackingNo {
		t.Errorf("other kiosk, same id: %d %+v", code, b)
	}
}

func TestBatchFilesValidItemsAndReportsInvalidOnes(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	ids := []string{newID(), newID(), newID(), newID(), newID(), newID(), newID()}
	items := []any{
		item(ids[0], "小区门口垃圾堆了三天没人清。", "category", "0103"),
		item(ids[1], ""), // no content
		item(ids[2], "楼上装修噪音大", "phone", "12345"), // bad phone
		map[string]any{"id": "not-a-uuid", "content": "内容"},
		item(ids[3], "路灯不亮", "photo", "x.jpg"), // unknown field
		"just a string",
		item(ids[4], "夜里广场舞音响太吵了。", "category", "0502", "kind", "投诉"),
		item(ids[5], "菜场门口占道经营", "category", "9999", "township_code", "330106999"), // two bad fields
		item(ids[6], "电梯经常困人，物业不管。", "anonymous", true),
	}
	body, _ := json.Marshal(map[string]any{"items": items})

	var first batchAnswer
	code, _, raw := d.raw(t, "POST", "/api/v1/kiosk/batch", body)
	if code != 200 || json.Unmarshal(raw, &first) != nil || len(first.Results) != len(items) {
		t.Fatalf("batch: %d %s", code, raw)
	}
	want := []struct {
		status string
		fields []string
	}{
		{"created", nil}, {"invalid", []string{"content"}}, {"invalid", []string{"phone"}}, {"invalid", []string{"id"}},
		{"invalid", []string{"photo"}}, {"invalid", []string{"item"}}, {"created", nil},
		{"invalid", []string{"category", "township_code"}}, {"created", nil},
	}
	for i, w := range want {
		r := first.Results[i]
		var fields []string
		for _, fe := range r.Errors {
			fields = append(fields, fe.Field)
			if fe.Rule == "" || fe.MessageZH == "" || fe.MessageEN == "" {
				t.Errorf("item %d: incomplete error %+v", i, fe)
			}
		}
		if r.Status != w.status || strings.Join(fields, ",") != strings.Join(w.fields, ",") {
			t.Errorf("item %d: %s %v, want %s %v", i, r.Status, fields, w.status, w.fields)
		}
		if (r.Status == "created") != (r.TrackingNo != "") {
			t.Errorf("item %d: tracking number %q with status %s", i, r.TrackingNo, r.Status)
		}
	}
	if first.Results[0].ID != ids[0] || first.Results[3].ID != "not-a-uuid" || first.Results[4].ID != ids[3] || first.Results[5].ID != "" {
		t.Errorf("ids: %+v", first.Results)
	}
	if c := caseOf(t, s, first.Results[8].TrackingNo); !c.Anonymous {
		t.Error("anonymous not kept")
	}

	// The same batch again (the answer was lost): nothing new.
	var second batchAnswer
	code, _, raw = d.raw(t, "POST", "/api/v1/kiosk/batch", body)
	if code != 200 || json.Unmarshal(raw, &second) != nil {
		t.Fatalf("re-send: %d %s", code, raw)
	}
	for i, r := range second.Results {
		switch first.Results[i].Status {
		case "created":
			if r.Status != "duplicate" || r.TrackingNo != first.Results[i].TrackingNo {
				t.Errorf("re-sent item %d: %+v, first %+v", i, r, first.Results[i])
			}
		default:
			if r.Status != "invalid" {
				t.Errorf("re-sent item %d: %+v", i, r)
			}
		}
	}
	var n int
	s.App.Env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE reporter = $1`, "kiosk:"+d.key.ID.String()).Scan(&n)
	if n != 3 {
		t.Errorf("%d cases, want 3", n)
	}
}

func TestConcurrentReSendsFileEachItemOnce(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	const items, sends = 40, 8
	var list []any
	for i := 0; i < items; i++ {
		cat := []string{"0103", "0601", "0502", ""}[i%4]
		list = append(list, item(newID(), fmt.Sprintf("离线期间登记的第 %d 件诉求：小区门口问题需要处理。", i+1), "category", cat))
	}
	body, _ := json.Marshal(map[string]any{"items": list})

	answers := make([]batchAnswer, sends)
	var wg sync.WaitGroup
	errs := make(chan string, sends)
	for k := 0; k < sends; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.URL+"/api/v1/kiosk/batch", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+d.secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || json.Unmarshal(b, &answers[k]) != nil || len(answers[k].Results) != items {
				errs <- fmt.Sprintf("send %d: %d %s", k, resp.StatusCode, b)
			}
		}(k)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	for i := 0; i < items; i++ {
		created := 0
		for k := 0; k < sends; k++ {
			r := answers[k].Results[i]
			switch r.Status {
			case "created":
				created++
			case "duplicate":
			default:
				t.Errorf("send %d item %d: %+v", k, i, r)
			}
			if r.TrackingNo != answers[0].Results[i].TrackingNo || r.TrackingNo == "" {
				t.Errorf("item %d: send %d got %s, send 0 %s", i, k, r.TrackingNo, answers[0].Results[i].TrackingNo)
			}
		}
		if created != 1 {
			t.Errorf("item %d created %d times", i, created)
		}
	}
	var n, refs int
	s.App.Env.Pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT channel_ref) FROM cases WHERE reporter = $1`,
		"kiosk:"+d.key.ID.String()).Scan(&n, &refs)
	if n != items || refs != items {
		t.Errorf("%d cases with %d references, want %d", n, refs, items)
	}
}

func TestBatchItselfMalformedOrTooLarge(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	many := make([]any, 101)
	for i := range many {
		many[i] = item(newID(), "内容")
	}
	tooMany, _ := json.Marshal(map[string]any{"items": many})
	huge, _ := json.Marshal(map[string]any{"items": []any{item(newID(), strings.Repeat("长", 800_000))}})
	tests := []struct {
		name  string
		body  []byte
		code  int
		field string
	}{
		{"101 items", tooMany, 413, "items"},
		{"over 2 MiB", huge, 413, "body"},
		{"no items", []byte(`{}`), 400, "items"},
		{"empty list", []byte(`{"items":[]}`), 400, "items"},
		{"items not a list", []byte(`{"items":{"id":"x"}}`), 400, "items"},
		{"unknown field", []byte(`{"items":[],"device":"x"}`), 400, "device"},
		{"malformed", []byte(`{"items":[`), 400, "body"},
		{"empty body", nil, 400, "body"},
	}
	for _, tc := range tests {
		code, _, raw := d.raw(t, "POST", "/api/v1/kiosk/batch", tc.body)
		var a batchAnswer
		json.Unmarshal(raw, &a)
		if code != tc.code || len(a.Errors) == 0 || a.Errors[0].Field != tc.field || a.Errors[0].MessageZH == "" {
			t.Errorf("%s: %d %.200s, want %d on %s", tc.name, code, raw, tc.code, tc.field)
		}
	}
	var n int
	s.App.Env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE channel = 'kiosk'`).Scan(&n)
	if n != 0 {
		t.Errorf("%d cases from refused batches", n)
	}
}

// The messages a kiosk shows (or logs) for each kind of bad input, by
// field, in Chinese and English.
func TestValidationMessages(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	tests := []struct {
		name   string
		body   string
		field  string
		rule   string
		zh, en string
	}{
		{"no id", `{"content":"路灯坏了"}`, "id", "required", "请求编号不能为空（由终端生成的 UUID）", "id is required (a UUID generated by the device)"},
		{"id not a UUID", `{"id":"12345","content":"路灯坏了"}`, "id", "uuid", "请求编号应为 UUID", "id must be a UUID"},
		{"nil UUID", `{"id":"00000000-0000-0000-0000-000000000000","content":"路灯坏了"}`, "id", "uuid", "请求编号应为 UUID", "id must be a UUID"},
		{"no content", `{"id":"%s","content":"  "}`, "content", "required", "诉求内容不能为空", "content is required"},
		{"content too long", `{"id":"%s","content":"` + strings.Repeat("长", 4001) + `"}`, "content", "max", "诉求内容不能超过 4000 个字", "content must be at most 4000 characters"},
		{"bad phone", `{"id":"%s","content":"路灯坏了","phone":"12345"}`, "phone", "cnphone",
			"联系电话格式不正确，请填写手机号（如 13812345678）或带区号的固话（如 0571-88001234）",
			"phone must be a mainland mobile number (13812345678) or a landline with area code (0571-88001234)"},
		{"unknown category", `{"id":"%s","content":"路灯坏了","category":"9999"}`, "category", "category", "诉求类别代码不存在", "category is not a known category code"},
		{"unknown township", `{"id":"%s","content":"路灯坏了","township_code":"330106999"}`, "township_code", "township", "乡镇（街道）代码不存在", "township_code is not a known township code"},
		{"county as township", `{"id":"%s","content":"路灯坏了","township_code":"330106"}`, "township_code", "township", "乡镇（街道）代码不存在", "township_code is not a known township code"},
		{"bad kind", `{"id":"%s","content":"路灯坏了","kind":"吐槽"}`, "kind", "oneof", "诉求类型必须是以下之一：咨询、求助、投诉、举报、建议、表扬、其他", "kind must be one of: 咨询 求助 投诉 举报 建议 表扬 其他"},
		{"name too long", `{"id":"%s","content":"路灯坏了","name":"` + strings.Repeat("张", 51) + `"}`, "name", "max", "姓名不能超过 50 个字", "name must be at most 50 characters"},
		{"address too long", `{"id":"%s","content":"路灯坏了","address":"` + strings.Repeat("路", 201) + `"}`, "address", "max", "地址不能超过 200 个字", "address must be at most 200 characters"},
		{"device time", `{"id":"%s","content":"路灯坏了","created_at":"昨天下午"}`, "created_at", "datetime",
			"终端时间应为 RFC 3339 格式（如 2026-03-15T14:05:00+08:00）", "created_at must be an RFC 3339 time (2026-03-15T14:05:00+08:00)"},
		{"unknown field", `{"id":"%s","content":"路灯坏了","photo":"a.jpg"}`, "photo", "unknown", "未知字段 photo", "unknown field photo"},
		{"wrong type", `{"id":"%s","content":"路灯坏了","phone":13812345678}`, "phone", "type", "字段 phone 的类型不正确（应为 string）", "field phone has the wrong type (want string)"},
		{"not an object", `["路灯坏了"]`, "body", "type", "请求内容应为 JSON 对象", "the request body must be a JSON object"},
		{"empty body", ``, "body", "required", "请求内容为空", "request body is empty"},
		{"invalid UTF-8", "{\"id\":\"%s\",\"content\":\"\xff\"}", "body", "utf8", "请求内容不是有效的 UTF-8 编码", "request body is not valid UTF-8"},
	}
	for _, tc := range tests {
		body := tc.body
		if strings.Contains(body, "%s") {
			body = fmt.Sprintf(body, newID())
		}
		code, _, raw := d.raw(t, "POST", "/api/v1/kiosk/requests", []byte(body))
		var a answer
		json.Unmarshal(raw, &a)
		if code != 400 || len(a.Errors) != 1 {
			t.Errorf("%s: %d %s", tc.name, code, raw)
			continue
		}
		if e := a.Errors[0]; e.Field != tc.field || e.Rule != tc.rule || e.MessageZH != tc.zh || e.MessageEN != tc.en {
			t.Errorf("%s: %+v\nwant %s %s %q %q", tc.name, e, tc.field, tc.rule, tc.zh, tc.en)
		}
	}
	var n int
	s.App.Env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE channel = 'kiosk'`).Scan(&n)
	if n != 0 {
		t.Errorf("%d cases from invalid requests", n)
	}
}

func TestOnlyValidKioskKeys(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	ctx := context.Background()
	if code := d.Do("GET", "/api/v1/kiosk/categories", nil, nil); code != 200 {
		t.Fatalf("valid key: %d", code)
	}
	_, appSecret, err := s.App.Keys.Create(ctx, channels.KeyApp, "浙里办", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, hdr := range map[string]string{"none": "", "wrong": "Bearer yk_kiosk_nope", "an app key": "Bearer " + appSecret} {
		c := s.Anon()
		if hdr != "" {
			c.Header.Set("Authorization", hdr)
		}
		if code := c.Do("GET", "/api/v1/kiosk/categories", nil, nil); code != 403 {
			t.Errorf("%s: %d", name, code)
		}
	}
	// Staff are not kiosks either.
	if code := s.Login("agent").Do("POST", "/api/v1/kiosk/requests", item(newID(), "路灯坏了"), nil); code != 403 {
		t.Errorf("agent: %d", code)
	}

	var a answer
	if code := d.Do("POST", "/api/v1/kiosk/requests", item(newID(), "路灯坏了"), &a); code != 201 {
		t.Fatalf("before revocation: %d", code)
	}
	if err := s.App.Keys.Revoke(ctx, d.key.Name); err != nil {
		t.Fatal(err)
	}
	var e answer
	if code := d.Do("POST", "/api/v1/kiosk/requests", item(newID(), "路灯又坏了"), &e); code != 403 || len(e.Errors) != 1 || e.Errors[0].Field != "api_key" {
		t.Errorf("revoked, submit: %d %+v", code, e)
	}
	for _, p := range []string{"/api/v1/kiosk/categories", "/api/v1/kiosk/townships", "/api/v1/kiosk/receipts/" + a.TrackingNo} {
		if code := d.Do("GET", p, nil, nil); code != 403 {
			t.Errorf("revoked, %s: %d", p, code)
		}
	}
	if code, _, _ := d.raw(t, "POST", "/api/v1/kiosk/batch", []byte(`{"items":[{"id":"`+newID()+`","content":"x"}]}`)); code != 403 {
		t.Errorf("revoked, batch: %d", code)
	}
}

func TestRateLimits(t *testing.T) {
	s := start(t, func(c *app.Config) { c.KioskKeyRate = 9 }) // burst 3
	a := newDevice(t, s, "文新 1 号机", wenxin)
	b := newDevice(t, s, "文新 2 号机", wenxin)
	for i := 0; i < 3; i++ {
		if code := a.Do("GET", "/api/v1/kiosk/townships", nil, nil); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	code, hdr, raw := a.raw(t, "POST", "/api/v1/kiosk/requests", []byte(`{"id":"`+newID()+`","content":"路灯坏了"}`))
	secs, _ := strconv.Atoi(hdr.Get("Retry-After"))
	if code != 429 || secs < 1 || secs > 60 || !strings.Contains(string(raw), "rate_limit") {
		t.Errorf("over the key's limit: %d Retry-After %q %s", code, hdr.Get("Retry-After"), raw)
	}
	if code := b.Do("GET", "/api/v1/kiosk/townships", nil, nil); code != 200 {
		t.Errorf("another kiosk: %d", code)
	}

	// Per address, before the key is looked at: guessing keys is throttled.
	s2 := start(t, func(c *app.Config) { c.KioskIPRate = 10 }) // burst 2
	c := s2.Anon()
	c.Header.Set("Authorization", "Bearer yk_kiosk_guess")
	for i, want := range []int{403, 403, 429} {
		if code := c.Do("GET", "/api/v1/kiosk/categories", nil, nil); code != want {
			t.Errorf("guess %d: %d, want %d", i, code, want)
		}
	}
}

func fileOne(t *testing.T, d *device, extra ...any) answer {
	t.Helper()
	var a answer
	if code := d.Do("POST", "/api/v1/kiosk/requests", item(newID(), "丰潭路一家烧烤店油烟直排，熏得没法开窗。", append([]any{"category", "0104", "kind", "投诉"}, extra...)...), &a); code != 201 {
		t.Fatalf("submit: %d %+v", code, a)
	}
	return a
}

func TestReceiptOnlyForTheKioskThatFiledIt(t *testing.T) {
	s := start(t)
	a := newDevice(t, s, "文新 1 号机", wenxin)
	b := newDevice(t, s, "文新 2 号机", wenxin)
	mine := fileOne(t, a)
	if code, _, _ := a.raw(t, "GET", "/api/v1/kiosk/receipts/"+mine.TrackingNo+"?format=text", nil); code != 200 {
		t.Fatalf("own receipt: %d", code)
	}
	var demo string
	s.App.Env.Pool.QueryRow(context.Background(), `SELECT tracking_no FROM cases WHERE channel <> 'kiosk' LIMIT 1`).Scan(&demo)
	for name, no := range map[string]string{"another kiosk's": mine.TrackingNo, "a phone case's": demo, "a wrong number": "260315000000000", "not a number": "abc"} {
		for _, f := range []string{"text", "png"} {
			code, _, raw := b.raw(t, "GET", "/api/v1/kiosk/receipts/"+no+"?format="+f, nil)
			if code != 404 || !strings.Contains(string(raw), "tracking_no") {
				t.Errorf("%s %s: %d %s", name, f, code, raw)
			}
		}
	}
	if code, _, _ := a.raw(t, "GET", "/api/v1/kiosk/receipts/"+mine.TrackingNo+"?format=pdf", nil); code != 400 {
		t.Errorf("format pdf: %d", code)
	}
}

// columns counts printer columns: two for a CJK or full-width character.
func columns(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x2E80 && r <= 0xFFFF && !(r >= 0xFF61 && r <= 0xFFDC) {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func TestReceiptText(t *testing.T) {
	s := start(t)
	d := newDevice(t, s, "文新 1 号机", wenxin)
	a := fileOne(t, d)
	c := caseOf(t, s, a.TrackingNo)
	code, hdr, raw := d.raw(t, "GET", "/api/v1/kiosk/receipts/"+a.TrackingNo, nil)
	if code != 200 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("receipt: %d %s", code, hdr.Get("Content-Type"))
	}
	text := string(raw)
	for i, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if columns(l) > 32 {
			t.Errorf("line %d is %d columns: %q", i, columns(l), l)
		}
	}
	no := a.TrackingNo
	grouped := no[:6] + " " + no[6:10] + " " + no[10:14] + " " + no[14:]
	loc, _ := time.LoadLocation("Asia/Shanghai")
	url := s.URL + "/track?no=" + no
	for _, want := range []string{"12345 热线受理回执", "受理编号", grouped, "受理时间：" + c.CreatedAt.In(loc).Format("2006-01-02 15:04"),
		"城市管理/餐饮油烟", "办理时限", "15个工作日内办结", "办结期限：" + c.DueAt.In(loc).Format("2006-01-02 15:04"),
		"凭受理编号和手机号后四位查询", "查询方式"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	// The link may be broken over lines; joined, it is whole.
	if !strings.Contains(strings.ReplaceAll(text, "\n", ""), url) {
		t.Errorf("receipt lacks %s:\n%s", url, text)
	}
	if strings.Contains(text, "13812345678") || strings.Contains(text, "烧烤") {
		t.Errorf("the receipt shows the phone or the content:\n%s", text)
	}

	// Without a phone there is nothing to check the web lookup with.
	var np answer
	d.Do("POST", "/api/v1/kiosk/requests", map[string]any{"id": newID(), "content": "路灯坏了", "category": "0603"}, &np)
	_, _, raw = d.raw(t, "GET", "/api/v1/kiosk/receipts/"+np.TrackingNo+"?format=text", nil)
	if !strings.Contains(string(raw), "请拨打12345热线凭受理编号查询") || strings.Contains(string(raw), "手机号后四位查询") {
		t.Errorf("receipt without phone:\n%s", raw)
	}

	// The public base URL, when configured.
	s2 := start(t, func(c *app.Config) { c.PublicURL = "https://12345.hangzhou.example/" })
	d2 := newDevice(t, s2, "文新 1 号机", wenxin)
	a2 := fileOne(t, d2)
	_, _, raw = d2.raw(t, "GET", "/api/v1/kiosk/receipts/"+a2.TrackingNo+"?format=text", nil)
	if !strings.Contains(strings.ReplaceAll(string(raw), "\n", ""), "https://12345.hangzhou.example/track?no="+a2.TrackingNo) {
		t.Errorf("public URL:\n%s", raw)
	}
}

func TestReceiptPNG(t *testing.T) {
	s := start(t, func(c *app.Config) { c.PublicURL = "https://12345.hangzhou.example" })
	d := newDevice(t, s, "文新 1 号机", wenxin)
	a := fileOne(t, d)
	code, hdr, raw := d.raw(t, "GET", "/api/v1/kiosk/receipts/"+a.TrackingNo+"?format=png", nil)
	if code != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("png: %d %s", code, hdr.Get("Content-Type"))
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 384 || b.Dy() < 384 || b.Dy() > 1200 {
		t.Errorf("size %v, want 384 wide", b)
	}
	got, err := qrDecodeImage(img)
	if want := "https://12345.hangzhou.example/track?no=" + a.TrackingNo; err != nil || got != want {
		t.Errorf("QR code reads %q, %v; want %q", got, err, want)
	}
}
