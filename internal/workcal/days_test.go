package workcal

import (
	"strings"
	"testing"
	"time"
)

func TestParseHolidays(t *testing.T) {
	in := "\ufeffdate, kind ,name\n2026-02-14,work,春节调休上班\n\n2026-02-15, OFF ,春节\n2026-03-02,off,\n"
	days, err := ParseHolidays(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Day{
		{Date{2026, time.February, 14}, Work, "春节调休上班"},
		{Date{2026, time.February, 15}, Off, "春节"},
		{Date{2026, time.March, 2}, Off, ""},
	}
	if len(days) != len(want) {
		t.Fatalf("got %d days, want %d", len(days), len(want))
	}
	for i := range want {
		if days[i] != want[i] {
			t.Errorf("day %d = %+v, want %+v", i, days[i], want[i])
		}
	}
	if days, err := ParseHolidays(strings.NewReader("date,kind,name\n")); err != nil || len(days) != 0 {
		t.Errorf("header only: %v, %v", days, err)
	}
}

func TestParseHolidaysErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", "empty input"},
		{"no header", "2026-02-14,work,春节调休上班\n", `line 1: header is "2026-02-14,work,春节调休上班", want "date,kind,name"`},
		{"short header", "date,kind\n", "line 1: header"},
		{"bad date", "date,kind,name\n2026-02-14,work,x\n2026-02-30,off,x\n", `line 3: field date: "2026-02-30" is not a date`},
		{"date format", "date,kind,name\n2026/02/14,work,x\n", `line 2: field date: "2026/02/14"`},
		{"bad kind", "date,kind,name\n2026-02-14,holiday,x\n", `line 2: field kind: "holiday", want "off" or "work"`},
		{"empty kind", "date,kind,name\n\n2026-02-14,,x\n", `line 3: field kind: ""`},
		{"field count", "date,kind,name\n2026-02-14,work\n", "line 2: 2 fields, want 3"},
		{"duplicate", "date,kind,name\n2026-02-14,work,x\n2026-02-15,off,y\n2026-02-14,off,z\n", "line 4: field date: 2026-02-14 is already listed on line 2"},
		{"csv syntax", "date,kind,name\n2026-02-14,work,\"x\n", "line 2"},
	}
	for _, tt := range tests {
		_, err := ParseHolidays(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "workcal: holidays") {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2026-02-14")
	if err != nil || d != (Date{2026, time.February, 14}) || d.String() != "2026-02-14" || d.Weekday() != time.Saturday {
		t.Errorf("ParseDate = %v (%v), %v", d, d.Weekday(), err)
	}
	for _, s := range []string{"", "2026-2-14", "2026-02-29", "14.02.2026"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) succeeded", s)
		}
	}
	// Day numbers and weekdays agree with package time, before and after 1970.
	for _, d := range []Date{{1969, 12, 31}, {1970, 1, 1}, {2000, 2, 29}, {2026, 12, 31}, {2100, 3, 1}} {
		tm := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
		if d.Weekday() != tm.Weekday() || dateOfNum(d.num()) != d || !d.valid() {
			t.Errorf("%v: weekday %v, want %v; round trip %v", d, d.Weekday(), tm.Weekday(), dateOfNum(d.num()))
		}
	}
	if (Date{2026, 2, 29}).valid() {
		t.Error("2026-02-29 is valid")
	}
	if got := DateOf(time.Date(2026, 3, 6, 20, 0, 0, 0, time.UTC).In(Default().Location())); got != (Date{2026, 3, 7}) {
		t.Errorf("DateOf = %v", got)
	}
}
