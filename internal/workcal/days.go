package workcal

import (
	_ "embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// holidaysCSV is the State Council holiday arrangement for 2025 and 2026,
// copied from the project's reference data.
//
//go:embed holidays-cn.csv
var holidaysCSV string

// embeddedDays parses holidaysCSV once.
var embeddedDays = sync.OnceValues(func() ([]Day, error) {
	return ParseHolidays(strings.NewReader(holidaysCSV))
})

// EmbeddedDays returns a copy of the holiday data built into the package
// (public holidays and make-up workdays of 2025 and 2026).
func EmbeddedDays() []Day {
	days, err := embeddedDays()
	if err != nil {
		panic(err) // the embedded file is checked by the tests
	}
	return append([]Day(nil), days...)
}

// Date is a civil date (year, month, day) without time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's own location. Use DateOf(t.In(loc))
// for the date in another zone.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses a date in the form "2006-01-02".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("workcal: %q is not a date of the form YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// String returns the date in the form "2006-01-02".
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday { return weekdayOf(d.num()) }

// num returns the number of days from 1970-01-01 to d.
func (d Date) num() int64 {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400
}

// valid reports whether d is a real date (not e.g. February 30).
func (d Date) valid() bool { return dateOfNum(d.num()) == d }

// dateOfNum is the inverse of Date.num.
func dateOfNum(n int64) Date { return DateOf(time.Unix(n*86400, 0).UTC()) }

// weekdayOf returns the day of the week of day number n (1970-01-01 was a Thursday).
func weekdayOf(n int64) time.Weekday {
	return time.Weekday(((n+4)%7 + 7) % 7)
}

// Kind says whether a listed day is a day off or a workday.
type Kind string

const (
	// Off is a public holiday (or any day without work).
	Off Kind = "off"
	// Work is a workday, e.g. a make-up workday (调休上班) on a weekend.
	Work Kind = "work"
)

// Day is one listed day of a calendar: a public holiday or a make-up workday.
// Days override the default rule that Monday to Friday are workdays.
type Day struct {
	Date Date
	Kind Kind
	Name string // e.g. "春节" or "春节调休上班"; may be empty
}

// ParseHolidays reads days in CSV form: a header line "date,kind,name", then
// one line per day, e.g. "2026-02-14,work,春节调休上班". Dates are
// YYYY-MM-DD, kind is "off" or "work", the name may be empty. A date may be
// listed only once. Errors name the line and the field at fault.
func ParseHolidays(r io.Reader) ([]Day, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // checked below, with a clearer message
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New(`workcal: holidays: empty input, want the header "date,kind,name"`)
	}
	if err != nil {
		return nil, fmt.Errorf("workcal: holidays: %w", err)
	}
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // spreadsheets add a BOM
	if got := strings.ToLower(strings.Join(trimAll(header), ",")); got != "date,kind,name" {
		return nil, fmt.Errorf(`workcal: holidays line 1: header is %q, want "date,kind,name"`, strings.Join(header, ","))
	}
	var days []Day
	seen := make(map[Date]int)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return days, nil
		}
		if err != nil {
			return nil, fmt.Errorf("workcal: holidays: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) != 3 {
			return nil, fmt.Errorf("workcal: holidays line %d: %d fields, want 3 (date,kind,name)", line, len(rec))
		}
		rec = trimAll(rec)
		date, err := ParseDate(rec[0])
		if err != nil {
			return nil, fmt.Errorf("workcal: holidays line %d: field date: %q is not a date of the form YYYY-MM-DD", line, rec[0])
		}
		if first, dup := seen[date]; dup {
			return nil, fmt.Errorf("workcal: holidays line %d: field date: %s is already listed on line %d", line, date, first)
		}
		seen[date] = line
		kind := Kind(strings.ToLower(rec[1]))
		if kind != Off && kind != Work {
			return nil, fmt.Errorf(`workcal: holidays line %d: field kind: %q, want "off" or "work"`, line, rec[1])
		}
		days = append(days, Day{Date: date, Kind: kind, Name: rec[2]})
	}
}

func trimAll(fields []string) []string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = strings.TrimSpace(f)
	}
	return out
}
