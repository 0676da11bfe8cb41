package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/backendtest"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

func openFresh(t testing.TB, c clock.Clock) (*postgres.Backend, string) {
	t.Helper()
	url := pgtest.Schema(t)
	b, err := postgres.Open(context.Background(), postgres.Options{URL: url, Clock: c, AutoMigrate: true, MaxConns: 8})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b, url
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Harness {
		fake := clock.NewFake(backendtest.Epoch)
		b, url := openFresh(t, fake)
		return backendtest.Harness{Backend: b, Clock: fake, Reopen: func(t *testing.T) backend.Backend {
			_ = b.Close()
			nb, err := postgres.Open(context.Background(), postgres.Options{URL: url, Clock: fake})
			require.NoError(t, err)
			t.Cleanup(func() { _ = nb.Close() })
			return nb
		}}
	})
}
