package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/bench/workload"
	"github.com/flowfabric-go/flowfabric/server"
)

// ModeStream measures output streams: one writer appends Jobs frames to
// one attempt's stream, one append (one transaction) per frame, while
// Workers followers read it as Server-Sent Events from the HTTP API
// served in-process on a loopback port. Each frame carries the time its
// append began; a follower's latency for a frame is its receive time
// minus that (append → follower: the commit, the wake-up, the feed's
// read and the SSE write); the commit → follower latency starts when the
// append returned instead, leaving out the commit's own cost.
const ModeStream = "stream"

// streamResult is what the stream scenario measured.
type streamResult struct {
	system            string
	frames, followers int
	tier              string
	appendElapsed     time.Duration
	delivered         int
	latency           workload.Summary
	ackLatency        workload.Summary
}

func (r streamResult) print(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "system=%s mode=%s frames=%d followers=%d tier=%s\n", r.system, ModeStream, r.frames, r.followers, r.tier)
	fmt.Fprintf(bw, "append_seconds=%.3f delivered=%d\n", r.appendElapsed.Seconds(), r.delivered)
	s := r.latency
	fmt.Fprintf(bw, "append_to_follower_latency_ms p50=%.3f p95=%.3f p99=%.3f max=%.3f mean=%.3f n=%d\n",
		msOf(s.P50), msOf(s.P95), msOf(s.P99), msOf(s.Max), msOf(s.Mean), s.Count)
	s = r.ackLatency
	fmt.Fprintf(bw, "commit_to_follower_latency_ms p50=%.3f p95=%.3f p99=%.3f max=%.3f mean=%.3f n=%d\n",
		msOf(s.P50), msOf(s.P95), msOf(s.P99), msOf(s.Max), msOf(s.Mean), s.Count)
	fmt.Fprintf(bw, "append_throughput_frames_per_s=%.1f\n", float64(r.frames)/r.appendElapsed.Seconds())
	return bw.Flush()
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// runStream runs the stream scenario and prints its report.
func runStream(ctx context.Context, c *Config, b backend.Backend, name string, out io.Writer) error {
	ctx, cancel := context.WithTimeoutCause(ctx, c.Timeout, fmt.Errorf("bench timed out after %s", c.Timeout))
	defer cancel()
	res, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: Lane, Kind: Kind, Input: []byte(`{}`)})
	if err != nil {
		return err
	}
	tasks, err := b.Claim(ctx, backend.ClaimParams{WorkerID: WorkerID, Lanes: []string{Lane}, LeaseTTL: time.Hour, Max: 1})
	if err != nil || len(tasks) != 1 {
		return errors.Join(err, errors.New("stream bench: could not claim its execution"))
	}
	url, stop, err := serveLoopback(b)
	if err != nil {
		return err
	}
	defer stop()

	ref := backend.StreamRef{ExecutionID: res.ExecutionID}
	path := url + "/v1/executions/" + strings.NewReplacer("{", "%7B", "}", "%7D").Replace(ref.ExecutionID.String()) + "/attempts/0/stream"
	f := &followers{want: c.Jobs}
	defer func() { // on an early return too: end the followers, then wait for them
		cancel()
		stop()
		f.wg.Wait()
	}()
	ready := f.start(ctx, path, c.Workers)
	if err := ready(); err != nil {
		return err
	}
	r := streamResult{system: name, frames: c.Jobs, followers: c.Workers, tier: "durable"}
	if c.BestEffort {
		r.tier = "best_effort"
	}
	acks, elapsed, err := appendAll(ctx, c, b, tasks[0].Handle)
	if err != nil {
		return err
	}
	r.appendElapsed = elapsed
	if err := b.Complete(ctx, backend.CompleteParams{Handle: tasks[0].Handle}); err != nil {
		return fmt.Errorf("complete: %w", err)
	}
	ferr := f.wait()
	r.delivered, r.latency, r.ackLatency = f.result(acks)
	if perr := r.print(out); perr != nil {
		return errors.Join(ferr, perr)
	}
	return ferr
}

// appendAll appends c.Jobs frames, one append each, each carrying the
// time its append began; it returns when each append returned, by frame
// id, and the time the appends took.
func appendAll(ctx context.Context, c *Config, b backend.Backend, h ff.Handle) ([]int64, time.Duration, error) {
	acks := make([]int64, c.Jobs+1)
	start := time.Now()
	for i := range c.Jobs {
		payload := strconv.AppendInt([]byte(`{"t":`), time.Now().UnixNano(), 10)
		frame := ff.FrameInput{Type: "tick", Payload: append(payload, '}'), Durable: !c.BestEffort}
		if _, err := b.AppendFrames(ctx, backend.AppendFramesParams{Handle: h, Frames: []ff.FrameInput{frame}}); err != nil {
			return nil, 0, fmt.Errorf("append frame %d: %w", i+1, err)
		}
		acks[i+1] = time.Now().UnixNano()
		if c.Progress != nil && (i+1)%2000 == 0 {
			fmt.Fprintf(c.Progress, "appended %d/%d\n", i+1, c.Jobs)
		}
	}
	return acks, time.Since(start), nil
}

