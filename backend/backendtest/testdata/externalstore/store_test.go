// Package externalstore is a store written outside the FlowFabric module:
// it imports only public packages (the Go toolchain refuses an internal
// import from another module), wraps the SQLite store in a type of its
// own, and runs the whole conformance suite on it. TestExternalStore in
// package backendtest builds it as a module of its own.
package externalstore

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/backendtest"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/clock"
)

// store is "our" backend: every method delegates to the SQLite store it
// wraps, as a store written from scratch would implement them.
type store struct{ backend.Backend }

func open(t *testing.T, path string, c clock.Clock) *store {
	b, err := sqlite.Open(context.Background(), sqlite.Options{Path: path, Clock: c, AutoMigrate: true, StreamLimits: backendtest.StreamLimits()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return &store{b}
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Harness {
		fake := clock.NewFake(backendtest.Epoch)
		path := filepath.Join(t.TempDir(), "external.db")
		s := open(t, path, fake)
		return backendtest.Harness{
			Backend: s,
			Clock:   fake,
			Reopen: func(t *testing.T) backend.Backend {
				require.NoError(t, s.Close())
				return open(t, path, fake)
			},
		}
	})
}
