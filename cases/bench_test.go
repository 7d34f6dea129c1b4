package cases

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"yici/internal/auth"
)

// BenchmarkCreate registers a case with its first event (one transaction).
func BenchmarkCreate(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	actor := auth.SystemActor("bench")
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, _, err := s.Create(ctx, actor, complaint(fmt.Sprint("bench-", i))); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateParallel is Create from many goroutines (pool of 32).
func BenchmarkCreateParallel(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	actor := auth.SystemActor("bench")
	b.ReportAllocs()
	b.SetParallelism(16)
	var n int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			id := fmt.Sprint("par-", atomicAdd(&n))
			if _, _, err := s.Create(ctx, actor, complaint(id)); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTransition is one guarded transition (挂起 or 恢复, alternately)
// on a case in progress: lock, check, update, event.
func BenchmarkTransition(b *testing.B) {
	s, _ := newStore(b)
	ctx := context.Background()
	c, _, err := s.Create(ctx, agent, complaint(""))
	if err != nil {
		b.Fatal(err)
	}
	ok(b)(s.Dispatch(ctx, dispatcher, c.ID, DispatchPlan{Lead: "330106001-ZF"}, ""))
	ok(b)(s.Sign(ctx, leadOff, c.ID, ""))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if i%2 == 1 {
			_, err = s.Suspend(ctx, dispatcher, c.ID, "等待鉴定")
		} else {
			_, err = s.Resume(ctx, dispatcher, c.ID, "")
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

func atomicAdd(p *int64) int64 { return atomic.AddInt64(p, 1) }
