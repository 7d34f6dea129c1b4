package web_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"yici/cases"
	"yici/channels"
	"yici/channels/web"
	"yici/internal/httpx"
)

const fuzzLimit = 1 << 20

// checkDecoded is what the decoder promises for any input: no panic, the
// form's text valid UTF-8 (it is shown again), field errors only (400,
// 413 or 422, each naming its field in Chinese and English), and a
// submission on the web channel with the token as its reference.
func checkDecoded(t *testing.T, req *http.Request) {
	f, err := web.ReadForm(req, fuzzLimit)
	if f == nil {
		t.Fatal("no form")
	}
	checkFieldErrors(t, err)
	for _, s := range []string{f.Token, f.Kind, f.Category, f.Content, f.City, f.County, f.Township, f.Address, f.Name, f.Phone} {
		if !utf8.ValidString(s) {
			t.Fatalf("invalid UTF-8 kept: %q", s)
		}
	}
	if len(f.Photos) > channels.MaxFiles || f.PhotosSent < len(f.Photos) {
		t.Fatalf("%d photos kept of %d sent", len(f.Photos), f.PhotosSent)
	}
	for _, p := range f.Photos {
		if len(p.Data) == 0 || len(p.Data) > channels.MaxFileSize || !strings.HasPrefix(http.DetectContentType(p.Data), "image/") {
			t.Fatalf("photo kept: %d bytes, %s", len(p.Data), http.DetectContentType(p.Data))
		}
	}
	sub, err := f.Submission()
	checkFieldErrors(t, err)
	if sub.Channel != cases.ChannelWeb || sub.Reporter != "" {
		t.Fatalf("channel %q reporter %q", sub.Channel, sub.Reporter)
	}
	if web.ValidToken(f.Token) != (sub.Ref == "web:"+f.Token) || !web.ValidToken(f.Token) && sub.Ref != "" {
		t.Fatalf("token %q, ref %q", f.Token, sub.Ref)
	}
	if err == nil && (sub.Ref == "" || strings.TrimSpace(sub.Phone) == "") {
		t.Fatalf("accepted without a token or phone: %+v", sub)
	}
}

func checkFieldErrors(t *testing.T, err error) {
	if err == nil {
		return
	}
	var p *httpx.Problem
	if !errors.As(err, &p) {
		t.Fatalf("not field errors: %T %v", err, err)
	}
	if p.Status != 400 && p.Status != 413 && p.Status != 422 || len(p.Errs) == 0 {
		t.Fatalf("problem %d with %d errors", p.Status, len(p.Errs))
	}
	for _, fe := range p.Errs {
		if fe.Field == "" || fe.Rule == "" || fe.MessageZH == "" || fe.MessageEN == "" || !utf8.ValidString(fe.MessageZH) {
			t.Fatalf("field error %+v", fe)
		}
		if strings.HasPrefix(fe.MessageZH, fe.Field) {
			t.Fatalf("message names the field by its code: %q", fe.MessageZH)
		}
	}
}

// seedMultipart is a browser's post of the form, with a photo.
func seedMultipart(t testing.TB) ([]byte, string) {
	body, ct := multipartBody(form(web.NewToken(), field{"anonymous", "1"}), []photo{{"a.png", pngImage(t, 2, 2)}})
	data, _ := io.ReadAll(body)
	return data, ct
}

// FuzzReadFormMultipart decodes arbitrary multipart bodies.
func FuzzReadFormMultipart(f *testing.F) {
	body, ct := seedMultipart(f)
	boundary := ct[strings.Index(ct, "boundary=")+len("boundary="):]
	f.Add(body, boundary)
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"content\"\r\n\r\n\xff\xfe\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"x\"\r\n\r\nGIF89a\r\n--b--\r\n"), "b")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\n"+strings.Repeat("A", 22)+"\r\n--b--"), "b")
	f.Add([]byte("garbage"), "")
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		req := httptest.NewRequest("POST", "/report", bytes.NewReader(body))
		req.Header.Set("Content-Type", "multipart/form-data; boundary=\""+strings.ReplaceAll(boundary, `"`, "")+"\"")
		checkDecoded(t, req)
	})
}

