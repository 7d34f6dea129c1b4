package kiosk_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"yici/channels/kiosk"
	"yici/internal/httpx"
	"yici/router/taxonomy"
)

func TestDecodeItem(t *testing.T) {
	id := "0b6f3c1e-8d2a-4c5e-9f7a-1b2c3d4e5f60"
	tests := []struct {
		raw    string
		given  string
		fields string // the fields named by errors, comma-separated
	}{
		{`{"id":"` + id + `","content":"路灯坏了"}`, id, ""},
		{`{"id":"` + strings.ToUpper(id) + `","created_at":"2026-03-15T14:05:00.123+08:00"}`, strings.ToUpper(id), ""},
		{`{"id":"{` + id + `}"}`, "{" + id + "}", ""}, // a form uuid.Parse reads: the same canonical id
		{`{}`, "", "id"},
		{`{"id":""}`, "", "id"},
		{`{"id":"x","created_at":"tomorrow"}`, "x", "id,created_at"},
		{`{"id":"` + id + `","phone":1}`, id, "phone"},
		{`{"id":"` + id + `","anonymous":"yes"}`, id, "anonymous"},
		{`{"id":"` + id + `","extra":{}}`, id, "extra"},
		{`{"id":7}`, "", "id"},
		{`{"id":"` + id + `"} {}`, id, "body"},
		{`null`, "", "item"},
		{`"text"`, "", "item"},
		{`[{"id":"` + id + `"}]`, "", "item"},
		{``, "", "item"},
	}
	for _, tc := range tests {
		e := kiosk.DecodeItem([]byte(tc.raw))
		var fields []string
		for _, fe := range e.Errs {
			fields = append(fields, fe.Field)
			if fe.Rule == "" || fe.MessageZH == "" || fe.MessageEN == "" {
				t.Errorf("%s: incomplete error %+v", tc.raw, fe)
			}
		}
		if got := strings.Join(fields, ","); got != tc.fields || e.Given != tc.given {
			t.Errorf("%s: errors on %q given %q, want %q given %q", tc.raw, got, e.Given, tc.fields, tc.given)
		}
		if tc.fields == "" && e.ID.String() != id {
			t.Errorf("%s: id %s", tc.raw, e.ID)
		}
	}
}

// checkFieldErrors fails unless every error names a field and a rule and
// says what is wrong in both languages.
func checkFieldErrors(t *testing.T, es httpx.Errors) {
	t.Helper()
	if len(es) == 0 {
		t.Fatal("an error without field errors")
	}
	for _, fe := range es {
		if fe.Field == "" || fe.Rule == "" || fe.MessageZH == "" || fe.MessageEN == "" {
			t.Fatalf("incomplete field error %+v", fe)
		}
	}
}

// The batch decoder never panics and answers only with field errors: the
// batch's own (400 or 413) or per item.
func FuzzDecodeBatch(f *testing.F) {
	id := uuid.NewString()
	for _, s := range []string{
		`{"items":[{"id":"` + id + `","content":"路灯坏了","category":"0603","phone":"13812345678","created_at":"2026-03-15T14:05:00+08:00"}]}`,
		`{"items":[{"id":"x"},null,1,"s",[],{"id":"` + id + `","anonymous":true,"kind":"投诉"}]}`,
		`{"items":[]}`, `{}`, `{"items":{}}`, `{"items":[{"id":"` + id + `","content":3}]}`, `[`, "\xff", `{"items":[{"id":"` + id + `"}],"x":1}`,
		`{"items":[{"created_at":"2026-02-30T00:00:00Z","id":"` + id + `"}]}`, `{"items":[{"id":"` + id + `","content":"\u0000\ud800"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		const max = 5
		entries, err := kiosk.DecodeBatch(body, max)
		if err != nil {
			var p *httpx.Problem
			if !errors.As(err, &p) || (p.Status != http.StatusBadRequest && p.Status != http.StatusRequestEntityTooLarge) {
				t.Fatalf("batch error %v is not a 400 or 413 problem", err)
			}
			checkFieldErrors(t, p.Errs)
			if entries != nil {
				t.Fatal("entries with a batch error")
			}
			return
		}
		if len(entries) == 0 || len(entries) > max {
			t.Fatalf("%d entries accepted", len(entries))
		}
		for _, e := range entries {
			if len(e.Errs) > 0 {
				checkFieldErrors(t, e.Errs)
				continue
			}
			u, perr := uuid.Parse(strings.TrimSpace(e.Given))
			if perr != nil || u != e.ID || e.ID == uuid.Nil {
				t.Fatalf("accepted id %q as %s", e.Given, e.ID)
			}
			it := e.Item
			for _, s := range []string{it.Category, it.Content, it.TownshipCode, it.Address, it.Phone, it.Name, it.Kind} {
				if !utf8.ValidString(s) {
					t.Fatalf("accepted invalid UTF-8 %q", s)
				}
			}
			if c := strings.TrimSpace(it.CreatedAt); c != "" {
				if _, err := time.Parse(time.RFC3339Nano, c); err != nil {
					t.Fatalf("accepted device time %q", c)
				}
			}
		}
	})
}

// Every category a citizen may pick has its own hint; the hotline's own
// records are not offered.
func TestEveryCitizenCategoryHasAHint(t *testing.T) {
	tax := taxonomy.Default()
	offered := 0
	for _, c := range tax.Categories() {
		if !kiosk.ForCitizens(c) {
			if c.Code != "1403" {
				t.Errorf("%s %s kept from citizens", c.Code, c.Name)
			}
			continue
		}
		offered++
		h := kiosk.HintOf(c)
		if h == "" || strings.HasSuffix(h, "方面的问题") || utf8.RuneCountInString(h) > 16 {
			t.Errorf("%s %s: hint %q", c.Code, c.Name, h)
		}
	}
	if offered != len(tax.Categories())-1 {
		t.Errorf("%d of %d categories offered", offered, len(tax.Categories()))
	}
	if h := kiosk.HintOf(&taxonomy.Category{Code: "9901", Group: "文化旅游", Name: "景区服务"}); h != "文化旅游方面的问题" {
		t.Errorf("an operator's category: %q", h)
	}
}
