package postgres_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// What survives PgBouncer in transaction mode (docs/operations.md). The
// test needs the pgbouncer binary (skipped without it) and a server that
// trusts the test's user from 127.0.0.1, as the CI database does.

// startPgBouncer runs pgbouncer in transaction mode with poolSize server
// connections in front of base's server and returns base's URL re-pointed
// at it (same database, user and search_path).
func startPgBouncer(t *testing.T, base string, poolSize int) string {
	bin, err := exec.LookPath("pgbouncer")
	if err != nil {
		t.Skip("pgbouncer not installed")
	}
	u, err := url.Parse(base)
	require.NoError(t, err)
	dir, err := os.MkdirTemp("", "ffpgb")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o777))
	port := freePort(t)
	host, pgPort, _ := net.SplitHostPort(u.Host)
	if pgPort == "" {
		host, pgPort = u.Host, "5432"
	}
	db := strings.TrimPrefix(u.Path, "/")
	q := u.Query()
	// Transaction pooling drops startup parameters such as search_path:
	// the alias sets the test's schema on every server connection.
	schema := q.Get("search_path")
	q.Del("search_path")
	ini := fmt.Sprintf(`[databases]
ffpgb = host=%s port=%s dbname=%s connect_query='SET search_path TO %s'
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = %d
unix_socket_dir =
auth_type = trust
auth_file = %s/users.txt
pool_mode = transaction
default_pool_size = %d
max_client_conn = 200
ignore_startup_parameters = search_path,extra_float_digits,application_name
logfile = %s/pgbouncer.log
`, host, pgPort, db, schema, port, dir, poolSize, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pgbouncer.ini"), []byte(ini), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "users.txt"), []byte(`"`+u.User.Username()+`" ""`+"\n"), 0o644))
	args := []string{filepath.Join(dir, "pgbouncer.ini")}
	if cur, err := user.Current(); err == nil && cur.Uid == "0" {
		args = append([]string{"-u", "postgres"}, args...) // pgbouncer refuses to run as root
	}
	cmd := exec.Command(bin, args...)
	out, err := os.Create(filepath.Join(dir, "stdout.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	require.Eventually(t, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	}, 10*time.Second, 20*time.Millisecond, "pgbouncer did not listen; see %s", dir)
	u.Host, u.Path = addr, "/ffpgb"
	// 1.18 has no prepared statements in transaction mode: pgx must not
	// prepare named statements; cache_describe keeps the statement
	// descriptions on the client and sends unnamed ones (1.21+ supports
	// named ones with max_prepared_statements).
	q.Set("default_query_exec_mode", "cache_describe")
	u.RawQuery = q.Encode()
	return u.String()
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The lifecycle statements work through transaction pooling.
func TestPgBouncerTransactionModeRunsTheHotPath(t *testing.T) {
	ctx := context.Background()
	direct := pgtest.Schema(t)
	_, err := postgres.MigrateURL(ctx, direct)
	require.NoError(t, err)
	b, err := postgres.Open(ctx, postgres.Options{URL: startPgBouncer(t, direct, 2), MaxConns: 8})
	require.NoError(t, err)
	defer b.Close()
	for range 20 {
		_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "pgb", Kind: "k"})
		require.NoError(t, err)
	}
	for done := 0; done < 20; {
		tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"pgb"}, Max: 7})
		require.NoError(t, err)
		require.NotEmpty(t, tasks)
		ps := make([]backend.CompleteParams, len(tasks))
		for i, tk := range tasks {
			ps[i] = backend.CompleteParams{Handle: tk.Handle}
		}
		for _, err := range b.CompleteMany(ctx, ps) {
			require.NoError(t, err)
		}
		done += len(tasks)
	}
}

// Advisory-lock leadership does NOT survive transaction pooling: the
// session lock stays on the server connection, which PgBouncer hands to
// the next client, so a second process "wins" the same lock (a session
// lock is re-entrant) and both lead.
func TestPgBouncerTransactionModeBreaksLeadership(t *testing.T) {
	ctx := context.Background()
	direct := pgtest.Schema(t)
	_, err := postgres.MigrateURL(ctx, direct)
	require.NoError(t, err)
	pooled := startPgBouncer(t, direct, 1)
	var leases []backend.LeaderLease
	for i := range 2 {
		b, err := postgres.Open(ctx, postgres.Options{URL: pooled})
		require.NoError(t, err, "backend %d", i)
		defer b.Close()
		l, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "split"})
		require.NoError(t, err)
		leases = append(leases, l)
	}
	require.NotNil(t, leases[0])
	require.NotNil(t, leases[1], "through one pooled server connection both processes lead: split brain")

	// Direct connections elect one leader, as they must.
	d1, err := postgres.Open(ctx, postgres.Options{URL: direct})
	require.NoError(t, err)
	defer d1.Close()
	d2, err := postgres.Open(ctx, postgres.Options{URL: direct})
	require.NoError(t, err)
	defer d2.Close()
	l1, err := d1.TryAcquireLeader(ctx, backend.LeaderParams{Name: "one"})
	require.NoError(t, err)
	require.NotNil(t, l1)
	l2, err := d2.TryAcquireLeader(ctx, backend.LeaderParams{Name: "one"})
	require.NoError(t, err)
	require.Nil(t, l2)
}

// LISTEN does not survive transaction pooling: the LISTEN runs on a
// server connection that goes back to the pool, so a NOTIFY from another
// process never reaches the listener (it falls back to polling).
func TestPgBouncerTransactionModeLosesWakeUps(t *testing.T) {
	ctx := context.Background()
	direct := pgtest.Schema(t)
	_, err := postgres.MigrateURL(ctx, direct)
	require.NoError(t, err)
	pooled := startPgBouncer(t, direct, 2)
	check := func(listenURL string) bool {
		l, err := postgres.Open(ctx, postgres.Options{URL: listenURL})
		require.NoError(t, err)
		defer l.Close()
		ch, stop := l.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{"wake"}})
		defer stop()
		other, err := postgres.Open(ctx, postgres.Options{URL: direct})
		require.NoError(t, err)
		defer other.Close()
		// Give the LISTEN time to be issued, then publish from the other
		// process until a wake-up arrives or 3 s pass.
		deadline := time.After(3 * time.Second)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ch:
				return true
			case <-deadline:
				return false
			case <-tick.C:
				_, err := other.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "wake", Kind: "k"})
				require.NoError(t, err)
			}
		}
	}
	require.True(t, check(direct), "a direct listener is woken by another process's commit")
	require.False(t, check(pooled), "a listener behind transaction pooling is not")
}
