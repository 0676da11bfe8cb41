package sqlite

import (
	"context"
	"database/sql"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Open must refuse what it cannot safely use, say why, and leave the file
// exactly as it found it.

func requireOpenError(t *testing.T, err error, cause error, msgParts ...string) {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, cause)
	_, isEngine := ff.AsError(err)
	require.True(t, isEngine, "want a *flowfabric.Error, got %T", err)
	for _, p := range msgParts {
		require.Contains(t, err.Error(), p)
	}
}

// snapshotDir records every file in dir with its content.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		out[e.Name()] = string(b)
	}
	return out
}

func TestOpenRefusesNonSQLiteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(path, []byte("these are my notes, not a database\n"), 0o644))
	before := snapshotDir(t, dir)

	_, err := Open(context.Background(), Options{Path: path, AutoMigrate: true})
	requireOpenError(t, err, ErrNotFlowFabric, "not a FlowFabric database", path)
	_, err = Migrate(context.Background(), path, nil)
	requireOpenError(t, err, ErrNotFlowFabric, "not a FlowFabric database")
	_, err = MigrationStatus(context.Background(), path)
	requireOpenError(t, err, ErrNotFlowFabric)
	require.Equal(t, before, snapshotDir(t, dir), "the file was modified or files were created beside it")
}

func TestOpenRefusesShortJunkFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	require.NoError(t, os.WriteFile(path, []byte("SQLite"), 0o644)) // a prefix of the magic, too short
	_, err := Open(context.Background(), Options{Path: path, AutoMigrate: true})
	requireOpenError(t, err, ErrNotFlowFabric)
}

func TestOpenRefusesForeignSQLiteDatabase(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.db")
	db, err := sql.Open(driverName, path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO users (name) VALUES ('ada')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	before := snapshotDir(t, dir)

	_, err = Open(context.Background(), Options{Path: path, AutoMigrate: true})
	requireOpenError(t, err, ErrNotFlowFabric, "not a FlowFabric database", "users")
	_, err = Open(context.Background(), Options{Path: path})
	requireOpenError(t, err, ErrNotFlowFabric)
	_, err = Migrate(context.Background(), path, nil)
	requireOpenError(t, err, ErrNotFlowFabric)
	require.Equal(t, before, snapshotDir(t, dir), "a foreign database was modified")
}

func TestOpenMissingFileWithoutAutoMigrate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ff.db")
	_, err := Open(context.Background(), Options{Path: path})
	requireOpenError(t, err, ErrSchemaTooOld, "flowfabric migrate up --database-url "+path)
	require.ErrorIs(t, err, ff.ErrSchemaMismatch)
	require.Empty(t, snapshotDir(t, dir), "Open without AutoMigrate created files")

	// The named fix works.
	applied, err := Migrate(context.Background(), path, nil)
	require.NoError(t, err)
	require.Len(t, applied, LatestVersion())
	b, err := Open(context.Background(), Options{Path: path})
	require.NoError(t, err)
	require.NoError(t, b.Close())
}

func TestOpenOlderSchemaWithoutAutoMigrate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ff.db")
	// A FlowFabric database that has no migration applied yet: the version
	// table exists and is empty (version 0). An empty file is version 0 too.
	db, err := sql.Open(driverName, path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE ff_schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	empty := filepath.Join(dir, "empty.db")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))

	for _, p := range []string{path, empty} {
		before := snapshotDir(t, dir)
		_, err = Open(context.Background(), Options{Path: p})
		requireOpenError(t, err, ErrSchemaTooOld, "schema version 0", "flowfabric migrate up --database-url "+p)
		require.Equal(t, before, snapshotDir(t, dir), "a refused Open modified files")

		st, err := MigrationStatus(context.Background(), p)
		require.NoError(t, err)
		require.True(t, st.Exists)
		require.Equal(t, 0, st.Current)
		require.Len(t, st.Pending, LatestVersion())

		b, err := Open(context.Background(), Options{Path: p, AutoMigrate: true})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		st, err = MigrationStatus(context.Background(), p)
		require.NoError(t, err)
		require.Equal(t, LatestVersion(), st.Current)
		require.Empty(t, st.Pending)
	}
}

