package cases

import (
	"testing"
	"time"
)

func TestTrackingNoForm(t *testing.T) {
	at := time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC) // 07:30 on the 28th in Shanghai
	no := TrackingNoFrom(at, 42)
	if len(no) != TrackingLen || TrackingLen > 16 {
		t.Fatalf("%q: length %d", no, len(no))
	}
	if no[:6] != "261128" {
		t.Errorf("%q: want the Shanghai date 261128 first", no)
	}
	if !ValidTrackingNo(no) {
		t.Errorf("%q: not valid", no)
	}
	if got := NormalizeTrackingNo("２６１１２８-" + no[6:10] + " " + no[10:]); got != no {
		t.Errorf("normalize: %q", got)
	}
}

// Every single wrong digit and every swap of two different neighbouring
// digits is caught by the check digit.
func TestTrackingNoCheckDigitCatchesErrors(t *testing.T) {
	at := time.Date(2026, 2, 14, 9, 0, 0, 0, shanghai)
	checked := 0
	for n := int64(0); n < 3000; n += 7 {
		no := TrackingNoFrom(at, n*7919)
		b := []byte(no)
		for i := range b {
			orig := b[i]
			for d := byte('0'); d <= '9'; d++ {
				if d == orig {
					continue
				}
				b[i] = d
				if dammDigit(string(b)) == '0' {
					t.Fatalf("%s: wrong digit at %d (%c) not caught: %s", no, i, d, b)
				}
				checked++
			}
			b[i] = orig
		}
		for i := 0; i+1 < len(b); i++ {
			if b[i] == b[i+1] {
				continue
			}
			b[i], b[i+1] = b[i+1], b[i]
			if dammDigit(string(b)) == '0' {
				t.Fatalf("%s: swap at %d not caught", no, i)
			}
			checked++
			b[i], b[i+1] = b[i+1], b[i]
		}
	}
	t.Logf("%d corrupted numbers all rejected", checked)
}

// Serials map to distinct numbers within a day.
func TestTrackingNoSerialsDistinct(t *testing.T) {
	at := time.Date(2026, 5, 9, 9, 0, 0, 0, shanghai)
	seen := map[string]int64{}
	for n := int64(1000); n < 201000; n++ {
		no := TrackingNoFrom(at, n)
		if prev, dup := seen[no]; dup {
			t.Fatalf("serials %d and %d share %s", prev, n, no)
		}
		seen[no] = n
	}
	if TrackingNoFrom(at, 1000)[6:14] == "00001000" {
		t.Error("serials are not permuted")
	}
}

func TestValidTrackingNoRejects(t *testing.T) {
	for _, s := range []string{"", "123", "2611280000000000", "26112800000000a", "261399123456780"} {
		if ValidTrackingNo(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

// FuzzTrackingNo: whatever people type, normalising and validating never
// panics, and only well-formed numbers with a correct check digit pass.
func FuzzTrackingNo(f *testing.F) {
	f.Add("261127 1234 5678 9")
	f.Add("２６１１２７-00000000-0")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeTrackingNo(s)
		if ValidTrackingNo(n) {
			if len(n) != TrackingLen || dammDigit(n) != '0' {
				t.Fatalf("%q accepted", n)
			}
		}
	})
}
