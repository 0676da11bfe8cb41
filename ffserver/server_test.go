package ffserver_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/clock"
	"github.com/flowfabric-go/flowfabric/engine"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/worker"
)

// The server on its own listener: the API works over HTTP, Stop drains
// and Close closes the store it opened; neither starts again.
func TestServeOnOwnListener(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		srv := openServer(t, ffserver.Config{DatabaseURL: k.url(t), Migrate: ffserver.MigrateAlways,
			Addr: "127.0.0.1:0", HTTP: serverConfigWithToken("tok")})
		require.Nil(t, srv.Addr(), "nothing is bound before Start")
		require.NoError(t, srv.Start(t.Context()))
		require.ErrorIs(t, srv.Start(t.Context()), ffserver.ErrStarted)

		c := newClient(t, "http://"+srv.Addr().String(), client.WithToken("tok"))
		created, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "echo", Input: []byte(`{"n":1}`)})
		require.NoError(t, err)
		tasks, err := c.Claim(t.Context(), backend.ClaimParams{WorkerID: "w"})
		require.NoError(t, err)
		require.Len(t, tasks, 1)
		require.NoError(t, c.Complete(t.Context(), backend.CompleteParams{Handle: tasks[0].Handle, Result: []byte(`"ok"`)}))
		st, err := srv.Backend().ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: created.ExecutionID})
		require.NoError(t, err)
		require.Equal(t, ff.PublicCompleted, st)

		require.NoError(t, srv.Stop(t.Context()))
		require.NoError(t, srv.Stop(t.Context()), "Stop is idempotent")
		require.ErrorIs(t, srv.Start(t.Context()), ffserver.ErrStopped)
		_, err = net.Dial("tcp", srv.Addr().String())
		require.Error(t, err, "the listener is closed")
		require.NoError(t, srv.Close())
		require.NoError(t, srv.Close(), "Close is idempotent")
		_, err = srv.Store().ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: created.ExecutionID})
		require.Error(t, err, "the store Open opened is closed")
	})
}

func serverConfigWithToken(tok string) server.Config { return server.Config{APIToken: tok} }

// The API mounted on the program's own mux, under a prefix, next to the
// program's own route; auth applies under the prefix.
func TestMountOnMux(t *testing.T) {
	srv := openServer(t, ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db"), HTTP: serverConfigWithToken("tok")})
	mux := http.NewServeMux()
	mux.Handle("/ff/", http.StripPrefix("/ff", srv.Handler()))
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("hello")) })
	hs := httptest.NewServer(mux)
	defer hs.Close()
	require.NoError(t, srv.Start(t.Context()))

	for path, want := range map[string]int{"/hello": 200, "/ff/healthz": 200, "/ff/v1/executions": 401, "/ff/metrics": 401} {
		resp, err := http.Get(hs.URL + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, path)
	}
	c := newClient(t, hs.URL+"/ff", client.WithToken("tok"))
	res, err := c.CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "k"})
	require.NoError(t, err)
	snap, err := srv.Backend().DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err)
	require.Equal(t, ff.PublicWaiting, snap.PublicState)
	require.Nil(t, srv.Addr(), "no listener of its own")
	require.NoError(t, srv.Stop(t.Context()))
	http.DefaultClient.CloseIdleConnections()
}

// TestStopDrainsInOrder pins the shutdown order on both stores: Stop
// releases a waiting long-poll at once, the reconcilers keep sweeping
// (a lease expires and is swept) while a worker's handler drains, the
// handler's completion is written before the reconcilers stop, and a
// store the program gave is not closed by Close.
func TestStopDrainsInOrder(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		rec := newRecorder(openStore(t, k, fake), "poll")
		srv := openServer(t, ffserver.Config{Backend: rec, Engine: engine.Config{LeaseExpiryInterval: 10 * time.Millisecond}})
		hs := httptest.NewServer(srv.Handler())
		defer hs.Close()

		started, release := make(chan struct{}), make(chan struct{})
		w, err := srv.NewWorker(worker.Config{WorkerID: "drainer", Lanes: []string{"work"}})
		require.NoError(t, err)
		w.Register("hold", func(context.Context, *worker.Task) (any, error) {
			close(started)
			<-release
			return "done", nil
		})
		held := create(t, srv, "work", "hold")
		orphan := create(t, srv, "elsewhere", "any")
		_, err = srv.Backend().Claim(t.Context(), backend.ClaimParams{WorkerID: "crashed", Lanes: []string{"elsewhere"}, LeaseTTL: time.Second})
		require.NoError(t, err)

		require.NoError(t, srv.Start(t.Context()))
		waitFor(t, rec.leading, "reconciler leadership")
		waitFor(t, started, "the held handler")
		polled := longPoll(t, hs.URL, "poll")
		waitFor(t, rec.subscribed, "the long-poll to wait")

		stopped := make(chan error, 1)
		go func() { stopped <- srv.Stop(context.WithoutCancel(t.Context())) }()
		require.NoError(t, waitErr(t, polled, 10*time.Second, "the long-poll (waiting 25 s) to answer at once"), "nothing claimed")

		fake.Advance(5 * time.Second) // past the orphan's lease, not the worker's (30 s)
		require.Positive(t, <-rec.expired, "the reconcilers sweep while the worker drains")
		requireNotDone(t, stopped)
		close(release)
		require.NoError(t, <-stopped)

		// The completion is written before the reconcilers stop.
		rec.requireOrder(t, "lease expired", "complete", "reconcilers stopped")
		requireState(t, srv, held, ff.PublicCompleted)
		snap, err := srv.Store().DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: orphan})
		require.NoError(t, err)
		require.Equal(t, ff.OwnershipLeaseExpired, snap.StateVector.OwnershipState, "the orphan's lease was swept")
		require.NoError(t, srv.Close())
		require.False(t, rec.wasClosed(), "Close leaves a Config.Backend open")
		requireState(t, srv, held, ff.PublicCompleted)
	})
}

