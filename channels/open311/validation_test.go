package open311_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/uuid"

	"yici/cases"
	"yici/channels"
	"yici/channels/open311"
	"yici/router/taxonomy"
	"yici/router/territory"
)

// Every refused form answers 400 (404 for an unknown service) in the
// spec's format, naming the field in Chinese and English, every problem at
// once.
func TestValidationMessages(t *testing.T) {
	t.Parallel()
	e := start(t, open311.Options{})
	long := func(n int) string { return strings.Repeat("油", n) }
	tests := []struct {
		name   string
		form   []string // changes to the valid form ("\x00delete" removes)
		header []string
		status int
		want   []string // the descriptions, exactly
	}{
		{"description too long", []string{"description", long(4001)}, nil, 400,
			[]string{"问题描述不能超过 4000 个字 (description must be at most 4000 characters)"}},
		{"no location", []string{"lat", "\x00delete", "long", "\x00delete"}, nil, 400,
			[]string{"请提供位置：lat 和 long，或 address_string，或 address_id (lat and long, address_string or address_id is required (a location))"}},
		{"lat without long", []string{"long", ""}, nil, 400, []string{"经度不能为空：lat 与 long 须同时提供 (long is required with lat)"}},
		{"long without lat", []string{"lat", " "}, nil, 400, []string{"纬度不能为空：lat 与 long 须同时提供 (lat is required with long)"}},
		{"lat not a number", []string{"lat", "north"}, nil, 400, []string{"纬度应为数字（WGS-84） (lat must be a number (WGS-84))"}},
		{"lat NaN", []string{"lat", "NaN", "long", "Inf"}, nil, 400,
			[]string{"纬度应为数字（WGS-84） (lat must be a number (WGS-84))", "经度应为数字（WGS-84） (long must be a number (WGS-84))"}},
		{"lat out of range", []string{"lat", "91"}, nil, 400, []string{"纬度应在 -90 到 90 之间 (lat must be a latitude between -90 and 90)"}},
		{"long out of range", []string{"long", "-181"}, nil, 400, []string{"经度应在 -180 到 180 之间 (long must be a longitude between -180 and 180)"}},
		{"phone", []string{"phone", "12345"}, nil, 400, []string{"联系电话格式不正确，请填写手机号（如 13812345678）或带区号的固话（如 0571-88001234） " +
			"(phone must be a mainland mobile number (13812345678) or a landline with area code (0571-88001234))"}},
		{"email", []string{"email", "zhang at example"}, nil, 400, []string{"电子邮箱格式不正确 (email must be an e-mail address)"}},
		{"email with a name", []string{"email", "Zhang <z@example.com>"}, nil, 400, []string{"电子邮箱格式不正确 (email must be an e-mail address)"}},
		{"names too long", []string{"first_name", long(26), "last_name", long(25)}, nil, 400,
			[]string{"姓名（first_name 与 last_name 合计）不能超过 50 个字 (first_name and last_name together must be at most 50 characters)"}},
		{"address too long", []string{"address_string", long(201)}, nil, 400, []string{"地址不能超过 200 个字 (address_string must be at most 200 characters)"}},
		{"address_id form", []string{"address_id", "3301"}, nil, 400,
			[]string{"地址编号应为乡镇（街道）9 位或县（市、区）6 位行政区划代码 (address_id must be a township (9 digits) or county (6 digits) division code)"}},
		{"address_id unknown", []string{"address_id", "330199999"}, nil, 400, []string{"地址编号（行政区划代码）不存在 (address_id is not a known division code)"}},
		{"media_url scheme", []string{"media_url", "ftp://example.com/a.jpg"}, nil, 400, []string{"图片链接应为网址 (media_url must be a URL)"}},
		{"media_url credentials", []string{"media_url", "https://user:pw@example.com/a.jpg"}, nil, 400, []string{"图片链接应为网址 (media_url must be a URL)"}},
		{"media_url relative", []string{"media_url", "/a.jpg"}, nil, 400, []string{"图片链接应为网址 (media_url must be a URL)"}},
		{"device_id", []string{"device_id", "有 空格"}, nil, 400, []string{"设备编号最多 64 个可见 ASCII 字符 (device_id must be at most 64 visible ASCII characters)"}},
		{"device_id long", []string{"device_id", strings.Repeat("d", 65)}, nil, 400,
			[]string{"设备编号最多 64 个可见 ASCII 字符 (device_id must be at most 64 visible ASCII characters)"}},
		{"account_id long", []string{"account_id", long(65)}, nil, 400, []string{"账户编号不能超过 64 个字 (account_id must be at most 64 characters)"}},
		{"Idempotency-Key", nil, []string{"Idempotency-Key", strings.Repeat("k", 65)}, 400,
			[]string{"请求令牌最多 64 个可见 ASCII 字符 (Idempotency-Key must be at most 64 visible ASCII characters)"}},
		{"client_token", []string{"attribute[client_token]", "有空格 的令牌"}, nil, 400,
			[]string{"请求令牌最多 64 个可见 ASCII 字符 (attribute[client_token] must be at most 64 visible ASCII characters)"}},
		{"trapped missing", []string{"service_code", "0305"}, nil, 400, []string{"是否有人被困（attribute[trapped]）不能为空 (attribute[trapped] is required)"}},
		{"trapped unknown", []string{"service_code", "0305", "attribute[trapped]", "maybe"}, nil, 400,
			[]string{"是否有人被困（attribute[trapped]）只能是 yes 或 no (attribute[trapped] must be yes or no)"}},
		{"plate", []string{"service_code", "0601", "attribute[plate]", "ABC"}, nil, 400,
			[]string{"车牌号（attribute[plate]）格式不正确（如 浙A12345） (attribute[plate] must be a mainland plate such as 浙A12345)"}},
		{"account number", []string{"service_code", "1101", "attribute[account_no]", "户号是多少"}, nil, 400,
			[]string{"户号（attribute[account_no]）应为字母、数字或短横线，最多 30 位 (attribute[account_no] must be letters, digits or dashes, at most 30)"}},
		{"invalid UTF-8", []string{"description", "油烟\xff"}, nil, 400, []string{"问题描述不是有效的 UTF-8 文本 (description is not valid UTF-8)"}},
		{"service_code missing", []string{"service_code", "\x00delete"}, nil, 400, []string{"服务类别不能为空 (service_code is required)"}},
		{"service_code unknown", []string{"service_code", "0000"}, nil, 404,
			[]string{"服务类别 0000 不存在，请先查询 services (service_code 0000 was not found; see services)"}},
		{"several at once", []string{"phone", "1", "email", "x", "lat", "99"}, nil, 400, []string{
			"电子邮箱格式不正确 (email must be an e-mail address)"}}, // the form's own checks come first; intake's after
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []string{"json", "xml"} {
				a := e.post(t, "/open311/v2/requests."+f, e.form(tc.form...), tc.header...)
				a.specError(t, f, tc.status, tc.want[0])
				if f == "json" {
					var got []string
					for _, er := range a.jsonArray(t) {
						got = append(got, er["description"].(string))
					}
					if !slices.Equal(got, tc.want) {
						t.Fatalf("got %q\nwant %q", got, tc.want)
					}
				}
			}
		})
	}
	// Nothing of it was registered.
	var n int
	if err := e.s.App.Env.Pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE channel = 'open311'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d cases registered by refused requests (%v)", n, err)
	}
}

