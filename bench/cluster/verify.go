package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
)

// verify checks the run lost nothing and ran nothing twice, and prints
// the pickup latencies.
func (c *cluster) verify(ctx context.Context) error {
	want := c.o.jobs + c.o.steadyJobs
	var total, done, dupCompletions, reclaimed int
	err := c.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE public_state = 'completed'),
		count(*) FILTER (WHERE reclaim_count > 0) FROM ff_execution`).Scan(&total, &done, &reclaimed)
	if err != nil {
		return err
	}
	err = c.pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT execution_id FROM ff_event
		WHERE type = 'completion' GROUP BY execution_id HAVING count(*) > 1) d`).Scan(&dupCompletions)
	if err != nil {
		return err
	}
	starts, byKind, err := c.readStarts()
	if err != nil {
		return err
	}
	var lost, twice int
	var drainPick, steadyPick []float64
	for n := range want {
		s := starts[int64(n)]
		switch {
		case len(s) == 0:
			lost++
			continue
		case len(s) > 1:
			twice++
		}
		first := s[0]
		for _, x := range s[1:] {
			if x.at < first.at {
				first = x
			}
		}
		ms := float64(first.at-first.t) / 1e6
		if n < c.o.jobs {
			drainPick = append(drainPick, ms)
		} else {
			steadyPick = append(steadyPick, ms)
		}
	}
	c.printf("executions", "%d created (want %d), %d completed", total, want, done)
	c.printf("lost", "%d (never started by a handler: %d)", want-done, lost)
	c.printf("run_twice", "%d (handler started more than once), completed twice: %d, reclaimed leases: %d", twice, dupCompletions, reclaimed)
	if len(steadyPick) > 0 {
		c.printf("steady_pickup_ms", "p50 %.2f p99 %.2f max %.2f (n=%d, %.0f/s over HTTP, round-robin over the servers)",
			pct(steadyPick, 50), pct(steadyPick, 99), pct(steadyPick, 100), len(steadyPick), c.o.rate)
	}
	c.printf("handler_runs_by_kind", "http %d, backend %d (drain and steady; the share each kind of worker took)", byKind[0], byKind[1])
	c.printf("drain_pickup_ms", "p50 %.0f p99 %.0f (backlog wait: the drain inserts everything first)", pct(drainPick, 50), pct(drainPick, 99))
	if total != want || done != want || lost > 0 || twice > 0 || dupCompletions > 0 {
		c.printf("check", "FAILED")
		return fmt.Errorf("verify: executions lost or run twice (logs in %s)", c.o.dir)
	}
	c.printf("check", "ok (every execution completed once; logs in %s)", c.o.dir)
	return nil
}

// readStarts reads every worker's handler starts, by job, and counts
// them by worker kind (0 HTTP, 1 in-process).
func (c *cluster) readStarts() (map[int64][]start, [2]int, error) {
	out := map[int64][]start{}
	var byKind [2]int
	for i := range c.o.httpW + c.o.dbW {
		fh, err := os.Open(c.startsFile(i))
		if err != nil {
			return nil, byKind, fmt.Errorf("worker %d wrote no starts (see its log): %w", i, err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var s start
			if _, err := fmt.Sscanf(strings.TrimSpace(sc.Text()), "%d %d %d %s", &s.n, &s.t, &s.at, &s.typ); err != nil {
				_ = fh.Close()
				return nil, byKind, fmt.Errorf("%s: %q: %w", c.startsFile(i), sc.Text(), err)
			}
			out[s.n] = append(out[s.n], s)
			if i < c.o.httpW {
				byKind[0]++
			} else {
				byKind[1]++
			}
		}
		_ = fh.Close()
		if err := sc.Err(); err != nil {
			return nil, byKind, err
		}
	}
	return out, byKind, nil
}

// pct is the nearest-rank p-th percentile of v (sorted in place).
func pct(v []float64, p float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	sort.Float64s(v)
	r := int(math.Ceil(p / 100 * float64(len(v))))
	return v[min(max(r, 1), len(v))-1]
}