// serveLoopback serves the HTTP API over b on a free loopback port.
func serveLoopback(b backend.Backend) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: server.New(server.Config{Logger: slog.New(slog.DiscardHandler)}, b), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// followers are the SSE readers; each records one latency per frame.
type followers struct {
	want int

	mu        sync.Mutex
	latencies []time.Duration
	received  [][]int64 // per follower, by frame id: receive time (ns)
	wg        sync.WaitGroup
	errs      []error
}

// start connects n followers and returns a function that waits until
// every one is connected (its first comment line received).
func (f *followers) start(ctx context.Context, path string, n int) func() error {
	connected := make(chan error, n)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: 0}}
	for range n {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			f.record(f.follow(ctx, hc, path, connected))
		}()
	}
	return func() error {
		for range n {
			if err := <-connected; err != nil {
				return err
			}
		}
		return nil
	}
}

func (f *followers) record(lat []time.Duration, recv []int64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latencies = append(f.latencies, lat...)
	f.received = append(f.received, recv)
	if err != nil {
		f.errs = append(f.errs, err)
	}
}

// follow reads one SSE connection until its "closed" event.
func (f *followers) follow(ctx context.Context, hc *http.Client, path string, connected chan<- error) ([]time.Duration, []int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		connected <- err
		return nil, nil, err
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := hc.Do(req)
	if err != nil {
		connected <- err
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("follower: HTTP %d", resp.StatusCode)
		connected <- err
		return nil, nil, err
	}
	rd := bufio.NewReaderSize(resp.Body, 64<<10)
	if _, err := rd.ReadString('\n'); err != nil { // ": following"
		connected <- err
		return nil, nil, err
	}
	connected <- nil
	lat := make([]time.Duration, 0, f.want)
	recv := make([]int64, f.want+1)
	event, id := "", 0
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return lat, recv, fmt.Errorf("follower: stream ended after %d frames: %w", len(lat), err)
		}
		now := time.Now()
		switch s := string(line); {
		case strings.HasPrefix(s, "id: "):
			id, _ = strconv.Atoi(strings.TrimSpace(s[4:]))
		case strings.HasPrefix(s, "event: "):
			event = strings.TrimSpace(s[7:])
		case strings.HasPrefix(s, "data: ") && event == "closed":
			if len(lat) != f.want {
				return lat, recv, fmt.Errorf("follower: closed after %d of %d frames", len(lat), f.want)
			}
			return lat, recv, nil
		case strings.HasPrefix(s, "data: "):
			t, err := sentAt(s)
			if err != nil || id < 1 || id > f.want {
				return lat, recv, errors.Join(err, fmt.Errorf("follower: unexpected frame id %d", id))
			}
			lat = append(lat, now.Sub(time.Unix(0, t)))
			recv[id] = now.UnixNano()
		}
	}
}

// sentAt reads the append time out of a frame event's data line
// ({"id":…,"payload":{"t":<ns>},…}) without decoding the whole event.
func sentAt(line string) (int64, error) {
	i := strings.Index(line, `"payload":{"t":`)
	if i < 0 {
		return 0, fmt.Errorf("follower: frame without a send time: %.80s", line)
	}
	rest := line[i+len(`"payload":{"t":`):]
	j := strings.IndexByte(rest, '}')
	if j < 0 {
		return 0, fmt.Errorf("follower: bad frame: %.80s", line)
	}
	return strconv.ParseInt(rest[:j], 10, 64)
}

func (f *followers) wait() error {
	f.wg.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}

// result summarizes the latencies from the start of each append, and
// from its return (acks, by frame id; a follower may receive a frame
// before the writer's call returns, counted as 0).
func (f *followers) result(acks []int64) (int, workload.Summary, workload.Summary) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var fromAck []time.Duration
	for _, recv := range f.received {
		for id := 1; id < len(recv) && id < len(acks); id++ {
			if recv[id] != 0 {
				fromAck = append(fromAck, time.Duration(max(recv[id]-acks[id], 0)))
			}
		}
	}
	return len(f.latencies), workload.Summarize(f.latencies), workload.Summarize(fromAck)
}
