package postgres_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/backendtest"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

func openFresh(t testing.TB, c clock.Clock) (*postgres.Backend, string) {
	t.Helper()
	url := pgtest.Schema(t)
	b, err := postgres.Open(context.Background(), postgres.Options{URL: url, Clock: c, AutoMigrate: true, MaxConns: 8, StreamLimits: backendtest.StreamLimits()})
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
			nb, err := postgres.Open(context.Background(), postgres.Options{URL: url, Clock: fake, StreamLimits: backendtest.StreamLimits()})
			require.NoError(t, err)
			t.Cleanup(func() { _ = nb.Close() })
			return nb
		}, OpenAnother: func(t *testing.T) backend.Backend {
			nb, err := postgres.Open(context.Background(), postgres.Options{URL: url, Clock: fake, StreamLimits: backendtest.StreamLimits()})
			require.NoError(t, err)
			t.Cleanup(func() { _ = nb.Close() })
			return nb
		}, SetHooks: func(t *testing.T, id ff.ExecutionID, h ff.Hooks) { setHooks(t, b, id, h) },
			Hooks:  func(t *testing.T, id ff.ExecutionID) ff.Hooks { return readHooks(t, b, id) },
			Events: func(t *testing.T) []ff.Event { return readEvents(t, b) }}
	})
}

// setHooks stores h on execution id with SQL, as a feature's transition
// would (none sets hooks yet).
func setHooks(t *testing.T, b *postgres.Backend, id ff.ExecutionID, h ff.Hooks) {
	t.Helper()
	tag, err := b.Pool().Exec(context.Background(), `UPDATE ff_execution SET hooks = $2 WHERE id = $1`, id.String(), int16(h))
	require.NoError(t, err)
	require.Equal(t, int64(1), tag.RowsAffected())
}

func readHooks(t *testing.T, b *postgres.Backend, id ff.ExecutionID) ff.Hooks {
	t.Helper()
	var h int16
	require.NoError(t, b.Pool().QueryRow(context.Background(), `SELECT hooks FROM ff_execution WHERE id = $1`, id.String()).Scan(&h))
	return ff.Hooks(uint16(h))
}

// TestConcurrentCapabilityInterning creates executions with the same new
// requirement set from many goroutines (and backends) at once: every
// create must succeed and share one signature.
func TestConcurrentCapabilityInterning(t *testing.T) {
	ctx := context.Background()
	a, url := openFresh(t, nil)
	others := []backend.Backend{a}
	for i := 0; i < 3; i++ {
		o, err := postgres.Open(ctx, postgres.Options{URL: url})
		require.NoError(t, err)
		t.Cleanup(func() { _ = o.Close() })
		others = append(others, o)
	}
	for round := 0; round < 5; round++ {
		caps := []string{"gpu", "round-" + string(rune('a'+round))}
		errs := make(chan error, 16)
		for i := 0; i < 16; i++ {
			go func(i int) {
				_, err := others[i%len(others)].CreateExecution(ctx, backend.CreateExecutionParams{Lane: "caps", Kind: "k", RequiredCapabilities: caps})
				errs <- err
			}(i)
		}
		for i := 0; i < 16; i++ {
			require.NoError(t, <-errs)
		}
	}
	var sets int
	require.NoError(t, a.Pool().QueryRow(ctx, `SELECT count(*) FROM ff_capability_set`).Scan(&sets))
	require.Equal(t, 6, sets, "the empty set plus one per round")
}

// readEvents is the harness's test-only outbox reader: every row, in
// cursor order.
func readEvents(t *testing.T, b *postgres.Backend) []ff.Event {
	t.Helper()
	rows, err := b.Pool().Query(context.Background(), `SELECT type, action, execution_id, partition, lane, namespace,
		at_ms, attempt_index, attempt_id, attempt_type, lease_epoch, worker_id, worker_instance_id, acquired_at_ms,
		lease_end, acquired_action, data::text FROM ff_event ORDER BY xid, id`)
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
