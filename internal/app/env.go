package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/pgserver"
	"yici/internal/schema"
	"yici/internal/workcal"
)

// Env is an open database: the pool, and the private server when this
// process runs one.
type Env struct {
	Cfg  Config
	Log  *slog.Logger
	Pool *pgxpool.Pool
	PG   *pgserver.Server // nil with an external database
	// Applied are the migrations applied at open.
	Applied []schema.Migration
}

// Open connects to the database of cfg: DATABASE_URL, or the private
// cluster of the data directory (found running, or started and stopped
// with Close). With migrate, pending migrations are applied.
func Open(ctx context.Context, cfg Config, log *slog.Logger, migrate bool) (*Env, error) {
	e := &Env{Cfg: cfg, Log: log}
	url := cfg.DatabaseURL
	if url == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, err
		}
		srv, err := pgserver.Start(ctx, pgserver.Options{Dir: cfg.DataDir, Durable: true, Logger: log})
		if err != nil {
			return nil, err
		}
		e.PG = srv
		if err := ensureDatabase(ctx, srv); err != nil {
			srv.Stop()
			return nil, err
		}
		url = srv.URL("yici")
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if cfg.MaxConns > 0 {
		pcfg.MaxConns = int32(cfg.MaxConns)
	}
	pcfg.ConnConfig.RuntimeParams["application_name"] = "yici"
	pcfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	e.Pool, err = pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		e.Close()
		return nil, err
	}
	if err := e.Pool.Ping(ctx); err != nil {
		e.Close()
		return nil, fmt.Errorf("database: %w", err)
	}
	if migrate {
		e.Applied, err = schema.MigrateReport(ctx, e.Pool)
		if err != nil {
			e.Close()
			return nil, err
		}
		for _, m := range e.Applied {
			log.Info("migrated", "version", m.Version, "name", m.Name)
		}
	} else if err := schema.Check(ctx, e.Pool); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func ensureDatabase(ctx context.Context, srv *pgserver.Server) error {
	pool, err := pgxpool.New(ctx, srv.URL("postgres"))
	if err != nil {
		return err
	}
	defer pool.Close()
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = 'yici')`).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := pool.Exec(ctx, `CREATE DATABASE yici`); err != nil {
			return err
		}
	}
	return nil
}

// Fresh reports whether this open created the schema (a new database).
func (e *Env) Fresh() bool {
	return len(e.Applied) > 0 && e.Applied[0].Version == 1
}

// FilesDir is where uploaded files are kept.
func (e *Env) FilesDir() string { return filepath.Join(e.Cfg.DataDir, "files") }

// Close closes the pool and stops the private server when this process
// started it.
func (e *Env) Close() {
	if e.Pool != nil {
		e.Pool.Close()
	}
	if e.PG != nil {
		e.PG.Stop()
	}
}

// Calendar builds the working-time calendar: the embedded holidays, the
// operator's file (YICI_HOLIDAYS) and the calendar_days table, later ones
// overriding earlier ones.
func (e *Env) Calendar(ctx context.Context) (*workcal.Calendar, error) {
	days := workcal.EmbeddedDays()
	if e.Cfg.HolidaysFile != "" {
		f, err := os.Open(e.Cfg.HolidaysFile)
		if err != nil {
			return nil, fmt.Errorf("YICI_HOLIDAYS: %w", err)
		}
		extra, err := workcal.ParseHolidays(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("YICI_HOLIDAYS %s: %w", e.Cfg.HolidaysFile, err)
		}
		days = append(days, extra...)
	}
	rows, err := e.Pool.Query(ctx, `SELECT to_char(day, 'YYYY-MM-DD'), kind, name FROM calendar_days ORDER BY day`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d, kind, name string
		if err := rows.Scan(&d, &kind, &name); err != nil {
			return nil, err
		}
		date, err := workcal.ParseDate(d)
		if err != nil {
			return nil, err
		}
		days = append(days, workcal.Day{Date: date, Kind: workcal.Kind(kind), Name: name})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return workcal.New(workcal.Options{Days: days})
}
