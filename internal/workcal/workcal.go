// Package workcal is the working-time calendar used for case deadlines.
//
// Workdays are Monday to Friday, minus public holidays, plus make-up workdays
// (调休上班) that fall on weekends. The State Council arrangements for 2025 and
// 2026 are built in (see EmbeddedDays); operators can add or override days
// with Options.Days. Beyond the listed years only weekends are days off, so
// the data for each new year must be added once it is published (see Covers).
//
// Working hours are by default 08:30–12:00 and 13:30–17:30 (7.5 hours a day)
// in Asia/Shanghai. Times are taken on the wall clock of the calendar's zone:
// inputs may be in any zone and results are in the calendar's zone.
//
// A Calendar is immutable and safe for concurrent use.
package workcal

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Period is a working period of a day, as offsets from midnight on the wall
// clock: Start is counted as working time, End is not.
type Period struct {
	Start, End time.Duration
}

// DefaultHours returns the default working hours: 08:30–12:00 and 13:30–17:30.
func DefaultHours() []Period {
	return []Period{
		{8*time.Hour + 30*time.Minute, 12 * time.Hour},
		{13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute},
	}
}

// Options configure a Calendar built by New.
type Options struct {
	// Location is the zone of the working hours; nil means Asia/Shanghai.
	Location *time.Location
	// Hours are the working periods of a workday, in order and not
	// overlapping; nil means DefaultHours.
	Hours []Period
	// Days are listed on top of the embedded holidays: a day listed here
	// replaces the embedded entry for its date, and later entries replace
	// earlier ones.
	Days []Day
}

// Calendar tells working days and working hours and computes deadlines.
type Calendar struct {
	loc    *time.Location
	hours  []Period
	dayLen time.Duration
	days   map[int64]Day // by day number, see Date.num
	years  map[int]bool  // years with at least one listed day
}

// New builds a calendar from the embedded holidays and opts.
func New(opts Options) (*Calendar, error) {
	c := &Calendar{loc: opts.Location, hours: slices.Clone(opts.Hours)}
	if c.loc == nil {
		c.loc = shanghai()
	}
	if len(c.hours) == 0 {
		c.hours = DefaultHours()
	}
	for i, p := range c.hours {
		if p.Start < 0 || p.End > 24*time.Hour || p.Start >= p.End {
			return nil, fmt.Errorf("workcal: working period %d (%v to %v) is empty or not within a day", i+1, p.Start, p.End)
		}
		if i > 0 && p.Start < c.hours[i-1].End {
			return nil, fmt.Errorf("workcal: working period %d (%v to %v) overlaps or precedes the one before", i+1, p.Start, p.End)
		}
		c.dayLen += p.End - p.Start
	}
	embedded, err := embeddedDays()
	if err != nil {
		return nil, err
	}
	c.days = make(map[int64]Day, len(embedded)+len(opts.Days))
	c.years = make(map[int]bool)
	add := func(d Day) {
		c.days[d.Date.num()] = d
		c.years[d.Date.Year] = true
	}
	for _, d := range embedded {
		add(d)
	}
	for i, d := range opts.Days {
		if !d.Date.valid() {
			return nil, fmt.Errorf("workcal: Options.Days[%d]: invalid date %v", i, d.Date)
		}
		if d.Kind != Off && d.Kind != Work {
			return nil, fmt.Errorf("workcal: Options.Days[%d] (%v): kind %q, want %q or %q", i, d.Date, d.Kind, Off, Work)
		}
		add(d)
	}
	return c, nil
}

var defaultCalendar = sync.OnceValue(func() *Calendar {
	c, err := New(Options{})
	if err != nil {
		panic(err) // the embedded data is checked by the tests
	}
	return c
})

// Default returns the calendar with the embedded holidays and the default
// hours in Asia/Shanghai.
func Default() *Calendar { return defaultCalendar() }

var shanghai = sync.OnceValue(func() *time.Location { return loadShanghai(time.LoadLocation) })

// loadShanghai loads Asia/Shanghai and falls back to a fixed UTC+8 zone where
// the system has no zone data; China has no daylight saving time, so the
// fallback is exact.
func loadShanghai(load func(string) (*time.Location, error)) *time.Location {
	if loc, err := load("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}

// Location returns the calendar's zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// DayLength returns the working time of one workday (7.5 hours by default).
func (c *Calendar) DayLength() time.Duration { return c.dayLen }

// Covers reports whether the calendar lists any holiday or make-up workday in
// year, i.e. whether that year's arrangement is known.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// DayKind returns whether date is a workday or a day off, with the name of a
// listed day ("春节", "春节调休上班"); plain weekdays and weekends have no name.
func (c *Calendar) DayKind(date Date) (Kind, string) {
	if d, ok := c.days[date.num()]; ok {
		return d.Kind, d.Name
	}
	if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return Off, ""
	}
	return Work, ""
}

// IsWorkday reports whether the day of t (in the calendar's zone) is a workday.
func (c *Calendar) IsWorkday(t time.Time) bool {
	n, _ := c.wall(t)
	return c.workday(n)
}

// InWorkingHours reports whether t falls within the working hours of a workday.
func (c *Calendar) InWorkingHours(t time.Time) bool {
	n, clock := c.wall(t)
	if !c.workday(n) {
		return false
	}
	for _, p := range c.hours {
		if p.Start <= clock && clock < p.End {
			return true
		}
	}
	return false
}

// AddWorkingHours returns the instant at which d of working time has passed
// since t. Outside working hours the clock starts at the next working period,
// so adding 0 (or a negative d) gives the start of counting: t itself within
// working hours. A result that falls on the end of a period stays there (Monday
// 16:30 plus 1 hour is Monday 17:30, not Tuesday 08:30).
func (c *Calendar) AddWorkingHours(t time.Time, d time.Duration) time.Time {
	d = max(d, 0)
	n, clock := c.wall(t)
	for ; ; n, clock = n+1, 0 {
		if !c.workday(n) {
			continue
		}
		if avail := c.worked(clock, 24*time.Hour); d > avail || avail == 0 {
			d -= avail
			continue
		}
		for _, p := range c.hours {
			if clock >= p.End {
				continue
			}
			clock = max(clock, p.Start)
			if d <= p.End-clock {
				return c.instant(n, clock+d)
			}
			d -= p.End - clock
		}
	}
}

// AddWorkingDays adds n working days, i.e. n times DayLength of working time:
// 2 working days from Friday 10:00 end on Tuesday 10:00, from Saturday on
// Tuesday 17:30.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	return c.AddWorkingHours(t, time.Duration(n)*c.dayLen)
}

