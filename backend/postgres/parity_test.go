package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/clock"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

// The SQL/state-machine parity test. The hot statements (claimSQL,
// completeSQL, renewSQL, promoteSQL) restate transitions of
// flowfabric.Execution in SQL. For every branch, the test drives one
// execution to the state the branch starts from, snapshots its rows, runs
// the branch through the backend (the statement under test), captures
// every column of its ff_execution row and its ff_attempt and ff_event
// rows, restores the snapshot, applies the Go transition to the same
// record and writes it through the generic write path (queueRecordWrite,
// used by every non-hot operation), and requires the two results to be
// identical. A new branch is one entry of parityCases.

// parityCase is one SQL-restated branch. setup drives a fresh execution
// to the branch's starting state; viaSQL runs the statement under test;
// viaGo applies the state machine to the record as loaded before, given
// the row the SQL wrote (for the values the SQL mints: lease and attempt
// ids).
type parityCase struct {
	name   string
	setup  func(p *parityEnv) ff.ExecutionID
	viaSQL func(p *parityEnv, id ff.ExecutionID)
	viaGo  func(e *ff.Execution, now int64, sqlRow map[string]any) (*ff.Effects, error)
}

func parityCases() []parityCase {
	claim := func(p *parityEnv, _ ff.ExecutionID) { p.claim() }
	return []parityCase{
		{"claim/fresh", func(p *parityEnv) ff.ExecutionID { return p.create(nil) }, claim, claimGo},
		{"claim/fresh with attempt timeout", func(p *parityEnv) ff.ExecutionID {
			return p.create(&ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(5_000))}})
		}, claim, claimGo},
		{"claim/retry", func(p *parityEnv) ff.ExecutionID {
			id := p.create(&ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 2, Backoff: ff.BackoffStrategy{Type: "fixed"}}})
			_, err := p.b.Fail(p.ctx, backend.FailParams{Handle: p.claim().Handle, Reason: "boom"})
			require.NoError(p.t, err)
			return id
		}, claim, claimGo},
		{"claim/replay", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.rewrite(id, func(e *ff.Execution) { e.State = pendingVector(ff.AttemptPendingReplay) })
			return id
		}, claim, claimGo},
		{"claim/resume after delay", func(p *parityEnv) ff.ExecutionID {
			id := p.create(&ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(5_000))}})
			require.NoError(p.t, p.b.Delay(p.ctx, backend.DelayParams{Handle: p.claim().Handle}))
			return id
		}, claim, claimGo},
		{"claim/resume after release", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			require.NoError(p.t, p.b.ReleaseClaims(p.ctx, []backend.ReleaseClaimParams{{Handle: p.claim().Handle}})[0])
			return id
		}, claim, claimGo},
		{"claim/reclaim after lease expiry", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			p.advance(parityTTL)
			n, err := p.b.ExpireLeases(p.ctx, backend.SweepParams{})
			require.NoError(p.t, err)
			require.Equal(p.t, 1, n)
			return id
		}, claim, claimGo},
		{"claim/reclaim after revocation", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			p.rewrite(id, func(e *ff.Execution) {
				e.State = ff.StateVector{LifecyclePhase: ff.PhaseActive, OwnershipState: ff.OwnershipLeaseRevoked,
					EligibilityState: ff.EligibilityNotApplicable, BlockingReason: ff.BlockingWaitingForWorker,
					TerminalOutcome: ff.OutcomeNone, AttemptState: ff.AttemptInterrupted}.Normalized()
			})
			return id
		}, claim, claimGo},
		{"claim/past deadline, pending", func(p *parityEnv) ff.ExecutionID {
			return p.createAt(backend.CreateExecutionParams{DeadlineAt: p.clock.Now().Add(time.Second)}, time.Second)
		}, claimNone, expireGo},
		{"claim/past deadline, interrupted attempt", func(p *parityEnv) ff.ExecutionID {
			id := p.createAt(backend.CreateExecutionParams{DeadlineAt: p.clock.Now().Add(time.Second)}, 0)
			require.NoError(p.t, p.b.Delay(p.ctx, backend.DelayParams{Handle: p.claim().Handle}))
			p.advance(1_000)
			return id
		}, claimNone, expireGo},
		{"claim/past deadline, lease expired", func(p *parityEnv) ff.ExecutionID {
			id := p.createAt(backend.CreateExecutionParams{DeadlineAt: p.clock.Now().Add(time.Minute)}, 0)
			p.claim()
			p.advance(parityTTL)
			_, err := p.b.ExpireLeases(p.ctx, backend.SweepParams{})
			require.NoError(p.t, err)
			p.advance(time.Minute.Milliseconds())
			return id
		}, claimNone, expireGo},
		{"complete", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			return id
		}, completeSQLCase, completeGo},
		{"complete/without result", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			return id
		}, func(p *parityEnv, id ff.ExecutionID) {
			require.NoError(p.t, p.b.Complete(p.ctx, backend.CompleteParams{Handle: p.handle(id)}))
		}, func(e *ff.Execution, now int64, _ map[string]any) (*ff.Effects, error) {
			fx, _, err := e.Complete(now, fenceOf(e), nil)
			return fx, err
		}},
		{"claim/hooked", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.setHooks(id, ff.HookFlow|ff.HookAdmission)
			return id
		}, claim, claimGo},
		{"complete/hook outside the mask", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			p.setHooks(id, ff.HookAdmission)
			return id
		}, completeSQLCase, completeGo},
		{"complete/hooked, slow path", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			p.setHooks(id, ff.HooksCompleteSlow|ff.HookAdmission)
			return id
		}, completeSQLCase, completeGo},
		{"renew/hooked", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			p.setHooks(id, ^ff.Hooks(0))
			p.advance(1_000)
			return id
		}, renewSQLCase, renewGo},
		{"renew", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			p.claim()
			p.advance(1_000)
			return id
		}, renewSQLCase, renewGo},
		{"promote/delayed", func(p *parityEnv) ff.ExecutionID {
			return p.createAt(backend.CreateExecutionParams{DelayUntil: p.clock.Now().Add(time.Second)}, time.Second)
		}, promote, promoteGo},
		{"promote/retry backoff", func(p *parityEnv) ff.ExecutionID {
			id := p.create(&ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 2,
				Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 1_000}}})
			_, err := p.b.Fail(p.ctx, backend.FailParams{Handle: p.claim().Handle, Reason: "boom"})
			require.NoError(p.t, err)
			p.advance(1_000)
			return id
		}, promote, promoteGo},
		{"promote/delayed attempt", func(p *parityEnv) ff.ExecutionID {
			id := p.create(nil)
			require.NoError(p.t, p.b.Delay(p.ctx, backend.DelayParams{Handle: p.claim().Handle, Until: p.clock.Now().Add(time.Second)}))
			p.advance(1_000)
			return id
		}, promote, promoteGo},
		{"unblock/budget reset", func(p *parityEnv) ff.ExecutionID {
			_, err := p.b.CreateBudget(p.ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{ID: "pb",
				Limits: map[string]ff.BudgetLimit{"t": {Hard: 1}}}})
			require.NoError(p.t, err)
			_, err = p.b.ReportUsage(p.ctx, backend.ReportUsageParams{BudgetID: "pb", Dimensions: map[string]int64{"t": 1}})
			require.NoError(p.t, err)
			id := p.create(&ff.ExecutionPolicy{BudgetIDs: []string{"pb"}})
			claimNone(p, id)
			return id
		}, func(p *parityEnv, _ ff.ExecutionID) {
			res, err := p.b.ResetBudget(p.ctx, backend.ResetBudgetParams{BudgetID: "pb"})
			require.NoError(p.t, err)
			require.Equal(p.t, 1, res.Unblocked)
		}, unblockGo},
		{"unblock/slot released", func(p *parityEnv) ff.ExecutionID {
			_, err := p.b.CreateQuota(p.ctx, backend.CreateQuotaParams{QuotaDefinition: ff.QuotaDefinition{ID: "pq", MaxConcurrent: 1}})
			require.NoError(p.t, err)
			p.create(&ff.ExecutionPolicy{QuotaIDs: []string{"pq"}})
			id := p.create(&ff.ExecutionPolicy{QuotaIDs: []string{"pq"}})
			params := p.claimParams()
			params.Max = 2
			tasks, err := p.b.Claim(p.ctx, params)
			require.NoError(p.t, err)
			require.Len(p.t, tasks, 1)
			p.holder = tasks[0].Handle
			return id
		}, func(p *parityEnv, _ ff.ExecutionID) {
			require.NoError(p.t, p.b.Complete(p.ctx, backend.CompleteParams{Handle: p.holder}))
		}, unblockGo},
	}
}

