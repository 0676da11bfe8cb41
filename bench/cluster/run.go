package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/client"
)

// runOpts are the flags of `cluster run`.
type runOpts struct {
	bin, db, dir              string
	servers, httpW, dbW, conc int
	jobs, steadyJobs          int
	rate                      float64
	portBase                  int
	leaseTTL                  time.Duration
	killLeader                bool
	timeout                   time.Duration
}

func parseRun(args []string) (runOpts, error) {
	var o runOpts
	f := flag.NewFlagSet("run", flag.ContinueOnError)
	f.StringVar(&o.bin, "bin", "./bin/flowfabric", "flowfabric binary")
	f.StringVar(&o.db, "db", "", "migrated, empty benchmark database (postgres://...)")
	f.StringVar(&o.dir, "dir", "", "directory for logs and worker files (default a temporary one)")
	f.IntVar(&o.servers, "servers", 1, "server processes S")
	f.IntVar(&o.httpW, "http-workers", 2, "worker processes over HTTP (spread over the servers)")
	f.IntVar(&o.dbW, "db-workers", 2, "in-process worker processes over the backend")
	f.IntVar(&o.conc, "concurrency", 16, "handlers per worker process")
	f.IntVar(&o.jobs, "jobs", 20000, "drain phase: jobs inserted before the workers start")
	f.IntVar(&o.steadyJobs, "steady-jobs", 2000, "steady phase: jobs created over HTTP at -rate (0 skips it)")
	f.Float64Var(&o.rate, "rate", 200, "steady phase: creations per second")
	f.IntVar(&o.portBase, "port-base", 18300, "server i listens on port-base+i")
	f.DurationVar(&o.leaseTTL, "lease-ttl", 5*time.Second, "workers' lease TTL")
	f.BoolVar(&o.killLeader, "kill-leader", true, "SIGKILL the reconciler leader half-way through the steady phase, then restart it")
	f.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after")
	if err := f.Parse(args); err != nil {
		return o, err
	}
	if o.db == "" {
		return o, errors.New("run: -db is required")
	}
	if o.servers < 1 || o.httpW+o.dbW < 1 || o.jobs < 2 {
		return o, errors.New("run: need at least 1 server, 1 worker process and 2 jobs")
	}
	if o.dir == "" {
		d, err := os.MkdirTemp("", "ffcluster")
		if err != nil {
			return o, err
		}
		o.dir = d
	}
	return o, nil
}

// cluster is one run's processes and its view of the database.
type cluster struct {
	o       runOpts
	pool    *pgxpool.Pool
	b       *postgres.Backend
	servers []*server
	workers []*proc
	dbCPU   *cpuMeter
	appCPU  *cpuMeter // servers and workers
	secret  string    // the servers' waitpoint HMAC secret (hex)
	report  []string
}

func (c *cluster) printf(key, format string, args ...any) {
	line := key + "=" + fmt.Sprintf(format, args...)
	c.report = append(c.report, line)
	fmt.Println(line)
}

