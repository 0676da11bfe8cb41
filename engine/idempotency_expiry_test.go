package engine

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

func (f *scriptedMaintenance) ExpireIdempotencyKeys(context.Context, backend.SweepParams) (int, error) {
	f.record("idempotency_expiry")
	return 0, nil
}

func TestIdempotencyExpiryRunOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		ctx := context.Background()
		r := &idempotencyExpiry{s.b, 2}
		window := int64(60_000)
		keyed := func(key string) backend.CreateExecutionParams {
			return backend.CreateExecutionParams{IdempotencyKey: key, Policy: &ff.ExecutionPolicy{DedupWindow: &window}}
		}
		first := []ff.ExecutionID{create(t, s, keyed("a")), create(t, s, keyed("b")), create(t, s, keyed("c"))}
		create(t, s, backend.CreateExecutionParams{})

		n, err := r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "keys inside their window are held")

		s.clock.Advance(time.Duration(window) * time.Millisecond)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 2, n, "one batch")
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, err = r.runOnce(ctx)
		require.NoError(t, err)
		require.Zero(t, n, "a key is cleared once")

		for i, key := range []string{"a", "b", "c"} {
			res, err := s.b.CreateExecution(ctx, backend.CreateExecutionParams{Kind: "test.job", IdempotencyKey: key})
			require.NoError(t, err)
			require.False(t, res.Duplicate, "key %s was released", key)
			require.NotEqual(t, first[i], res.ExecutionID)
		}
	})
}

func TestIdempotencyExpiryIsScheduled(t *testing.T) {
	m := &scriptedMaintenance{grant: true}
	obs := newSweeps()
	s, err := New(m, Config{Observer: obs, IdempotencyExpiryInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	defer stop(t, s)
	require.NoError(t, obs.next(t, "idempotency_expiry").err)
	stop(t, s)
	require.Equal(t, 1, m.count("idempotency_expiry"))
}