func unblockGo(e *ff.Execution, now int64, _ map[string]any) (*ff.Effects, error) {
	if !e.Unblock(now) {
		return nil, ff.Bug("not blocked")
	}
	return nil, nil
}

// TestSQLStateMachineParity runs every parity case.
func TestSQLStateMachineParity(t *testing.T) {
	for _, c := range parityCases() {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p := newParityEnv(t)
			id := c.setup(p)
			before := p.capture(id)
			c.viaSQL(p, id)
			p.clockStill()
			bySQL := p.capture(id)
			require.NotEqual(t, before.row, bySQL.row, "the statement under test changed nothing")
			p.restore(id, before)
			require.Equal(t, before, p.capture(id), "restore")
			p.applyGo(id, func(e *ff.Execution, now int64) (*ff.Effects, error) { return c.viaGo(e, now, bySQL.row) })
			byGo := p.capture(id)
			require.Equal(t, byGo.row, bySQL.row, "ff_execution row: Go (expected) vs SQL (actual)")
			require.Equal(t, byGo.attempts, bySQL.attempts, "ff_attempt rows: Go vs SQL")
			require.Equal(t, byGo.events, bySQL.events, "ff_event rows: Go vs SQL")
		})
	}
}

const parityTTL = int64(10_000)

func claimGo(e *ff.Execution, now int64, row map[string]any) (*ff.Effects, error) {
	_, fx, err := e.Claim(now, ff.ClaimArgs{WorkerID: "w", WorkerInstanceID: "wi", LeaseTTLMs: parityTTL,
		LeaseID: row["lease_id"].(string), AttemptID: row["current_attempt_id"].(string)}, ff.BackendPostgres)
	return fx, err
}

