package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/worker"
)

// begin opens a transaction on b's pool, rolled back at the end of the
// test unless the test ended it.
func begin(t *testing.T, b *postgres.Backend) pgx.Tx {
	t.Helper()
	tx, err := b.Pool().Begin(context.Background())
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	return tx
}

// claimOne claims from lane and returns the ids claimed (at most 10).
func claimIDs(t *testing.T, b backend.Backend, lane string) []ff.ExecutionID {
	t.Helper()
	tasks, err := b.Claim(context.Background(), backend.ClaimParams{WorkerID: "w", Lanes: []string{lane}, LeaseTTL: 10 * time.Second, Max: 10})
	require.NoError(t, err)
	var ids []ff.ExecutionID
	for _, task := range tasks {
		ids = append(ids, task.ExecutionID)
	}
	return ids
}

// rowCount counts the rows of table matching where.
func rowCount(t *testing.T, b *postgres.Backend, table, where string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, b.Pool().QueryRow(context.Background(), "SELECT count(*) FROM "+table+" WHERE "+where, args...).Scan(&n))
	return n
}

func TestCreateExecutionTxExistsOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	tx := begin(t, b)
	res, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "txc", Kind: "receipt", Input: []byte(`{"order":1}`)})
	require.NoError(t, err)
	require.False(t, res.Duplicate)
	require.Equal(t, ff.PublicWaiting, res.PublicState)

	require.Empty(t, claimIDs(t, b, "txc"), "claimable before the caller committed")
	_, err = b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.ErrorIs(t, err, ff.ErrNotFound, "visible before the caller committed")

	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, []ff.ExecutionID{res.ExecutionID}, claimIDs(t, b, "txc"))
	snap, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, "receipt", snap.Kind)
}

func TestCreateExecutionTxRollbackLeavesNothing(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	events := rowCount(t, b, "ff_event", "true")
	tx := begin(t, b)
	res, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "txr", Kind: "receipt", IdempotencyKey: "order-9"})
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))

	require.Zero(t, rowCount(t, b, "ff_execution", "id = $1", res.ExecutionID.String()))
	require.Zero(t, rowCount(t, b, "ff_lane", "name = 'txr'"), "lane registered by a rolled-back create")
	require.Equal(t, events, rowCount(t, b, "ff_event", "true"), "stray event")
	require.Empty(t, claimIDs(t, b, "txr"))

	// The key was never held, and the lane is registered by the next
	// create (the rolled-back one must not have been remembered).
	again, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "txr", Kind: "receipt", IdempotencyKey: "order-9"})
	require.NoError(t, err)
	require.False(t, again.Duplicate)
	require.Equal(t, 1, rowCount(t, b, "ff_lane", "name = 'txr'"))
}

// wakeProbe tells when the backend's LISTEN connection has delivered
// everything committed before a probe: notifications reach a listener in
// commit order, and each is forwarded to the hub before the next.
type wakeProbe struct {
	t    *testing.T
	b    *postgres.Backend
	lane string
	ch   <-chan struct{}
}

func newWakeProbe(t *testing.T, b *postgres.Backend) *wakeProbe {
	lane := fmt.Sprintf("probe-%d", time.Now().UnixNano())
	ch, stop := b.SubscribeWork(context.Background(), backend.SubscribeWorkParams{Lanes: []string{lane}})
	t.Cleanup(stop)
	p := &wakeProbe{t: t, b: b, lane: lane, ch: ch}
	// The listener connects in the background: probe until it answers.
	deadline := time.Now().Add(20 * time.Second)
	for !p.try(50 * time.Millisecond) {
		require.True(t, time.Now().Before(deadline), "wake-up listener never answered")
	}
	return p
}

func (p *wakeProbe) try(wait time.Duration) bool {
	_, err := p.b.Pool().Exec(context.Background(), `SELECT pg_notify($1, $2)`, postgres.WorkChannel, p.lane)
	require.NoError(p.t, err)
	select {
	case <-p.ch:
		return true
	case <-time.After(wait):
		return false
	}
}

