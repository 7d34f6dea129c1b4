package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Bulk loading into tables with a dozen indexes is slow: each row updates
// each index. The filler can drop the secondary indexes of the tables it
// writes (those backing no primary key or uniqueness: the unique ones stay
// and keep checking) and build them again at the end, which is several
// times faster. Their definitions are kept in a table first, so that an
// interrupted fill builds them at its next run (or see -fill-reindex).

var fillTables = []string{"cases", "case_events", "assignments", "case_timers"}

const savedIndexes = "yici_load_fill_indexes"

// dropIndexes saves and drops the secondary indexes of the fill tables.
func dropIndexes(ctx context.Context, db *pgxpool.Pool, out io.Writer) error {
	if _, err := db.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+savedIndexes+` (name text PRIMARY KEY, def text NOT NULL)`); err != nil {
		return err
	}
	rows, err := db.Query(ctx, `SELECT c.relname, pg_get_indexdef(i.indexrelid)
		FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
		WHERE t.relname = ANY($1) AND t.relnamespace = 'public'::regnamespace AND NOT i.indisprimary AND NOT i.indisunique
		ORDER BY 1`, fillTables)
	if err != nil {
		return err
	}
	type idx struct{ name, def string }
	var idxs []idx
	for rows.Next() {
		var x idx
		if err := rows.Scan(&x.name, &x.def); err != nil {
			return err
		}
		idxs = append(idxs, x)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, x := range idxs {
		if _, err := db.Exec(ctx, `INSERT INTO `+savedIndexes+` (name, def) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, x.name, x.def); err != nil {
			return err
		}
		if _, err := db.Exec(ctx, `DROP INDEX public.`+quoteIdent(x.name)); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "dropped %d secondary indexes for the load (kept in %s until they are built again)\n", len(idxs), savedIndexes)
	return nil
}

// buildIndexes builds the saved indexes again and forgets them.
func buildIndexes(ctx context.Context, db *pgxpool.Pool, out io.Writer) error {
	var exists bool
	if err := db.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, savedIndexes).Scan(&exists); err != nil || !exists {
		return err
	}
	rows, err := db.Query(ctx, `SELECT name, def FROM `+savedIndexes+` ORDER BY name`)
	if err != nil {
		return err
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			return err
		}
		names, defs = append(names, n), append(defs, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	conn, err := db.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for _, set := range []string{`SET maintenance_work_mem = '1GB'`, `SET max_parallel_maintenance_workers = 2`} {
		if _, err := conn.Exec(ctx, set); err != nil {
			return err
		}
	}
	for i, def := range defs {
		t := time.Now()
		var have bool
		if err := conn.QueryRow(ctx, `SELECT to_regclass('public.' || quote_ident($1)) IS NOT NULL`, names[i]).Scan(&have); err != nil {
			return err
		}
		if !have {
			if _, err := conn.Exec(ctx, def); err != nil {
				return fmt.Errorf("%s: %w", def, err)
			}
		}
		if _, err := conn.Exec(ctx, `DELETE FROM `+savedIndexes+` WHERE name = $1`, names[i]); err != nil {
			return err
		}
		fmt.Fprintf(out, "  index %s built in %.1fs\n", names[i], time.Since(t).Seconds())
	}
	_, err = conn.Exec(ctx, `DROP TABLE `+savedIndexes)
	return err
}

func quoteIdent(s string) string {
	out := []byte{'"'}
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			out = append(out, '"')
		}
		out = append(out, s[i])
	}
	return string(append(out, '"'))
}