// fuzzIntake is intake with the real validator and taxonomy but no
// database: enough for the decoder, which checks and never writes.
var fuzzIntake = sync.OnceValues(func() (*channels.Intake, error) {
	terr, err := territory.Load("33")
	if err != nil {
		return nil, err
	}
	return &channels.Intake{Validate: channels.NewValidator(taxonomy.Default(), terr)}, nil
})

// FuzzDecode: whatever the form, the decoder never panics; it returns a
// submission that passes intake's checks, or the spec's errors (400, or
// 404 for an unknown service) with a description each.
func FuzzDecode(f *testing.F) {
	seeds := []struct{ q, idem string }{
		{"service_code=0104&lat=30.28&long=120.13&description=%E6%B2%B9%E7%83%9F", ""},
		{"service_code=0305&address_string=x&attribute%5Btrapped%5D=yes", "k1"},
		{"service_code=0601&address_id=330106013&attribute[plate]=%E6%B5%99A12345&first_name=%E4%B8%89&last_name=%E5%BC%A0", ""},
		{"service_code=1101&lat=NaN&long=1e400&attribute[account_no][]=1&attribute[account_no][]=2", ""},
		{"service_code=0104&address_string=%ff&email=a@b&phone=%2B8613812345678&media_url=http://x/y&media_url[]=https://z", "\xff"},
		{"service_code=9999", ""},
		{"", ""},
		{"service_code=0104&lat=1&long=2&device_id=" + strings.Repeat("d", 64) + "&attribute[client_token]=" + strings.Repeat("t", 64), ""},
	}
	for _, s := range seeds {
		f.Add(s.q, s.idem)
	}
	in, err := fuzzIntake()
	if err != nil {
		f.Fatal(err)
	}
	tax := taxonomy.Default()
	h := open311.New(in, nil, nil, tax, open311.Options{})
	key := channels.Key{ID: uuid.MustParse("0192a000-0000-7000-8000-000000000001"), Name: "fuzz", Kind: channels.KeyOpen311}
	f.Fuzz(func(t *testing.T, q, idem string) {
		form, _ := url.ParseQuery(q) // what it could read, as net/http would
		s, err := h.Decode(form, key, idem)
		if err != nil {
			var p *open311.Problem
			if !errors.As(err, &p) || (p.Status != http.StatusBadRequest && p.Status != http.StatusNotFound) || len(p.Errors) == 0 {
				t.Fatalf("not a spec error: %#v", err)
			}
			for _, e := range p.Errors {
				if e.Code != p.Status || e.Description == "" || !utf8.ValidString(e.Description) {
					t.Fatalf("bad error %+v", e)
				}
			}
			return
		}
		if s.Channel != cases.ChannelOpen311 || s.Ref == "" || len(s.Ref) > 200 || tax.Category(s.Category) == nil {
			t.Fatalf("submission %+v", s)
		}
		if (s.Lat == nil) != (s.Lon == nil) || (s.Lat == nil && s.Address == "" && s.TownshipCode == "" && s.CountyCode == "") {
			t.Fatalf("no location: %+v", s)
		}
		for _, v := range []string{s.Content, s.Address, s.CitizenName, s.Phone, s.Ref, s.Reporter} {
			if !utf8.ValidString(v) {
				t.Fatalf("invalid UTF-8 in %+v", s)
			}
		}
		if n := utf8.RuneCountInString(s.Content); n == 0 || n > 4000 {
			t.Fatalf("content of %d characters", n)
		}
		// What the decoder hands over passes intake's checks again as it is
		// (Submit checks it once more).
		again := s
		if err := in.Check(&again); err != nil {
			t.Fatalf("accepted, then refused by intake: %v", err)
		}
	})
}

