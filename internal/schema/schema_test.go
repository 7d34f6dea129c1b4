package schema_test

import (
	"context"
	"errors"
	"testing"

	"yici/internal/pgtest"
	"yici/internal/schema"
)

func TestMigrateIsIdempotentAndRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	db := pgtest.Pool(t) // migrated template
	applied, err := schema.MigrateReport(ctx, db)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second migrate applied %d: %v", len(applied), err)
	}
	if err := schema.Check(ctx, db); err != nil {
		t.Fatal(err)
	}
	// A newer binary migrated this database.
	if _, err := db.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')`, schema.Latest()+1); err != nil {
		t.Fatal(err)
	}
	if err := schema.Migrate(ctx, db); !errors.Is(err, schema.ErrNewerSchema) {
		t.Fatalf("migrate against a newer schema: %v", err)
	}
	if err := schema.Check(ctx, db); !errors.Is(err, schema.ErrNewerSchema) {
		t.Fatalf("check against a newer schema: %v", err)
	}
}

func TestMigrationsAreNumberedUniquely(t *testing.T) {
	ms, err := schema.All()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].Version != 1 {
		t.Fatal("the first migration must be version 1")
	}
}
