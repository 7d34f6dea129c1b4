package workcal

import (
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

const layout = "2006-01-02 15:04"

// at parses a wall-clock time "2006-01-02 15:04" in the default calendar's zone.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation(layout, s, Default().Location())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEmbeddedData(t *testing.T) {
	days := EmbeddedDays()
	if len(days) < 60 {
		t.Fatalf("embedded holidays: %d days, want the 2025 and 2026 arrangements", len(days))
	}
	for _, d := range days {
		if wd := d.Date.Weekday(); d.Kind == Work && wd != time.Saturday && wd != time.Sunday {
			t.Errorf("make-up workday %v (%s) is a %v", d.Date, d.Name, wd)
		}
	}
	c := Default()
	for _, y := range []int{2025, 2026} {
		if !c.Covers(y) {
			t.Errorf("Covers(%d) = false", y)
		}
	}
	if c.Covers(2027) {
		t.Error("Covers(2027) = true")
	}
	if got := c.DayLength(); got != 7*time.Hour+30*time.Minute {
		t.Errorf("DayLength = %v", got)
	}
	if got := c.Location().String(); got != "Asia/Shanghai" && got != "CST" {
		t.Errorf("Location = %v", got)
	}
}

func TestDayKind(t *testing.T) {
	c := Default()
	tests := []struct {
		date string
		kind Kind
		name string
	}{
		{"2026-02-13", Work, ""},        // Friday before the Spring Festival
		{"2026-02-14", Work, "春节调休上班"},  // Saturday, make-up workday
		{"2026-02-15", Off, "春节"},       // Sunday, first day of the holiday
		{"2026-02-18", Off, "春节"},       // Wednesday
		{"2026-02-23", Off, "春节"},       // Monday, last day
		{"2026-02-24", Work, ""},        // Tuesday, back to work
		{"2026-02-28", Work, "春节调休上班"},  // Saturday, make-up workday
		{"2026-03-01", Off, ""},         // plain Sunday
		{"2026-09-20", Work, "国庆节调休上班"}, // Sunday, make-up workday
		{"2026-10-01", Off, "国庆节"},      // Thursday
		{"2026-10-10", Work, "国庆节调休上班"}, // Saturday, make-up workday
		{"2025-10-08", Off, "国庆节、中秋节"},  // 2025
		{"2027-01-01", Work, ""},        // not listed: a plain Friday
		{"2027-01-02", Off, ""},         // plain Saturday
	}
	for _, tt := range tests {
		d, err := ParseDate(tt.date)
		if err != nil {
			t.Fatal(err)
		}
		kind, name := c.DayKind(d)
		if kind != tt.kind || name != tt.name {
			t.Errorf("DayKind(%s) = %s, %q; want %s, %q", tt.date, kind, name, tt.kind, tt.name)
		}
		if got := c.IsWorkday(at(t, tt.date+" 12:00")); got != (tt.kind == Work) {
			t.Errorf("IsWorkday(%s) = %v", tt.date, got)
		}
	}
}

func TestIsWorkdayUsesCalendarZone(t *testing.T) {
	c := Default()
	// Friday 2026-03-06 20:00 UTC is Saturday 04:00 in Shanghai.
	if c.IsWorkday(time.Date(2026, 3, 6, 20, 0, 0, 0, time.UTC)) {
		t.Error("Friday 20:00 UTC counted as a workday, but it is Saturday in Shanghai")
	}
}

func TestInWorkingHours(t *testing.T) {
	c := Default()
	tests := []struct {
		at   string
		want bool
	}{
		{"2026-03-02 08:29", false},
		{"2026-03-02 08:30", true},
		{"2026-03-02 11:59", true},
		{"2026-03-02 12:00", false}, // lunch break
		{"2026-03-02 13:30", true},
		{"2026-03-02 17:30", false},
		{"2026-03-07 10:00", false}, // Saturday
		{"2026-02-14 10:00", true},  // make-up Saturday
		{"2026-02-18 10:00", false}, // Spring Festival
	}
	for _, tt := range tests {
		if got := c.InWorkingHours(at(t, tt.at)); got != tt.want {
			t.Errorf("InWorkingHours(%s) = %v, want %v", tt.at, got, tt.want)
		}
	}
}