// Deadline returns the due time of a case started at start with time limit s.
// It panics if s.Unit is not one of the three units (ParseSpan never returns
// such a span).
func (c *Calendar) Deadline(start time.Time, s Span) time.Time {
	if !mustWorking(s.Unit) {
		return start.Add(time.Duration(s.N) * time.Hour).In(c.loc)
	}
	if s.Unit == WorkingDays {
		return c.AddWorkingDays(start, s.N)
	}
	return c.AddWorkingHours(start, time.Duration(s.N)*time.Hour)
}

// WorkingBetween returns the working time from a to b, 0 if b is not after a.
// WorkingBetween(t, c.AddWorkingHours(t, d)) == d for every t and d >= 0.
func (c *Calendar) WorkingBetween(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	na, ca := c.wall(a)
	nb, cb := c.wall(b)
	var w time.Duration
	for n := na; n <= nb; n++ {
		if !c.workday(n) {
			continue
		}
		from, to := time.Duration(0), 24*time.Hour
		if n == na {
			from = ca
		}
		if n == nb {
			to = cb
		}
		w += c.worked(from, to)
	}
	return w
}

// Elapsed returns the time from start to now that counts towards a limit in
// unit u: working time for working units, plain time for Hours; 0 if now is
// not after start. It panics on an unknown unit.
func (c *Calendar) Elapsed(start, now time.Time, u Unit) time.Duration {
	if mustWorking(u) {
		return c.WorkingBetween(start, now)
	}
	return max(now.Sub(start), 0)
}

// Fraction returns the share of the allowed time from start to due that has
// been used at now, counted in unit u: 0.8 or more is close to the deadline,
// 1 or more is overdue. If no time is allowed at all it is 0 before due and
// 1 from due on.
func (c *Calendar) Fraction(start, due, now time.Time, u Unit) float64 {
	allowed := c.Elapsed(start, due, u)
	if allowed <= 0 {
		if now.Before(due) {
			return 0
		}
		return 1
	}
	return float64(c.Elapsed(start, now, u)) / float64(allowed)
}

// Shift returns due postponed by a suspension (中止) from pausedFrom to
// pausedTo, which does not count: by the working time in between for working
// units, by the plain duration for Hours. It panics on an unknown unit.
func (c *Calendar) Shift(due, pausedFrom, pausedTo time.Time, u Unit) time.Time {
	d := c.Elapsed(pausedFrom, pausedTo, u)
	if d == 0 || !mustWorking(u) {
		return due.Add(d).In(c.loc)
	}
	return c.AddWorkingHours(due, d)
}

// mustWorking reports whether u counts working time, and panics if u is unknown.
func mustWorking(u Unit) bool {
	switch u {
	case WorkingHours, WorkingDays:
		return true
	case Hours:
		return false
	}
	panic(fmt.Sprintf("workcal: unknown unit %q", string(u)))
}

// wall returns the day number and the wall-clock offset from midnight of t in
// the calendar's zone.
func (c *Calendar) wall(t time.Time) (int64, time.Duration) {
	t = t.In(c.loc)
	h, m, s := t.Clock()
	clock := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute +
		time.Duration(s)*time.Second + time.Duration(t.Nanosecond())
	return DateOf(t).num(), clock
}

// instant is the inverse of wall.
func (c *Calendar) instant(n int64, clock time.Duration) time.Time {
	d := dateOfNum(n)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, int(clock), c.loc)
}

// workday reports whether day number n is a workday.
func (c *Calendar) workday(n int64) bool {
	if d, ok := c.days[n]; ok {
		return d.Kind == Work
	}
	wd := weekdayOf(n)
	return wd != time.Saturday && wd != time.Sunday
}

// worked returns the working time between the wall-clock offsets from and to
// of a workday.
func (c *Calendar) worked(from, to time.Duration) time.Duration {
	var w time.Duration
	for _, p := range c.hours {
		w += max(0, min(p.End, to)-max(p.Start, from))
	}
	return w
}
