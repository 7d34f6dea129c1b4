package console_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"yici/cases"
	"yici/console"
	"yici/internal/auth"
	"yici/internal/pgtest"
	"yici/router/routertest"
)

// Transactions that commit out of the order of their event ids (one held
// open while others commit) are still read completely, in one order,
// without duplicates, by a reader tailing while they happen.
func TestTailIsCompleteUnderInterleavedCommits(t *testing.T) {
	db := pgtest.Pool(t, routertest.Zhejiang)
	ctx := context.Background()
	cs := cases.NewStore(db, cases.Options{})
	start, err := console.Horizon(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	agent := auth.Actor{Role: auth.Agent, Name: "话务员"}

	var wg sync.WaitGroup
	// After the writers end, the reader is told how many rows there are and
	// reads until it has them: rows become final only when every older
	// transaction of the cluster has ended (other tests share it), so an
	// empty read is not the end.
	wantC := make(chan int, 1)
	// The reader.
	var got []console.Item
	wg.Add(1)
	go func() {
		defer wg.Done()
		last := start
		deadline := time.Now().Add(3 * time.Minute)
		for {
			items, err := console.Fetch(ctx, db, last, 97)
			if err != nil {
				t.Error(err)
				return
			}
			got = append(got, items...)
			if len(items) > 0 {
				last = items[len(items)-1].Pos
			}
			select {
			case want := <-wantC:
				wantC <- want
				if len(got) >= want {
					return
				}
				if time.Now().After(deadline) {
					t.Errorf("reader still short after the writers ended: %d of %d", len(got), want)
					return
				}
			default:
			}
			time.Sleep(time.Millisecond)
		}
	}()
	// Writers: 8 goroutines registering cases and notes; one of every ten
	// transactions stays open a while after writing its event.
	var writers sync.WaitGroup
	for w := 0; w < 8; w++ {
		writers.Add(1)
		go func(w int) {
			defer writers.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 9))
			for i := 0; i < 40; i++ {
				err := cs.InTx(ctx, func(ctx context.Context) error {
					c, _, err := cs.Create(ctx, agent, cases.NewCase{Kind: cases.Help, Content: fmt.Sprintf("写入者 %d 第 %d 件", w, i),
						Channel: cases.ChannelConsole})
					if err != nil {
						return err
					}
					if _, err := cs.Note(ctx, agent, c.ID, "补充", false, nil); err != nil {
						return err
					}
					if rng.IntN(10) == 0 {
						time.Sleep(time.Duration(20+rng.IntN(60)) * time.Millisecond)
					}
					return nil
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	writers.Wait()
	var want int
	if err := db.QueryRow(ctx, `SELECT count(*) FROM case_events`).Scan(&want); err != nil {
		t.Fatal(err)
	}
	wantC <- want
	wg.Wait()

	// Every event row, exactly once, in increasing positions.
	seen := map[string]bool{}
	for i, it := range got {
		if i > 0 && it.Pos <= got[i-1].Pos {
			for j := max(0, i-5); j < min(len(got), i+3); j++ {
				t.Logf("%d: tx %d rank %d %s %s", j, got[j].Pos>>16, got[j].Pos&0xffff, got[j].Event.Action, got[j].Event.TrackingNo)
			}
			t.Fatalf("position %d after %d", it.Pos, got[i-1].Pos)
		}
		key := fmt.Sprintf("%s/%s/%s", it.Event.CaseID, it.Event.Action, it.Event.At)
		if seen[key] {
			t.Fatalf("event delivered twice: %s", key)
		}
		seen[key] = true
	}
	if len(got) != want || want != 8*40*2 {
		t.Fatalf("read %d events, the table has %d (want %d)", len(got), want, 8*40*2)
	}
	// A fresh read from the start gives the same sequence.
	again, err := console.Fetch(ctx, db, start, 100000)
	if err != nil || len(again) != len(got) {
		t.Fatalf("re-read: %d %v", len(again), err)
	}
	for i := range again {
		if again[i].Pos != got[i].Pos {
			t.Fatalf("re-read differs at %d", i)
		}
	}
}
