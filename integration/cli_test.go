package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"yici/internal/pgtest"
	"yici/router/routertest"
)

// yici builds the binary once per test run.
func yici(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "yici")
	out, err := exec.Command("go", "build", "-o", bin, "yici/cmd/yici").CombinedOutput()
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
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
