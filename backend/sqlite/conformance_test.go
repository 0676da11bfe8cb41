package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/backendtest"
	"github.com/flowfabric-go/flowfabric/internal/clock"
)

// openTemp opens a fresh, migrated backend on a temporary file and
// closes it when t ends.
func openTemp(t testing.TB, c clock.Clock) (*Backend, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ff.db")
	b, err := Open(context.Background(), Options{Path: path, Clock: c, AutoMigrate: true, StreamLimits: backendtest.StreamLimits()})
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
				reopened, err := Open(context.Background(), Options{Path: path, Clock: fake, StreamLimits: backendtest.StreamLimits()})
				require.NoError(t, err)
				t.Cleanup(func() { _ = reopened.Close() })
				return reopened
			},
			OpenAnother: func(t *testing.T) backend.Backend {
				other, err := Open(context.Background(), Options{Path: path, Clock: fake, StreamLimits: backendtest.StreamLimits()})
				require.NoError(t, err)
				t.Cleanup(func() { _ = other.Close() })
				return other
			},
			SetHooks: func(t *testing.T, id ff.ExecutionID, h ff.Hooks) { setHooks(t, b, id, h) },
			Hooks:    func(t *testing.T, id ff.ExecutionID) ff.Hooks { return readHooks(t, b, id) },
			Events:   func(t *testing.T) []ff.Event { return readEvents(t, b) },
		}
	})
}

// setHooks stores h on execution id with SQL, as a feature's transition
// would (none sets hooks yet).
func setHooks(t *testing.T, b *Backend, id ff.ExecutionID, h ff.Hooks) {
	t.Helper()
	res, err := b.w.ExecContext(context.Background(), `UPDATE ff_execution SET hooks = ? WHERE execution_id = ?`, int64(h), id.String())
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.Equal(t, int64(1), n)
}

func readHooks(t *testing.T, b *Backend, id ff.ExecutionID) ff.Hooks {
	t.Helper()
	var h int64
	require.NoError(t, b.r.QueryRowContext(context.Background(), `SELECT hooks FROM ff_execution WHERE execution_id = ?`, id.String()).Scan(&h))
	return ff.Hooks(h)
}

// readEvents is the harness's test-only outbox reader: every row, in
// cursor order.
func readEvents(t *testing.T, b *Backend) []ff.Event {
	t.Helper()
	rows, err := b.r.QueryContext(context.Background(), `SELECT type, action, execution_id, partition_key, lane,
		namespace, at_ms, attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id,
		acquired_at_ms, lease_end, acquired_action, data FROM ff_event ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var out []ff.Event
	for rows.Next() {
		var r backendtest.EventRow
		require.NoError(t, rows.Scan(r.Dest()...))
		out = append(out, r.Event(t))
	}
	require.NoError(t, rows.Err())
	return out
}