// sync returns once every notification committed before it has been
// delivered to the hub.
func (p *wakeProbe) sync() {
	require.True(p.t, p.try(20*time.Second), "probe notification not delivered")
}

func woken(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestCreateExecutionTxWakesOnlyAfterCommit(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	probe := newWakeProbe(t, b)
	lane := fmt.Sprintf("txw-%d", time.Now().UnixNano())
	work, stop := b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{lane}})
	defer stop()

	tx := begin(t, b)
	_, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: lane, Kind: "k"})
	require.NoError(t, err)
	probe.sync()
	require.False(t, woken(work), "worker woken before the caller committed")

	require.NoError(t, tx.Commit(ctx))
	probe.sync()
	require.True(t, woken(work), "commit did not wake the worker")
	require.Len(t, claimIDs(t, b, lane), 1)

	// Rolled back: no wake, ever.
	tx = begin(t, b)
	_, err = b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: lane, Kind: "k"})
	require.NoError(t, err)
	require.NoError(t, tx.Rollback(ctx))
	probe.sync()
	require.False(t, woken(work), "a rolled-back create woke the worker")
}

func TestCreateExecutionTxDelayedDoesNotWake(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	probe := newWakeProbe(t, b)
	lane := fmt.Sprintf("txd-%d", time.Now().UnixNano())
	work, stop := b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{lane}})
	defer stop()
	tx := begin(t, b)
	res, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: lane, Kind: "k", DelayUntil: time.Now().Add(time.Hour)})
	require.NoError(t, err)
	require.Equal(t, ff.PublicDelayed, res.PublicState)
	require.NoError(t, tx.Commit(ctx))
	probe.sync()
	require.False(t, woken(work), "a delayed execution woke the worker")
}

func TestCreateExecutionTxIdempotencyKey(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	p := backend.CreateExecutionParams{Namespace: "shop", Lane: "txi", Kind: "receipt", IdempotencyKey: "order-1"}

	tx := begin(t, b)
	first, err := b.CreateExecutionTx(ctx, tx, p)
	require.NoError(t, err)
	second, err := b.CreateExecutionTx(ctx, tx, p)
	require.NoError(t, err)
	require.True(t, second.Duplicate, "the key created earlier in the same transaction is held")
	require.Equal(t, first.ExecutionID, second.ExecutionID)

	// A concurrent transaction with the same key waits for this one and
	// then sees its commit.
	other := begin(t, b)
	done := make(chan backend.CreateExecutionResult, 1)
	go func() {
		r, err := b.CreateExecutionTx(ctx, other, p)
		if err != nil {
			t.Errorf("concurrent create: %v", err)
		}
		done <- r
	}()
	require.NoError(t, tx.Commit(ctx))
	r := <-done
	require.True(t, r.Duplicate)
	require.Equal(t, first.ExecutionID, r.ExecutionID)
	require.NoError(t, other.Commit(ctx))

	// Outside any transaction the committed key is held too.
	again, err := b.CreateExecution(ctx, p)
	require.NoError(t, err)
	require.True(t, again.Duplicate)
	require.Equal(t, first.ExecutionID, again.ExecutionID)
	require.Equal(t, 1, rowCount(t, b, "ff_execution", "namespace = 'shop'"))
}