// A worker made after Start must be added once its handlers exist: it
// then runs at once and Stop drains it; after Stop nothing is added.
func TestWorkersAfterStart(t *testing.T) {
	srv := openServer(t, ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db")})
	require.NoError(t, srv.Start(t.Context()))
	_, err := srv.NewWorker(worker.Config{WorkerID: "late"})
	require.ErrorIs(t, err, ffserver.ErrStarted)

	w, err := worker.New(srv.Backend(), worker.Config{WorkerID: "late"})
	require.NoError(t, err)
	done := make(chan string, 1)
	w.Register("greet", worker.Typed(func(_ context.Context, _ *worker.Task, in struct{ Name string }) (string, error) {
		done <- in.Name
		return "hello, " + in.Name, nil
	}))
	require.NoError(t, srv.AddWorker(w))
	res, err := srv.Backend().CreateExecution(t.Context(), backend.CreateExecutionParams{Kind: "greet", Input: []byte(`{"Name":"ada"}`)})
	require.NoError(t, err)
	require.Equal(t, "ada", <-done)
	require.NoError(t, srv.Stop(t.Context()))
	out, err := srv.Backend().GetExecutionResult(t.Context(), backend.GetExecutionResultParams{ExecutionID: res.ExecutionID})
	require.NoError(t, err, "Stop waited for the completion")
	require.JSONEq(t, `"hello, ada"`, string(out))

	require.ErrorIs(t, srv.AddWorker(w), ffserver.ErrStopped)
	_, err = srv.NewWorker(worker.Config{WorkerID: "later"})
	require.ErrorIs(t, err, ffserver.ErrStopped)
}

// Run serves until its context ends, then stops in order.
func TestRun(t *testing.T) {
	srv := openServer(t, ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db")})
	w, err := srv.NewWorker(worker.Config{WorkerID: "runner"})
	require.NoError(t, err)
	ran := make(chan struct{})
	w.Register("once", func(context.Context, *worker.Task) (any, error) {
		close(ran)
		return nil, nil
	})
	id := create(t, srv, "default", "once")
	ctx, cancel := context.WithCancel(t.Context())
	result := make(chan error, 1)
	go func() { result <- srv.Run(ctx) }()
	waitFor(t, ran, "the worker Run started")
	cancel()
	require.NoError(t, <-result)
	requireState(t, srv, id, ff.PublicCompleted)
}

// An address already taken fails Start; nothing keeps running.
func TestStartListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	srv := openServer(t, ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db"), Addr: ln.Addr().String()})
	err = srv.Start(t.Context())
	require.ErrorContains(t, err, "listen on "+ln.Addr().String())
	require.NoError(t, srv.Close())
}

// MigrateAuto migrates SQLite and refuses an unmigrated Postgres schema,
// naming the command that fixes it; MigrateAlways migrates either;
// MigrateNever refuses a missing SQLite file.
func TestOpenMigrateModes(t *testing.T) {
	pgURL := kinds[1].url(t)
	_, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: pgURL, Logger: quiet()})
	require.ErrorContains(t, err, "flowfabric migrate up")
	openServer(t, ffserver.Config{DatabaseURL: pgURL, Migrate: ffserver.MigrateAlways})

	path := filepath.Join(t.TempDir(), "ff.db")
	_, err = ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: path, Migrate: ffserver.MigrateNever, Logger: quiet()})
	require.ErrorContains(t, err, "flowfabric migrate up")
	openServer(t, ffserver.Config{DatabaseURL: "sqlite://" + path})
}

