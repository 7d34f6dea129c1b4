// Package schema holds the database migrations, embedded in the binary.
//
// Migrations are files migrations/NNNN_name.sql, applied in order, each in
// its own transaction together with its row in schema_migrations. Every
// known migration not applied yet is applied (so versions added on parallel
// branches all arrive). A session-level advisory lock keeps two processes
// from migrating at once. A binary refuses to run against a database that
// holds a migration it does not know: one migrated by a newer binary.
//
// The tables are owned by the packages that query them (cases, router,
// channels, ...); this package only versions their definitions.
package schema

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var files embed.FS

// Migration is one versioned step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// ErrNewerSchema means the database was migrated by a newer binary.
var ErrNewerSchema = errors.New("schema: the database schema is newer than this binary; run a newer yici")

const lockKey = 0x79696369 // "yici"

// All returns the embedded migrations in order.
func All() ([]Migration, error) {
	entries, err := fs.ReadDir(files, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("schema: bad migration file name %q (want NNNN_name.sql)", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("schema: migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		b, err := files.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: rest, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// Latest is the version of the newest embedded migration.
func Latest() int {
	ms, err := All()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

type queryer interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
	QueryRow(context.Context, string, ...any) pgx.Row
}

// Applied returns the applied versions (none for an empty database).
func Applied(ctx context.Context, q queryer) (map[int]bool, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, err
	}
	out := map[int]bool{}
	if !exists {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	for _, v := range vs {
		out[v] = true
	}
	return out, err
}

// Current returns the highest applied version (0 for an empty database).
func Current(ctx context.Context, q queryer) (int, error) {
	applied, err := Applied(ctx, q)
	max := 0
	for v := range applied {
		if v > max {
			max = v
		}
	}
	return max, err
}

// compare returns the known migrations not applied, and the applied
// versions this binary does not know.
func compare(ms []Migration, applied map[int]bool) (pending []Migration, unknown []int) {
	known := map[int]bool{}
	for _, m := range ms {
		known[m.Version] = true
		if !applied[m.Version] {
			pending = append(pending, m)
		}
	}
	for v := range applied {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	sort.Ints(unknown)
	return pending, unknown
}

// Migrate applies every pending migration. It returns ErrNewerSchema when
// the database is ahead of this binary.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	_, err := MigrateReport(ctx, pool)
	return err
}

// MigrateReport is Migrate returning the versions it applied.
func MigrateReport(ctx context.Context, pool *pgxpool.Pool) ([]Migration, error) {
	ms, err := All()
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return nil, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lockKey)
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version integer PRIMARY KEY,
		name text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return nil, err
	}
	applied, err := Applied(ctx, conn)
	if err != nil {
		return nil, err
	}
	pending, unknown := compare(ms, applied)
	if len(unknown) > 0 {
		return nil, fmt.Errorf("%w (database has migrations %v this binary does not know)", ErrNewerSchema, unknown)
	}
	var done []Migration
	for _, m := range pending {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("schema: migration %04d_%s: %w", m.Version, m.Name, err)
		}
		done = append(done, m)
	}
	return done, nil
}

// Check reports whether the database holds exactly this binary's migrations.
func Check(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := All()
	if err != nil {
		return err
	}
	applied, err := Applied(ctx, pool)
	if err != nil {
		return err
	}
	pending, unknown := compare(ms, applied)
	switch {
	case len(unknown) > 0:
		return fmt.Errorf("%w (database has migrations %v this binary does not know)", ErrNewerSchema, unknown)
	case len(pending) > 0:
		return fmt.Errorf("schema: %d migrations pending (first %04d_%s)", len(pending), pending[0].Version, pending[0].Name)
	}
	return nil
}