func TestCreateExecutionTxKeyFreedByRollback(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	p := backend.CreateExecutionParams{Lane: "txf", Kind: "receipt", IdempotencyKey: "order-2"}
	tx := begin(t, b)
	first, err := b.CreateExecutionTx(ctx, tx, p)
	require.NoError(t, err)
	other := begin(t, b)
	done := make(chan backend.CreateExecutionResult, 1)
	go func() {
		r, err := b.CreateExecutionTx(ctx, other, p)
		if err != nil {
			t.Errorf("concurrent create: %v", err)
		}
		done <- r
	}()
	require.NoError(t, tx.Rollback(ctx))
	r := <-done
	require.False(t, r.Duplicate, "the key of a rolled-back create is free")
	require.NotEqual(t, first.ExecutionID, r.ExecutionID)
	require.NoError(t, other.Commit(ctx))
	require.Equal(t, []ff.ExecutionID{r.ExecutionID}, claimIDs(t, b, "txf"))
}

// Refused input and a taken id fail without a failed statement: the
// caller's transaction goes on and commits its own writes.
func TestCreateExecutionTxErrorsLeaveTxUsable(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	taken, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "txe", Kind: "k"})
	require.NoError(t, err)
	_, err = b.Pool().Exec(ctx, `CREATE TABLE app_order (id int PRIMARY KEY)`)
	require.NoError(t, err)

	tx := begin(t, b)
	_, err = tx.Exec(ctx, `INSERT INTO app_order VALUES (1)`)
	require.NoError(t, err)
	_, err = b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "bad\x00lane", Kind: "k"})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
	_, err = b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "txe", Kind: "k", Tags: map[string]string{"": "x"}})
	require.ErrorIs(t, err, ff.ErrInvalidTagKey)
	_, err = b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{ExecutionID: taken.ExecutionID, Lane: "txe", Kind: "k"})
	require.ErrorIs(t, err, ff.ErrDuplicateExecution)
	ok, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "txe", Kind: "k2"})
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx), "the caller's transaction was poisoned")

	require.Equal(t, 1, rowCount(t, b, "app_order", "id = 1"))
	require.ElementsMatch(t, []ff.ExecutionID{taken.ExecutionID, ok.ExecutionID}, claimIDs(t, b, "txe"))
}

func TestCreateExecutionsTx(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	probe := newWakeProbe(t, b)
	lane := fmt.Sprintf("txb-%d", time.Now().UnixNano())
	work, stop := b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{lane}})
	defer stop()

	tx := begin(t, b)
	res, err := b.CreateExecutionsTx(ctx, tx, []backend.CreateExecutionParams{
		{Lane: lane, Kind: "a", IdempotencyKey: "k1"},
		{Lane: lane, Kind: "b"},
		{Lane: lane, Kind: "a", IdempotencyKey: "k1"},
	})
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.True(t, res[2].Duplicate)
	require.Equal(t, res[0].ExecutionID, res[2].ExecutionID)
	probe.sync()
	require.False(t, woken(work))
	require.NoError(t, tx.Commit(ctx))
	probe.sync()
	require.True(t, woken(work))
	require.ElementsMatch(t, []ff.ExecutionID{res[0].ExecutionID, res[1].ExecutionID}, claimIDs(t, b, lane))
}

// A batch is all or none inside the caller's transaction, which stays
// usable whatever entry fails.
func TestCreateExecutionsTxAllOrNone(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	taken, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "txn", Kind: "k"})
	require.NoError(t, err)

	tx := begin(t, b)
	mine, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "txn", Kind: "mine"})
	require.NoError(t, err)
	_, err = b.CreateExecutionsTx(ctx, tx, []backend.CreateExecutionParams{{Lane: "txn", Kind: "k"}, {Lane: "txn", Kind: ""}})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
	require.ErrorContains(t, err, "2 of 2")
	_, err = b.CreateExecutionsTx(ctx, tx, []backend.CreateExecutionParams{
		{Lane: "txn", Kind: "undone", IdempotencyKey: "u"}, {ExecutionID: taken.ExecutionID, Lane: "txn", Kind: "k"}})
	require.ErrorIs(t, err, ff.ErrDuplicateExecution)
	require.NoError(t, tx.Commit(ctx))

	require.Zero(t, rowCount(t, b, "ff_execution", "kind = 'undone'"), "an entry before the failed one survived")
	require.ElementsMatch(t, []ff.ExecutionID{taken.ExecutionID, mine.ExecutionID}, claimIDs(t, b, "txn"))
}

