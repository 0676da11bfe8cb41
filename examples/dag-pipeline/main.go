// Command dag-pipeline runs one flow, a DAG of executions, on an engine
// embedded in the program: a fetch fans out to three counting shards, a
// merge joins them (all_of) reading their results, and three mirrors
// race to publish (any_of with cancel_remaining): the first mirror to
// finish satisfies the join and the two others are cancelled, their
// leases revoked, while they run. See README.md.
//
// Environment: FF_DATABASE_URL (default ./dag-pipeline.db, SQLite).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db := os.Getenv("FF_DATABASE_URL")
	if db == "" {
		db = "./dag-pipeline.db"
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if _, err := run(ctx, db, os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "dag-pipeline:", err)
		os.Exit(1)
	}
}

const lane = "pipeline"

var words = []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"}

// shards is the fan-out width.
const shards = 3

// Report is what one run produced: the flow and each member's end.
type Report struct {
	FlowID    string
	FlowState string
	Total     int
	Winner    string
	States    map[string]ff.PublicState // by ref
}

// dag is the pipeline: fetch → count-0..2 → merge → mirror-{fast,slow-1,slow-2} → publish.
func dag() []backend.FlowMemberParams {
	m := func(ref, kind string, input any, ups ...string) backend.FlowMemberParams {
		raw, _ := json.Marshal(input)
		return backend.FlowMemberParams{Ref: ref, DependsOnRefs: ups,
			Execution: backend.CreateExecutionParams{Lane: lane, Kind: kind, Input: raw}}
	}
	ms := []backend.FlowMemberParams{m("fetch", "fetch", words)}
	var counts []string
	for i := range shards {
		ref := fmt.Sprintf("count-%d", i)
		ms = append(ms, m(ref, "count", i, "fetch"))
		counts = append(counts, ref)
	}
	ms = append(ms, m("merge", "merge", nil, counts...))
	mirrors := []string{"mirror-fast", "mirror-slow-1", "mirror-slow-2"}
	for _, name := range mirrors {
		ms = append(ms, m(name, "mirror", name, "merge"))
	}
	publish := m("publish", "publish", nil, mirrors...)
	publish.Join = &ff.JoinPolicy{Policy: ff.JoinAnyOf, OnSatisfied: ff.OnSatisfiedCancelRemaining}
	return append(ms, publish)
}

// run opens the engine on databaseURL, runs one pipeline to its end and
// prints what happened to out.
func run(ctx context.Context, databaseURL string, out io.Writer, log *slog.Logger) (Report, error) {
	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: databaseURL, Logger: log})
	if err != nil {
		return Report{}, err
	}
	defer srv.Close()
	published := make(chan string, 1)
	// A short lease: a cancelled mirror learns it at its next renewal
	// (every third of the lease).
	w, err := srv.NewWorker(worker.Config{WorkerID: "pipeline", Lanes: []string{lane}, Concurrency: 8,
		LeaseTTL: 1500 * time.Millisecond})
	if err != nil {
		return Report{}, err
	}
	register(w, out, published)
	if err := srv.Start(ctx); err != nil {
		return Report{}, err
	}
	b := srv.Backend()
	f, err := b.CreateFlow(ctx, backend.CreateFlowParams{Kind: "dag-pipeline", Members: dag()})
	if err != nil {
		return Report{}, err
	}
	fmt.Fprintf(out, "flow %s: %d executions\n", f.FlowID, len(f.ExecutionIDs))
	rep := Report{FlowID: f.FlowID}
	var waitErr error
	select {
	case rep.Winner = <-published:
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	// Stop drains the worker: publish's completion is reported, and the
	// losing mirrors, cancelled in that same transaction, see their
	// leases revoked at their next renewal and return.
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := errors.Join(waitErr, srv.Stop(stopCtx)); err != nil {
		return rep, err
	}
	return rep, settle(stopCtx, b, f, &rep, out)
}

// settle reads the flow's end into rep and prints it.
func settle(ctx context.Context, b backend.Backend, f backend.CreateFlowResult, rep *Report, out io.Writer) error {
	snap, err := b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: f.FlowID})
	if err != nil {
		return err
	}
	byID := map[ff.ExecutionID]string{}
	for ref, id := range f.ExecutionIDs {
		byID[id] = ref
	}
	rep.FlowState, rep.States = snap.PublicFlowState, map[string]ff.PublicState{}
	for _, m := range snap.Members {
		rep.States[byID[m.ExecutionID]] = m.PublicState
	}
	raw, err := b.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: f.ExecutionIDs["merge"]})
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &rep.Total); err != nil {
		return err
	}
	refs := make([]string, 0, len(rep.States))
	for ref := range rep.States {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		fmt.Fprintf(out, "  %-14s %s\n", ref, rep.States[ref])
	}
	fmt.Fprintf(out, "flow %s, %d letters, published by %s\n", rep.FlowState, rep.Total, rep.Winner)
	return nil
}

// register gives w the pipeline's handlers.
func register(w *worker.Worker, out io.Writer, published chan<- string) {
	w.Register("fetch", func(_ context.Context, t *worker.Task) (any, error) { return t.Input, nil })
	w.Register("count", func(ctx context.Context, t *worker.Task) (any, error) {
		var shard int
		if err := t.Decode(&shard); err != nil {
			return nil, worker.Permanent(err)
		}
		var all []string
		if err := upstream(ctx, t, &all); err != nil {
			return nil, err
		}
		n := 0
		for i := shard; i < len(all); i += shards {
			n += len(all[i])
		}
		return n, nil
	})
	w.Register("merge", func(ctx context.Context, t *worker.Task) (any, error) {
		ups, err := t.UpstreamResults(ctx)
		if err != nil {
			return nil, err
		}
		total := 0
		for _, u := range ups {
			var n int
			if err := json.Unmarshal(u.Result, &n); err != nil {
				return nil, worker.Permanent(err)
			}
			total += n
		}
		return total, nil
	})
	w.Register("mirror", mirror)
	w.Register("publish", func(ctx context.Context, t *worker.Task) (any, error) {
		ups, err := t.UpstreamResults(ctx)
		if err != nil {
			return nil, err
		}
		for _, u := range ups {
			if u.PublicState == ff.PublicCompleted {
				var name string
				_ = json.Unmarshal(u.Result, &name)
				published <- name
				return name, nil
			}
		}
		return nil, errors.New("no mirror completed")
	})
}

// mirror copies the merged total somewhere: the fast one at once, the
// slow ones until they are cancelled (the lost race).
func mirror(ctx context.Context, t *worker.Task) (any, error) {
	var name string
	if err := t.Decode(&name); err != nil {
		return nil, worker.Permanent(err)
	}
	if strings.HasPrefix(name, "mirror-slow") {
		<-ctx.Done() // lease revoked when the race is decided
		return nil, context.Cause(ctx)
	}
	return name, nil
}

// upstream decodes the single upstream's result into v.
func upstream(ctx context.Context, t *worker.Task, v any) error {
	ups, err := t.UpstreamResults(ctx)
	if err != nil {
		return err
	}
	if len(ups) != 1 {
		return worker.Permanent(fmt.Errorf("want one upstream, got %d", len(ups)))
	}
	return json.Unmarshal(ups[0].Result, v)
}
