package pgserver

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A second Start on the same directory finds the running server instead of
// starting another; Stop by the owner ends it; a new Start restarts it.
func TestStartFindStop(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s1, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Stop()
	if !s1.Owned() {
		t.Fatal("first start does not own the server")
	}
	s2, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if s2.Owned() || s2.Port != s1.Port {
		t.Fatalf("second start: owned=%v port %d vs %d", s2.Owned(), s2.Port, s1.Port)
	}
	s2.Stop() // not the owner: nothing happens
	conn, err := pgx.Connect(ctx, s1.URL("postgres"))
	if err != nil {
		t.Fatalf("server stopped by a non-owner: %v", err)
	}
	conn.Close(ctx)
	s1.Stop()
	select {
	case <-s1.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("server did not stop")
	}
	s3, err := Start(ctx, Options{Dir: dir})
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s3.Stop()
	if !s3.Owned() {
		t.Fatal("restart does not own the server")
	}
}

func TestFindBinDir(t *testing.T) {
	if _, err := FindBinDir(); err != nil {
		t.Fatal(err)
	}
}
