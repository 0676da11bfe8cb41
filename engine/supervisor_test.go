package engine

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/flowfabric-go/flowfabric/backend"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// scriptedMaintenance is a stand-in for the seam that lets the scheduling
// logic be tested on its own: sweeps return scripted counts and
// leadership is granted on demand. Storage behaviour is tested against
// the real backends in backends_test.go.
type scriptedMaintenance struct {
	mu      sync.Mutex
	expire  []int // successive ExpireLeases results; 0 once exhausted
	calls   map[string]int
	grant   bool
	leases  []*scriptedLease
	acquire int
	tried   chan struct{} // optional: one send per TryAcquireLeader, never blocking
}

type scriptedLease struct {
	lost     chan struct{}
	released chan struct{}
	once     sync.Once
}

func (l *scriptedLease) Lost() <-chan struct{} { return l.lost }
func (l *scriptedLease) Release(context.Context) error {
	l.once.Do(func() { close(l.released) })
	return nil
}

func (f *scriptedMaintenance) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

func (f *scriptedMaintenance) record(op string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[op]++
}

func (f *scriptedMaintenance) ExpireLeases(context.Context, backend.SweepParams) (int, error) {
	f.record("lease_expiry")
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.expire) == 0 {
		return 0, nil
	}
	n := f.expire[0]
	f.expire = f.expire[1:]
	return n, nil
}

func (f *scriptedMaintenance) ExpireAttemptTimeouts(context.Context, backend.SweepParams) (int, error) {
	f.record("attempt_timeout")
	return 0, nil
}

func (f *scriptedMaintenance) ExpireDeadlines(context.Context, backend.SweepParams) (int, error) {
	f.record("execution_deadline")
	return 0, errors.New("boom")
}

func (f *scriptedMaintenance) PromoteDelayed(context.Context, backend.SweepParams) (int, error) {
	f.record("delayed_promoter")
	return 0, nil
}

func (f *scriptedMaintenance) TryAcquireLeader(context.Context, backend.LeaderParams) (backend.LeaderLease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.acquire++
	if f.tried != nil {
		select {
		case f.tried <- struct{}{}:
		default:
		}
	}
	if !f.grant {
		return nil, nil
	}
	l := &scriptedLease{lost: make(chan struct{}), released: make(chan struct{})}
	f.leases = append(f.leases, l)
	return l, nil
}

func (f *scriptedMaintenance) SubscribeWork(context.Context, backend.SubscribeWorkParams) (<-chan struct{}, func()) {
	return make(chan struct{}), func() {}
}

func (f *scriptedMaintenance) lease(i int) *scriptedLease {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i >= len(f.leases) {
		return nil
	}
	return f.leases[i]
}

// sweeps collects observations, one channel per reconciler.
type sweeps struct {
	ch     map[string]chan sweepSeen
	leader chan bool
}

type sweepSeen struct {
	n   int
	err error
}

func newSweeps() *sweeps {
	s := &sweeps{ch: map[string]chan sweepSeen{}, leader: make(chan bool, 16)}
	for _, name := range []string{"lease_expiry", "delayed_promoter", "attempt_timeout", "execution_deadline", "idempotency_expiry"} {
		s.ch[name] = make(chan sweepSeen, 1024)
	}
	return s
}

func (s *sweeps) Observe(name string, n int, err error, _ time.Duration) {
	s.ch[name] <- sweepSeen{n, err}
}

func (s *sweeps) ObserveLeader(held bool) { s.leader <- held }

// next returns the next observation of reconciler name.
func (s *sweeps) next(t *testing.T, name string) sweepSeen {
	t.Helper()
	select {
	case o := <-s.ch[name]:
		return o
	case <-time.After(5 * time.Second):
		t.Fatalf("no sweep of %s observed", name)
		return sweepSeen{}
	}
}

func stop(t *testing.T, s *Supervisor) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
}

func TestFullBatchSweepsAgainAtOnce(t *testing.T) {
	m := &scriptedMaintenance{grant: true, expire: []int{2, 2, 1}}
	obs := newSweeps()
	// Intervals of an hour: every sweep after the first one can only come
	// from the full-batch rule.
	s, err := New(m, Config{BatchSize: 2, Observer: obs, LeaseExpiryInterval: time.Hour,
		PromoterInterval: time.Hour, AttemptTimeoutInterval: time.Hour, DeadlineInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	defer stop(t, s)

	require.Equal(t, 2, obs.next(t, "lease_expiry").n)
	require.Equal(t, 2, obs.next(t, "lease_expiry").n)
	require.Equal(t, 1, obs.next(t, "lease_expiry").n)
	require.Error(t, obs.next(t, "execution_deadline").err, "failures are observed")
	require.NoError(t, obs.next(t, "delayed_promoter").err)
	stop(t, s)
	require.Equal(t, 3, m.count("lease_expiry"), "a short batch waits for the next interval")
	require.Equal(t, 1, m.count("delayed_promoter"))
}

func TestNoReconcilersWithoutLeadership(t *testing.T) {
	m := &scriptedMaintenance{grant: false, tried: make(chan struct{}, 64)}
	s, err := New(m, Config{LeaderRetryInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	for range 3 {
		select {
		case <-m.tried:
		case <-time.After(5 * time.Second):
			t.Fatal("a follower keeps retrying")
		}
	}
	stop(t, s)
	require.False(t, s.Leading())
	require.Zero(t, m.count("lease_expiry")+m.count("delayed_promoter")+m.count("attempt_timeout")+m.count("execution_deadline"))
}

func TestLostLeadershipStopsAndReacquires(t *testing.T) {
	m := &scriptedMaintenance{grant: true}
	obs := newSweeps()
	s, err := New(m, Config{Observer: obs, LeaderRetryInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	defer stop(t, s)

	require.True(t, <-obs.leader)
	first := m.lease(0)
	require.NotNil(t, first)
	close(first.lost)
	require.False(t, <-obs.leader, "losing the lease stops the reconcilers")
	<-first.released
	require.True(t, <-obs.leader, "acquisition is retried")
	require.NotNil(t, m.lease(1))

	stop(t, s)
	require.False(t, <-obs.leader)
	<-m.lease(1).released
	require.False(t, s.Leading())
}

func TestStopBeforeStartAndTwice(t *testing.T) {
	s, err := New(&scriptedMaintenance{}, Config{})
	require.NoError(t, err)
	stop(t, s)
	require.NoError(t, s.Start(context.Background()))
	require.Error(t, s.Start(context.Background()))
	stop(t, s)
	stop(t, s)
}

func TestConfigValidation(t *testing.T) {
	_, err := New(&scriptedMaintenance{}, Config{PromoterInterval: time.Millisecond})
	require.ErrorContains(t, err, "promoter interval")
	_, err = New(&scriptedMaintenance{}, Config{BatchSize: -1})
	require.Error(t, err)
	_, err = New(nil, Config{})
	require.Error(t, err)
}
