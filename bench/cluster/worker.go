package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/worker"
)

// payload is a job's input: t is the creation time (Unix ns, taken just
// before the create call), n the job's index.
type payload struct {
	T int64 `json:"t"`
	N int64 `json:"n"`
}

// start is one handler start.
type start struct {
	n, t, at int64
	typ      string
}

// runWorker runs one worker process until SIGTERM, then writes its
// handler starts.
func runWorker(args []string) error {
	f := flag.NewFlagSet("worker", flag.ContinueOnError)
	httpURL := f.String("http", "", "server URL (the SDK over HTTP)")
	dbURL := f.String("db", "", "database URL (in-process worker over the backend)")
	out := f.String("out", "", "file for the handler starts")
	conc := f.Int("concurrency", 16, "handlers at once")
	ttl := f.Duration("lease-ttl", 5*time.Second, "lease TTL")
	id := f.String("id", "bench", "worker instance id")
	if err := f.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var tr worker.Transport
	switch {
	case *httpURL != "":
		tr = client.New(*httpURL, client.WithClaimWait(5*time.Second))
	case *dbURL != "":
		b, err := postgres.Open(ctx, postgres.Options{URL: *dbURL, MaxConns: 8})
		if err != nil {
			return err
		}
		defer b.Close()
		tr = b
	default:
		return errors.New("worker: give -http or -db")
	}
	w, err := worker.New(tr, worker.Config{WorkerID: "bench", InstanceID: *id, Concurrency: *conc, LeaseTTL: *ttl})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var starts []start
	w.Register("bench", func(_ context.Context, t *worker.Task) (any, error) {
		now := time.Now().UnixNano()
		var p payload
		if err := t.Decode(&p); err != nil {
			return nil, worker.Permanent(err)
		}
		mu.Lock()
		starts = append(starts, start{n: p.N, t: p.T, at: now, typ: string(t.AttemptType)})
		mu.Unlock()
		return nil, nil
	})
	if err := w.Run(ctx); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return writeStarts(*out, starts)
}

func writeStarts(path string, starts []start) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(fh)
	for _, s := range starts {
		fmt.Fprintf(bw, "%d %d %d %s\n", s.n, s.t, s.at, s.typ)
	}
	if err := bw.Flush(); err != nil {
		_ = fh.Close()
		return err
	}
	return fh.Close()
}

// encodePayload is a job's input, stamped now.
func encodePayload(n int64) []byte {
	b, _ := json.Marshal(payload{T: time.Now().UnixNano(), N: n})
	return b
}
