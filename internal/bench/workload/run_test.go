package workload

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"
)

// memSystem is an in-memory queue worked by goroutines: enough to test
// the driver's orchestration without a database.
type memSystem struct {
	workers int
	queue   chan Payload
	stop    chan struct{}
	wg      sync.WaitGroup
	failAt  int // Insert of job failAt fails when > 0
	drop    int // jobs with N%drop==0 never complete when > 0
	mu      sync.Mutex
	startAt int // how many were inserted when Start was called
	ins     int
}

func newMem(workers, jobs int) *memSystem {
	return &memSystem{workers: workers, queue: make(chan Payload, jobs), stop: make(chan struct{})}
}

func (m *memSystem) Name() string { return "mem" }

func (m *memSystem) Insert(_ context.Context, p Payload) error {
	if m.failAt > 0 && p.N == m.failAt {
		return errors.New("boom")
	}
	m.mu.Lock()
	m.ins++
	m.mu.Unlock()
	m.queue <- p
	return nil
}

func (m *memSystem) Start(_ context.Context, probe *Probe) error {
	m.mu.Lock()
	m.startAt = m.ins
	m.mu.Unlock()
	for range m.workers {
		m.wg.Go(func() {
			for {
				select {
				case <-m.stop:
					return
				case p := <-m.queue:
					probe.Started(p)
					if m.drop > 0 && p.N%m.drop == 0 {
						continue
					}
					probe.Completed(p)
				}
			}
		})
	}
	return nil
}

func (m *memSystem) Stop(context.Context) error {
	close(m.stop)
	m.wg.Wait()
	return nil
}

func TestRunDrainInsertsEverythingBeforeStarting(t *testing.T) {
	m := newMem(4, 300)
	res, err := Run(context.Background(), Options{Mode: ModeDrain, Jobs: 300, Workers: 4}, m)
	if err != nil {
		t.Fatal(err)
	}
	if m.startAt != 300 {
		t.Fatalf("workers started after %d inserts, want 300", m.startAt)
	}
	if res.Inserted != 300 || res.Completed != 300 || res.Pickup.Count != 300 || res.EndToEnd.Count != 300 {
		t.Fatalf("result = %+v", res)
	}
	if res.Throughput() <= 0 || res.InsertRate() <= 0 {
		t.Fatalf("throughput %g, insert rate %g", res.Throughput(), res.InsertRate())
	}
	if res.EndToEnd.P50 < res.Pickup.P50 {
		t.Fatalf("end-to-end p50 %v below pickup p50 %v", res.EndToEnd.P50, res.Pickup.P50)
	}
}

func TestRunSteadyPacesInserts(t *testing.T) {
	m := newMem(2, 50)
	begin := time.Now()
	res, err := Run(context.Background(), Options{Mode: ModeSteady, Jobs: 50, Workers: 2, Rate: 500}, m)
	if err != nil {
		t.Fatal(err)
	}
	if m.startAt != 0 {
		t.Fatalf("workers started after %d inserts, want before any", m.startAt)
	}
	// 50 jobs at 500/s: the last is due at 98ms.
	if el := time.Since(begin); el < 95*time.Millisecond {
		t.Fatalf("steady run took %v, want >= 95ms at 500 jobs/s", el)
	}
	if res.Completed != 50 || res.InsertRate() > 600 {
		t.Fatalf("completed %d, insert rate %g", res.Completed, res.InsertRate())
	}
}

func TestRunSteadyDurationStopsInserting(t *testing.T) {
	m := newMem(2, 1000)
	res, err := Run(context.Background(), Options{Mode: ModeSteady, Jobs: 1000, Rate: 1000, Duration: 50 * time.Millisecond}, m)
	if err != nil {
		t.Fatal(err)
	}
	// Jobs due before 50ms at 1000/s: indices 0..49.
	if res.Inserted != 50 || res.Completed != 50 {
		t.Fatalf("inserted %d completed %d, want 50 each", res.Inserted, res.Completed)
	}
}

func TestRunReportsInsertFailure(t *testing.T) {
	m := newMem(1, 100)
	m.failAt = 10
	_, err := Run(context.Background(), Options{Jobs: 100, InsertConcurrency: 1}, m)
	if err == nil || !strings.Contains(err.Error(), "job 10: boom") {
		t.Fatalf("err = %v, want the failing job named", err)
	}
}

func TestRunReportsIncompleteWork(t *testing.T) {
	m := newMem(2, 20)
	m.drop = 7
	res, err := Run(context.Background(), Options{Jobs: 20, Timeout: 300 * time.Millisecond}, m)
	if !errors.Is(err, ErrIncomplete) {
		t.Fatalf("err = %v, want ErrIncomplete", err)
	}
	if res.Completed != 17 { // 0, 7 and 14 never complete
		t.Fatalf("completed %d, want 17", res.Completed)
	}
}

func TestPrintEndsWithThroughputLine(t *testing.T) {
	r := Result{System: "mem", Mode: ModeSteady, Jobs: 10, Workers: 2, Rate: 5, Inserted: 10, InsertElapsed: 2 * time.Second,
		Completed: 10, WorkElapsed: 4 * time.Second, ClientCPU: 30 * time.Millisecond, Extra: []string{"extra=1"}}
	var buf bytes.Buffer
	if err := r.Print(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if last := lines[len(lines)-1]; last != "throughput_jobs_per_s=2.5" {
		t.Fatalf("last line %q, want throughput_jobs_per_s=2.5\n%s", last, out)
	}
	for _, want := range []string{"system=mem mode=steady jobs=10 workers=2 rate=5", "insert_rate_jobs_per_s=5.0", "pickup_latency_ms p50=", "end_to_end_latency_ms p50=", "extra=1",
		"client_cpu_seconds=0.030 client_cpu_us_per_job=3000.0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("report lacks %q:\n%s", want, out)
		}
	}
	if v, err := ParseThroughput(out); err != nil || v != 2.5 {
		t.Fatalf("ParseThroughput = %g, %v", v, err)
	}
	if _, err := ParseThroughput("x\nthroughput=1\n"); err == nil {
		t.Fatal("ParseThroughput accepted a wrong last line")
	}
}

func TestValidateRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{Mode: "burst", Jobs: 1},
		{Jobs: 0},
		{Mode: ModeSteady, Jobs: 1},
		{Jobs: 1, InsertConcurrency: -1},
		{Jobs: 1, Duration: -time.Second},
	} {
		if err := o.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", o)
		}
	}
}
