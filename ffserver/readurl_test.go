package ffserver_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

func TestConfigValidateReadURL(t *testing.T) {
	store := openStore(t, kinds[0], nil)
	pg := "postgres://h/db"
	for name, c := range map[string]ffserver.Config{
		"read url with backend":   {Backend: store, DatabaseReadURL: pg},
		"read url with sqlite":    {DatabaseURL: "x.db", DatabaseReadURL: pg},
		"read url with default":   {DatabaseReadURL: pg},
		"read url is sqlite":      {DatabaseURL: pg, DatabaseReadURL: "r.db"},
		"read url unknown scheme": {DatabaseURL: pg, DatabaseReadURL: "mysql://h/db"},
	} {
		require.ErrorIs(t, c.Validate(), ff.ErrInvalidInput, name)
	}
	require.NoError(t, ffserver.Config{DatabaseURL: pg, DatabaseReadURL: "postgresql://replica/db"}.Validate())
}

// Over HTTP: the list and describe routes read the replica (which holds
// other data), the create, claim and complete routes write the primary.
func TestServerReadsFromReadURL(t *testing.T) {
	rw := pgtest.Schema(t)
	fill, err := postgres.Open(t.Context(), postgres.Options{URL: rw, AutoMigrate: true})
	require.NoError(t, err)
	onReplica, err := fill.CreateExecution(t.Context(), backend.CreateExecutionParams{Lane: "on-replica", Kind: "r"})
	require.NoError(t, err)
	require.NoError(t, fill.Close())
	ro, err := url.Parse(rw)
	require.NoError(t, err)
	q := ro.Query()
	q.Set("default_transaction_read_only", "on")
	ro.RawQuery = q.Encode()

	srv := openServer(t, ffserver.Config{DatabaseURL: pgtest.Schema(t), DatabaseReadURL: ro.String(),
		Migrate: ffserver.MigrateAlways, Addr: "127.0.0.1:0"})
	require.NoError(t, srv.Start(t.Context()))
	t.Cleanup(func() { _ = srv.Stop(t.Context()) })
	c := newClient(t, "http://"+srv.Addr().String())

	created, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Lane: "on-primary", Kind: "p"})
	require.NoError(t, err)
	tasks, err := c.Claim(t.Context(), backend.ClaimParams{WorkerID: "w", Lanes: []string{"on-primary"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.NoError(t, c.Complete(t.Context(), backend.CompleteParams{Handle: tasks[0].Handle}))

	page, err := c.ListExecutions(t.Context(), backend.ListExecutionsParams{})
	require.NoError(t, err)
	require.Len(t, page.Executions, 1)
	require.Equal(t, onReplica.ExecutionID, page.Executions[0].ExecutionID)
	snap, err := c.DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: created.ExecutionID})
	require.NoError(t, err, "not on the replica yet: the primary answers")
	require.Equal(t, ff.PublicCompleted, snap.PublicState)
	st, err := srv.Store().ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: onReplica.ExecutionID})
	require.ErrorIs(t, err, ff.ErrNotFound, "state reads stay on the primary")
	require.Empty(t, st)
}
