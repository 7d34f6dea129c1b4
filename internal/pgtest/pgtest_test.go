package pgtest_test

import (
	"context"
	"testing"

	"yici/internal/pgtest"
	"yici/internal/schema"
)

func TestFreshDatabasePerTest(t *testing.T) {
	ctx := context.Background()
	a := pgtest.Pool(t)
	b := pgtest.Pool(t)
	if _, err := a.Exec(ctx, `INSERT INTO calendar_days (day, kind) VALUES ('2030-01-02', 'off')`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := b.QueryRow(ctx, `SELECT count(*) FROM calendar_days`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("databases are not isolated: %d rows leaked", n)
	}
	if err := schema.Check(ctx, a); err != nil {
		t.Fatalf("template not migrated: %v", err)
	}
}
