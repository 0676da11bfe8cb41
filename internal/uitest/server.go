package uitest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
	"github.com/flowfabric-go/flowfabric/server"
)

// Store opens one real backend for a test; it is closed with the test.
type Store struct {
	Name string
	Open func(t testing.TB) backend.Backend
}

// Stores are the stores the dashboard tests run on: an SQLite file in
// the test's temp dir and a Postgres schema of its own (skipped without
// a server, unless FF_TEST_REQUIRE_POSTGRES=1). Both run on real time,
// so the overview's rates see their events.
func Stores() []Store {
	return []Store{{"sqlite", OpenSQLite}, {"postgres", OpenPostgres}}
}

// OpenSQLite opens a fresh SQLite file.
func OpenSQLite(t testing.TB) backend.Backend {
	t.Helper()
	b, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "ff.db"), AutoMigrate: true})
	if err != nil {
		t.Fatalf("open sqlite: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// OpenPostgres opens a fresh Postgres schema.
func OpenPostgres(t testing.TB) backend.Backend {
	t.Helper()
	b, err := postgres.Open(context.Background(), postgres.Options{URL: pgtest.Schema(t), AutoMigrate: true})
	if err != nil {
		t.Fatalf("open postgres: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// Server is the real server (API and dashboard) over a store, on a
// loopback port.
type Server struct {
	URL   string
	B     backend.Backend
	Token string
	API   *server.Server
}

// NewServer serves cfg over b until the test ends; logs are discarded
// unless cfg has a logger.
func NewServer(t testing.TB, b backend.Backend, cfg server.Config, opts ...server.Option) *Server {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	api := server.New(cfg, b, opts...)
	ts := httptest.NewServer(api)
	t.Cleanup(func() {
		api.BeginShutdown() // live pages end their streams
		ts.Close()
	})
	return &Server{URL: ts.URL, B: b, Token: cfg.APIToken, API: api}
}
