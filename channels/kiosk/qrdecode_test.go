package kiosk_test

// A small QR code reader for the tests: it finds an axis-aligned code
// drawn at an integer scale in an image, reads the format information,
// unmasks, de-interleaves the blocks, checks every block's Reed-Solomon
// syndromes (it corrects nothing: a printed receipt must be perfect) and
// decodes numeric, alphanumeric and byte segments. Versions 1 to 10, any
// error correction level.

import (
	"errors"
	"fmt"
	"image"
	"strings"
)

// qrDecodeImage finds the QR code in img and decodes it.
func qrDecodeImage(img image.Image) (string, error) {
	m, err := qrLocate(img)
	if err != nil {
		return "", err
	}
	return qrDecode(m)
}

func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return (r+g+b)/3 < 0x8000
}

// qrLocate finds the top-left finder pattern (the first row, from the top,
// holding a dark run that starts a 7×7 finder), derives the module size
// and the symbol size from the top-right finder, and samples every module
// at its centre.
func qrLocate(img image.Image) ([][]bool, error) {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; {
			if !dark(img, x, y) {
				x++
				continue
			}
			x1 := x
			for x1 < b.Max.X && dark(img, x1, y) {
				x1++
			}
			run := x1 - x
			if run >= 7 && run%7 == 0 && isFinder(img, x, y, run/7) {
				s := run / 7
				// The top-right finder: the last run of the same length on this row.
				right := -1
				for xx := x1; xx+run <= b.Max.X; xx++ {
					if (xx == b.Min.X || !dark(img, xx-1, y)) && dark(img, xx, y) && isFinder(img, xx, y, s) {
						right = xx
					}
				}
				if right < 0 {
					return nil, errors.New("qr: no top-right finder")
				}
				n := (right + run - x) / s
				if (n-17)%4 != 0 || n < 21 {
					return nil, fmt.Errorf("qr: %d modules is no symbol size", n)
				}
				if !isFinder(img, x, y+(n-7)*s, s) {
					return nil, errors.New("qr: no bottom-left finder")
				}
				m := make([][]bool, n)
				for my := range m {
					m[my] = make([]bool, n)
					for mx := range m[my] {
						m[my][mx] = dark(img, x+mx*s+s/2, y+my*s+s/2)
					}
				}
				return m, nil
			}
			x = x1
		}
	}
	return nil, errors.New("qr: no finder pattern")
}

// isFinder reports whether a 7×7 finder pattern of module size s has its
// top-left corner at (x, y).
func isFinder(img image.Image, x, y, s int) bool {
	b := img.Bounds()
	if x+7*s > b.Max.X || y+7*s > b.Max.Y {
		return false
	}
	for j := 0; j < 7; j++ {
		for i := 0; i < 7; i++ {
			want := i == 0 || i == 6 || j == 0 || j == 6 || (i >= 2 && i <= 4 && j >= 2 && j <= 4)
			if dark(img, x+i*s+s/2, y+j*s+s/2) != want {
				return false
			}
		}
	}
	return true
}

// Error correction levels in the format information, and per version
// (1–10) the EC codewords per block and the number of blocks.
var (
	qrLevels      = [4]string{"M", "L", "H", "Q"}
	qrECCPerBlk   = map[string][11]int{"L": {0, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18}, "M": {0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26}, "Q": {0, 13, 22, 18, 26, 18, 24, 18, 22, 20, 24}, "H": {0, 17, 28, 22, 16, 22, 28, 26, 26, 24, 28}}
	qrNumBlocks   = map[string][11]int{"L": {0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4}, "M": {0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5}, "Q": {0, 1, 1, 2, 2, 4, 4, 6, 6, 8, 8}, "H": {0, 1, 1, 2, 4, 4, 4, 5, 6, 8, 8}}
	qrAlphanumT   = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	errQRChecksum = errors.New("qr: Reed-Solomon check failed")
)

