package workcal

import (
	"fmt"
	"strconv"
	"strings"
)

// Unit is the unit of a time limit.
type Unit string

const (
	// WorkingHours counts only working time (工作小时).
	WorkingHours Unit = "working_hours"
	// WorkingDays counts working days (工作日); one working day is the
	// calendar's DayLength of working time.
	WorkingDays Unit = "working_days"
	// Hours counts plain clock hours, nights and holidays included, e.g. for
	// emergencies and utilities.
	Hours Unit = "hours"
)

// maxSpanN bounds the N accepted by ParseSpan (100 000 working days is
// centuries, far beyond any real time limit).
const maxSpanN = 100000

// units lists the units with their short suffix and Chinese name; "wh" must
// come before "h" since suffixes are tried in order.
var units = []struct {
	unit   Unit
	suffix string
	name   string
}{
	{WorkingHours, "wh", "个工作小时"},
	{WorkingDays, "wd", "个工作日"},
	{Hours, "h", "小时"},
}

// Span is a time limit such as 2 working hours, 15 working days or 24 hours.
// In text and JSON it is written in short form: "2wh", "15wd", "24h".
type Span struct {
	N    int
	Unit Unit
}

// ParseSpan parses the short form of a span: a non-negative whole number
// followed by "wh" (working hours), "wd" (working days) or "h" (hours).
func ParseSpan(s string) (Span, error) {
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.Atoi(num)
		if err != nil || num == "" || num[0] < '0' || num[0] > '9' || n > maxSpanN {
			break
		}
		return Span{N: n, Unit: u.unit}, nil
	}
	return Span{}, fmt.Errorf(`workcal: invalid span %q, want e.g. "2wh", "15wd" or "24h" (at most %d)`, s, maxSpanN)
}

// String returns the span in Chinese, e.g. "2个工作小时", "15个工作日", "24小时".
func (s Span) String() string {
	for _, u := range units {
		if u.unit == s.Unit {
			return strconv.Itoa(s.N) + u.name
		}
	}
	return fmt.Sprintf("%d %s", s.N, s.Unit)
}

// MarshalText returns the short form, e.g. "15wd". The zero Span is
// encoded as the empty string.
func (s Span) MarshalText() ([]byte, error) {
	if s == (Span{}) {
		return []byte{}, nil
	}
	for _, u := range units {
		if u.unit == s.Unit && s.N >= 0 {
			return []byte(strconv.Itoa(s.N) + u.suffix), nil
		}
	}
	return nil, fmt.Errorf("workcal: cannot encode span {%d %q}", s.N, s.Unit)
}

// UnmarshalText parses the short form (see ParseSpan); the empty string
// gives the zero Span.
func (s *Span) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = Span{}
		return nil
	}
	v, err := ParseSpan(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
