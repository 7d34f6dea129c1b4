package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"yici/internal/pgtest"
	"yici/router/routertest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// yici builds the binary once per test process.
func yici(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "yici-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "yici")
		if out, err := exec.Command("go", "build", "-o", binPath, "yici/cmd/yici").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	return binPath
}

// `yici keys create` prints the secret alone on the last line, once; list
// and revoke work; the key is stored hashed.
func TestKeysCommand(t *testing.T) {
	bin := yici(t)
	url := pgtest.NewDatabase(t, routertest.Zhejiang)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DATABASE_URL="+url, "YICI_LOG_LEVEL=error")
		out, err := cmd.Output()
		return string(out), err
	}
	out, err := run("keys", "create", "--kind", "kiosk", "--name", "文新便民中心1号机", "--township", "330106013")
	if err != nil {
		t.Fatalf("create: %v %s", err, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	secret := lines[len(lines)-1]
	if !strings.HasPrefix(secret, "yk_kiosk_") || strings.Contains(secret, " ") {
		t.Fatalf("last line is not the secret alone: %q", secret)
	}
	if _, err := run("keys", "create", "--kind", "kiosk", "--name", "no-township"); err == nil {
		t.Fatal("a kiosk without a township was created")
	}
	list, err := run("keys", "list")
	if err != nil || !strings.Contains(list, "文新便民中心1号机") || strings.Contains(list, secret) {
		t.Fatalf("list: %v\n%s", err, list)
	}
	if out, err := run("keys", "revoke", "文新便民中心1号机"); err != nil {
		t.Fatalf("revoke: %v %s", err, out)
	}
	list, _ = run("keys", "list")
	if !strings.Contains(list, "revoked") {
		t.Fatalf("list after revoke:\n%s", list)
	}
}