// qrFormatBits is the 15-bit format information of a level's two bits and
// a mask (BCH(15,5) with generator 0x537, XOR 0x5412).
func qrFormatBits(levelBits, mask int) int {
	data := levelBits<<3 | mask
	rem := data
	for i := 0; i < 10; i++ {
		rem = rem<<1 ^ (rem>>9)*0x537
	}
	return (data<<10 | rem&0x3FF) ^ 0x5412
}

// qrReadFormat reads the first copy of the format information and returns
// the nearest valid one (at most 3 bits off).
func qrReadFormat(m [][]bool) (level string, mask int, err error) {
	bit := func(x, y int) int {
		if m[y][x] {
			return 1
		}
		return 0
	}
	v := 0
	for i := 0; i <= 5; i++ {
		v |= bit(8, i) << i
	}
	v |= bit(8, 7) << 6
	v |= bit(8, 8) << 7
	v |= bit(7, 8) << 8
	for i := 9; i < 15; i++ {
		v |= bit(14-i, 8) << i
	}
	best, bestDist := -1, 99
	for d := 0; d < 32; d++ {
		if dist := popcount(qrFormatBits(d>>3, d&7) ^ v); dist < bestDist {
			best, bestDist = d, dist
		}
	}
	if bestDist > 3 {
		return "", 0, errors.New("qr: unreadable format information")
	}
	return qrLevels[best>>3], best & 7, nil
}

func popcount(v int) int {
	n := 0
	for ; v != 0; v &= v - 1 {
		n++
	}
	return n
}

// qrFunction marks the modules that carry no data.
func qrFunction(n, version int) [][]bool {
	f := make([][]bool, n)
	for i := range f {
		f[i] = make([]bool, n)
	}
	fill := func(x0, y0, w, h int) {
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				if x >= 0 && y >= 0 && x < n && y < n {
					f[y][x] = true
				}
			}
		}
	}
	fill(0, 0, 9, 9)   // top-left finder, separator, format
	fill(n-8, 0, 8, 9) // top-right finder, separator, format
	fill(0, n-8, 9, 8) // bottom-left finder, separator, format, dark module
	fill(6, 0, 1, n)   // timing
	fill(0, 6, n, 1)
	if version >= 2 {
		num := version/7 + 2
		step := (version*4 + num*2 + 1) / (num*2 - 2) * 2
		pos := make([]int, num)
		pos[0] = 6
		for i, p := num-1, n-7; i >= 1; i, p = i-1, p-step {
			pos[i] = p
		}
		for _, cy := range pos {
			for _, cx := range pos {
				if (cx == 6 && cy == 6) || (cx == 6 && cy == n-7) || (cx == n-7 && cy == 6) {
					continue
				}
				fill(cx-2, cy-2, 5, 5)
			}
		}
	}
	if version >= 7 {
		fill(n-11, 0, 3, 6)
		fill(0, n-11, 6, 3)
	}
	return f
}

func qrMask(mask, x, y int) bool {
	switch mask {
	case 0:
		return (x+y)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (x+y)%3 == 0
	case 4:
		return (x/3+y/2)%2 == 0
	case 5:
		return x*y%2+x*y%3 == 0
	case 6:
		return (x*y%2+x*y%3)%2 == 0
	default:
		return ((x+y)%2+x*y%3)%2 == 0
	}
}

// gfMul multiplies in GF(256) with the QR polynomial x⁸+x⁴+x³+x²+1.
func gfMul(a, b byte) byte {
	var p byte
	for ; b != 0; b >>= 1 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1D
		}
	}
	return p
}

// rsValid reports whether a block (data then EC codewords) has zero
// syndromes at α⁰ … α^(ecc-1), the roots of the QR generator polynomial.
func rsValid(block []byte, ecc int) bool {
	var alpha byte = 1
	for i := 0; i < ecc; i++ {
		var s byte
		for _, c := range block {
			s = gfMul(s, alpha) ^ c
		}
		if s != 0 {
			return false
		}
		alpha = gfMul(alpha, 2)
	}
	return true
}

