package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

// Migration 2 gives the idempotency keys written under version 1 the
// default dedup window from their creation.
func TestMigration2KeysGetTheDefaultWindow(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ff.db")
	ms, err := Migrations()
	require.NoError(t, err)
	require.Equal(t, 2, ms[1].Version)
	db, err := sql.Open(driverName, path)
	require.NoError(t, err)
	_, err = db.Exec(ms[0].sql)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE ff_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL);
		INSERT INTO ff_schema_version VALUES (1, 'init', 1);
		INSERT INTO ff_lane VALUES ('l', 1);`)
	require.NoError(t, err)
	for i, key := range []string{"old-key", ""} {
		_, err = db.Exec(`INSERT INTO ff_execution VALUES (?, ?, 1, '', 'l', 'k', 0, 0, ?,
			'runnable', 'unowned', 'eligible_now', 'waiting_for_worker', 'none', 'pending_first_attempt', 'waiting', '', 1,
			0, '', '', 0, 0, 0, '', '', 0, 0, 0, 0, 0, 0, 0, 5000, 0, 0, 5000, -1, '', '', '', '', '')`,
			i+1, "{fp:1}:00000000-0000-0000-0000-00000000000"+string(rune('1'+i)), key)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	applied, err := Migrate(ctx, path, nil)
	require.NoError(t, err)
	require.Len(t, applied, LatestVersion()-1, "every migration after the first")
	db, err = sql.Open(driverName, path)
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query(`SELECT idempotency_key, idempotency_expires_at_ms FROM ff_execution ORDER BY 1`)
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var (
			key     string
			expires int64
		)
		require.NoError(t, rows.Scan(&key, &expires))
		got[key] = expires
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]int64{"old-key": 5000 + ff.DefaultDedupWindowMs, "": 0}, got)
}
