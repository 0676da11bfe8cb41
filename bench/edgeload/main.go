// Command edgeload measures two costs at a running server's HTTP edge
// that must stay bounded whatever clients send:
//
//	edgeload lanes -url http://127.0.0.1:8080 -n 20000
//	    /metrics size before and after n claims on lane names nobody
//	    created (each claim a new name);
//	edgeload idle -url http://127.0.0.1:8080 -db postgres://... -n 2000 -measure 30s
//	    database transactions per second (pg_stat_database.xact_commit of
//	    the server's database) while n long-polling claims wait on a lane
//	    with nothing queued, then the wake-up latency of one new execution.
//
// It prints one "key=value" line per figure. Run it against a server on
// its own database: xact_commit counts every session of that database.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: edgeload lanes|idle [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "lanes":
		err = runLanes(os.Args[2:])
	case "idle":
		err = runIdle(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want lanes or idle", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "edgeload:", err)
		os.Exit(1)
	}
}

// api is a server to talk to.
type api struct {
	url, token string
	hc         *http.Client
}

func newAPI(url, token string, conns int) *api {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}
	return &api{url: url, token: token, hc: &http.Client{Transport: tr}}
}

// do sends one request and returns the status and body.
func (a *api) do(ctx context.Context, method, path, body string) (int, []byte, error) {
	var rd io.Reader
	if body != "" {
		rd = bytes.NewReader([]byte(body))
	}
	req, err := http.NewRequestWithContext(ctx, method, a.url+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	return resp.StatusCode, data, err
}

func (a *api) metricsSize(ctx context.Context) (int, error) {
	status, body, err := a.do(ctx, "GET", "/metrics", "")
	if err != nil {
		return 0, err
	}
	if status != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %d %s", status, body)
	}
	return len(body), nil
}

