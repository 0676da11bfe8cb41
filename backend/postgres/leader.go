package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// leaderCheckInterval is how often a leader verifies its session (and so
// its advisory lock) is still alive.
const leaderCheckInterval = time.Second

// TryAcquireLeader takes a session-level advisory lock on a dedicated
// connection. The lock is keyed by schema and name, so schemas sharing a
// database elect independently. Leadership ends when the connection dies
// (the server releases the lock with the session) or on Release.
func (b *Backend) TryAcquireLeader(ctx context.Context, p backend.LeaderParams) (backend.LeaderLease, error) {
	name := p.Name
	conn, err := b.pool.Acquire(ctx)
	if err != nil {
		return nil, mapPgError("leader: acquire", err)
	}
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(
		('x' || substr(md5('flowfabric:leader:' || current_schema() || ':' || $1), 1, 16))::bit(64)::bigint)`, name).Scan(&ok); err != nil {
		conn.Release()
		return nil, mapPgError("leader: lock", err)
	}
	if !ok {
		// Nothing is held on the session: it goes back to the pool.
		conn.Release()
		return nil, nil
	}
	// The session now holds the lock: it leaves the pool for good, and the
	// lock lives exactly as long as it.
	raw := conn.Hijack()
	var key int64
	if err := raw.QueryRow(ctx, `SELECT ('x' || substr(md5('flowfabric:leader:' || current_schema() || ':' || $1), 1, 16))::bit(64)::bigint`, name).Scan(&key); err != nil {
		_ = raw.Close(context.WithoutCancel(ctx))
		return nil, mapPgError("leader: key", err)
	}
	l := &leaderLease{conn: raw, key: key, lost: make(chan struct{}), stop: make(chan struct{})}
	l.wg.Add(1)
	go l.watch()
	return l, nil
}

type leaderLease struct {
	conn *pgx.Conn
	key  int64

	mu       sync.Mutex // serialises use of conn
	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

func (l *leaderLease) Lost() <-chan struct{} { return l.lost }

func (l *leaderLease) markLost() { l.lostOnce.Do(func() { close(l.lost) }) }

// watch pings the session; a failed ping means the lock is gone.
func (l *leaderLease) watch() {
	defer l.wg.Done()
	t := time.NewTicker(leaderCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), leaderCheckInterval)
		l.mu.Lock()
		err := l.conn.Ping(ctx)
		l.mu.Unlock()
		cancel()
		if err != nil {
			l.markLost()
			return
		}
	}
}

// Release unlocks and closes the session; Lost is closed afterwards.
func (l *leaderLease) Release(ctx context.Context) error {
	var err error
	l.stopOnce.Do(func() {
		close(l.stop)
		l.wg.Wait()
		l.mu.Lock()
		_, uerr := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, l.key)
		cerr := l.conn.Close(ctx)
		l.mu.Unlock()
		l.markLost()
		if uerr != nil {
			err = ff.Transport("leader: unlock", uerr, true)
		} else if cerr != nil {
			err = ff.Transport("leader: close", cerr, true)
		}
	})
	return err
}