// qrDecode decodes a module matrix (true is dark), without quiet zone.
func qrDecode(m [][]bool) (string, error) {
	n := len(m)
	version := (n - 17) / 4
	if version < 1 || version > 10 || n != 17+4*version {
		return "", fmt.Errorf("qr: size %d is not a version 1–10 symbol", n)
	}
	level, mask, err := qrReadFormat(m)
	if err != nil {
		return "", err
	}
	fn := qrFunction(n, version)
	// Codewords in placement order: two-module columns from the right,
	// alternately upward and downward, skipping the vertical timing column.
	var bits []bool
	for right := n - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := 0; vert < n; vert++ {
			for j := 0; j < 2; j++ {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = n - 1 - vert
				}
				if !fn[y][x] {
					bits = append(bits, m[y][x] != qrMask(mask, x, y))
				}
			}
		}
	}
	raw := make([]byte, len(bits)/8)
	for i := range raw {
		for j := 0; j < 8; j++ {
			if bits[i*8+j] {
				raw[i] |= 0x80 >> j
			}
		}
	}
	// De-interleave: short blocks first, long ones have one more data codeword.
	ecc, nb := qrECCPerBlk[level][version], qrNumBlocks[level][version]
	short := nb - len(raw)%nb
	shortLen := len(raw) / nb
	blocks := make([][]byte, nb)
	k := 0
	for i := 0; i <= shortLen; i++ {
		for j := 0; j < nb; j++ {
			if i == shortLen-ecc && j < short {
				continue // short blocks have no codeword here
			}
			if k < len(raw) {
				blocks[j] = append(blocks[j], raw[k])
				k++
			}
		}
	}
	var data []byte
	for j, blk := range blocks {
		if !rsValid(blk, ecc) {
			return "", fmt.Errorf("%w (block %d)", errQRChecksum, j)
		}
		data = append(data, blk[:len(blk)-ecc]...)
	}
	return qrSegments(data, version)
}

// qrSegments decodes the data bit stream.
func qrSegments(data []byte, version int) (string, error) {
	pos := 0
	read := func(nbits int) (int, bool) {
		if pos+nbits > len(data)*8 {
			return 0, false
		}
		v := 0
		for i := 0; i < nbits; i++ {
			v = v<<1 | int(data[pos/8]>>(7-pos%8)&1)
			pos++
		}
		return v, true
	}
	big := version >= 10
	var out strings.Builder
	for {
		mode, ok := read(4)
		if !ok || mode == 0 {
			return out.String(), nil
		}
		switch mode {
		case 1: // numeric
			cb := 10
			if big {
				cb = 12
			}
			count, ok := read(cb)
			for ok && count > 0 {
				take := min(count, 3)
				var v int
				v, ok = read([]int{0, 4, 7, 10}[take])
				out.WriteString(fmt.Sprintf("%0*d", take, v))
				count -= take
			}
			if !ok {
				return "", errors.New("qr: truncated numeric segment")
			}
		case 2: // alphanumeric
			cb := 9
			if big {
				cb = 11
			}
			count, ok := read(cb)
			for ok && count > 0 {
				if count >= 2 {
					var v int
					if v, ok = read(11); ok && v < 45*45 {
						out.WriteByte(qrAlphanumT[v/45])
						out.WriteByte(qrAlphanumT[v%45])
					}
					count -= 2
				} else {
					var v int
					if v, ok = read(6); ok && v < 45 {
						out.WriteByte(qrAlphanumT[v])
					}
					count--
				}
			}
			if !ok {
				return "", errors.New("qr: truncated alphanumeric segment")
			}
		case 4: // byte
			cb := 8
			if big {
				cb = 16
			}
			count, ok := read(cb)
			for ok && count > 0 {
				var v int
				if v, ok = read(8); ok {
					out.WriteByte(byte(v))
				}
				count--
			}
			if !ok {
				return "", errors.New("qr: truncated byte segment")
			}
		default:
			return "", fmt.Errorf("qr: unsupported mode %04b", mode)
		}
	}
}
