package sqlite

import (
	"context"
	"sync"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// leaders is the in-process leader lock of one Backend. The embedded
// deployment is one process per database file, so whoever holds a name
// here is the only leader for that file (see the package documentation
// for what happens when that assumption is broken).
type leaders struct {
	mu     sync.Mutex
	held   map[string]*leaderLease
	closed bool
}

type leaderLease struct {
	owner *leaders
	name  string
	lost  chan struct{}
	once  sync.Once
}

// TryAcquireLeader takes leadership of name if nobody in this Backend
// holds it.
func (b *Backend) TryAcquireLeader(ctx context.Context, p backend.LeaderParams) (backend.LeaderLease, error) {
	name := p.Name
	if err := ctx.Err(); err != nil {
		return nil, ff.Transport("sqlite: acquire leader", err, false)
	}
	if name == "" {
		return nil, ff.Validation(ff.ErrInvalidInput, "leader name: must not be empty")
	}
	l := &b.leader
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ff.Transport("sqlite: acquire leader", ErrClosed, false)
	}
	if _, taken := l.held[name]; taken {
		return nil, nil
	}
	if l.held == nil {
		l.held = map[string]*leaderLease{}
	}
	lease := &leaderLease{owner: l, name: name, lost: make(chan struct{})}
	l.held[name] = lease
	return lease, nil
}

// Lost is closed when the lease is released or the backend closes.
func (l *leaderLease) Lost() <-chan struct{} { return l.lost }

// Release gives leadership up; it is idempotent.
func (l *leaderLease) Release(context.Context) error {
	l.owner.mu.Lock()
	if l.owner.held[l.name] == l {
		delete(l.owner.held, l.name)
	}
	l.owner.mu.Unlock()
	l.end()
	return nil
}

func (l *leaderLease) end() { l.once.Do(func() { close(l.lost) }) }

// releaseAll ends every lease (Close).
func (l *leaders) releaseAll() {
	l.mu.Lock()
	held := l.held
	l.held = nil
	l.closed = true
	l.mu.Unlock()
	for _, lease := range held {
		lease.end()
	}
}