// FuzzReadFormValues decodes arbitrary field values (url.Values), as a
// form posted without photos.
func FuzzReadFormValues(f *testing.F) {
	f.Add(web.NewToken(), "投诉", "路灯坏了", "138 1234 5678", "330106005", "1", "")
	f.Add("", "", "", "", "", "", "")
	f.Add("AAAAAAAAAAAAAAAAAAAAAA", "举报", "\xff", "+86 (0571) 8800-1234", "9", "maybe", "3301")
	f.Fuzz(func(t *testing.T, token, kind, content, phone, township, anonymous, city string) {
		vals := url.Values{"token": {token}, "kind": {kind}, "content": {content}, "phone": {phone},
			"township_code": {township}, "anonymous": {anonymous}, "city": {city}}
		req := httptest.NewRequest("POST", "/report", strings.NewReader(vals.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		checkDecoded(t, req)
		// and the same fields in a multipart body
		var fs []field
		for k, v := range vals {
			fs = append(fs, field{k, v[0]})
		}
		body, ct := multipartBody(fs, nil)
		req = httptest.NewRequest("POST", "/report", body)
		req.Header.Set("Content-Type", ct)
		checkDecoded(t, req)
	})
}

// TestReadForm pins the decoder on the cases the fuzzers only wander near.
func TestReadForm(t *testing.T) {
	token := web.NewToken()
	img := pngImage(t, 2, 2)
	for _, tc := range []struct {
		name    string
		fields  []field
		photos  []photo
		status  int
		errs    []string // field/rule
		photosN int
	}{
		{"valid", form(token), []photo{{"a.png", img}}, 0, nil, 1},
		{"no file chosen", form(token), []photo{{"", nil}}, 0, nil, 0},
		{"repeated field: the first counts", append(form(token), field{"content", ""}), nil, 0, nil, 0},
		{"six photos", form(token), []photo{{"1", img}, {"2", img}, {"3", img}, {"4", img}, {"5", img}, {"6", img}}, 0, nil, 6},
		{"seven photos", form(token), []photo{{"1", img}, {"2", img}, {"3", img}, {"4", img}, {"5", img}, {"6", img}, {"7", img}}, 422, []string{"photos/max_files"}, 6},
		{"audio", form(token), []photo{{"a.mp3", []byte("ID3\x03\x00\x00\x00\x00\x00\x00")}}, 422, []string{"photos/type"}, 0},
		{"bad token", form("x"), nil, 400, []string{"token/token"}, 0},
		{"token of invalid UTF-8", form("\xff" + token[1:]), nil, 400, []string{"token/token"}, 0},
		{"no phone", without(form(token), "phone"), nil, 400, []string{"phone/required"}, 0},
		{"anonymous", form(token, field{"anonymous", "on"}), nil, 0, nil, 0},
		{"content too long to read", form(token, field{"content", strings.Repeat("a", 70000)}), nil, 400, []string{"content/max"}, 0},
		{"city of invalid UTF-8", form(token, field{"city", "\xff"}), nil, 400, []string{"city/utf8"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, ct := multipartBody(tc.fields, tc.photos)
			data, _ := io.ReadAll(body)
			req := httptest.NewRequest("POST", "/report", bytes.NewReader(data))
			req.Header.Set("Content-Type", ct)
			checkDecoded(t, req)
			req = httptest.NewRequest("POST", "/report", bytes.NewReader(data))
			req.Header.Set("Content-Type", ct)
			f, err := web.ReadForm(req, fuzzLimit)
			_, serr := f.Submission()
			var got []string
			status := 0
			for _, e := range []error{err, serr} {
				var p *httpx.Problem
				if errors.As(e, &p) {
					status = max(status, p.Status)
					for _, fe := range p.Errs {
						if k := fe.Field + "/" + fe.Rule; !slices.Contains(got, k) {
							got = append(got, k)
						}
					}
				}
			}
			if status != tc.status || strings.Join(got, " ") != strings.Join(tc.errs, " ") {
				t.Errorf("status %d errors %v, want %d %v", status, got, tc.status, tc.errs)
			}
			if len(f.Photos) != tc.photosN {
				t.Errorf("%d photos kept, want %d", len(f.Photos), tc.photosN)
			}
			if tc.name == "repeated field: the first counts" && f.Content == "" {
				t.Error("a repeated empty field replaced the content")
			}
			if tc.name == "anonymous" && !f.Anonymous || tc.name == "valid" && f.Anonymous {
				t.Errorf("anonymous %v", f.Anonymous)
			}
		})
	}
}

func TestGroupTrackingNo(t *testing.T) {
	for in, want := range map[string]string{"261128923852170": "261128 9238 5217 0", "123": "123", "": ""} {
		if got := web.GroupTrackingNo(in); got != want {
			t.Errorf("GroupTrackingNo(%q) = %q, want %q", in, got, want)
		}
	}
}
