package ui

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed sign-ins are bounded per client address: loginBurst failures at
// once, then one more every loginRefill. An address over its budget is
// answered 429 without the token being compared, so guessing the token
// through the form costs an attacker loginRefill per guess. Behind a
// reverse proxy every client shares the proxy's address (and its budget).
const (
	loginBurst      = 10
	loginRefill     = 30 * time.Second
	maxLoginClients = 10_000
)

// loginLimit is the failure budget of each client address (a token
// bucket refilled by elapsed time).
type loginLimit struct {
	mu      sync.Mutex
	now     func() time.Time
	buckets map[string]*loginBucket
}

type loginBucket struct {
	tokens float64
	at     time.Time
}

func newLoginLimit(now func() time.Time) *loginLimit {
	return &loginLimit{now: now, buckets: map[string]*loginBucket{}}
}

// clientAddr is the address a request came from (its host, without the
// port).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// allow reports whether addr may try to sign in now, and otherwise how
// long until it may.
func (l *loginLimit) allow(addr string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.refilled(l.key(addr))
	if b == nil || b.tokens >= 1 {
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) * float64(loginRefill))
}

// failed spends one of addr's failures.
func (l *loginLimit) failed(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := l.key(addr)
	b := l.refilled(k)
	if b == nil {
		b = &loginBucket{tokens: loginBurst, at: l.now()}
		l.buckets[k] = b
	}
	b.tokens = max(b.tokens-1, 0)
}

// key is the bucket addr's failures count in: its own while it has one or
// there is room for one, else the one budget every untracked address
// shares ("").
func (l *loginLimit) key(addr string) string {
	if _, ok := l.buckets[addr]; ok || len(l.buckets) < maxLoginClients {
		return addr
	}
	l.prune()
	if len(l.buckets) < maxLoginClients {
		return addr
	}
	return ""
}

// refilled is addr's bucket with the time since its last use credited,
// or nil when it has none.
func (l *loginLimit) refilled(addr string) *loginBucket {
	b := l.buckets[addr]
	if b == nil {
		return nil
	}
	now := l.now()
	b.tokens = min(loginBurst, b.tokens+float64(now.Sub(b.at))/float64(loginRefill))
	b.at = now
	return b
}

// prune drops the buckets that have refilled completely.
func (l *loginLimit) prune() {
	for addr := range l.buckets {
		if b := l.refilled(addr); b.tokens >= loginBurst {
			delete(l.buckets, addr)
		}
	}
}
