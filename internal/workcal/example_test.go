package workcal_test

import (
	"fmt"
	"strings"
	"time"

	"yici/internal/workcal"
)

// A case received on the Friday before the 2026 Spring Festival: the holiday
// (15–23 February) does not count, the make-up Saturdays (14 and 28 February) do.
func Example() {
	cal := workcal.Default()
	received := time.Date(2026, 2, 13, 16, 0, 0, 0, cal.Location())

	for _, limit := range []string{"2wh", "15wd", "24h"} {
		span, err := workcal.ParseSpan(limit)
		if err != nil {
			panic(err)
		}
		due := cal.Deadline(received, span)
		fmt.Printf("%s: %s\n", span, due.Format("2006-01-02 15:04 Mon"))
	}
	// Output:
	// 2个工作小时: 2026-02-14 09:00 Sat
	// 15个工作日: 2026-03-12 16:00 Thu
	// 24小时: 2026-02-14 16:00 Sat
}

// Traffic lights for a case: yellow from 80% of the allowed working time,
// red once the deadline has passed.
func ExampleCalendar_Fraction() {
	cal := workcal.Default()
	start := time.Date(2026, 3, 2, 8, 30, 0, 0, cal.Location()) // Monday
	due := cal.Deadline(start, workcal.Span{N: 2, Unit: workcal.WorkingDays})
	fmt.Println("due", due.Format("Mon 15:04"))

	for _, now := range []time.Time{
		time.Date(2026, 3, 3, 10, 0, 0, 0, cal.Location()),
		time.Date(2026, 3, 3, 16, 0, 0, 0, cal.Location()),
		time.Date(2026, 3, 4, 9, 0, 0, 0, cal.Location()),
	} {
		f := cal.Fraction(start, due, now, workcal.WorkingDays)
		light := "green"
		switch {
		case f >= 1:
			light = "red"
		case f >= 0.8:
			light = "yellow"
		}
		fmt.Printf("%s %.2f %s\n", now.Format("Mon 15:04"), f, light)
	}
	// Output:
	// due Tue 17:30
	// Tue 10:00 0.60 green
	// Tue 16:00 0.90 yellow
	// Wed 09:00 1.03 red
}

// A suspension (中止) over a weekend postpones the deadline by the working
// time it covered: 1.5 hours on Friday and 1.5 hours on Monday.
func ExampleCalendar_Shift() {
	cal := workcal.Default()
	loc := cal.Location()
	due := time.Date(2026, 3, 10, 10, 0, 0, 0, loc)
	from := time.Date(2026, 3, 6, 16, 0, 0, 0, loc)
	to := time.Date(2026, 3, 9, 10, 0, 0, 0, loc)

	fmt.Println(cal.WorkingBetween(from, to))
	fmt.Println(cal.Shift(due, from, to, workcal.WorkingDays).Format("2006-01-02 15:04"))
	// Output:
	// 3h0m0s
	// 2026-03-10 14:30
}

// Operators add days that the embedded data lacks, e.g. a day off for a
// typhoon, read from the same CSV format.
func ExampleNew() {
	days, err := workcal.ParseHolidays(strings.NewReader("date,kind,name\n2026-03-02,off,台风停工\n"))
	if err != nil {
		panic(err)
	}
	cal, err := workcal.New(workcal.Options{Days: days})
	if err != nil {
		panic(err)
	}
	fmt.Println(cal.DayKind(workcal.Date{Year: 2026, Month: time.March, Day: 2}))
	fmt.Println(workcal.Default().DayKind(workcal.Date{Year: 2026, Month: time.February, Day: 14}))
	// Output:
	// off 台风停工
	// work 春节调休上班
}
