package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"yici/cases"
	"yici/router/territory"
)

func TestParseMix(t *testing.T) {
	m, err := ParseMix("submit=70, track=20,queue=10", knownOps)
	if err != nil {
		t.Fatal(err)
	}
	if m.Total() != 100 || m.String() != "submit=70,track=20,queue=10" {
		t.Fatalf("got %s (total %d)", m, m.Total())
	}
	if !m.Has(OpTrack) || m.Has(OpWeb) {
		t.Fatal("Has")
	}
	if got := []string{m.At(0), m.At(69), m.At(70), m.At(89), m.At(90), m.At(99)}; !slices.Equal(got, []string{"submit", "submit", "track", "track", "queue", "queue"}) {
		t.Fatalf("At: %v", got)
	}
	if m, err := ParseMix("submit,web=0", knownOps); err != nil || m.String() != "submit=1" {
		t.Fatalf("a bare name weighs 1, a zero weight drops out: %v %v", m, err)
	}
	for _, bad := range []string{"", "submit=0", "submit=-1", "submit=x", "fly=3", "submit=1,submit=2", "=4"} {
		if _, err := ParseMix(bad, knownOps); err == nil {
			t.Errorf("ParseMix(%q): no error", bad)
		}
	}
	// Any names without a known list (console accounts).
	u, err := ParseMix("agent=1,wenxin-zf=3", nil)
	if err != nil {
		t.Fatal(err)
	}
	spread := u.Spread(10)
	if n := strings.Count(strings.Join(spread, " "), "wenxin-zf"); len(spread) != 10 || n < 7 || n > 8 {
		t.Fatalf("Spread(10) of 1:3 = %v", spread)
	}
	// Pick follows the weights.
	r := rand.New(rand.NewPCG(1, 2))
	counts := map[string]int{}
	for i := 0; i < 100000; i++ {
		counts[m.Pick(r)]++
	}
	if math.Abs(float64(counts["submit"])/100000-0.7) > 0.01 || math.Abs(float64(counts["queue"])/100000-0.1) > 0.01 {
		t.Fatalf("Pick proportions: %v", counts)
	}
}

func TestBuckets(t *testing.T) {
	prev := -1
	for v := int64(0); v < 1<<22; v += 1 + v/97 {
		b := bucketOf(v)
		if b < prev {
			t.Fatalf("bucketOf not monotone at %d", v)
		}
		prev = b
		lo, hi := bucketRange(b)
		if v < lo || v > hi {
			t.Fatalf("%d in bucket %d = [%d, %d]", v, b, lo, hi)
		}
		if v >= subCount && float64(hi-lo+1)/float64(lo) > 1.0/subCount+1e-9 {
			t.Fatalf("bucket %d too wide: [%d, %d]", b, lo, hi)
		}
	}
}

func TestQuantiles(t *testing.T) {
	var h Hist
	// 1 … 10000 µs, once each.
	for v := int64(1); v <= 10000; v++ {
		h.RecordMicros(v)
	}
	s := h.Snapshot()
	for _, c := range []struct {
		q    float64
		want int64
	}{{0.5, 5000}, {0.9, 9000}, {0.99, 9900}, {1, 10000}} {
		got := s.Quantile(c.q)
		if math.Abs(float64(got-c.want))/float64(c.want) > 0.008 {
			t.Errorf("q%.2f = %d, want %d ± 0.8%%", c.q, got, c.want)
		}
	}
	if s.Max != 10000 || s.N != 10000 || math.Abs(s.Mean()-5000.5) > 1e-9 {
		t.Fatalf("max %d n %d mean %f", s.Max, s.N, s.Mean())
	}
	// The difference of two snapshots is what came in between.
	h.Record(2 * time.Second)
	d := h.Snapshot().Sub(s)
	if d.N != 1 || d.Quantile(0.5) < 1_980_000 || d.Quantile(0.5) > 2_000_000 {
		t.Fatalf("delta: n %d p50 %d", d.N, d.Quantile(0.5))
	}
	var empty Hist
	if empty.Snapshot().Quantile(0.99) != 0 {
		t.Fatal("empty histogram")
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Now()
	w := Window{From: t0, To: t0.Add(time.Second)}
	if !w.In(t0) || w.In(t0.Add(time.Second)) || w.In(t0.Add(-time.Nanosecond)) {
		t.Fatal("window bounds")
	}
	st := newOpStats("x")
	st.Done(w, t0.Add(-time.Millisecond), time.Millisecond, "")
	st.Done(w, t0.Add(time.Millisecond), 3*time.Millisecond, "")
	st.Done(w, t0.Add(time.Millisecond), time.Millisecond, "timeout")
	if st.ok.Load() != 1 || st.okAll.Load() != 2 || st.fail.Load() != 1 || st.measured.Snapshot().Max != 3000 {
		t.Fatal("window counting")
	}
}

func TestGeneratedRequests(t *testing.T) {
	g, err := newGeo(territory.Zhejiang())
	if err != nil {
		t.Fatal(err)
	}
	ge := newGen(g, 7, 0.2)
	wenxin := 0
	for i := 0; i < 2000; i++ {
		rq := ge.request()
		if rq.Content == "" || strings.ContainsAny(rq.Content, "[]{}|") {
			t.Fatalf("bad content %q", rq.Content)
		}
		if _, ok := cases.NormalizePhone(rq.Phone); !ok {
			t.Fatalf("bad phone %q", rq.Phone)
		}
		if rq.Place.Township == WenxinCode {
			wenxin++
		}
	}
	if wenxin < 300 || wenxin > 500 {
		t.Fatalf("文新街道 share: %d of 2000", wenxin)
	}
}

func TestFieldScan(t *testing.T) {
	msg := []byte(`{"v":1,"type":"event","pos":72089600,"event":{"pos":72089600,"case_id":"x","tracking_no":"261128923852170","title":"t"}}`)
	if string(field(msg, keyType, '"')) != "event" || string(field(msg, keyPos, ',')) != "72089600" || string(field(msg, keyTracking, '"')) != "261128923852170" {
		t.Fatal("field")
	}
}
