// Package integration holds the end-to-end tests: the real binary's
// wiring (internal/app) on a real PostgreSQL, driven over real HTTP.
package integration

import (
	"testing"

	"yici/internal/apptest"
)

type server = apptest.Server
type client = apptest.Client

func startServer(t *testing.T) *server { return apptest.Start(t) }