func completeSQLCase(p *parityEnv, id ff.ExecutionID) {
	require.NoError(p.t, p.b.CompleteMany(p.ctx, []backend.CompleteParams{{Handle: p.handle(id), Result: []byte(`{"ok":1}`)}})[0])
}

func completeGo(e *ff.Execution, now int64, _ map[string]any) (*ff.Effects, error) {
	fx, _, err := e.Complete(now, fenceOf(e), []byte(`{"ok":1}`))
	return fx, err
}

func renewSQLCase(p *parityEnv, id ff.ExecutionID) {
	h := p.handle(id)
	h.Lease.LeaseTTLMs = 1 // the stored TTL counts, not the handle's copy
	r := p.b.RenewMany(p.ctx, []backend.RenewParams{{Handle: h}})
	require.NoError(p.t, r[0].Err)
}

func renewGo(e *ff.Execution, now int64, _ map[string]any) (*ff.Effects, error) {
	_, err := e.Renew(now, fenceOf(e), e.LeaseTTLMs)
	return nil, err
}

// claimNone claims where the only execution is past its deadline: the
// claim hands out nothing and expires it.
func claimNone(p *parityEnv, _ ff.ExecutionID) {
	tasks, err := p.b.Claim(p.ctx, p.claimParams())
	require.NoError(p.t, err)
	require.Empty(p.t, tasks)
}

func expireGo(e *ff.Execution, now int64, _ map[string]any) (*ff.Effects, error) {
	if !e.DeadlinePassed(now) {
		return nil, ff.Bug("deadline not passed")
	}
	return e.Expire(now, "execution_deadline"), nil
}

func promote(p *parityEnv, _ ff.ExecutionID) {
	n, err := p.b.PromoteDelayed(p.ctx, backend.SweepParams{})
	require.NoError(p.t, err)
	require.Equal(p.t, 1, n)
}

func promoteGo(e *ff.Execution, now int64, _ map[string]any) (*ff.Effects, error) {
	if !e.PromoteIfDue(now) {
		return nil, ff.Bug("not due")
	}
	return nil, nil
}

func fenceOf(e *ff.Execution) ff.Fence {
	return ff.Fence{LeaseID: e.LeaseID, LeaseEpoch: e.LeaseEpoch, AttemptID: e.CurrentAttemptID}
}

func pendingVector(a ff.AttemptState) ff.StateVector {
	return ff.StateVector{LifecyclePhase: ff.PhaseRunnable, OwnershipState: ff.OwnershipUnowned,
		EligibilityState: ff.EligibleNow, BlockingReason: ff.BlockingWaitingForWorker, TerminalOutcome: ff.OutcomeNone,
		AttemptState: a}.Normalized()
}

func ptr[T any](v T) *T { return &v }

// parityEnv is one case's backend on its own schema and fake clock.
type parityEnv struct {
	t      *testing.T
	ctx    context.Context
	b      *Backend
	clock  *clock.Fake
	at     time.Time // the clock when viaSQL started
	holder ff.Handle // a lease a case ends in viaSQL
}

