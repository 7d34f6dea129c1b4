package workcal

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSpan(t *testing.T) {
	tests := []struct {
		short string
		span  Span
		zh    string
	}{
		{"2wh", Span{2, WorkingHours}, "2个工作小时"},
		{"15wd", Span{15, WorkingDays}, "15个工作日"},
		{"24h", Span{24, Hours}, "24小时"},
		{"0wh", Span{0, WorkingHours}, "0个工作小时"},
	}
	for _, tt := range tests {
		got, err := ParseSpan(tt.short)
		if err != nil || got != tt.span {
			t.Errorf("ParseSpan(%q) = %v, %v; want %v", tt.short, got, err, tt.span)
		}
		if s := tt.span.String(); s != tt.zh {
			t.Errorf("String() = %q, want %q", s, tt.zh)
		}
		if b, err := tt.span.MarshalText(); err != nil || string(b) != tt.short {
			t.Errorf("MarshalText(%v) = %q, %v", tt.span, b, err)
		}
	}
	if s := (Span{3, "weeks"}).String(); s != "3 weeks" {
		t.Errorf("unknown unit String() = %q", s)
	}
	for _, s := range []string{"", "h", "wd", "2", "2d", "2 wh", " 2wh", "-2wh", "+2wh", "2.5h", "2WH", "100001wd", "99999999999999999999h"} {
		if _, err := ParseSpan(s); err == nil || !strings.Contains(err.Error(), "invalid span") {
			t.Errorf("ParseSpan(%q): error %v", s, err)
		}
	}
}

func TestSpanJSON(t *testing.T) {
	type rule struct {
		Category string `json:"category"`
		Limit    Span   `json:"limit"`
		Reply    *Span  `json:"reply,omitempty"`
	}
	in := rule{"0101", Span{15, WorkingDays}, &Span{2, WorkingHours}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"category":"0101","limit":"15wd","reply":"2wh"}`; string(b) != want {
		t.Errorf("Marshal = %s, want %s", b, want)
	}
	var out rule
	if err := json.Unmarshal(b, &out); err != nil || out.Limit != in.Limit || *out.Reply != *in.Reply {
		t.Errorf("Unmarshal = %+v, %v", out, err)
	}
	// The zero Span is the empty string.
	if b, err := json.Marshal(rule{}); err != nil || string(b) != `{"category":"","limit":""}` {
		t.Errorf("zero: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"limit":""}`), &out); err != nil || out.Limit != (Span{}) {
		t.Errorf("empty: %+v, %v", out, err)
	}
	if err := json.Unmarshal([]byte(`{"limit":"15 days"}`), &out); err == nil {
		t.Error("bad span unmarshalled")
	}
	if err := json.Unmarshal([]byte(`{"limit":15}`), &out); err == nil {
		t.Error("number unmarshalled as span")
	}
	if _, err := json.Marshal(rule{Limit: Span{1, "weeks"}}); err == nil {
		t.Error("unknown unit marshalled")
	}
	if _, err := json.Marshal(rule{Limit: Span{-1, Hours}}); err == nil {
		t.Error("negative span marshalled")
	}
}