// Per IP on every endpoint, per api_key on POST: 429 with Retry-After, in
// the spec's error format.
func TestRateLimits(t *testing.T) {
	t.Parallel()
	// Rates so slow that no token comes back during the test.
	e := start(t, open311.Options{IPPerMinute: 1e-6, IPBurst: 6, KeyPerMinute: 1e-6, KeyBurst: 1})
	if a := e.post(t, "/open311/v2/requests.json", e.form()); a.status != 200 {
		t.Fatalf("%d %s", a.status, a.body)
	}
	a := e.post(t, "/open311/v2/requests.json", e.form("description", "另一件事"))
	a.specError(t, "json", http.StatusTooManyRequests, "too many requests")
	if a.header.Get("Retry-After") == "" {
		t.Fatal("no Retry-After")
	}
	// A bad key is not counted against the good one (but against the IP).
	e.post(t, "/open311/v2/requests.json", e.form("api_key", "wrong")).specError(t, "json", http.StatusForbidden, "invalid")
	for i := 0; i < 3; i++ {
		if a := e.get(t, "/open311/v2/services.json"); a.status != 200 {
			t.Fatalf("GET %d: %d", i, a.status)
		}
	}
	a = e.get(t, "/open311/v2/services.xml")
	a.specError(t, "xml", http.StatusTooManyRequests, "too many requests")
	if ra := a.header.Get("Retry-After"); ra == "" || ra == "0" {
		t.Fatalf("Retry-After %q", ra)
	}
}
