package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
)

// Reads off the primary.
//
// With Options.ReadURL set (a streaming replica, typically), the backend
// keeps a second pool and sends it the reads that tolerate replication
// lag, and only those:
//
//   - DescribeExecution, ListAttempts and GetSchedule (a NotFound from the
//     replica is asked again of the primary, so an object created a moment
//     ago is found even while the replica lags);
//   - ListExecutions, ListLanes, ListSchedules;
//   - ReadCompletions (events replay: its cursor makes a lagging page
//     merely late, never wrong).
//
// Any of them is asked again of the primary when the replica cannot be
// reached. Everything else stays on the primary: claims, every fenced or
// state-changing write, the reconcilers' sweeps, leadership, LISTEN/NOTIFY,
// ReadExecutionState and GetExecutionResult (a caller acts on their answer
// at once), and every read inside a write's transaction. A method added
// later is on the primary unless it is added to the list above, here and
// in its code, through routedRead.

// openReadPool opens and checks the read pool: it must answer and hold a
// schema at this build's version (a replica of the primary does).
func openReadPool(ctx context.Context, url string, maxConns int32) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, ff.Validation(ff.ErrInvalidInput, "database read url: %v", err)
	}
	if maxConns > 0 {
		cfg.MaxConns = maxConns
	} else if cfg.MaxConns < 4 {
		cfg.MaxConns = 4
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "flowfabric-read"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, ff.Transport("connect read replica", err, true)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, ff.Transport("connect read replica", err, true)
	}
	if err := checkSchema(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("read replica: %w", err)
	}
	return pool, nil
}

// replica is the pool for reads that tolerate lag: the read pool when
// one is configured, else the primary's.
func (b *Backend) replica() *pgxpool.Pool {
	if b.read != nil {
		return b.read
	}
	return b.pool
}

// ReadPool is the read-replica pool, or nil when Options.ReadURL is unset
// (for tests and tooling).
func (b *Backend) ReadPool() *pgxpool.Pool { return b.read }

// routedRead runs read on the replica, and once more on the primary when
// the replica cannot be reached (replicaUnreachable), so a replica outage costs the
// primary load, not availability; and, for reads of one object (byID),
// when the replica answers NotFound: the object may be younger than the
// replica's lag.
func routedRead[T any](b *Backend, byID bool, read func(q *pgxpool.Pool) (T, error)) (T, error) {
	v, err := read(b.replica())
	if b.read != nil && (replicaUnreachable(err) || byID && errors.Is(err, ff.ErrNotFound)) {
		return read(b.pool)
	}
	return v, err
}

// replicaUnreachable reports an error that says the replica did not
// answer (connection lost or refused, too many connections, a query
// cancelled by a conflict with recovery on a hot standby), not that the
// read is wrong. Reads have no effects, so asking the primary instead is
// always safe.
func replicaUnreachable(err error) bool {
	for _, k := range []ff.ErrorKind{ff.ErrTransport, ff.ErrTransportFatal, ff.ErrResourceExhausted, ff.ErrContention} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
