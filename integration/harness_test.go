// Package integration holds the end-to-end tests: the real binary's
// wiring (internal/app) on a real PostgreSQL, driven over real HTTP.
package integration

import (
	"os"
	"path/filepath"
	"testing"

	"yici/internal/apptest"
)

type server = apptest.Server
type client = apptest.Client

func startServer(t *testing.T) *server { return apptest.Start(t) }

// TestMain removes the binary the tests built.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}
