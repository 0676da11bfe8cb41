package postgres_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// readOnly returns u with every transaction read only, as on a hot
// standby: a write routed there fails instead of landing.
func readOnly(t *testing.T, u string) string {
	p, err := url.Parse(u)
	require.NoError(t, err)
	q := p.Query()
	q.Set("default_transaction_read_only", "on")
	p.RawQuery = q.Encode()
	return p.String()
}

// replicaFixture is a "replica" that holds different data from the
// primary (its own schema, read only once filled), so an answer tells
// which database gave it.
type replicaFixture struct {
	url        string            // read-only URL of the replica
	onlyID     ff.ExecutionID    // an execution only the replica has, completed
	primary    *postgres.Backend // the routed backend: primary + ReadURL
	primaryURL string
}

func newReplicaFixture(t *testing.T) replicaFixture {
	ctx := context.Background()
	rw := pgtest.Schema(t)
	fill, err := postgres.Open(ctx, postgres.Options{URL: rw, AutoMigrate: true})
	require.NoError(t, err)
	res, err := fill.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "on-replica", Kind: "r"})
	require.NoError(t, err)
	tasks, err := fill.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"on-replica"}, Max: 1})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.NoError(t, fill.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`1`)}))
	require.NoError(t, fill.Close())

	f := replicaFixture{url: readOnly(t, rw), onlyID: res.ExecutionID}
	f.primaryURL = pgtest.Schema(t)
	f.primary, err = postgres.Open(ctx, postgres.Options{URL: f.primaryURL, AutoMigrate: true, ReadURL: f.url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.primary.Close() })
	require.NotNil(t, f.primary.ReadPool())
	return f
}

func TestReadURLServesLagTolerantReads(t *testing.T) {
	ctx := context.Background()
	f := newReplicaFixture(t)
	b := f.primary
	mine, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "on-primary", Kind: "p"})
	require.NoError(t, err)

	// Lists and replays come from the replica only.
	page, err := b.ListExecutions(ctx, backend.ListExecutionsParams{})
	require.NoError(t, err)
	require.Len(t, page.Executions, 1)
	require.Equal(t, f.onlyID, page.Executions[0].ExecutionID)
	lanes, err := b.ListLanes(ctx, backend.ListLanesParams{})
	require.NoError(t, err)
	require.Len(t, lanes.Lanes, 1)
	require.Equal(t, "on-replica", lanes.Lanes[0].Name)
	comps, err := b.ReadCompletions(ctx, backend.ReadCompletionsParams{})
	require.NoError(t, err)
	require.Len(t, comps.Events, 1)
	require.Equal(t, f.onlyID, comps.Events[0].ExecutionID)

	// Describe and attempts are answered by the replica when it has the
	// row...
	snap, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: f.onlyID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCompleted, snap.PublicState)
	atts, err := b.ListAttempts(ctx, backend.ListAttemptsParams{ExecutionID: f.onlyID})
	require.NoError(t, err)
	require.Len(t, atts, 1)
	// ...and by the primary when the replica has not seen it yet.
	snap, err = b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: mine.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, "p", snap.Kind)
	atts, err = b.ListAttempts(ctx, backend.ListAttemptsParams{ExecutionID: mine.ExecutionID})
	require.NoError(t, err)
	require.Empty(t, atts)
	_, err = b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: ff.NewExecutionID("on-replica")})
	require.ErrorIs(t, err, ff.ErrNotFound)

	// Reads a caller acts on at once stay on the primary.
	_, err = b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: f.onlyID})
	require.ErrorIs(t, err, ff.ErrNotFound)
	_, err = b.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: f.onlyID})
	require.ErrorIs(t, err, ff.ErrNotFound)
}

