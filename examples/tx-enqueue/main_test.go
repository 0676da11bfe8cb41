package main

import (
	"bytes"
	"context"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTxEnqueue runs the program on a fresh schema: the paid order and
// its receipt both exist and the receipt was sent; the declined order
// left neither a row nor an execution.
func TestTxEnqueue(t *testing.T) {
	url := pgtest.Schema(t) // skips without Postgres; fails under FF_TEST_REQUIRE_POSTGRES=1
	var out bytes.Buffer
	o, err := run(t.Context(), url, &out, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Contains(t, out.String(), "receipt for order "+o.Placed.ID+" (42.00) sent to ada@example.com")

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var orders []string
	rows, err := conn.Query(ctx, `SELECT id FROM orders`)
	require.NoError(t, err)
	orders, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{o.Placed.ID}, orders, "the declined order was rolled back")
	var keys []string
	rows, err = conn.Query(ctx, `SELECT idempotency_key FROM ff_execution WHERE kind = 'receipt.send'`)
	require.NoError(t, err)
	keys, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"receipt:" + o.Placed.ID}, keys, "the declined order's receipt was rolled back")

	b, err := postgres.Open(ctx, postgres.Options{URL: url})
	require.NoError(t, err)
	defer b.Close()
	state, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: o.Receipt})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCompleted, state)
}
