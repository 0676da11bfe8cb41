package postgres

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flowfabric-go/flowfabric/internal/wakeup"
)

// workChannel is the LISTEN/NOTIFY channel for cross-process wake-ups.
// Its payload is a lane name, or the wake key of an output stream
// (backend.StreamRef.WakeKey, which no lane name can equal); the listener
// forwards either to the in-process hub. A notification is a hint only.
const workChannel = "flowfabric_work"

// notifyCooldown bounds outgoing NOTIFYs to one per lane per cooldown:
// NOTIFY serialises commits database-wide, so it must never be per row.
const notifyCooldown = 5 * time.Millisecond

// notifier publishes wake-ups to other processes, coalesced per lane, and
// (once anyone subscribes) listens for theirs and forwards them to the
// in-process hub. In-process subscribers are woken directly by the hub
// and never wait for the database.
type notifier struct {
	pool *pgxpool.Pool
	hub  *wakeup.Hub
	log  *slog.Logger

	mu        sync.Mutex
	pending   map[string]struct{}
	kick      chan struct{}
	listening bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newNotifier(pool *pgxpool.Pool, hub *wakeup.Hub, log *slog.Logger) *notifier {
	ctx, cancel := context.WithCancel(context.Background())
	n := &notifier{pool: pool, hub: hub, log: log, pending: map[string]struct{}{},
		kick: make(chan struct{}, 1), ctx: ctx, cancel: cancel}
	n.wg.Add(1)
	go n.publishLoop()
	return n
}

// publish queues a NOTIFY for lane; bursts coalesce into one.
func (n *notifier) publish(lane string) {
	n.mu.Lock()
	n.pending[lane] = struct{}{}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

func (n *notifier) publishLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-n.kick:
		}
		n.mu.Lock()
		lanes := make([]string, 0, len(n.pending))
		for l := range n.pending {
			lanes = append(lanes, l)
		}
		clear(n.pending)
		n.mu.Unlock()
		if len(lanes) > 0 {
			ctx, cancel := context.WithTimeout(n.ctx, 5*time.Second)
			// A notification is a hint: its transaction writes nothing
			// that must survive a crash, so it does not wait for the WAL
			// flush (set_config with is_local applies to this statement's
			// own transaction).
			_, err := n.pool.Exec(ctx, `SELECT pg_notify($1, l), set_config('synchronous_commit', 'off', true)
				FROM unnest($2::text[]) AS l`, workChannel, lanes)
			cancel()
			if err != nil && n.ctx.Err() == nil {
				n.log.Debug("publish wake-up failed", "err", err)
			}
		}
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(notifyCooldown):
		}
	}
}

// ensureListening starts the LISTEN loop once.
func (n *notifier) ensureListening() {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listening || n.ctx.Err() != nil {
		return
	}
	n.listening = true
	n.wg.Add(1)
	go n.listenLoop()
}

// listenLoop holds one connection in LISTEN and forwards notifications,
// reconnecting with backoff. While disconnected, subscribers still have
// their poll fallback.
func (n *notifier) listenLoop() {
	defer n.wg.Done()
	backoff := 100 * time.Millisecond
	for n.ctx.Err() == nil {
		err := n.listenOnce()
		if n.ctx.Err() != nil {
			return
		}
		n.log.Debug("wake-up listener reconnecting", "err", err)
		select {
		case <-n.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (n *notifier) listenOnce() error {
	conn, err := n.pool.Acquire(n.ctx)
	if err != nil {
		return err
	}
	// The connection leaves the pool: LISTEN state must not leak to others.
	raw := conn.Hijack()
	defer raw.Close(context.Background())
	if _, err := raw.Exec(n.ctx, "LISTEN "+workChannel); err != nil {
		return err
	}
	for {
		note, err := raw.WaitForNotification(n.ctx)
		if err != nil {
			return err
		}
		n.hub.Notify(note.Payload)
	}
}

func (n *notifier) close() {
	n.cancel()
	n.wg.Wait()
}