func TestAddWorkingHours(t *testing.T) {
	c := Default()
	tests := []struct {
		name  string
		start string
		d     time.Duration
		want  string
	}{
		{"zero inside hours", "2026-03-02 10:00", 0, "2026-03-02 10:00"},
		{"same period", "2026-03-02 09:00", time.Hour, "2026-03-02 10:00"},
		{"ends at lunch", "2026-03-02 10:00", 2 * time.Hour, "2026-03-02 12:00"},
		{"over lunch", "2026-03-02 11:00", 2 * time.Hour, "2026-03-02 14:30"},
		{"during lunch", "2026-03-02 12:30", time.Hour, "2026-03-02 14:30"},
		{"zero at lunch", "2026-03-02 12:00", 0, "2026-03-02 13:30"},
		{"ends at close", "2026-03-02 16:30", time.Hour, "2026-03-02 17:30"},
		{"just past close", "2026-03-02 16:30", time.Hour + time.Minute, "2026-03-03 08:31"},
		{"before opening", "2026-03-02 07:00", time.Hour, "2026-03-02 09:30"},
		{"after close", "2026-03-02 18:00", time.Hour, "2026-03-03 09:30"},
		{"zero after close", "2026-03-02 17:30", 0, "2026-03-03 08:30"},
		{"over a weekend", "2026-03-06 17:00", time.Hour, "2026-03-09 09:00"},
		{"from Saturday", "2026-03-07 10:00", 0, "2026-03-09 08:30"},
		{"negative is zero", "2026-03-07 10:00", -time.Hour, "2026-03-09 08:30"},
		{"into make-up Saturday", "2026-02-13 16:00", 2 * time.Hour, "2026-02-14 09:00"},
		{"over Spring Festival", "2026-02-14 17:00", time.Hour, "2026-02-24 09:00"},
		{"from a holiday", "2026-02-18 10:00", 0, "2026-02-24 08:30"},
		{"from a holiday, 2h", "2026-02-18 10:00", 2 * time.Hour, "2026-02-24 10:30"},
		{"into make-up Sunday", "2026-09-19 10:00", time.Hour, "2026-09-20 09:30"},
		{"over Mid-Autumn", "2026-09-24 17:00", time.Hour, "2026-09-28 09:00"},
		{"over National Day", "2026-09-30 17:00", time.Hour, "2026-10-08 09:00"},
		{"into make-up Saturday 10-10", "2026-10-09 17:00", time.Hour, "2026-10-10 09:00"},
		{"make-up Sunday 2025", "2025-01-24 17:00", time.Hour, "2025-01-26 09:00"},
		{"beyond the data", "2027-03-05 17:00", time.Hour, "2027-03-08 09:00"},
		{"New Year 2026", "2025-12-31 17:00", time.Hour, "2026-01-04 09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := at(t, tt.start)
			got := c.AddWorkingHours(start, tt.d)
			if want := at(t, tt.want); !got.Equal(want) {
				t.Errorf("AddWorkingHours(%s, %v) = %s, want %s", tt.start, tt.d, got.Format(layout), tt.want)
			}
			if got.Location() != c.Location() {
				t.Errorf("result in %v, want %v", got.Location(), c.Location())
			}
			// The zone of the input does not matter.
			if u := c.AddWorkingHours(start.UTC(), tt.d); !u.Equal(got) || u.Location() != c.Location() {
				t.Errorf("from UTC: got %v", u)
			}
		})
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := Default()
	tests := []struct {
		start string
		n     int
		want  string
	}{
		{"2026-03-06 10:00", 2, "2026-03-10 10:00"}, // Friday → Tuesday
		{"2026-03-07 10:00", 2, "2026-03-10 17:30"}, // Saturday → Tuesday close
		{"2026-03-06 18:00", 0, "2026-03-09 08:30"},
		{"2026-03-02 08:30", 1, "2026-03-02 17:30"},
		{"2026-03-02 08:00", 1, "2026-03-02 17:30"},
		// Tuesday before the Spring Festival: 11, 12, 13, 14 (Sat), 24–28 (28 is Sat), 2–6 March, 9 March.
		{"2026-02-10 09:00", 15, "2026-03-09 09:00"},
		// Over National Day: 25 Sep off, 28–30 Sep, 1–7 Oct off, 8, 9, 10 (Sat), 12 Oct.
		{"2026-09-24 14:00", 7, "2026-10-12 14:00"},
		// Far beyond the data only weekends count: 260 working days from a Monday is 52 weeks.
		{"2027-03-01 10:00", 260, "2028-02-28 10:00"},
	}
	for _, tt := range tests {
		got := c.AddWorkingDays(at(t, tt.start), tt.n)
		if want := at(t, tt.want); !got.Equal(want) {
			t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.start, tt.n, got.Format(layout), tt.want)
		}
	}
}

