package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/backendtest"
	"github.com/flowfabric-go/flowfabric/internal/clock"
)

// openTemp opens a fresh, migrated backend on a temporary file and
// closes it when t ends.
func openTemp(t testing.TB, c clock.Clock) (*Backend, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ff.db")
	b, err := Open(context.Background(), Options{Path: path, Clock: c, AutoMigrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, path
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Harness {
		fake := clock.NewFake(backendtest.Epoch)
		b, path := openTemp(t, fake)
		return backendtest.Harness{
			Backend: b,
			Clock:   fake,
			Reopen: func(t *testing.T) backend.Backend {
				require.NoError(t, b.Close())
				reopened, err := Open(context.Background(), Options{Path: path, Clock: fake})
				require.NoError(t, err)
				t.Cleanup(func() { _ = reopened.Close() })
				return reopened
			},
		}
	})
}
