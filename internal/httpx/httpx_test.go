package httpx

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

type sample struct {
	Name string   `json:"name"`
	N    int      `json:"n"`
	Tags []string `json:"tags"`
}

func TestUnmarshalErrorsNameTheField(t *testing.T) {
	cases := []struct {
		body, field, rule string
	}{
		{`{"name": 3}`, "name", "type"},
		{`{"nmae": "x"}`, "nmae", "unknown"},
		{`{"name": "x"`, "body", "json"},
		{``, "body", "required"},
		{`{"name":"x"} {}`, "body", "json"},
		{"{\"name\":\"\xff\"}", "body", "utf8"},
		{strings.Repeat("[", 40) + strings.Repeat("]", 40), "body", "depth"},
	}
	for _, tc := range cases {
		var v sample
		err := Unmarshal([]byte(tc.body), &v)
		var p *Problem
		if !errors.As(err, &p) {
			t.Errorf("%q: got %v", tc.body, err)
			continue
		}
		if p.Status != http.StatusBadRequest || p.Errs[0].Field != tc.field || p.Errs[0].Rule != tc.rule {
			t.Errorf("%q: got %d %+v, want field %s rule %s", tc.body, p.Status, p.Errs[0], tc.field, tc.rule)
		}
		if p.Errs[0].MessageZH == "" || p.Errs[0].MessageEN == "" {
			t.Errorf("%q: messages missing", tc.body)
		}
	}
}

func TestDecodeJSONBodyLimit(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"`+strings.Repeat("x", 2000)+`"}`))
	w := httptest.NewRecorder()
	var v sample
	err := DecodeJSON(w, r, 1000, &v)
	var p *Problem
	if !errors.As(err, &p) || p.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %v", err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"name":"a","n":1,"tags":["x"]}`, `{}`, `[`, `{"n":1e400}`, "\xff", `{"tags":[[[[]]]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var v sample
		err := Unmarshal(b, &v)
		if err == nil {
			if !utf8.ValidString(v.Name) {
				t.Fatalf("accepted invalid UTF-8 into a field")
			}
			return
		}
		var p *Problem
		if !errors.As(err, &p) || p.Status != http.StatusBadRequest || len(p.Errs) == 0 || p.Errs[0].Field == "" {
			t.Fatalf("error without a field: %v", err)
		}
	})
}