func TestOpenNewerSchemaTouchesNothing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ff.db")
	b, err := Open(context.Background(), Options{Path: path, AutoMigrate: true})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	db, err := sql.Open(driverName, path)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO ff_schema_version (version, name, applied_at_ms) VALUES (999, 'from_the_future', 1)`)
	require.NoError(t, err)
	require.NoError(t, db.Close()) // the last close checkpoints the WAL into the file
	before := snapshotDir(t, dir)

	for _, auto := range []bool{true, false} {
		_, err = Open(context.Background(), Options{Path: path, AutoMigrate: auto})
		requireOpenError(t, err, ErrSchemaTooNew, "999", "newer")
	}
	_, err = Migrate(context.Background(), path, nil)
	requireOpenError(t, err, ErrSchemaTooNew)
	_, err = MigrationStatus(context.Background(), path)
	requireOpenError(t, err, ErrSchemaTooNew)
	require.Equal(t, before, snapshotDir(t, dir), "a newer database was modified")
}

func TestOpenUnwritablePaths(t *testing.T) {
	t.Run("missing directory", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "no", "such", "dir", "ff.db")
		_, err := Open(context.Background(), Options{Path: path, AutoMigrate: true})
		requireOpenError(t, err, ErrNotWritable, "does not exist")
		_, err = Migrate(context.Background(), path, nil)
		requireOpenError(t, err, ErrNotWritable)
		_, err = os.Stat(filepath.Dir(path))
		require.ErrorIs(t, err, os.ErrNotExist, "Open created directories")
	})
	t.Run("path is a directory", func(t *testing.T) {
		path := t.TempDir()
		_, err := Open(context.Background(), Options{Path: path, AutoMigrate: true})
		requireOpenError(t, err, ErrNotWritable, "is a directory")
	})
	t.Run("read-only directory", func(t *testing.T) {
		dir := t.TempDir()
		existing := filepath.Join(dir, "existing.db")
		b, err := Open(context.Background(), Options{Path: existing, AutoMigrate: true})
		require.NoError(t, err)
		require.NoError(t, b.Close())
		makeReadOnly(t, dir)
		before := snapshotDir(t, dir)
		_, err = Open(context.Background(), Options{Path: filepath.Join(dir, "new.db"), AutoMigrate: true})
		requireOpenError(t, err, ErrNotWritable, "read-only")
		_, err = Open(context.Background(), Options{Path: existing})
		requireOpenError(t, err, ErrNotWritable, "read-only")
		require.Equal(t, before, snapshotDir(t, dir))
	})
	t.Run("in-memory", func(t *testing.T) {
		_, err := Open(context.Background(), Options{Path: ":memory:", AutoMigrate: true})
		require.Error(t, err)
		require.Contains(t, err.Error(), "in-memory")
	})
}

// makeReadOnly makes dir unwritable for this process. Tests run as root,
// for whom permission bits do not apply, so root uses the immutable
// attribute (chattr +i), which binds root too; others use chmod. When
// neither is possible the test is skipped, saying why.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		require.NoError(t, os.Chmod(dir, 0o555))
		t.Cleanup(func() { _ = os.Chmod(dir, 0o755) })
		return
	}
	chattr, err := exec.LookPath("chattr")
	if err != nil {
		t.Skip("running as root without chattr: cannot make a directory read-only for root")
	}
	if out, err := exec.Command(chattr, "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("running as root and chattr +i is not permitted here (%v: %s): cannot make a directory read-only for root",
			err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { _ = exec.Command(chattr, "-i", dir).Run() })
}

func TestMigrationsEmbedded(t *testing.T) {
	ms, err := Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	require.Equal(t, len(ms), LatestVersion())
	require.Equal(t, 1, ms[0].Version)
	require.Equal(t, "init", ms[0].Name)
}

func TestMigrationStatusDoesNotCreate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ff.db")
	st, err := MigrationStatus(context.Background(), path)
	require.NoError(t, err)
	require.False(t, st.Exists)
	require.Equal(t, 0, st.Current)
	require.Equal(t, LatestVersion(), st.Latest)
	require.Len(t, st.Pending, LatestVersion())
	require.Empty(t, snapshotDir(t, dir))

	applied, err := Migrate(context.Background(), "sqlite://"+path, nil)
	require.NoError(t, err)
	require.Len(t, applied, LatestVersion())
	st, err = MigrationStatus(context.Background(), path)
	require.NoError(t, err)
	require.True(t, st.Exists)
	require.Equal(t, LatestVersion(), st.Current)
	require.Empty(t, st.Pending)
	require.Len(t, st.Applied, LatestVersion())
	require.Equal(t, "init", st.Applied[0].Name)
	require.Positive(t, st.Applied[0].AppliedAtMs)

	again, err := Migrate(context.Background(), path, nil)
	require.NoError(t, err)
	require.Empty(t, again, "a second migrate applies nothing")
}

// Concurrent migrators (two processes starting at once) apply each
// migration exactly once: each re-reads the version under the write lock.
func TestMigrateConcurrently(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ff.db")
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for i := range counts {
		wg.Go(func() {
			applied, err := Migrate(context.Background(), path, nil)
			counts[i], errs[i] = len(applied), err
		})
	}
	wg.Wait()
	total := 0
	for i := range counts {
		require.NoError(t, errs[i])
		total += counts[i]
	}
	require.Equal(t, LatestVersion(), total)
	st, err := MigrationStatus(context.Background(), path)
	require.NoError(t, err)
	require.Len(t, st.Applied, LatestVersion())
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ff.db")
	ctx := context.Background()
	b, err := Open(ctx, Options{Path: path, AutoMigrate: true})
	require.NoError(t, err)
	res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "l", Kind: "k", Input: []byte("in"),
		RequiredCapabilities: []string{"gpu"}, Tags: map[string]string{"app.team": "core"}})
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")
	require.Error(t, b.Ping(ctx), "a closed backend refuses calls")

	b, err = Open(ctx, Options{Path: path, AutoMigrate: true})
	require.NoError(t, err)
	defer b.Close()
	s, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, []string{"gpu"}, s.RequiredCaps)
	require.Equal(t, map[string]string{"app.team": "core"}, s.Tags)
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"l"}, Capabilities: []string{"gpu"}})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, "in", string(tasks[0].Input))
}