func TestReadURLNeverTakesClaimsOrWrites(t *testing.T) {
	ctx := context.Background()
	f := newReplicaFixture(t)
	b := f.primary
	before := b.ReadPool().Stat().AcquireCount()

	lease, err := b.TryAcquireLeader(ctx, backend.LeaderParams{Name: "route-test"})
	require.NoError(t, err)
	require.NotNil(t, lease)
	defer func() { _ = lease.Release(ctx) }()
	for i := range 3 {
		_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "w", Kind: "k", IdempotencyKey: "k" + string(rune('a'+i))})
		require.NoError(t, err)
	}
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"w"}, Max: 3, LeaseTTL: time.Minute})
	require.NoError(t, err)
	require.Len(t, tasks, 3)
	_, err = b.Renew(ctx, backend.RenewParams{Handle: tasks[0].Handle})
	require.NoError(t, err)
	require.NoError(t, b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`2`)}))
	_, err = b.Fail(ctx, backend.FailParams{Handle: tasks[1].Handle, Reason: "x", Classification: ff.FailurePermanent})
	require.NoError(t, err)
	_, err = b.CancelExecution(ctx, backend.CancelExecutionParams{ExecutionID: tasks[2].ExecutionID, Reason: "r"})
	require.NoError(t, err)
	for _, sweep := range []func(context.Context, backend.SweepParams) (int, error){
		b.ExpireLeases, b.ExpireAttemptTimeouts, b.ExpireDeadlines, b.PromoteDelayed, b.ExpireIdempotencyKeys,
	} {
		_, err := sweep(ctx, backend.SweepParams{})
		require.NoError(t, err)
	}
	_, err = b.FireDueSchedules(ctx, backend.FireSchedulesParams{})
	require.NoError(t, err)
	state, err := b.ReadExecutionState(ctx, backend.ReadExecutionStateParams{ExecutionID: tasks[0].ExecutionID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicCompleted, state)
	res, err := b.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: tasks[0].ExecutionID})
	require.NoError(t, err)
	require.Equal(t, `2`, string(res))

	require.Equal(t, before, b.ReadPool().Stat().AcquireCount(), "a claim, write, sweep or acted-on read used the replica pool")
	// The replica is read only: had a write gone there it would have failed.
	_, err = b.ReadPool().Exec(ctx, `INSERT INTO ff_lane (name, created_at_ms) VALUES ('x', 0)`)
	require.Error(t, err)
}

func TestReadURLRefusesAnUnmigratedReplica(t *testing.T) {
	_, err := postgres.Open(context.Background(), postgres.Options{URL: pgtest.Schema(t), AutoMigrate: true, ReadURL: pgtest.Schema(t)})
	require.ErrorIs(t, err, ff.ErrSchemaMismatch)
	require.Contains(t, err.Error(), "read replica")
}

// tcpProxy forwards connections to target until stop, which closes the
// listener and every forwarded connection: a replica going away.
type tcpProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &tcpProxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); _ = up.Close() }()
			go func() { _, _ = io.Copy(c, up); _ = c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *tcpProxy) stop() {
	_ = p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

// A replica that goes away costs the primary load, not availability:
// every routed read is answered by the primary.
func TestReadURLFallsBackWhenTheReplicaIsDown(t *testing.T) {
	ctx := context.Background()
	f := newReplicaFixture(t)
	u, err := url.Parse(f.url)
	require.NoError(t, err)
	proxy := startProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	b, err := postgres.Open(ctx, postgres.Options{URL: f.primaryURL, ReadURL: u.String()})
	require.NoError(t, err)
	defer b.Close()
	mine, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "on-primary", Kind: "p"})
	require.NoError(t, err)
	page, err := b.ListExecutions(ctx, backend.ListExecutionsParams{})
	require.NoError(t, err)
	require.Equal(t, f.onlyID, page.Executions[0].ExecutionID, "the replica answers while it is up")

	proxy.stop()
	page, err = b.ListExecutions(ctx, backend.ListExecutionsParams{})
	require.NoError(t, err)
	require.Len(t, page.Executions, 1)
	require.Equal(t, mine.ExecutionID, page.Executions[0].ExecutionID, "the primary answers once the replica is gone")
	lanes, err := b.ListLanes(ctx, backend.ListLanesParams{})
	require.NoError(t, err)
	require.Equal(t, "on-primary", lanes.Lanes[0].Name)
	_, err = b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: mine.ExecutionID})
	require.NoError(t, err)
	_, err = b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: f.onlyID})
	require.ErrorIs(t, err, ff.ErrNotFound, "only the primary answered")
	comps, err := b.ReadCompletions(ctx, backend.ReadCompletionsParams{})
	require.NoError(t, err)
	require.Empty(t, comps.Events)
	_, err = b.ListSchedules(ctx, backend.ListSchedulesParams{Namespace: "default"})
	require.NoError(t, err)
}
