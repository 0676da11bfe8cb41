package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
)

// planNode is the part of EXPLAIN (FORMAT JSON) these tests inspect.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func walk(n planNode, fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		walk(c, fn)
	}
}

func explain(t *testing.T, b *postgres.Backend, sql string, args ...any) planNode {
	t.Helper()
	var raw []byte
	require.NoError(t, b.Pool().QueryRow(context.Background(), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&raw))
	var out []struct {
		Plan planNode `json:"Plan"`
	}
	require.NoError(t, json.Unmarshal(raw, &out))
	return out[0].Plan
}

// TestHotPathPlans checks with EXPLAIN that, over a backlog, claim reads
// the ready index in claim order (no sequential scan or sort of the
// lane's rows) and complete and renew touch rows by primary key only.
func TestHotPathPlans(t *testing.T) {
	b, _ := openFresh(t, nil)
	fillBacklog(t, b)

	claim := explain(t, b, postgres.ClaimSQL, []string{"hot"}, []string{"gpu"}, 16, "w", "w", nil, int64(30000))
	var claimIndexScans int
	walk(claim, func(n planNode) {
		if n.Relation == "ff_execution" {
			// A sequential or bitmap scan would read (and then sort) the
			// lane's backlog; only ordered index scans are acceptable.
			require.NotContains(t, []string{"Seq Scan", "Bitmap Heap Scan"}, n.NodeType, "claim over ff_execution")
			if strings.Contains(n.NodeType, "Index") && n.IndexName == "ff_execution_claim" {
				claimIndexScans++
			}
		}
	})
	require.Positive(t, claimIndexScans, "claim must walk ff_execution_claim")

	for name, sql := range map[string]string{"complete": postgres.CompleteSQL, "renew": postgres.RenewSQL} {
		var args []any
		ids := []string{"{fp:1}:00000000-0000-0000-0000-000000000000"}
		if name == "complete" {
			args = []any{ids, []string{"l"}, []int64{1}, []string{"a"}, [][]byte{{}}, nil}
		} else {
			args = []any{ids, []string{"l"}, []int64{1}, []string{"a"}, nil}
		}
		plan := explain(t, b, sql, args...)
		walk(plan, func(n planNode) {
			switch n.Relation {
			case "ff_execution":
				// By primary key only: a due-time index would walk every
				// leased row (and its dead entries) on each call.
				if n.NodeType != "ModifyTable" {
					require.Equal(t, "ff_execution_pkey", n.IndexName, "%s must reach ff_execution by primary key: %+v", name, n)
				}
			case "ff_attempt":
				require.NotEqual(t, "Seq Scan", n.NodeType, "%s must reach ff_attempt by key", name)
			}
		})
	}
}

// fillBacklog gives b a production-sized backlog, cloned from one real
// row: 20k ready rows on two lanes and 20k finished ones, analyzed.
func fillBacklog(t *testing.T, b *postgres.Backend) {
	t.Helper()
	ctx := context.Background()
	_, err := b.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "hot", Kind: "k", RequiredCapabilities: []string{"gpu"}})
	require.NoError(t, err)
	_, err = b.Pool().Exec(ctx, `INSERT INTO ff_execution (id, partition, namespace, lane, kind, priority, cap_sig,
		lifecycle_phase, ownership_state, eligibility_state, blocking_reason, terminal_outcome, attempt_state,
		public_state, ready, created_at_ms, updated_at_ms, input)
		SELECT '{fp:1}:' || gen_random_uuid(), 1, '', CASE WHEN g % 2 = 0 THEN 'hot' ELSE 'other' END, 'k', g % 3, 0,
			CASE WHEN g > 20000 THEN 'terminal' ELSE 'runnable' END, 'unowned',
			CASE WHEN g > 20000 THEN 'not_applicable' ELSE 'eligible_now' END, 'waiting_for_worker',
			CASE WHEN g > 20000 THEN 'success' ELSE 'none' END, 'pending_first_attempt',
			CASE WHEN g > 20000 THEN 'completed' ELSE 'waiting' END, g <= 20000, 0, 0, '\x'::bytea
		FROM generate_series(1, 40000) g`)
	require.NoError(t, err)
	_, err = b.Pool().Exec(ctx, `INSERT INTO ff_attempt (execution_id, attempt_index, partition, attempt_id, attempt_type,
		lifecycle, lease_epoch, worker_id, worker_instance_id, started_at_ms)
		SELECT id, 0, 1, gen_random_uuid()::text, 'initial', 'ended_success', 1, 'w', 'w', 0
		FROM ff_execution WHERE lifecycle_phase = 'terminal'`)
	require.NoError(t, err)
	_, err = b.Pool().Exec(ctx, "ANALYZE")
	require.NoError(t, err)
}