func runCluster(args []string) error {
	o, err := parseRun(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	b, err := postgres.Open(ctx, postgres.Options{URL: o.db, MaxConns: 8})
	if err != nil {
		return err
	}
	defer b.Close()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	c := &cluster{o: o, b: b, pool: b.Pool(), dbCPU: newCPUMeter(), appCPU: newCPUMeter(), secret: hex.EncodeToString(key)}
	defer c.shutdown()
	return c.run(ctx)
}

func (c *cluster) run(ctx context.Context) error {
	o := c.o
	c.printf("servers", "%d", o.servers)
	c.printf("worker_processes", "%d (http %d, backend %d), concurrency %d each", o.httpW+o.dbW, o.httpW, o.dbW, o.conc)
	for i := range o.servers {
		s, err := startServer(o.bin, o.db, o.dir, c.secret, i, o.portBase+i)
		if err != nil {
			return err
		}
		c.servers = append(c.servers, s)
	}
	if leader(ctx, c.servers, 15*time.Second) < 0 {
		return errors.New("no server took reconciler leadership")
	}
	if err := c.insertDrain(ctx); err != nil {
		return err
	}
	if err := c.drain(ctx); err != nil {
		return err
	}
	if o.steadyJobs > 0 {
		if err := c.steady(ctx); err != nil {
			return err
		}
	}
	c.stopWorkers()
	return c.verify(ctx)
}

// insertDrain creates the drain phase's jobs in transactions of 500,
// straight through the backend (the insert is not what is measured).
func (c *cluster) insertDrain(ctx context.Context) error {
	t0 := time.Now()
	for lo := 0; lo < c.o.jobs; lo += 500 {
		hi := min(lo+500, c.o.jobs)
		ps := make([]backend.CreateExecutionParams, 0, hi-lo)
		for n := lo; n < hi; n++ {
			ps = append(ps, jobParams(int64(n)))
		}
		tx, err := c.pool.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := c.b.CreateExecutionsTx(ctx, tx, ps); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
	}
	c.printf("drain_insert_s", "%.2f", time.Since(t0).Seconds())
	return nil
}

// jobParams is job n: kind bench, idempotency key job-n (a create retried
// after a lost answer finds the first).
func jobParams(n int64) backend.CreateExecutionParams {
	return backend.CreateExecutionParams{Kind: "bench", Input: encodePayload(n), IdempotencyKey: fmt.Sprintf("job-%d", n)}
}

// startWorkers starts the worker processes: HTTP ones round-robin over
// the servers, then the in-process ones.
func (c *cluster) startWorkers() error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	for i := range c.o.httpW + c.o.dbW {
		args := []string{"worker", "-out", c.startsFile(i), "-concurrency", fmt.Sprint(c.o.conc),
			"-lease-ttl", c.o.leaseTTL.String(), "-id", fmt.Sprintf("bench-%d", i)}
		if i < c.o.httpW {
			args = append(args, "-http", c.servers[i%len(c.servers)].url)
		} else {
			args = append(args, "-db", c.o.db)
		}
		p, err := startProc(fmt.Sprintf("worker-%d", i), filepath.Join(c.o.dir, fmt.Sprintf("worker-%d.log", i)), self, args...)
		if err != nil {
			return err
		}
		c.workers = append(c.workers, p)
	}
	return nil
}

func (c *cluster) startsFile(i int) string {
	return filepath.Join(c.o.dir, fmt.Sprintf("starts-%d.txt", i))
}

// pids are the app processes (servers and workers) alive now.
func (c *cluster) pids() []int {
	var out []int
	for _, s := range c.servers {
		out = append(out, s.pid())
	}
	for _, w := range c.workers {
		out = append(out, w.pid())
	}
	return out
}

func (c *cluster) sampleCPU(ctx context.Context, fresh bool) {
	c.dbCPU.sample(backendPIDs(ctx, c.pool), fresh)
	c.appCPU.sample(c.pids(), fresh)
}

func (c *cluster) completed(ctx context.Context) (int, error) {
	var n int
	err := c.pool.QueryRow(ctx, `SELECT count(*) FROM ff_execution WHERE public_state = 'completed'`).Scan(&n)
	return n, err
}