func TestDeadline(t *testing.T) {
	c := Default()
	tests := []struct {
		start string
		span  Span
		want  string
	}{
		{"2026-03-02 16:00", Span{2, WorkingHours}, "2026-03-03 09:00"},
		{"2026-02-10 09:00", Span{15, WorkingDays}, "2026-03-09 09:00"},
		{"2026-02-16 22:15", Span{24, Hours}, "2026-02-17 22:15"}, // holidays count
		{"2026-03-02 16:00", Span{0, WorkingHours}, "2026-03-02 16:00"},
	}
	for _, tt := range tests {
		got := c.Deadline(at(t, tt.start).UTC(), tt.span)
		if want := at(t, tt.want); !got.Equal(want) || got.Location() != c.Location() {
			t.Errorf("Deadline(%s, %v) = %v, want %s", tt.start, tt.span, got, tt.want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Deadline with an unknown unit did not panic")
		}
	}()
	c.Deadline(at(t, "2026-03-02 16:00"), Span{1, "weeks"})
}

func TestWorkingBetween(t *testing.T) {
	c := Default()
	h := time.Hour
	tests := []struct {
		a, b string
		want time.Duration
	}{
		{"2026-03-02 09:00", "2026-03-02 10:00", h},
		{"2026-03-02 10:00", "2026-03-02 09:00", 0},
		{"2026-03-02 10:00", "2026-03-02 10:00", 0},
		{"2026-03-02 11:00", "2026-03-02 14:30", 2 * h},      // lunch does not count
		{"2026-03-02 12:10", "2026-03-02 13:20", 0},          // all lunch
		{"2026-03-02 00:00", "2026-03-03 00:00", 15 * h / 2}, // a whole day
		{"2026-03-06 17:00", "2026-03-09 09:00", h},          // over a weekend
		{"2026-03-07 01:00", "2026-03-08 23:00", 0},          // weekend only
		{"2026-02-13 08:30", "2026-02-24 08:30", 15 * h},     // 13 and 14 (make-up Sat)
		{"2026-09-30 17:00", "2026-10-08 09:00", h},          // National Day
		{"2026-03-02 08:30", "2026-03-16 08:30", 10 * 15 * h / 2},
	}
	for _, tt := range tests {
		if got := c.WorkingBetween(at(t, tt.a), at(t, tt.b)); got != tt.want {
			t.Errorf("WorkingBetween(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestShift(t *testing.T) {
	c := Default()
	tests := []struct {
		name          string
		due, from, to string
		unit          Unit
		want          string
	}{
		// Suspended Friday 16:00 to Monday 10:00: 1.5 h on Friday and 1.5 h on Monday count.
		{"over a weekend", "2026-03-10 10:00", "2026-03-06 16:00", "2026-03-09 10:00", WorkingDays, "2026-03-10 14:30"},
		{"over a weekend, hours", "2026-03-10 10:00", "2026-03-06 16:00", "2026-03-09 10:00", Hours, "2026-03-13 04:00"},
		{"weekend only", "2026-03-09 17:30", "2026-03-07 09:00", "2026-03-08 18:00", WorkingHours, "2026-03-09 17:30"},
		{"due at close", "2026-03-09 17:30", "2026-03-09 09:00", "2026-03-09 10:00", WorkingHours, "2026-03-10 09:30"},
		{"over Spring Festival", "2026-02-26 12:00", "2026-02-13 17:00", "2026-02-25 09:30", WorkingDays, "2026-02-28 15:00"},
		{"reversed pause", "2026-03-10 10:00", "2026-03-09 10:00", "2026-03-06 16:00", WorkingHours, "2026-03-10 10:00"},
	}
	for _, tt := range tests {
		got := c.Shift(at(t, tt.due), at(t, tt.from), at(t, tt.to), tt.unit)
		if want := at(t, tt.want); !got.Equal(want) {
			t.Errorf("%s: Shift = %s, want %s", tt.name, got.Format(layout), tt.want)
		}
	}
}

func TestElapsedAndFraction(t *testing.T) {
	c := Default()
	start := at(t, "2026-03-02 08:30") // Monday
	due := c.Deadline(start, Span{2, WorkingDays})
	if want := at(t, "2026-03-03 17:30"); !due.Equal(want) {
		t.Fatalf("due = %v, want %v", due, want)
	}
	tests := []struct {
		now  string
		want float64
	}{
		{"2026-03-02 08:00", 0},
		{"2026-03-02 08:30", 0},
		{"2026-03-03 13:30", 11.0 / 15},
		{"2026-03-03 16:30", 14.0 / 15}, // yellow
		{"2026-03-03 17:30", 1},         // due: red
		{"2026-03-03 20:00", 1},
		{"2026-03-04 09:30", 16.0 / 15},
	}
	for _, tt := range tests {
		if got := c.Fraction(start, due, at(t, tt.now), WorkingDays); !near(got, tt.want) {
			t.Errorf("Fraction at %s = %v, want %v", tt.now, got, tt.want)
		}
	}
	if got := c.Elapsed(start, at(t, "2026-03-03 13:30"), WorkingHours); got != 11*time.Hour {
		t.Errorf("Elapsed, working = %v", got)
	}
	if got := c.Elapsed(start, at(t, "2026-03-03 13:30"), Hours); got != 29*time.Hour {
		t.Errorf("Elapsed, hours = %v", got)
	}
	if got := c.Elapsed(start, start.Add(-time.Hour), Hours); got != 0 {
		t.Errorf("Elapsed backwards = %v", got)
	}
	hdue := c.Deadline(start, Span{24, Hours})
	if got := c.Fraction(start, hdue, start.Add(18*time.Hour), Hours); !near(got, 0.75) {
		t.Errorf("Fraction, hours = %v", got)
	}
	// No working time allowed: 0 before due, 1 from due on.
	sat := at(t, "2026-03-07 10:00")
	zdue := c.Deadline(sat, Span{0, WorkingHours})
	if got := c.Fraction(sat, zdue, sat.Add(time.Hour), WorkingHours); got != 0 {
		t.Errorf("Fraction before an immediate due = %v", got)
	}
	if got := c.Fraction(sat, zdue, zdue, WorkingHours); got != 1 {
		t.Errorf("Fraction at an immediate due = %v", got)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

// randomInstant returns a random instant of 2025–2026, to the nanosecond
// half of the time and to the minute otherwise.
func randomInstant(r *rand.Rand) time.Time {
	from := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	span := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC).Sub(from)
	t := from.Add(time.Duration(r.Int64N(int64(span))))
	if r.IntN(2) == 0 {
		t = t.Truncate(time.Minute)
	}
	return t
}

func TestAddWorkingHoursProperties(t *testing.T) {
	c := Default()
	r := rand.New(rand.NewPCG(12345, 2026))
	for i := 0; i < 20000; i++ {
		t0 := randomInstant(r)
		d1 := time.Duration(r.Int64N(int64(60 * c.DayLength())))
		d2 := time.Duration(r.Int64N(int64(60 * c.DayLength())))
		if i%3 == 0 {
			d1 = d1.Truncate(30 * time.Minute)
		}
		if d1 > d2 {
			d1, d2 = d2, d1
		}
		e1, e2 := c.AddWorkingHours(t0, d1), c.AddWorkingHours(t0, d2)
		if e1.After(e2) {
			t.Fatalf("not monotonic from %v: +%v = %v after +%v = %v", t0, d1, e1, d2, e2)
		}
		if e1.Before(t0) {
			t.Fatalf("AddWorkingHours(%v, %v) = %v is before the start", t0, d1, e1)
		}
		// Holds for every start; for starts within working hours as the spec says,
		// and outside them too, as non-working time counts zero.
		if got := c.WorkingBetween(t0, e1); got != d1 {
			t.Fatalf("WorkingBetween(%v, AddWorkingHours(+%v) = %v) = %v", t0, d1, e1, got)
		}
		if got := c.WorkingBetween(e1, e2); got != d2-d1 {
			t.Fatalf("WorkingBetween(%v, %v) = %v, want %v", e1, e2, got, d2-d1)
		}
		// A positive result ends within working hours or exactly at the end of a period.
		if d1 > 0 && !c.InWorkingHours(e1) && !c.InWorkingHours(e1.Add(-time.Nanosecond)) {
			t.Fatalf("AddWorkingHours(%v, %v) = %v is outside working hours", t0, d1, e1)
		}
	}
}

// TestAgainstMinuteStepping checks AddWorkingHours against a brute-force
// reference that walks minute by minute.
func TestAgainstMinuteStepping(t *testing.T) {
	c := Default()
	r := rand.New(rand.NewPCG(1, 2))
	inWork := func(t time.Time) bool { // the minute starting at t
		t = t.In(c.Location())
		m := t.Hour()*60 + t.Minute()
		return c.IsWorkday(t) && (m >= 510 && m < 720 || m >= 810 && m < 1050)
	}
	for i := 0; i < 300; i++ {
		t0 := randomInstant(r).Truncate(time.Minute)
		d := time.Duration(r.IntN(3*450)) * time.Minute
		want := t0
		for rest := d; rest > 0; want = want.Add(time.Minute) {
			if inWork(want) {
				rest -= time.Minute
			}
		}
		if d == 0 {
			for !inWork(want) {
				want = want.Add(time.Minute)
			}
		}
		if got := c.AddWorkingHours(t0, d); !got.Equal(want) {
			t.Fatalf("AddWorkingHours(%v, %v) = %v, want %v", t0, d, got, want)
		}
	}
}

func TestNewOptions(t *testing.T) {
	d := func(s string) Date {
		v, err := ParseDate(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	c, err := New(Options{Days: []Day{
		{d("2026-03-02"), Off, "台风停工"},
		{d("2026-02-28"), Off, "取消调休"}, // overrides an embedded make-up day
		{d("2026-03-03"), Off, "first"},
		{d("2026-03-03"), Work, "second"}, // later wins
		{d("2027-02-06"), Work, "春节调休上班"}, // a new year
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		date string
		kind Kind
		name string
	}{
		{"2026-03-02", Off, "台风停工"},
		{"2026-02-28", Off, "取消调休"},
		{"2026-03-03", Work, "second"},
		{"2026-02-14", Work, "春节调休上班"},
		{"2027-02-06", Work, "春节调休上班"},
	} {
		if kind, name := c.DayKind(d(tt.date)); kind != tt.kind || name != tt.name {
			t.Errorf("DayKind(%s) = %s, %q; want %s, %q", tt.date, kind, name, tt.kind, tt.name)
		}
	}
	if !c.Covers(2027) {
		t.Error("Covers(2027) = false after adding a 2027 day")
	}
	if k, _ := Default().DayKind(d("2026-03-02")); k != Work {
		t.Error("New changed the default calendar")
	}

	utc, err := New(Options{
		Location: time.UTC,
		Hours:    []Period{{9 * time.Hour, 17 * time.Hour}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := utc.AddWorkingDays(time.Date(2026, 3, 6, 12, 0, 0, 0, time.UTC), 1)
	if want := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC || utc.DayLength() != 8*time.Hour {
		t.Errorf("custom calendar: %v, day length %v", got, utc.DayLength())
	}

	for _, opts := range []Options{
		{Hours: []Period{{12 * time.Hour, 9 * time.Hour}}},
		{Hours: []Period{{9 * time.Hour, 25 * time.Hour}}},
		{Hours: []Period{{9 * time.Hour, 13 * time.Hour}, {12 * time.Hour, 17 * time.Hour}}},
		{Days: []Day{{Date{2026, 2, 30}, Off, ""}}},
		{Days: []Day{{d("2026-03-02"), "holiday", ""}}},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}

func TestLoadShanghaiFallback(t *testing.T) {
	loc := loadShanghai(func(string) (*time.Location, error) { return nil, errors.New("no tzdata") })
	if _, off := time.Date(2026, 7, 1, 0, 0, 0, 0, loc).Zone(); off != 8*3600 {
		t.Errorf("fallback offset %d", off)
	}
}

func TestConcurrentUse(t *testing.T) {
	start := at(t, "2026-02-10 09:00")
	want := at(t, "2026-03-09 09:00")
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Go(func() {
			for j := 0; j < 100; j++ {
				if got := Default().Deadline(start, Span{15, WorkingDays}); !got.Equal(want) {
					t.Errorf("concurrent Deadline = %v", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkDeadline15WorkingDays(b *testing.B) {
	c := Default()
	start := at(b, "2026-02-10 09:00")
	span := Span{15, WorkingDays}
	for b.Loop() {
		c.Deadline(start, span)
	}
}

func BenchmarkWorkingBetweenOneMonth(b *testing.B) {
	c := Default()
	from, to := at(b, "2026-02-10 09:00"), at(b, "2026-03-10 09:00")
	for b.Loop() {
		c.WorkingBetween(from, to)
	}
}
