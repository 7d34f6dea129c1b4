package kiosk_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// The format information of the standard (ISO/IEC 18004, table C.1): the
// test reader finds level and mask with it.
func TestQRFormatBitsKnownVectors(t *testing.T) {
	want := map[[2]int]string{
		{0, 0}: "101010000010010", {0, 1}: "101000100100101", {0, 2}: "101111001111100", {0, 3}: "101101101001011",
		{0, 4}: "100010111111001", {0, 5}: "100000011001110", {0, 6}: "100111110010111", {0, 7}: "100101010100000", // M
		{1, 0}: "111011111000100", {1, 7}: "110100101110110", // L
		{2, 0}: "001011010001001", {3, 0}: "011010101011111", // H, Q
	}
	for k, w := range want {
		if got := fmt.Sprintf("%015b", qrFormatBits(k[0], k[1])); got != w {
			t.Errorf("format bits of level %d mask %d = %s, want %s", k[0], k[1], got, w)
		}
	}
}

// The Reed-Solomon check accepts the worked example of a version 1-M code
// (HELLO WORLD: 16 data, 10 EC codewords) and refuses it with any one
// codeword changed.
func TestQRReedSolomonKnownVector(t *testing.T) {
	block := []byte{32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17,
		196, 35, 39, 119, 235, 215, 231, 226, 93, 23}
	if !rsValid(block, 10) {
		t.Fatal("the HELLO WORLD 1-M block fails the check")
	}
	for i := range block {
		bad := append([]byte(nil), block...)
		bad[i] ^= 0x01
		if rsValid(bad, 10) {
			t.Errorf("a change of codeword %d passes the check", i)
		}
	}
	got, err := qrSegments(block[:16], 1)
	if err != nil || got != "HELLO WORLD" {
		t.Fatalf("segments: %q, %v", got, err)
	}
}

// Codes of the QR module the receipts use read back with the test reader,
// for every level, versions 1 to 10 and the three modes it mixes.
func TestQRRoundTrip(t *testing.T) {
	levels := []qrcode.RecoveryLevel{qrcode.Low, qrcode.Medium, qrcode.High, qrcode.Highest}
	var inputs []string
	for n := 1; n <= 120; n += 7 {
		inputs = append(inputs, "http://kiosk.example.gov.cn/track?no="+strings.Repeat("7", n%16)+strings.Repeat("x", n))
		inputs = append(inputs, strings.Repeat("0123456789", n/10+1)[:n])
		inputs = append(inputs, strings.Repeat("HELLO WORLD $%*+-./:", n/20+1)[:n])
	}
	read := 0
	versions := map[int]bool{}
	for _, in := range inputs {
		for _, lv := range levels {
			q, err := qrcode.New(in, lv)
			if err != nil || q.VersionNumber > 10 {
				continue
			}
			q.DisableBorder = true
			got, err := qrDecode(q.Bitmap())
			if err != nil || got != in {
				t.Errorf("level %d version %d %q: read %q, %v", lv, q.VersionNumber, in, got, err)
			}
			read++
			versions[q.VersionNumber] = true
		}
	}
	if read < 100 || len(versions) != 10 {
		t.Fatalf("only %d codes of %d versions read", read, len(versions))
	}
}

// The reader refuses a damaged code rather than guess.
func TestQRReaderRefusesDamage(t *testing.T) {
	q, err := qrcode.New("http://localhost/track?no=260315123456789", qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	q.DisableBorder = true
	m := q.Bitmap()
	n := len(m)
	m[n-1][n-1] = !m[n-1][n-1] // the first data module
	if _, err := qrDecode(m); !errors.Is(err, errQRChecksum) {
		t.Fatalf("damaged code: %v", err)
	}
}
