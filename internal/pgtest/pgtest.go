// Package pgtest gives tests a real PostgreSQL: one private cluster per test
// process (started on first use, stopped when the process exits, however it
// exits), and a fresh database per test, cloned from a migrated template.
//
// Set YICI_TEST_DATABASE_URL to use an external server instead (its user
// must be allowed to create databases).
package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"yici/internal/pgserver"
	"yici/internal/schema"
)

var (
	once    sync.Once
	baseURL string // URL of the maintenance database, with %s for the name
	initErr error
	counter atomic.Int64

	tplMu     sync.Mutex
	templates = map[string]error{}
)

// Template prepares a named template database once per process: the schema
// is migrated, then setup (when not nil) fills it. Tests that need reference
// data (units, say) name a template with that setup.
type Template struct {
	Name  string
	Setup func(ctx context.Context, pool *pgxpool.Pool) error
}

// Schema is the template with the migrated schema and nothing else.
var Schema = Template{Name: "schema"}

func start() {
	ctx := context.Background()
	if u := os.Getenv("YICI_TEST_DATABASE_URL"); u != "" {
		cfg, err := pgx.ParseConfig(u)
		if err != nil {
			initErr = err
			return
		}
		baseURL = strings.Replace(u, "/"+cfg.Database, "/%s", 1)
		return
	}
	root := filepath.Join(os.TempDir(), fmt.Sprintf("yici-pgtest-%d", os.Getuid()))
	if err := os.MkdirAll(root, 0o755); err != nil {
		initErr = err
		return
	}
	sweep(root)
	dir := filepath.Join(root, strconv.Itoa(os.Getpid()))
	_ = os.RemoveAll(dir)
	s, err := pgserver.Start(ctx, pgserver.Options{Dir: dir})
	if err != nil {
		initErr = err
		return
	}
	baseURL = strings.Replace(s.URL("postgres"), "/postgres?", "/%s?", 1)
}

// sweep removes the clusters of test processes that have ended.
func sweep(root string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := syscall.Kill(pid, 0); err == nil || err == syscall.EPERM {
			continue
		}
		// The owner is gone; its server exited with it (parent-death signal).
		_ = os.RemoveAll(filepath.Join(root, e.Name()))
		if target, err := os.Readlink(filepath.Join(root, e.Name(), "pg")); err == nil {
			_ = os.RemoveAll(target)
		}
	}
}

// URL returns the URL of database name on the test server.
func URL(tb testing.TB, name string) string {
	tb.Helper()
	once.Do(start)
	if initErr != nil {
		tb.Fatalf("pgtest: no PostgreSQL: %v", initErr)
	}
	return fmt.Sprintf(baseURL, name)
}

func exec(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func ensureTemplate(tb testing.TB, t Template) string {
	tb.Helper()
	name := "tpl_" + t.Name
	tplMu.Lock()
	defer tplMu.Unlock()
	if err, ok := templates[t.Name]; ok {
		if err != nil {
			tb.Fatalf("pgtest: template %s: %v", t.Name, err)
		}
		return name
	}
	err := func() error {
		ctx := context.Background()
		admin := URL(tb, "postgres")
		_ = exec(ctx, admin, "DROP DATABASE IF EXISTS "+name)
		if err := exec(ctx, admin, "CREATE DATABASE "+name); err != nil {
			return err
		}
		pool, err := pgxpool.New(ctx, URL(tb, name))
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := schema.Migrate(ctx, pool); err != nil {
			return err
		}
		if t.Setup != nil {
			if err := t.Setup(ctx, pool); err != nil {
				return err
			}
		}
		return nil
	}()
	templates[t.Name] = err
	if err != nil {
		tb.Fatalf("pgtest: template %s: %v", t.Name, err)
	}
	return name
}

// NewDatabase creates a fresh database cloned from the template and returns
// its URL; it is dropped when the test ends.
func NewDatabase(tb testing.TB, t Template) string {
	tb.Helper()
	tpl := ensureTemplate(tb, t)
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	ctx := context.Background()
	admin := URL(tb, "postgres")
	var err error
	for i := 0; i < 20; i++ {
		// CREATE DATABASE fails while another session uses the template.
		if err = exec(ctx, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", name, tpl)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		_ = exec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return URL(tb, name)
}

// Pool returns a pool on a fresh database cloned from the template (Schema
// when none is given), closed and dropped when the test ends.
func Pool(tb testing.TB, tpl ...Template) *pgxpool.Pool {
	tb.Helper()
	t := Schema
	if len(tpl) > 0 {
		t = tpl[0]
	}
	url := NewDatabase(tb, t)
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}
