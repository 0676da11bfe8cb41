package ui_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// eachStore runs f on a fresh SQLite file and a fresh Postgres schema.
func eachStore(t *testing.T, f func(t *testing.T, b backend.Backend)) {
	t.Run("sqlite", func(t *testing.T) {
		b, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "ff.db"), AutoMigrate: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		f(t, b)
	})
	t.Run("postgres", func(t *testing.T) {
		b, err := postgres.Open(context.Background(), postgres.Options{URL: pgtest.Schema(t), AutoMigrate: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = b.Close() })
		f(t, b)
	})
}
