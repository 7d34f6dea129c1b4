package open311_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"yici/cases"
	"yici/channels"
	"yici/channels/open311"
	"yici/internal/auth"
)

// requestFields are the elements of a service request, in the spec's order.
var requestFields = []string{"service_request_id", "status", "status_notes", "service_name", "service_code", "description",
	"agency_responsible", "service_notice", "requested_datetime", "updated_datetime", "expected_datetime", "address",
	"address_id", "zipcode", "lat", "long", "media_url"}

func (e *env) caseOf(t testing.TB, no string) *cases.Case {
	t.Helper()
	c, err := e.s.App.Cases.GetByTrackingNo(context.Background(), no)
	if err != nil {
		t.Fatalf("case %s: %v", no, err)
	}
	return c
}

// registration returns the data of a case's first event.
func (e *env) registration(t testing.TB, c *cases.Case) map[string]any {
	t.Helper()
	evs, err := e.s.App.Cases.Events(context.Background(), c.ID)
	if err != nil || len(evs) == 0 || evs[0].Action != cases.ActRegister {
		t.Fatalf("events of %s: %v %v", c.TrackingNo, evs, err)
	}
	return evs[0].Data
}

func TestPostRequest(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{})
	ctx := context.Background()

	var jsonID string
	t.Run("json", func(t *testing.T) {
		a := e.post(t, "/open311/v2/requests.json", e.form("device_id", "android-7f3a", "first_name", "三", "last_name", "张",
			"phone", "+86 138-1234-5678", "email", "zhang@example.com", "address_string", "西湖区文新街道丰潭路 100 号",
			"media_url", "https://img.example.com/p/1.jpg", "account_id", "u-42"))
		if a.status != http.StatusOK || a.header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Fatalf("%d %s", a.status, a.body)
		}
		list := a.jsonArray(t)
		if len(list) != 1 || len(list[0]) != 3 || list[0]["account_id"] != nil {
			t.Fatalf("%v", list)
		}
		jsonID = str(t, list[0], "service_request_id")
		if !cases.ValidTrackingNo(jsonID) || !strings.Contains(str(t, list[0], "service_notice"), jsonID) {
			t.Fatalf("%v", list[0])
		}
		c := e.caseOf(t, jsonID)
		if c.Channel != cases.ChannelOpen311 || c.Category != "0104" || c.Point == nil || c.Point.Lat != 30.2874 || c.Point.Lon != 120.1309 ||
			c.CitizenName != "张三" || c.CitizenPhone != "13812345678" || c.Address != "西湖区文新街道丰潭路 100 号" ||
			!strings.HasPrefix(c.ChannelRef, e.key.ID.String()+":android-7f3a:") || c.Reporter != "open311:"+e.key.ID.String()+":u-42" ||
			c.Content != "文新街道丰潭路一家烧烤店油烟直排，整栋楼都是油烟味。" {
			t.Fatalf("case %+v", c)
		}
		data := e.registration(t, c)
		if urls, _ := data["media_urls"].([]any); len(urls) != 1 || urls[0] != "https://img.example.com/p/1.jpg" {
			t.Errorf("media_urls %v", data["media_urls"])
		}
		o := data["open311"].(map[string]any)
		if o["device_id"] != "android-7f3a" || o["account_id"] != "u-42" || o["key"] != "测试客户端" {
			t.Errorf("open311 data %v", o)
		}
		// The e-mail address is checked, not kept (docs/open311.md).
		if b, _ := json.Marshal(data); bytes.Contains(b, []byte("zhang@example.com")) {
			t.Errorf("e-mail stored: %s", b)
		}
	})
	t.Run("xml", func(t *testing.T) {
		a := e.post(t, "/open311/v2/requests.xml", e.form("description", "另一件事：丰潭路路灯不亮已经一周了。", "service_code", "0603"))
		if a.status != http.StatusOK {
			t.Fatalf("%d %s", a.status, a.body)
		}
		n := a.xmlDoc(t)
		if n.XMLName.Local != "service_requests" || len(n.Children) != 1 || n.Children[0].XMLName.Local != "request" ||
			!slices.Equal(n.Children[0].names(), []string{"service_request_id", "service_notice", "account_id"}) {
			t.Fatalf("%s", a.body)
		}
		id := n.Children[0].text("service_request_id")
		if !cases.ValidTrackingNo(id) || id == jsonID {
			t.Fatalf("id %q", id)
		}
		// Without device_id the reference is scoped by the key alone.
		if c := e.caseOf(t, id); strings.Count(c.ChannelRef, ":") != 1 || !strings.HasPrefix(c.ChannelRef, e.key.ID.String()+":") {
			t.Fatalf("reference %q", c.ChannelRef)
		}
	})

	t.Run("api_key", func(t *testing.T) {
		_, appSecret, err := e.s.App.Keys.Create(ctx, channels.KeyApp, "某应用", "")
		if err != nil {
			t.Fatal(err)
		}
		_, revoked, err := e.s.App.Keys.Create(ctx, channels.KeyOpen311, "已吊销", "")
		if err != nil {
			t.Fatal(err)
		}
		if err := e.s.App.Keys.Revoke(ctx, "已吊销"); err != nil {
			t.Fatal(err)
		}
		bothFormats(t, func(t *testing.T, f string) {
			e.post(t, "/open311/v2/requests."+f, e.form("api_key", "\x00delete")).specError(t, f, http.StatusForbidden, "api_key is missing")
			e.post(t, "/open311/v2/requests."+f, e.form("api_key", "")).specError(t, f, http.StatusForbidden, "api_key is missing")
			for _, k := range []string{"yk_open311_wrong", appSecret, revoked, strings.Repeat("x", 500)} {
				e.post(t, "/open311/v2/requests."+f, e.form("api_key", k)).specError(t, f, http.StatusForbidden, "invalid or revoked api_key")
			}
		})
	})

	t.Run("service_code", func(t *testing.T) {
		bothFormats(t, func(t *testing.T, f string) {
			e.post(t, "/open311/v2/requests."+f, e.form("service_code", "9999")).specError(t, f, http.StatusNotFound, "service_code 9999 was not found")
			e.post(t, "/open311/v2/requests."+f, e.form("service_code", "")).specError(t, f, http.StatusBadRequest, "service_code is required")
		})
	})

	t.Run("empty parameters are missing ones", func(t *testing.T) {
		a := e.post(t, "/open311/v2/requests.json", e.form("lat", "", "long", "", "address_string", "西湖区翠苑街道翠苑一区",
			"description", "", "service_code", "0601", "attribute[plate]", "", "device_id", "", "phone", "", "email", "", "media_url", ""))
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		c := e.caseOf(t, str(t, a.jsonArray(t)[0], "service_request_id"))
		if c.Point != nil || c.Content != "违章停车与占用通道"+open311.ContentUnspecified || c.CitizenPhone != "" {
			t.Fatalf("case %+v", c)
		}
		e.post(t, "/open311/v2/requests.json", e.form("lat", "", "long", "")).
			specError(t, "json", http.StatusBadRequest, "lat and long, address_string or address_id is required")
	})

	t.Run("attributes", func(t *testing.T) {
		a := e.post(t, "/open311/v2/requests.json", e.form("service_code", "0305", "description", "小区 3 号楼电梯停在两层之间", "attribute[trapped]", "YES",
			"attribute[fixmystreet_id]", "123", "address_string", "西湖区文新街道"))
		if a.status != 200 {
			t.Fatalf("%d %s", a.status, a.body)
		}
		c := e.caseOf(t, str(t, a.jsonArray(t)[0], "service_request_id"))
		if c.Urgency != cases.Emergency || c.Content != "小区 3 号楼电梯停在两层之间\n\n【补充信息】\n是否有人被困：是，有人被困" {
			t.Fatalf("%s %q", c.Urgency, c.Content)
		}
		a = e.post(t, "/open311/v2/requests.json", e.form("service_code", "0601", "description", "消防通道被堵", "attribute[plate]", "浙a·12345"))
		c = e.caseOf(t, str(t, a.jsonArray(t)[0], "service_request_id"))
		if !strings.HasSuffix(c.Content, "车牌号：浙A12345") {
			t.Fatalf("%q", c.Content)
		}
		a = e.post(t, "/open311/v2/requests.json", e.form("service_code", "1102", "description", "整栋楼停电", "attribute[account_no]", "3301-0099", "address_id", "330106013"))
		c = e.caseOf(t, str(t, a.jsonArray(t)[0], "service_request_id"))
		if !strings.HasSuffix(c.Content, "户号：3301-0099") || c.TownshipCode != "330106013" {
			t.Fatalf("%q %q", c.Content, c.TownshipCode)
		}
	})

	t.Run("tokens", func(t *testing.T) {
		bothFormats(t, func(t *testing.T, f string) {
			a := e.get(t, "/open311/v2/tokens/"+jsonID+"."+f)
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if f == "json" {
				l := a.jsonArray(t)
				if len(l) != 1 || str(t, l[0], "service_request_id") != jsonID || str(t, l[0], "token") != jsonID {
					t.Fatalf("%v", l)
				}
			} else {
				n := a.xmlDoc(t)
				if n.XMLName.Local != "service_requests" || !slices.Equal(n.Children[0].names(), []string{"service_request_id", "token"}) {
					t.Fatalf("%s", a.body)
				}
			}
			e.get(t, "/open311/v2/tokens/123."+f).specError(t, f, http.StatusNotFound, "was not found")
		})
	})

	t.Run("get one", func(t *testing.T) {
		a := e.get(t, "/open311/v2/requests/"+jsonID+".json")
		l := a.jsonArray(t)
		if len(l) != 1 {
			t.Fatalf("%s", a.body)
		}
		r := l[0]
		for _, k := range requestFields {
			if _, ok := r[k]; !ok {
				t.Errorf("no %s", k)
			}
		}
		if str(t, r, "service_request_id") != jsonID || str(t, r, "service_code") != "0104" || str(t, r, "service_name") != "餐饮油烟" ||
			str(t, r, "status") != "open" || !isW3C(r["requested_datetime"]) || !isW3C(r["updated_datetime"]) ||
			str(t, r, "description") != "文新街道丰潭路一家烧烤店油烟直排，整栋楼都是油烟味。" || str(t, r, "address") != "西湖区文新街道丰潭路 100 号" ||
			r["lat"] != json.Number("30.2874") || r["long"] != json.Number("120.1309") || str(t, r, "media_url") != "https://img.example.com/p/1.jpg" ||
			str(t, r, "service_notice") == "" || str(t, r, "status_notes") == "" {
			t.Errorf("%v", r)
		}
		if _, ok := r["notes"]; ok {
			t.Errorf("notes without extensions=true")
		}
		// Dispatched at once (triage knows 文新街道): the lead unit and its deadline.
		if str(t, r, "agency_responsible") != "文新街道综合执法平台" || !isW3C(r["expected_datetime"]) {
			t.Errorf("agency %v, expected %v", r["agency_responsible"], r["expected_datetime"])
		}
		for _, secret := range []string{"张三", "13812345678", "zhang@", "android-7f3a", "u-42"} {
			if bytes.Contains(a.body, []byte(secret)) {
				t.Errorf("the public answer shows %q", secret)
			}
		}
		n := e.get(t, "/open311/v2/requests/"+jsonID+".xml").xmlDoc(t)
		if n.XMLName.Local != "service_requests" || n.Children[0].XMLName.Local != "request" || !slices.Equal(n.Children[0].names(), requestFields) {
			t.Fatalf("%v", n.Children[0].names())
		}
		if x := n.Children[0]; x.text("lat") != "30.2874" || x.text("zipcode") != "" || x.text("service_request_id") != jsonID {
			t.Fatalf("%+v", x)
		}
		bothFormats(t, func(t *testing.T, f string) {
			e.get(t, "/open311/v2/requests/999999999999999."+f).specError(t, f, http.StatusNotFound, "service_request_id 999999999999999 was not found")
			e.get(t, "/open311/v2/requests/abc."+f).specError(t, f, http.StatusNotFound, "was not found")
		})
	})

	t.Run("private requests", func(t *testing.T) {
		// A 举报 and an anonymous request: no content, place or photo.
		sys := auth.SystemActor("测试")
		report, _, err := e.s.App.Cases.Create(ctx, sys, cases.NewCase{Kind: cases.Report, Category: "0302", Content: "某饭店后厨用地沟油，举报人是隔壁店主王五。",
			Address: "西湖区文新街道某路 8 号", Point: &cases.Point{Lat: 30.1, Lon: 120.1}, CitizenName: "王五", CitizenPhone: "13900001111",
			Channel: cases.ChannelPhone, ChannelRef: "private-1"})
		if err != nil {
			t.Fatal(err)
		}
		anon, _, err := e.s.App.Cases.Create(ctx, sys, cases.NewCase{Kind: cases.Complaint, Category: "0502", Content: "我家楼上 1201 每晚唱歌。",
			Address: "某小区 11 幢", Anonymous: true, CitizenName: "赵六", CitizenPhone: "13900002222", Channel: cases.ChannelPhone, ChannelRef: "private-2"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []*cases.Case{report, anon} {
			a := e.get(t, "/open311/v2/requests/"+c.TrackingNo+".json?extensions=true")
			r := a.jsonArray(t)[0]
			if str(t, r, "description") != open311.Withheld || r["address"] != nil || r["lat"] != nil || r["long"] != nil || r["address_id"] != nil {
				t.Errorf("%s: %v", c.TrackingNo, r)
			}
			for _, secret := range []string{"地沟油", "王五", "13900001111", "1201", "赵六", "11 幢"} {
				if bytes.Contains(a.body, []byte(secret)) {
					t.Errorf("%s shows %q", c.TrackingNo, secret)
				}
			}
		}
		// And nothing of them in the list either.
		a := e.get(t, "/open311/v2/requests.xml?extensions=true")
		for _, secret := range []string{"地沟油", "王五", "13900001111", "赵六", "13900002222", "13857101234", "陈女士"} {
			if bytes.Contains(a.body, []byte(secret)) {
				t.Errorf("the list shows %q", secret)
			}
		}
	})

	t.Run("escaping", func(t *testing.T) {
		desc := `<script>alert("x")</script> & 'quotes' ]]> 油烟`
		a := e.post(t, "/open311/v2/requests.json", e.form("description", desc))
		id := str(t, a.jsonArray(t)[0], "service_request_id")
		x := e.get(t, "/open311/v2/requests/"+id+".xml")
		if n := x.xmlDoc(t); n.Children[0].text("description") != desc {
			t.Fatalf("XML round trip: %q", n.Children[0].text("description"))
		}
		j := e.get(t, "/open311/v2/requests/"+id+".json")
		if bytes.Contains(j.body, []byte("<script>")) || str(t, j.jsonArray(t)[0], "description") != desc {
			t.Fatalf("JSON: %s", j.body)
		}
	})

	t.Run("body", func(t *testing.T) {
		req, _ := http.NewRequest("POST", e.s.URL+"/open311/v2/requests.json", strings.NewReader(`{"service_code":"0104"}`))
		req.Header.Set("Content-Type", "application/json")
		do(t, req).specError(t, "json", http.StatusBadRequest, "must be application/x-www-form-urlencoded")
		big := e.form("description", strings.Repeat("油", 100_000))
		e.post(t, "/open311/v2/requests.xml", big).specError(t, "xml", http.StatusBadRequest, "request body too large")
		// multipart/form-data is read too (files are not taken).
		var b bytes.Buffer
		b.WriteString("--X\r\nContent-Disposition: form-data; name=\"api_key\"\r\n\r\n" + e.secret + "\r\n")
		for k, v := range map[string]string{"service_code": "0104", "address_string": "西湖区文新街道", "description": "多部分表单提交的油烟投诉"} {
			b.WriteString("--X\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n")
		}
		b.WriteString("--X\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\nJPEG\r\n--X--\r\n")
		req, _ = http.NewRequest("POST", e.s.URL+"/open311/v2/requests.json", &b)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=X")
		if a := do(t, req); a.status != 200 {
			t.Fatalf("multipart: %d %s", a.status, a.body)
		}
		// api_key in the query string, as some clients send it.
		f := e.form("description", "查询串里的密钥")
		f.Del("api_key")
		req, _ = http.NewRequest("POST", e.s.URL+"/open311/v2/requests.json?api_key="+url.QueryEscape(e.secret), strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if a := do(t, req); a.status != 200 {
			t.Fatalf("api_key in the query: %d %s", a.status, a.body)
		}
	})
}
