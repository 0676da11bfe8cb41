package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// Migration 4 keeps the completion events with their cursor: kind and
// outcome become type and action, rows keep (xid, id), and a lease held
// across it reports its attempt's start as its acquisition.
func TestMigration4KeepsTheCompletionOutbox(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.Schema(t))
	require.NoError(t, err)
	defer conn.Close(ctx)
	ms, err := postgres.Migrations()
	require.NoError(t, err)
	require.Equal(t, "outbox", ms[3].Name)
	for _, m := range ms[:3] {
		_, err := conn.Exec(ctx, m.SQL)
		require.NoError(t, err, "migration %d", m.Version)
	}
	_, err = conn.Exec(ctx, `INSERT INTO ff_event (kind, execution_id, partition, lane, namespace, outcome, at_ms)
		VALUES ('completion', 'e1', 1, 'l', 'ns', 'success', 10), ('completion', 'e2', 2, 'l', '', 'failed', 20);
		INSERT INTO ff_execution (id, partition, lane, kind, priority, cap_sig, lifecycle_phase, ownership_state,
			eligibility_state, blocking_reason, terminal_outcome, attempt_state, public_state, ready, created_at_ms,
			updated_at_ms, input, attempt_started_ms)
		VALUES ('x1', 1, 'l', 'k', 0, 0, 'active', 'leased', 'not_applicable', 'none', 'none', 'running_attempt',
			'active', false, 1, 1, '', 7500)`)
	require.NoError(t, err)
	before := queryStrings(t, conn, `SELECT xid::text || ':' || id FROM ff_event ORDER BY xid, id`)

	_, err = conn.Exec(ctx, ms[3].SQL)
	require.NoError(t, err)
	after := queryStrings(t, conn, `SELECT xid::text || ':' || id || ' ' || type || '/' || action || ' ' || execution_id ||
		' ' || attempt_index || ' ' || acquired_action || ' ' || coalesce(data::text, 'null') FROM ff_event ORDER BY xid, id`)
	require.Equal(t, []string{
		before[0] + " completion/success e1 -1  null",
		before[1] + " completion/failed e2 -1  null",
	}, after)
	var acquired int64
	require.NoError(t, conn.QueryRow(ctx, `SELECT lease_acquired_ms FROM ff_execution WHERE id = 'x1'`).Scan(&acquired))
	require.Equal(t, int64(7500), acquired)
}

func queryStrings(t *testing.T, conn *pgx.Conn, sql string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return out
}
