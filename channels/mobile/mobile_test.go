package mobile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"yici/cases"
	"yici/channels"
	"yici/channels/mobile"
	"yici/internal/apptest"
	"yici/internal/auth"
	"yici/internal/httpx"
	"yici/router/taxonomy"
	"yici/router/territory"
)

type app struct {
	s      *apptest.Server
	secret string
}

func start(t testing.TB) app {
	s := apptest.Start(t)
	_, secret, err := s.App.Keys.Create(context.Background(), channels.KeyApp, "浙里办", "")
	if err != nil {
		t.Fatal(err)
	}
	return app{s: s, secret: secret}
}

// call sends a JSON request with the app key and an idempotency key.
func (a app) call(method, path, idem string, body, out any) int {
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, a.s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.secret)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	return a.s.Anon().Send(req, out)
}

type accepted struct {
	TrackingNo string `json:"tracking_no"`
	State      string `json:"state"`
	Routed     bool   `json:"routed"`
	Created    bool   `json:"created"`
	Unit       string `json:"unit"`
}

var oilFumes = map[string]any{"kind": "投诉", "content": "杭州市西湖区文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味。",
	"phone": "13857101234", "citizen_name": "陈女士"}

func TestSubmitRoutesAndIsIdempotent(t *testing.T) {
	a := start(t)
	var first accepted
	if code := a.call("POST", "/api/v1/requests", "req-1", oilFumes, &first); code != http.StatusCreated {
		t.Fatalf("submit: %d", code)
	}
	if !first.Routed || first.State != "pending_sign" || first.Unit != "文新街道综合执法平台" {
		t.Fatalf("a clear request is not routed: %+v", first)
	}
	// 16 concurrent retries: one case.
	var wg sync.WaitGroup
	nos := make([]string, 16)
	codes := make([]int, 16)
	for i := range nos {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var r accepted
			codes[i] = a.call("POST", "/api/v1/requests", "req-1", oilFumes, &r)
			nos[i] = r.TrackingNo
		}(i)
	}
	wg.Wait()
	for i := range nos {
		if codes[i] != http.StatusOK || nos[i] != first.TrackingNo {
			t.Fatalf("retry %d: %d %s", i, codes[i], nos[i])
		}
	}
	c, err := a.s.App.Cases.GetByTrackingNo(context.Background(), first.TrackingNo)
	if err != nil || c.Channel != cases.ChannelApp || !strings.HasSuffix(c.ChannelRef, ":req-1") {
		t.Fatalf("stored: %+v %v", c, err)
	}
	var n int
	a.s.App.Cases.DB().QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE channel = 'app'`).Scan(&n)
	if n != 1 {
		t.Fatalf("%d app cases", n)
	}
	// A vague request waits for a dispatcher.
	var vague accepted
	a.call("POST", "/api/v1/requests", "req-2", map[string]any{"content": "你好，我想反映个情况，麻烦你们管一管。", "phone": "13857101234"}, &vague)
	if vague.Routed || vague.State != "pending_dispatch" {
		t.Fatalf("a vague request was routed: %+v", vague)
	}
}

func TestAuthAndErrors(t *testing.T) {
	a := start(t)
	var e struct {
		Errors []httpx.FieldError `json:"errors"`
	}
	if code := a.s.Anon().Do("POST", "/api/v1/requests", oilFumes, &e); code != http.StatusUnauthorized {
		t.Fatalf("no key: %d", code)
	}
	if code := a.call("POST", "/api/v1/requests", "", oilFumes, &e); code != http.StatusBadRequest || e.Errors[0].Field != "Idempotency-Key" {
		t.Fatalf("no idempotency key: %d %+v", code, e)
	}
	bad := []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"content": "", "phone": "13857101234"}, "content"},
		{map[string]any{"content": strings.Repeat("长", 4001), "phone": "13857101234"}, "content"},
		{map[string]any{"content": "x", "phone": "0000"}, "phone"},
		{map[string]any{"content": "x"}, "phone"}, // an app names its citizen
		{map[string]any{"content": "x", "phone": "13857101234", "township_code": "999999999"}, "township_code"},
		{map[string]any{"content": "x", "phone": "13857101234", "lat": 200, "lon": 120}, "lat"},
		{map[string]any{"content": "x", "phone": "13857101234", "secret": "x"}, "secret"},
		{map[string]any{"content": 5, "phone": "13857101234"}, "content"},
	}
	for i, b := range bad {
		e.Errors = nil
		code := a.call("POST", "/api/v1/requests", fmt.Sprint("bad-", i), b.body, &e)
		if code != http.StatusBadRequest || len(e.Errors) == 0 || e.Errors[0].Field != b.field || e.Errors[0].MessageZH == "" {
			t.Errorf("bad input %d: %d %+v, want field %s", i, code, e.Errors, b.field)
		}
	}
	if err := a.s.App.Keys.Revoke(context.Background(), "浙里办"); err != nil {
		t.Fatal(err)
	}
	if code := a.call("POST", "/api/v1/requests", "after-revoke", oilFumes, nil); code != http.StatusForbidden {
		t.Fatalf("revoked key: %d", code)
	}
}

func TestMyRequestsNotesPhotosAndRating(t *testing.T) {
	a := start(t)
	ctx := context.Background()
	var r accepted
	a.call("POST", "/api/v1/requests", "mine-1", oilFumes, &r)
	var list struct {
		Requests []struct {
			TrackingNo string `json:"tracking_no"`
		} `json:"requests"`
	}
	a.call("GET", "/api/v1/requests?phone=13857101234", "", nil, &list)
	if len(list.Requests) != 1 || list.Requests[0].TrackingNo != r.TrackingNo {
		t.Fatalf("my requests: %+v", list)
	}
	a.call("GET", "/api/v1/requests?phone=13900000000", "", nil, &list)
	if len(list.Requests) != 0 {
		t.Fatalf("another citizen sees %d requests", len(list.Requests))
	}
	if code := a.call("GET", "/api/v1/requests/"+r.TrackingNo+"?phone=13900000000", "", nil, nil); code != http.StatusNotFound {
		t.Fatalf("another citizen's request: %d", code)
	}
	var view cases.PublicView
	a.call("GET", "/api/v1/requests/"+r.TrackingNo+"?phone=13857101234", "", nil, &view)
	if view.TrackingNo != r.TrackingNo || len(view.Timeline) < 2 || view.Phone != "138****1234" {
		t.Fatalf("view: %+v", view)
	}
	// A note with a photo, as multipart.
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("phone", "13857101234")
	mw.WriteField("text", "晚上九点后最严重，附现场照片")
	fw, _ := mw.CreateFormFile("photo", "../../etc/现场.png")
	fw.Write(tinyPNG())
	mw.Close()
	req, _ := http.NewRequest("POST", a.s.URL+"/api/v1/requests/"+r.TrackingNo+"/notes", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+a.secret)
	if code := a.s.Anon().Send(req, nil); code != http.StatusCreated {
		t.Fatalf("note: %d", code)
	}
	c, _ := a.s.App.Cases.GetByTrackingNo(ctx, r.TrackingNo)
	files, _ := a.s.App.Files.List(ctx, c.ID)
	if len(files) != 1 || files[0].ContentType != "image/png" || files[0].Name != "现场.png" {
		t.Fatalf("attachments: %+v", files)
	}
	// Rating before resolution is refused; after, recorded once.
	rating := map[string]any{"phone": "13857101234", "satisfaction": "satisfied", "solved": true}
	if code := a.call("POST", "/api/v1/requests/"+r.TrackingNo+"/rating", "", rating, nil); code != http.StatusConflict {
		t.Fatalf("rating an open request: %d", code)
	}
	resolve(t, a.s, c)
	if code := a.call("POST", "/api/v1/requests/"+r.TrackingNo+"/rating", "", rating, nil); code != http.StatusOK {
		t.Fatalf("rating: %d", code)
	}
	if code := a.call("POST", "/api/v1/requests/"+r.TrackingNo+"/rating", "", rating, nil); code != http.StatusConflict {
		t.Fatalf("rating twice: %d", code)
	}
}

// resolve walks a dispatched case to the callback step.
func resolve(t *testing.T, s *apptest.Server, c *cases.Case) {
	t.Helper()
	ctx := context.Background()
	officer := auth.Actor{Role: auth.Officer, UnitID: c.LeadAssignment().UnitID, Name: "承办人"}
	agent := auth.Actor{Role: auth.Agent, Name: "话务员"}
	for _, step := range []func() (*cases.Case, error){
		func() (*cases.Case, error) { return s.App.Cases.Sign(ctx, officer, c.ID, "") },
		func() (*cases.Case, error) { return s.App.Cases.Reply(ctx, officer, c.ID, "已处理", "") },
		func() (*cases.Case, error) { return s.App.Cases.ApproveReview(ctx, agent, c.ID, "") },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
}

func tinyPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	png.Encode(&b, img)
	return b.Bytes()
}

func TestGridWorker(t *testing.T) {
	s := apptest.Start(t)
	grid := s.Login("grid")
	grid.Header.Set("Idempotency-Key", "patrol-1")
	var r accepted
	body := map[string]any{"content": "巡查发现文新街道某小区门口井盖破损，已设置临时警示。", "township_code": "330106013", "lat": 30.29, "lon": 120.10}
	if code := grid.Do("POST", "/api/v1/requests", body, &r); code != http.StatusCreated {
		t.Fatalf("grid submit: %d", code)
	}
	c, _ := s.App.Cases.GetByTrackingNo(context.Background(), r.TrackingNo)
	if c.Channel != cases.ChannelGrid || c.Point == nil || !strings.HasPrefix(c.Reporter, "grid:") {
		t.Fatalf("grid case: %+v", c)
	}
	var list struct {
		Requests []any `json:"requests"`
	}
	grid.Do("GET", "/api/v1/requests", nil, &list)
	if len(list.Requests) != 1 {
		t.Fatalf("grid worker's list: %d", len(list.Requests))
	}
	// An agent's session is not a grid worker's.
	if code := s.Login("agent").Do("GET", "/api/v1/requests", nil, nil); code != http.StatusUnauthorized {
		t.Fatalf("agent on the app API: %d", code)
	}
}

// Every registered route is in the OpenAPI document, and only those.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	s := apptest.Start(t)
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if code := s.Anon().Do("GET", "/api/v1/openapi.json", nil, &doc); code != 200 || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: %d %s", code, doc.OpenAPI)
	}
	documented := 0
	for _, op := range doc.Paths {
		documented += len(op)
	}
	for _, r := range mobile.Routes {
		if _, ok := doc.Paths[r.Path][strings.ToLower(r.Method)]; !ok {
			t.Errorf("%s %s is not documented", r.Method, r.Path)
		}
	}
	if documented != len(mobile.Routes) {
		t.Errorf("%d operations documented, %d routes", documented, len(mobile.Routes))
	}
}

// FuzzSubmitDecoder: the body decoder and validation never panic and only
// answer with field errors.
func FuzzSubmitDecoder(f *testing.F) {
	v := channels.NewValidator(taxonomy.Default(), territory.Zhejiang())
	for _, s := range []string{`{"content":"油烟","phone":"13812345678"}`, `{"lat":1e999}`, `{"content":"\u0000"}`, `[]`, `{"kind":"举报","township_code":"330106013"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s channels.Submission
		if err := httpx.Unmarshal(b, &s); err != nil {
			var p *httpx.Problem
			if !errorsAs(err, &p) {
				t.Fatalf("decoder error without fields: %v", err)
			}
			return
		}
		s.Ref = "fuzz"
		s.Normalize()
		if err := v.Struct(&s); err != nil {
			if _, ok := err.(httpx.Errors); !ok {
				t.Fatalf("validation error without fields: %v", err)
			}
		}
	})
}

// BenchmarkAppSubmit32 is accepted submissions through the app API at 32
// concurrent clients over real HTTP, each stored durably (the test
// cluster runs without fsync; see BENCHMARKS.md), routed and acknowledged.
func BenchmarkAppSubmit32(b *testing.B) {
	if os.Getenv("YICI_BENCH_QUIET") == "" {
		b.Log("32 concurrent clients")
	}
	a := start(b)
	var n atomic.Int64
	texts := []string{
		"杭州市西湖区文新街道丰潭路一家烧烤店油烟直排，晚上整栋楼都是油烟味。",
		"西湖区翠苑街道翠苑一区从早上开始停水，没有任何通知。",
		"文新街道某工地晚上十一点还在打桩，噪音太大。",
		"三墩镇有流动摊贩占道经营，早上堵得电动车都过不去。",
	}
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		for pb.Next() {
			i := n.Add(1)
			body, _ := json.Marshal(map[string]any{"content": texts[i%4], "phone": "13857101234", "kind": "投诉"})
			req, _ := http.NewRequest("POST", a.s.URL+"/api/v1/requests", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+a.secret)
			req.Header.Set("Idempotency-Key", fmt.Sprint("bench-", i))
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
