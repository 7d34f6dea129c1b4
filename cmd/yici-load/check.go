package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"yici/internal/app"
)

// CheckAcked reads an -acked file and looks every tracking number up in
// the database (-data or -database-url): after a fault test, each
// acknowledged submission must be there, exactly once. It prints the
// missing ones and fails when there are any.
func CheckAcked(ctx context.Context, path string, fc FillConfig, stdout, stderr io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var nos []string
	seen := map[string]bool{}
	dups := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		no, _, _ := strings.Cut(line, "\t")
		if seen[no] {
			dups++ // a retry answered with the same case: fine
			continue
		}
		seen[no] = true
		nos = append(nos, no)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	cfg := app.FromEnv()
	if fc.DataDir != "" {
		cfg.DataDir = fc.DataDir
	}
	cfg.DatabaseURL = fc.DatabaseURL
	cfg.LogLevel = "warn"
	env, err := app.Open(ctx, cfg, cfg.Logger(), false)
	if err != nil {
		return err
	}
	defer env.Close()
	missing := 0
	for i := 0; i < len(nos); i += 10000 {
		batch := nos[i:min(i+10000, len(nos))]
		rows, err := env.Pool.Query(ctx, `SELECT n FROM unnest($1::text[]) n WHERE NOT EXISTS (SELECT 1 FROM cases c WHERE c.tracking_no = n)`, batch)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				return err
			}
			missing++
			fmt.Fprintf(stdout, "missing %s\n", n)
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d acknowledged tracking numbers (%d repeated lines), %d missing from the database\n", len(nos), dups, missing)
	if missing > 0 {
		return fmt.Errorf("%d acknowledged submissions are not in the database", missing)
	}
	return nil
}
