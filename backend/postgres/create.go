package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// createSQL inserts the execution (registering its lane on first use) in
// one statement. ON CONFLICT covers both an existing explicit id and a seen idempotency key;
// the caller tells them apart.
const createSQL = `WITH lane AS (
	INSERT INTO ff_lane (name, created_at_ms) SELECT $4, $20 WHERE $24 ON CONFLICT DO NOTHING
), ins AS (
	INSERT INTO ff_execution (id, partition, namespace, lane, kind, priority, cap_sig, idempotency_key,
		lifecycle_phase, ownership_state, eligibility_state, blocking_reason, terminal_outcome, attempt_state,
		public_state, ready, ready_at_ms, execution_deadline_ms, attempt_timeout_ms, created_at_ms, updated_at_ms,
		input, tags, policy, capabilities)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20,
		$21, $22, $23, $25)
	ON CONFLICT DO NOTHING
	RETURNING id
)
SELECT count(*) FROM ins`

// CreateExecution implements backend.Lifecycle.
func (b *Backend) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	now := b.appNowMs()
	e, err := ff.NewExecution(p.Spec(), now)
	if err != nil {
		return backend.CreateExecutionResult{}, err
	}
	if p.Input == nil {
		p.Input = []byte{}
	}
	sig, err := b.internCapabilities(ctx, e.Capabilities)
	if err != nil {
		return backend.CreateExecutionResult{}, err
	}
	tags, _ := json.Marshal(e.Tags)
	if e.Tags == nil {
		tags = []byte("{}")
	}
	var policy []byte
	if e.Policy != nil {
		policy, _ = json.Marshal(e.Policy)
	}
	caps := e.Capabilities
	if caps == nil {
		caps = []string{}
	}
	s := e.State
	newLane := !b.laneKnown(e.Lane)
	var inserted int
	err = b.pool.QueryRow(ctx, createSQL,
		e.ID.String(), int16(e.ID.Partition), e.Namespace, e.Lane, e.Kind, e.Priority, sig, e.IdempotencyKey,
		string(s.LifecyclePhase), string(s.OwnershipState), string(s.EligibilityState), string(s.BlockingReason),
		string(s.TerminalOutcome), string(s.AttemptState), string(s.PublicState), e.Claimable(), e.ReadyAtMs,
		e.ExecutionDeadlineMs, e.Policy.AttemptTimeoutMs(), now, p.Input, tags, policy, newLane, caps,
	).Scan(&inserted)
	if err != nil {
		return backend.CreateExecutionResult{}, mapPgError("create execution", err)
	}
	b.rememberLane(e.Lane)
	if inserted == 1 {
		if e.Claimable() {
			b.wake(e.Lane)
		}
		return backend.CreateExecutionResult{ExecutionID: e.ID, PublicState: s.PublicState}, nil
	}
	if e.IdempotencyKey != "" {
		var id, state string
		err := b.pool.QueryRow(ctx, `SELECT id, public_state FROM ff_execution WHERE namespace = $1 AND idempotency_key = $2`,
			e.Namespace, e.IdempotencyKey).Scan(&id, &state)
		if err == nil {
			existing, perr := ff.ParseExecutionID(id)
			if perr != nil {
				return backend.CreateExecutionResult{}, ff.Corruption("execution id %q: %v", id, perr)
			}
			return backend.CreateExecutionResult{ExecutionID: existing, PublicState: ff.PublicState(state), Duplicate: true}, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return backend.CreateExecutionResult{}, mapPgError("create execution: idempotency lookup", err)
		}
	}
	return backend.CreateExecutionResult{}, ff.Conflict(ff.ErrDuplicateExecution, "execution %s already exists", e.ID)
}

// appNowMs is the time used where no statement clock applies (creation):
// the injected clock, or the process clock.
func (b *Backend) appNowMs() int64 {
	if b.clock != nil {
		return b.clock.Now().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// internCapabilities returns the signature id of a normalized requirement
// set, creating it on first use. Interned rows never change, so ids are
// cached for the life of the backend.
func (b *Backend) internCapabilities(ctx context.Context, caps []string) (int32, error) {
	sig := ff.CapabilitySignature(caps)
	b.capMu.RLock()
	id, ok := b.capSigs[sig]
	b.capMu.RUnlock()
	if ok {
		return id, nil
	}
	err := b.pool.QueryRow(ctx, `WITH ins AS (
		INSERT INTO ff_capability_set (tokens, signature) VALUES ($1, $2) ON CONFLICT (signature) DO NOTHING RETURNING id
	) SELECT id FROM ins UNION ALL SELECT id FROM ff_capability_set WHERE signature = $2 LIMIT 1`, caps, sig).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		// A concurrent transaction interned the same set after this
		// statement's snapshot was taken: a new statement sees it.
		err = b.pool.QueryRow(ctx, `SELECT id FROM ff_capability_set WHERE signature = $1`, sig).Scan(&id)
	}
	if err != nil {
		return 0, mapPgError("intern capabilities", err)
	}
	b.capMu.Lock()
	b.capSigs[sig] = id
	b.capMu.Unlock()
	return id, nil
}

func (b *Backend) laneKnown(lane string) bool {
	b.capMu.RLock()
	defer b.capMu.RUnlock()
	_, ok := b.lanes[lane]
	return ok
}

func (b *Backend) rememberLane(lane string) {
	b.capMu.Lock()
	b.lanes[lane] = struct{}{}
	b.capMu.Unlock()
}