func openSQL(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestCreateExecutionSQLTx(t *testing.T) {
	ctx := context.Background()
	b, url := openFresh(t, nil)
	db := openSQL(t, url)
	probe := newWakeProbe(t, b)
	lane := fmt.Sprintf("txs-%d", time.Now().UnixNano())
	work, stop := b.SubscribeWork(ctx, backend.SubscribeWorkParams{Lanes: []string{lane}})
	defer stop()

	// Rolled back: nothing, no wake.
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	gone, err := b.CreateExecutionSQLTx(ctx, tx, backend.CreateExecutionParams{Lane: lane, Kind: "k", IdempotencyKey: "s",
		RequiredCapabilities: []string{"gpu"}, Tags: map[string]string{"app.a": "b"}, Input: []byte{0, 1}})
	require.NoError(t, err)
	require.NoError(t, tx.Rollback())
	probe.sync()
	require.False(t, woken(work))
	require.Zero(t, rowCount(t, b, "ff_execution", "id = $1", gone.ExecutionID.String()))

	// Committed, with a refused entry and a duplicate key on the way.
	tx, err = db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = b.CreateExecutionSQLTx(ctx, tx, backend.CreateExecutionParams{Lane: lane})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
	one, err := b.CreateExecutionSQLTx(ctx, tx, backend.CreateExecutionParams{Lane: lane, Kind: "k", IdempotencyKey: "s", Input: []byte{0, 1}})
	require.NoError(t, err)
	many, err := b.CreateExecutionsSQLTx(ctx, tx, []backend.CreateExecutionParams{{Lane: lane, Kind: "k", IdempotencyKey: "s"}, {Lane: lane, Kind: "k2"}})
	require.NoError(t, err)
	require.True(t, many[0].Duplicate)
	require.Equal(t, one.ExecutionID, many[0].ExecutionID)
	probe.sync()
	require.False(t, woken(work))
	require.NoError(t, tx.Commit())
	probe.sync()
	require.True(t, woken(work))
	require.ElementsMatch(t, []ff.ExecutionID{one.ExecutionID, many[1].ExecutionID}, claimIDs(t, b, lane))
	in, err := b.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: one.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, "k", in.Kind)
}

// Under REPEATABLE READ the caller's snapshot may predate a capability
// set the create interns: the create answers a retryable contention, and
// the retried transaction succeeds.
func TestCreateExecutionTxRepeatableRead(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	p := backend.CreateExecutionParams{Lane: "txrr", Kind: "k", RequiredCapabilities: []string{"fresh-cap"}}
	attempt := func() (backend.CreateExecutionResult, error) {
		tx, err := b.Pool().BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(ctx) }()
		_, err = tx.Exec(ctx, `SELECT count(*) FROM ff_execution`) // takes the snapshot
		require.NoError(t, err)
		res, err := b.CreateExecutionTx(ctx, tx, p)
		if err != nil {
			return res, err
		}
		return res, tx.Commit(ctx)
	}
	_, err := attempt()
	require.ErrorIs(t, err, ff.ErrContention)
	e, _ := ff.AsError(err)
	require.True(t, e.Retryable(), "%v", err)
	res, err := attempt()
	require.NoError(t, err)
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: "w", Lanes: []string{"txrr"}, Capabilities: []string{"fresh-cap"}, LeaseTTL: 10 * time.Second})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	require.Equal(t, res.ExecutionID, tasks[0].ExecutionID)
}