func newParityEnv(t *testing.T) *parityEnv {
	fake := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	b, err := Open(context.Background(), Options{URL: pgtest.Schema(t), Clock: fake, AutoMigrate: true, MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return &parityEnv{t: t, ctx: t.Context(), b: b, clock: fake}
}

func (p *parityEnv) advance(ms int64) { p.clock.Advance(time.Duration(ms) * time.Millisecond) }

// clockStill checks viaSQL did not move the clock: both sides run at the
// same instant.
func (p *parityEnv) clockStill() { require.Equal(p.t, p.at, p.clock.Now()) }

func (p *parityEnv) create(policy *ff.ExecutionPolicy) ff.ExecutionID {
	return p.createAt(backend.CreateExecutionParams{Policy: policy}, 0)
}

// createAt creates an execution on lane "parity" and advances the clock
// by after.
func (p *parityEnv) createAt(params backend.CreateExecutionParams, after time.Duration) ff.ExecutionID {
	params.Lane, params.Kind, params.Input = "parity", "k", []byte(`{"in":1}`)
	params.Tags = map[string]string{"app.t": "v"}
	res, err := p.b.CreateExecution(p.ctx, params)
	require.NoError(p.t, err)
	p.clock.Advance(after)
	return res.ExecutionID
}

func (p *parityEnv) claimParams() backend.ClaimParams {
	return backend.ClaimParams{WorkerID: "w", WorkerInstanceID: "wi", Lanes: []string{"parity"},
		LeaseTTL: time.Duration(parityTTL) * time.Millisecond}
}

func (p *parityEnv) claim() backend.ClaimedTask {
	tasks, err := p.b.Claim(p.ctx, p.claimParams())
	require.NoError(p.t, err)
	require.Len(p.t, tasks, 1)
	return tasks[0]
}

// handle rebuilds the handle of id's current lease from its row.
func (p *parityEnv) handle(id ff.ExecutionID) ff.Handle {
	e, err := p.b.loadRecord(p.ctx, id)
	require.NoError(p.t, err)
	return ff.Handle{Backend: ff.BackendPostgres, Kind: ff.HandleFresh, Lease: ff.Lease{ExecutionID: id,
		AttemptIndex: e.AttemptCount - 1, AttemptID: e.CurrentAttemptID, LeaseID: e.LeaseID, LeaseEpoch: e.LeaseEpoch,
		LeaseTTLMs: uint64(e.LeaseTTLMs), Lane: e.Lane, WorkerInstanceID: e.WorkerInstanceID}}
}

// rewrite changes id's record in Go and stores it whole, to reach states
// no public operation produces yet (replay, revocation).
func (p *parityEnv) rewrite(id ff.ExecutionID, f func(e *ff.Execution)) {
	p.applyGo(id, func(e *ff.Execution, _ int64) (*ff.Effects, error) {
		f(e)
		return nil, nil
	})
}

// setHooks stores hooks on id through the generic write path, as a
// feature's transition would.
func (p *parityEnv) setHooks(id ff.ExecutionID, h ff.Hooks) {
	p.rewrite(id, func(e *ff.Execution) { e.Hooks = h })
}

// applyGo applies t to id's record in one transaction and writes the
// result through the generic write path.
func (p *parityEnv) applyGo(id ff.ExecutionID, t func(e *ff.Execution, now int64) (*ff.Effects, error)) {
	tx, err := p.b.pool.Begin(p.ctx)
	require.NoError(p.t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	var now int64
	e, err := scanRecord(tx.QueryRow(p.ctx, `SELECT `+recordColumns+`, $2::bigint`+recordFrom+` WHERE e.id = $1 FOR UPDATE`,
		id.String(), p.b.nowArg()), &now)
	require.NoError(p.t, err)
	before := *e
	fx, err := t(e, now)
	require.NoError(p.t, err)
	require.NoError(p.t, e.State.Check())
	batch := &pgx.Batch{}
	require.NoError(p.t, queueRecordWrite(batch, &before, e, fx))
	require.NoError(p.t, execBatch(p.ctx, tx, batch))
	require.NoError(p.t, tx.Commit(p.ctx))
}

// parityState is every row an execution owns: its ff_execution row, its
// ff_attempt rows and its ff_event rows (without the outbox's own id and
// xid), each column by name.
type parityState struct {
	row       map[string]any
	attempts  []map[string]any
	events    []map[string]any
	lastEvent int64
}

func (p *parityEnv) capture(id ff.ExecutionID) parityState {
	p.at = p.clock.Now()
	var row, attempts, events []byte
	var s parityState
	err := p.b.pool.QueryRow(p.ctx, `SELECT
		(SELECT to_jsonb(e) FROM ff_execution e WHERE e.id = $1),
		(SELECT coalesce(jsonb_agg(to_jsonb(a) ORDER BY a.attempt_index), '[]') FROM ff_attempt a WHERE a.execution_id = $1),
		(SELECT coalesce(jsonb_agg(to_jsonb(v) - 'id' - 'xid' ORDER BY v.id), '[]') FROM ff_event v WHERE v.execution_id = $1),
		(SELECT coalesce(max(id), 0) FROM ff_event)`, id.String()).Scan(&row, &attempts, &events, &s.lastEvent)
	require.NoError(p.t, err)
	decode(p.t, row, &s.row)
	decode(p.t, attempts, &s.attempts)
	decode(p.t, events, &s.events)
	return s
}

// decode keeps numbers exact (json.Number), so no bigint is rounded.
func decode(t *testing.T, raw []byte, into any) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	require.NoError(t, d.Decode(into))
}

// restore puts id's rows back as captured in s.
func (p *parityEnv) restore(id ff.ExecutionID, s parityState) {
	var cols []string
	rows, err := p.b.pool.Query(p.ctx, `SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'ff_execution' AND column_name <> 'seq'`)
	require.NoError(p.t, err)
	cols, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(p.t, err)
	row, _ := json.Marshal(s.row)
	attempts, _ := json.Marshal(s.attempts)
	list := strings.Join(cols, ", ")
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE ff_execution e SET (`+list+`) = (SELECT `+list+` FROM jsonb_populate_record(NULL::ff_execution, $2))
		WHERE e.id = $1`, id.String(), row)
	batch.Queue(`DELETE FROM ff_attempt WHERE execution_id = $1`, id.String())
	batch.Queue(`INSERT INTO ff_attempt SELECT * FROM jsonb_populate_recordset(NULL::ff_attempt, $1)`, attempts)
	batch.Queue(`DELETE FROM ff_event WHERE id > $1`, s.lastEvent)
	tx, err := p.b.pool.Begin(p.ctx)
	require.NoError(p.t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	require.NoError(p.t, execBatch(p.ctx, tx, batch))
	require.NoError(p.t, tx.Commit(p.ctx))
}

// TestCreateSQLParity checks that createSQL stores exactly the record
// flowfabric.NewExecution builds, and the columns only the store keeps
// (the claim predicate, the attempt timeout copied from the policy, the
// idempotency key's expiry) by their one rule each.
func TestCreateSQLParity(t *testing.T) {
	p := newParityEnv(t)
	now := p.clock.Now()
	for name, params := range map[string]backend.CreateExecutionParams{
		"plain":   {},
		"delayed": {DelayUntil: now.Add(time.Minute), Priority: 20_000},
		"full": {Namespace: "ns", IdempotencyKey: "key", RequiredCapabilities: []string{"gpu", "a"},
			DeadlineAt: now.Add(time.Hour), Policy: &ff.ExecutionPolicy{
				Retry:       &ff.RetryPolicy{MaxRetries: 2, Backoff: ff.BackoffStrategy{Type: "fixed", DelayMs: 5}},
				Timeout:     &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(5_000)), ExecutionDeadlineMs: ptr(int64(60_000))},
				DedupWindow: ptr(int64(90_000))}},
	} {
		t.Run(name, func(t *testing.T) {
			params.ExecutionID = ff.NewExecutionID("parity")
			params.Lane, params.Kind, params.Input = "parity", "k", []byte(`1`)
			params.Tags = map[string]string{"app.t": "v"}
			want, err := ff.NewExecution(params.Spec(), ff.MsFromTime(now))
			require.NoError(t, err)
			_, err = p.b.CreateExecution(p.ctx, params)
			require.NoError(t, err)
			var (
				ready               bool
				timeoutMs, expiryMs int64
			)
			got, err := scanRecord(p.b.pool.QueryRow(p.ctx, `SELECT `+recordColumns+`, e.ready, e.attempt_timeout_ms,
				e.idempotency_expires_at_ms`+recordFrom+` WHERE e.id = $1`, want.ID.String()), &ready, &timeoutMs, &expiryMs)
			require.NoError(t, err)
			got.Seq = 0
			if len(want.Capabilities) == 0 {
				want.Capabilities = nil // an empty requirement set reads back as nil
			}
			require.Equal(t, want, got)
			require.Equal(t, want.Claimable(), ready)
			require.Equal(t, want.Policy.AttemptTimeoutMs(), timeoutMs)
			require.Equal(t, backend.IdempotencyExpiry(want), expiryMs)
		})
	}
}
