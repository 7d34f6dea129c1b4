package cases

import (
	"context"
	"strings"
	"sync"
	"time"
)

// Tracking numbers are 15 digits, easy to read out on the phone:
//
//	YYMMDD NNNNNNNN C
//
// the date of registration (Asia/Shanghai), eight random digits (so numbers
// cannot be walked one by one) and a Damm check digit, which catches every
// single wrong digit and every swap of two neighbouring digits.
const TrackingLen = 15

// dammTable is the quasigroup of order 10 of H. Michael Damm (2004).
var dammTable = [10][10]byte{
	{0, 3, 1, 7, 5, 9, 8, 6, 4, 2},
	{7, 0, 9, 2, 1, 5, 4, 8, 6, 3},
	{4, 2, 0, 6, 8, 7, 1, 3, 5, 9},
	{1, 7, 5, 0, 9, 8, 3, 4, 2, 6},
	{6, 1, 2, 3, 0, 4, 5, 9, 7, 8},
	{3, 6, 7, 4, 2, 0, 9, 5, 8, 1},
	{5, 8, 6, 9, 7, 2, 0, 1, 3, 4},
	{8, 9, 4, 5, 3, 6, 2, 0, 1, 7},
	{9, 4, 3, 8, 6, 1, 7, 2, 0, 5},
	{2, 5, 8, 1, 4, 3, 6, 7, 9, 0},
}

// dammDigit returns the check digit of a string of digits.
func dammDigit(digits string) byte {
	var interim byte
	for i := 0; i < len(digits); i++ {
		interim = dammTable[interim][digits[i]-'0']
	}
	return '0' + interim
}

var shanghai = func() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*3600)
}()

// TrackingNoFrom builds the tracking number of a case registered at t with
// serial n. Serials come from one database sequence, so within a day (fewer
// than 10^8 cases) no two cases share a number. The eight digits are the
// serial through a fixed permutation of 0..10^8-1, so that numbers handed
// out one after the other do not look consecutive (a lookup needs the
// phone's last four digits as well, and is throttled).
func TrackingNoFrom(t time.Time, n int64) string {
	const mod = 100_000_000
	p := (n%mod*serialMul + serialAdd) % mod // bijective: serialMul is coprime to 10^8
	var b [TrackingLen]byte
	copy(b[:], t.In(shanghai).Format("060102"))
	for i := 13; i >= 6; i-- {
		b[i] = byte('0' + p%10)
		p /= 10
	}
	b[14] = dammDigit(string(b[:14]))
	return string(b[:])
}

const (
	serialMul = 61803399
	serialAdd = 27182818
	// serialBlock serials are taken from the sequence at a time.
	serialBlock = 1000
)

// serials hands out sequence values in blocks (the sequence increments by
// serialBlock), one round trip per thousand cases.
type serials struct {
	mu        sync.Mutex
	next, end int64
}

func (s *serials) take(ctx context.Context, db querier) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next >= s.end {
		var v int64
		if err := db.QueryRow(ctx, `SELECT nextval('tracking_serial')`).Scan(&v); err != nil {
			return 0, err
		}
		s.next, s.end = v, v+serialBlock
	}
	v := s.next
	s.next++
	return v, nil
}

// NormalizeTrackingNo removes spaces and dashes people type or read out.
func NormalizeTrackingNo(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == ' ' || r == '-' || r == '　':
		default:
			return ""
		}
	}
	return b.String()
}

// ValidTrackingNo reports whether s has the form and a correct check digit.
func ValidTrackingNo(s string) bool {
	if len(s) != TrackingLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	if _, err := time.Parse("060102", s[:6]); err != nil {
		return false
	}
	return dammDigit(s) == '0'
}