func TestConfigValidate(t *testing.T) {
	store := openStore(t, kinds[0], nil)
	for name, c := range map[string]ffserver.Config{
		"backend and url":     {Backend: store, DatabaseURL: "x.db"},
		"unknown scheme":      {DatabaseURL: "mysql://h/db"},
		"migrate mode":        {Migrate: ffserver.MigrateNever + 1},
		"negative grace":      {ShutdownGrace: -time.Second},
		"negative poll":       {ClaimPollInterval: -time.Second},
		"negative lanes":      {MetricsMaxLanes: -1},
		"negative conns":      {PostgresMaxConns: -1},
		"negative long polls": {HTTP: server.Config{MaxLongPolls: -1}},
		"engine interval":     {Engine: engine.Config{PromoterInterval: time.Millisecond}},
		"engine batch":        {Engine: engine.Config{BatchSize: backend.MaxSweepLimit + 1}},
		"public url path":     {HTTP: server.Config{PublicURL: "https://ff.example.com/ui"}},
		"public url scheme":   {HTTP: server.Config{PublicURL: "ff.example.com"}},
	} {
		err := c.Validate()
		require.ErrorIs(t, err, ff.ErrInvalidInput, name)
		_, err = ffserver.Open(t.Context(), c)
		require.ErrorIs(t, err, ff.ErrInvalidInput, name)
		require.False(t, strings.HasPrefix(err.Error(), "invalid_input"), "a config error reads as a usage message: %v", err)
	}
	require.NoError(t, ffserver.Config{}.Validate())
	require.NoError(t, ffserver.Config{HTTP: server.Config{PublicURL: "https://ff.example.com"}}.Validate())
}

func create(t *testing.T, srv *ffserver.Server, lane, kind string) ff.ExecutionID {
	t.Helper()
	res, err := srv.Backend().CreateExecution(t.Context(), backend.CreateExecutionParams{Lane: lane, Kind: kind})
	require.NoError(t, err)
	return res.ExecutionID
}

func requireState(t *testing.T, srv *ffserver.Server, id ff.ExecutionID, want ff.PublicState) {
	t.Helper()
	st, err := srv.Store().ReadExecutionState(t.Context(), backend.ReadExecutionStateParams{ExecutionID: id})
	require.NoError(t, err)
	require.Equal(t, want, st, id.String())
}

// longPoll claims on lane over HTTP, waiting up to 25 s, and reports
// its error once it answers; it must answer with nothing claimed.
func longPoll(t *testing.T, base, lane string) <-chan error {
	c := newClient(t, base, client.WithClaimWait(25*time.Second))
	out := make(chan error, 1)
	go func() {
		tasks, err := c.Claim(context.WithoutCancel(t.Context()), backend.ClaimParams{WorkerID: "poller", Lanes: []string{lane}})
		if err == nil && len(tasks) > 0 {
			err = errors.New("the long-poll claimed something")
		}
		out <- err
	}()
	return out
}

// newClient is an API client whose idle connections are closed when the
// test ends (goleak would see their goroutines).
func newClient(t *testing.T, base string, opts ...client.Option) *client.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return client.New(base, append(opts, client.WithHTTPClient(&http.Client{Transport: tr}))...)
}

func waitFor(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func waitErr(t *testing.T, ch <-chan error, within time.Duration, what string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(within):
		t.Fatalf("timed out waiting for %s", what)
		return nil
	}
}

func requireNotDone(t *testing.T, stopped <-chan error) {
	t.Helper()
	select {
	case err := <-stopped:
		t.Fatalf("Stop returned (%v) while a handler was still running", err)
	default:
	}
}

// sweepSignal is a program's own reconciler observer.
type sweepSignal struct {
	swept   chan string
	leading chan bool
}

func (o sweepSignal) Observe(name string, _ int, _ error, _ time.Duration) {
	select {
	case o.swept <- name:
	default:
	}
}

func (o sweepSignal) ObserveLeader(held bool) {
	select {
	case o.leading <- held:
	default:
	}
}

// A program's Engine.Observer sees the sweeps and leadership, and the
// reconciler metrics in the server's registry still count them.
func TestEngineObserverAlongsideMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	obs := sweepSignal{swept: make(chan string, 1), leading: make(chan bool, 1)}
	srv := openServer(t, ffserver.Config{DatabaseURL: filepath.Join(t.TempDir(), "ff.db"), Registry: reg,
		Engine: engine.Config{Observer: obs}})
	require.NoError(t, srv.Start(t.Context()))
	require.True(t, <-obs.leading)
	require.NotEmpty(t, <-obs.swept)
	require.Equal(t, 1.0, gaugeValue(t, reg, "ff_reconciler_leader"))
	require.NoError(t, srv.Stop(t.Context()))
}

func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