// drain starts the workers on the backlog and waits for every job: the
// throughput phase.
func (c *cluster) drain(ctx context.Context) error {
	c.sampleCPU(ctx, false)
	busy0, total0 := machineBusy()
	t0 := time.Now()
	if err := c.startWorkers(); err != nil {
		return err
	}
	for {
		n, err := c.completed(ctx)
		if err != nil {
			return err
		}
		if n >= c.o.jobs {
			break
		}
		c.sampleCPU(ctx, true)
		select {
		case <-ctx.Done():
			return fmt.Errorf("drain: %d of %d completed: %w", n, c.o.jobs, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	wall := time.Since(t0).Seconds()
	c.sampleCPU(ctx, true)
	busy1, total1 := machineBusy()
	var spanMs int64
	if err := c.pool.QueryRow(ctx, `SELECT max(completed_at_ms) - min(started_at_ms) FROM ff_execution`).Scan(&spanMs); err != nil {
		return err
	}
	c.printf("drain_throughput_jobs_per_s", "%.0f", float64(c.o.jobs)/(float64(max(spanMs, 1))/1000))
	c.printf("drain_wall_s", "%.2f", wall)
	cores := float64(total1-total0) / clockTicks / wall
	db, app := c.dbCPU.seconds()/wall, c.appCPU.seconds()/wall
	c.printf("machine_cores", "%.0f", cores)
	c.printf("machine_busy_cores", "%.2f", float64(busy1-busy0)/clockTicks/wall)
	c.printf("db_cpu_cores", "%.2f", db)
	c.printf("app_cpu_cores", "%.2f", app)
	if db+app > 0 {
		c.printf("db_cpu_share", "%.2f", db/(db+app))
	}
	return nil
}

// killLeader SIGKILLs the leading server and reports how long until
// another server leads; then it restarts the killed one on its port (its
// HTTP workers reconnect). With one server, the restarted process is the
// only candidate, so it is restarted at once.
func (c *cluster) killLeader(ctx context.Context) error {
	i := leader(ctx, c.servers, 5*time.Second)
	if i < 0 {
		return errors.New("kill: no leader")
	}
	old := c.servers[i]
	t0 := time.Now()
	old.kill()
	others := append(append([]*server{}, c.servers[:i]...), c.servers[i+1:]...)
	if len(others) == 0 {
		if err := c.restart(i); err != nil {
			return err
		}
		others = c.servers
	}
	j := leader(ctx, others, 30*time.Second)
	if j < 0 {
		return errors.New("kill: leadership did not move within 30s")
	}
	moved := time.Since(t0)
	c.printf("leader_killed", "%s pid %d (SIGKILL)", old.name, old.pid())
	c.printf("leader_moved_ms", "%d (to %s pid %d)", moved.Milliseconds(), others[j].name, others[j].pid())
	if len(c.servers) > 1 {
		return c.restart(i)
	}
	return nil
}

// restart starts server i again on its port.
func (c *cluster) restart(i int) error {
	s, err := startServer(c.o.bin, c.o.db, c.o.dir, c.secret, i, c.o.portBase+i)
	if err != nil {
		return err
	}
	c.servers[i] = s
	return nil
}

// steady creates jobs over HTTP at the rate, round-robin over the
// servers, and waits for all of them: the pickup latency phase.
func (c *cluster) steady(ctx context.Context) error {
	clients := make([]*client.Client, len(c.servers))
	for i, s := range c.servers {
		clients[i] = client.New(s.url)
	}
	base := int64(c.o.jobs)
	interval := time.Duration(float64(time.Second) / c.o.rate)
	t0 := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	killed := make(chan error, 1)
	for k := range c.o.steadyJobs {
		if d := time.Until(t0.Add(time.Duration(k) * interval)); d > 0 {
			time.Sleep(d)
		}
		if k == c.o.steadyJobs/2 && c.o.killLeader {
			go func() { killed <- c.killLeader(ctx) }()
		}
		wg.Go(func() {
			if err := createRetrying(ctx, clients, k, jobParams(base+int64(k))); err != nil {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("steady: %d creations failed", n)
	}
	if c.o.killLeader {
		if err := <-killed; err != nil {
			return err
		}
	}
	for {
		n, err := c.completed(ctx)
		if err != nil {
			return err
		}
		if n >= c.o.jobs+c.o.steadyJobs {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("steady: %d of %d completed: %w", n, c.o.jobs+c.o.steadyJobs, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// createRetrying creates p through server k mod S, and through the next
// servers while that one is down; the idempotency key makes a retry after
// a lost answer find the first creation.
func createRetrying(ctx context.Context, clients []*client.Client, k int, p backend.CreateExecutionParams) error {
	for try := 0; ; try++ {
		_, err := clients[(k+try)%len(clients)].CreateExecution(ctx, p)
		if err == nil || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (c *cluster) stopWorkers() {
	var wg sync.WaitGroup
	for _, w := range c.workers {
		wg.Go(func() { w.stop(30 * time.Second) })
	}
	wg.Wait()
	c.workers = nil
}

func (c *cluster) shutdown() {
	c.stopWorkers()
	for _, s := range c.servers {
		s.stop(15 * time.Second)
	}
}
