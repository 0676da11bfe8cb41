package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// Migration 4 moves the completion events into ff_event with their ids
// and keeps the old AUTOINCREMENT high-water mark, so no cursor handed out
// is reused; the execution row gets its current attempt's type, start and
// worker from the attempt row, and a held lease its acquisition time.
func TestMigration4CarriesTheOutboxOver(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ff.db")
	ms, err := Migrations()
	require.NoError(t, err)
	require.Equal(t, "outbox", ms[3].Name)
	db, err := sql.Open(driverName, path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE ff_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`)
	require.NoError(t, err)
	for _, m := range ms[:3] {
		_, err = db.Exec(m.sql)
		require.NoError(t, err, "migration %d", m.Version)
		_, err = db.Exec(`INSERT INTO ff_schema_version VALUES (?, ?, 1)`, m.Version, m.Name)
		require.NoError(t, err)
	}
	id := "{fp:1}:00000000-0000-0000-0000-000000000001"
	_, err = db.Exec(`INSERT INTO ff_lane VALUES ('l', 1);
		INSERT INTO ff_execution (seq, execution_id, partition_key, namespace, lane, kind, priority, cap_sig, idempotency_key,
			lifecycle_phase, ownership_state, eligibility_state, blocking_reason, terminal_outcome, attempt_state,
			public_state, blocking_detail, ready, attempt_count, current_attempt_id, lease_id, lease_epoch,
			lease_expires_at_ms, lease_ttl_ms, worker_id, worker_instance_id, last_heartbeat_ms, retry_count,
			reclaim_count, replay_count, ready_at_ms, attempt_deadline_ms, execution_deadline_ms, created_at_ms,
			started_at_ms, completed_at_ms, updated_at_ms, progress_pct, progress_message, failure_reason,
			failure_class, cancel_reason, cancelled_by)
		VALUES (1, ?, 1, '', 'l', 'k', 0, 0, '', 'active', 'leased', 'not_applicable', 'none', 'none', 'running_attempt',
			'active', '', 0, 2, 'a2', 'lease', 3, 9000, 1000, 'w', 'wi', 8000, 1, 0, 0, 0, 0, 0, 5000, 6000, 0, 8000, -1,
			'', '', '', '', '');
		INSERT INTO ff_attempt VALUES (?, 0, 'a1', 'initial', 'ended_failure', 1, 'w0', 'wi0', 6000, 7000, 'x', 'transient');
		INSERT INTO ff_attempt VALUES (?, 1, 'a2', 'retry', 'started', 3, 'w', 'wi', 7500, 0, '', '');
		INSERT INTO ff_completion_event (execution_id, partition_key, namespace, lane, outcome, at_ms)
			VALUES ('e1', 1, 'ns', 'l', 'success', 10), ('e2', 2, '', 'l', 'failed', 20), ('e3', 3, '', 'l', 'cancelled', 30);
		DELETE FROM ff_completion_event WHERE id = 3;`, id, id, id)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	applied, err := Migrate(ctx, path, nil)
	require.NoError(t, err)
	require.Equal(t, 4, applied[0].Version)
	db, err = sql.Open(driverName, path)
	require.NoError(t, err)
	defer db.Close()

	rows, err := db.Query(`SELECT id, type, action, execution_id, partition_key, namespace, at_ms, attempt_index, acquired_action
		FROM ff_event ORDER BY id`)
	require.NoError(t, err)
	type row struct {
		id                int64
		typ, action, exec string
		part              int64
		ns                string
		at, attempt       int64
		acquired          string
	}
	var got []row
	for rows.Next() {
		var r row
		require.NoError(t, rows.Scan(&r.id, &r.typ, &r.action, &r.exec, &r.part, &r.ns, &r.at, &r.attempt, &r.acquired))
		got = append(got, r)
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	require.Equal(t, []row{
		{1, "completion", "success", "e1", 1, "ns", 10, -1, ""},
		{2, "completion", "failed", "e2", 2, "", 20, -1, ""},
	}, got)
	res, err := db.Exec(`INSERT INTO ff_event (type, action, partition_key, at_ms) VALUES ('operator', 'lane_paused', 0, 40)`)
	require.NoError(t, err)
	next, err := res.LastInsertId()
	require.NoError(t, err)
	require.Equal(t, int64(4), next, "the id of the deleted event 3 is never reused")
	var old int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE name = 'ff_completion_event'`).Scan(&old))
	require.Zero(t, old)

	var (
		typ, worker, instance string
		started, acquired     int64
	)
	require.NoError(t, db.QueryRow(`SELECT attempt_type, attempt_started_ms, attempt_worker_id, attempt_worker_instance_id,
		lease_acquired_ms FROM ff_execution WHERE execution_id = ?`, id).Scan(&typ, &started, &worker, &instance, &acquired))
	require.Equal(t, []any{"retry", int64(7500), "w", "wi", int64(7500)}, []any{typ, started, worker, instance, acquired})
}