func runLanes(args []string) error {
	fs := flag.NewFlagSet("lanes", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	token := fs.String("token", "", "API token")
	n := fs.Int("n", 20000, "claims, each on a lane name nobody created")
	conc := fs.Int("c", 16, "concurrent requests")
	_ = fs.Parse(args)
	ctx := context.Background()
	a := newAPI(*url, *token, *conc)
	before, err := a.metricsSize(ctx)
	if err != nil {
		return err
	}
	prefix := fmt.Sprintf("edgeload-%d", time.Now().UnixNano())
	var next atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(*n); i = next.Add(1) {
				body := fmt.Sprintf(`{"lanes":["%s-%d"]}`, prefix, i)
				status, _, err := a.do(ctx, "POST", "/v1/workers/edgeload/claim", body)
				if err != nil || status != http.StatusNoContent {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	after, err := a.metricsSize(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("claims=%d unexpected_answers=%d elapsed=%s\n", *n, failed.Load(), time.Since(start).Round(time.Millisecond))
	fmt.Printf("metrics_bytes_before=%d\nmetrics_bytes_after=%d\n", before, after)
	return nil
}

func runIdle(args []string) error {
	fs := flag.NewFlagSet("idle", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:8080", "server base URL")
	token := fs.String("token", "", "API token")
	db := fs.String("db", "", "the server's Postgres URL (for pg_stat_database)")
	n := fs.Int("n", 2000, "concurrent long-polling claims")
	lane := fs.String("lane", fmt.Sprintf("edgeload-idle-%d", time.Now().Unix()), "lane the long-polls wait on (nothing may be queued on it)")
	waitMs := fs.Int("wait-ms", 30000, "wait_ms of each long-poll")
	warmup := fs.Duration("warmup", 10*time.Second, "time for every long-poll to be waiting before measuring")
	measure := fs.Duration("measure", 30*time.Second, "measurement window")
	samples := fs.Int("samples", 5, "wake-up latency samples after the window")
	_ = fs.Parse(args)
	if *db == "" {
		return errors.New("idle: -db is required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn, err := pgx.Connect(ctx, *db)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	a := newAPI(*url, *token, *n+16)
	p := &pollers{a: a, lane: *lane, waitMs: *waitMs, claimed: make(chan claim, 16)}
	var wg sync.WaitGroup
	for range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.loop(ctx)
		}()
	}
	time.Sleep(*warmup)
	c0, err := xactCommit(ctx, conn)
	if err != nil {
		return err
	}
	s0 := p.snapshot()
	t0 := time.Now()
	time.Sleep(*measure)
	c1, err := xactCommit(ctx, conn)
	if err != nil {
		return err
	}
	elapsed := time.Since(t0)
	s1 := p.snapshot()
	fmt.Printf("long_polls=%d measure=%s xact_commit_delta=%d xact_per_s=%.1f\n",
		*n, elapsed.Round(time.Millisecond), c1-c0, float64(c1-c0)/elapsed.Seconds())
	fmt.Printf("answers_in_window: %s\n", s1.sub(s0))
	if *n == 0 {
		return nil
	}
	var lats []time.Duration
	for range *samples {
		lat, err := p.wakeLatency(ctx)
		if err != nil {
			return err
		}
		lats = append(lats, lat.Round(10*time.Microsecond))
	}
	fmt.Printf("wake_latency=%v (each: create sent → a long-poll answered 200 with it)\n", lats)
	cancel()
	wg.Wait()
	return nil
}

// xactCommit reads the committed transactions of the current database.
func xactCommit(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var n int64
	// A statement of its own: the stats snapshot is per transaction.
	err := conn.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n)
	return n, err
}

// pollers re-issue long-polling claims until ctx ends, counting answers.
type pollers struct {
	a       *api
	lane    string
	waitMs  int
	mu      sync.Mutex
	counts  map[string]int
	claimed chan claim
}

// claim is a long-poll that answered with work.
type claim struct {
	at   time.Time
	body []byte
}

func (p *pollers) loop(ctx context.Context) {
	body := fmt.Sprintf(`{"lanes":[%q],"wait_ms":%d}`, p.lane, p.waitMs)
	for ctx.Err() == nil {
		status, out, err := p.a.do(ctx, "POST", "/v1/workers/edgeload/claim", body)
		key := fmt.Sprint(status)
		if err != nil {
			key = "error"
		}
		p.count(key)
		if status == http.StatusOK {
			select {
			case p.claimed <- claim{at: time.Now(), body: out}:
			default:
			}
		}
		if err != nil || status >= 400 {
			select { // do not spin on a refusing server
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (p *pollers) count(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.counts == nil {
		p.counts = map[string]int{}
	}
	p.counts[key]++
}

type tally map[string]int

func (p *pollers) snapshot() tally {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := tally{}
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (t tally) sub(o tally) string {
	var keys []string
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b bytes.Buffer
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, t[k]-o[k])
	}
	return b.String()
}

// wakeLatency creates one execution on the lane and times how long until
// a waiting long-poll answers with it.
func (p *pollers) wakeLatency(ctx context.Context) (time.Duration, error) {
	body := fmt.Sprintf(`{"kind":"edgeload.wake","lane":%q}`, p.lane)
	created := time.Now() // the figure includes the create's own round trip
	status, out, err := p.a.do(ctx, "POST", "/v1/executions", body)
	if err != nil {
		return 0, err
	}
	if status != http.StatusCreated {
		return 0, fmt.Errorf("create: %d %s", status, out)
	}
	var res struct {
		ExecutionID string `json:"execution_id"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, err
	}
	timeout := time.After(time.Duration(p.waitMs)*time.Millisecond + 5*time.Second)
	for {
		select {
		case c := <-p.claimed:
			if bytes.Contains(c.body, []byte(res.ExecutionID)) {
				return c.at.Sub(created), nil
			}
		case <-timeout:
			return 0, errors.New("no long-poll claimed the new execution")
		}
	}
}
