package ffserver_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// Postgres refuses to start without a stored key or the variable, saying
// what to set; with the variable it seeds, and a stored key then wins.
func TestWaitpointKeyOnPostgres(t *testing.T) {
	url := pgtest.Schema(t)
	_, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: url, Migrate: ffserver.MigrateAlways, Logger: quiet()})
	require.ErrorIs(t, err, ff.ErrHMACNotInitialized)
	require.Contains(t, err.Error(), "FF_WAITPOINT_HMAC_SECRET")
	srv := openServer(t, ffserver.Config{DatabaseURL: url, Migrate: ffserver.MigrateAlways})
	require.NoError(t, srv.Close())
	// The key is stored now: a restart without the variable starts.
	srv, err = ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: url, Logger: quiet()})
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	_, err = ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: url, WaitpointHMACSecret: "abc"})
	require.ErrorIs(t, err, ff.ErrInvalidInput, "a short secret is refused before anything opens")
}

// The embedded store generates a key on first boot, stores it and warns
// once; the secret never reaches the log.
func TestWaitpointKeyGeneratedOnSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ff.db")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for range 2 {
		srv, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: path, Logger: log})
		require.NoError(t, err)
		require.NoError(t, srv.Close())
	}
	require.Equal(t, 1, strings.Count(logs.String(), "generated a waitpoint signing key"), "warned once: %s", logs.String())
	require.NotContains(t, logs.String(), testSecret)
}
