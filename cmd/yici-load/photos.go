package main

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
)

// makePhotos draws n small JPEG "photos" (640×480, some 30–60 KB each),
// different from each other (attachments are stored by content, so
// identical bytes would be stored once).
func makePhotos(n int, seed uint64) [][]byte {
	r := rand.New(rand.NewPCG(seed, 77))
	out := make([][]byte, n)
	for i := range out {
		img := image.NewRGBA(image.Rect(0, 0, 640, 480))
		br, bg, bb := r.IntN(200), r.IntN(200), r.IntN(200)
		for y := 0; y < 480; y++ {
			for x := 0; x < 640; x++ {
				img.Set(x, y, color.RGBA{uint8(br + x/8 + r.IntN(24)), uint8(bg + y/8 + r.IntN(24)), uint8(bb + r.IntN(40)), 255})
			}
		}
		var b bytes.Buffer
		_ = jpeg.Encode(&b, img, &jpeg.Options{Quality: 75})
		out[i] = b.Bytes()
	}
	return out
}