// An in-process worker that would otherwise poll once an hour handles
// executions enqueued in transactions as their transactions commit: the
// commit's NOTIFY, forwarded by the LISTEN connection, wakes it.
func TestCreateExecutionTxWakesInProcessWorker(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	newWakeProbe(t, b) // the LISTEN connection is up
	lane := fmt.Sprintf("txwk-%d", time.Now().UnixNano())
	w, err := worker.New(b, worker.Config{WorkerID: "w", Lanes: []string{lane}, PollInterval: time.Hour})
	require.NoError(t, err)
	handled := make(chan string, 2)
	w.Register("k", func(_ context.Context, task *worker.Task) (any, error) {
		handled <- string(task.Input)
		return nil, nil
	})
	wctx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	defer func() { stop(); require.NoError(t, <-ran) }()

	for _, in := range []string{`1`, `2`} { // the second finds the worker idle, waiting for a wake-up
		tx := begin(t, b)
		_, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: lane, Kind: "k", Input: []byte(in)})
		require.NoError(t, err)
		require.NoError(t, tx.Commit(ctx))
		select {
		case got := <-handled:
			require.Equal(t, in, got)
		case <-time.After(20 * time.Second):
			t.Fatalf("execution %s not handled: the commit did not wake the worker", in)
		}
	}
}

// A statement that fails inside a batch (here the foreign key of a
// capability set the REPEATABLE READ snapshot predates) is undone by the
// batch's savepoint: the caller's transaction is not aborted and commits
// its own writes.
func TestCreateExecutionsTxFailedStatementLeavesTxUsable(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	_, err := b.Pool().Exec(ctx, `CREATE TABLE app_order (id int PRIMARY KEY)`)
	require.NoError(t, err)
	tx, err := b.Pool().BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	_, err = tx.Exec(ctx, `INSERT INTO app_order VALUES (1)`) // takes the snapshot
	require.NoError(t, err)

	_, err = b.CreateExecutionsTx(ctx, tx, []backend.CreateExecutionParams{
		{Lane: "txfs", Kind: "undone"},
		{Lane: "txfs", Kind: "k", RequiredCapabilities: []string{"fresh-cap-2"}},
	})
	require.ErrorIs(t, err, ff.ErrContention)
	ok, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{Lane: "txfs", Kind: "k"})
	require.NoError(t, err, "the caller's transaction was aborted")
	require.NoError(t, tx.Commit(ctx))

	require.Equal(t, 1, rowCount(t, b, "app_order", "id = 1"))
	require.Zero(t, rowCount(t, b, "ff_execution", "kind = 'undone'"))
	require.Equal(t, []ff.ExecutionID{ok.ExecutionID}, claimIDs(t, b, "txfs"))
}

// The same through database/sql, where the batch runs entry by entry.
func TestCreateExecutionsSQLTxFailedStatementLeavesTxUsable(t *testing.T) {
	ctx := context.Background()
	b, url := openFresh(t, nil)
	db := openSQL(t, url)
	_, err := b.Pool().Exec(ctx, `CREATE TABLE app_order (id int PRIMARY KEY)`)
	require.NoError(t, err)
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead})
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback() })
	_, err = tx.ExecContext(ctx, `INSERT INTO app_order VALUES (1)`)
	require.NoError(t, err)

	_, err = b.CreateExecutionsSQLTx(ctx, tx, []backend.CreateExecutionParams{
		{Lane: "txfq", Kind: "undone"},
		{Lane: "txfq", Kind: "k", RequiredCapabilities: []string{"fresh-cap-3"}},
	})
	require.ErrorIs(t, err, ff.ErrContention)
	ok, err := b.CreateExecutionSQLTx(ctx, tx, backend.CreateExecutionParams{Lane: "txfq", Kind: "k"})
	require.NoError(t, err, "the caller's transaction was aborted")
	require.NoError(t, tx.Commit())

	require.Equal(t, 1, rowCount(t, b, "app_order", "id = 1"))
	require.Zero(t, rowCount(t, b, "ff_execution", "kind = 'undone'"))
	require.Equal(t, []ff.ExecutionID{ok.ExecutionID}, claimIDs(t, b, "txfq"))
}
