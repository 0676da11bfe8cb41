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
// one statement. ON CONFLICT covers both an existing explicit id and a
// held idempotency key; the caller tells them apart.
const createSQL = `WITH lane AS (
	INSERT INTO ff_lane (name, created_at_ms) SELECT $4, $20 WHERE $24 ON CONFLICT DO NOTHING
), ins AS (
	INSERT INTO ff_execution (id, partition, namespace, lane, kind, priority, cap_sig, idempotency_key,
		lifecycle_phase, ownership_state, eligibility_state, blocking_reason, terminal_outcome, attempt_state,
		public_state, ready, ready_at_ms, execution_deadline_ms, attempt_timeout_ms, created_at_ms, updated_at_ms,
		input, tags, policy, capabilities, idempotency_expires_at_ms, hooks)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20,
		$21, $22, $23, $25, $26, $27)
	ON CONFLICT DO NOTHING
	RETURNING id
)
SELECT count(*) FROM ins`

// maxCreateTries bounds how often a create retries its insert after
// finding its idempotency key free (expired and cleared, or cleared by the
// sweep meanwhile); each retry follows a concurrent create or sweep.
const maxCreateTries = 3

// CreateExecution implements backend.Lifecycle. The insert is one
// statement; only when it inserts nothing does a lookup of the key
// follow, and only when that key's window has passed is it cleared and
// the insert tried again.
func (b *Backend) CreateExecution(ctx context.Context, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	if p.FlowID != "" {
		return b.createFlowMember(ctx, p)
	}
	c, err := b.prepareCreate(ctx, p)
	if err != nil {
		return backend.CreateExecutionResult{}, err
	}
	res, err := b.insertExecution(ctx, b.pool, c, true)
	if err == nil && !res.Duplicate && c.e.Claimable() {
		b.wake(c.e.Lane)
	}
	return res, err
}

// pendingCreate is a create that passed every check a create makes
// before its first statement: the execution built (and its input
// validated) by the domain, and the insert's arguments.
type pendingCreate struct {
	e          *ff.Execution
	args       []any
	now        int64
	explicitID bool
}

// prepareCreate validates p and resolves what the insert needs. It runs
// no statement on the transaction the insert will use (interning a
// capability set commits on the pool), so refused input leaves a
// caller's transaction untouched. A flow member is created by
// CreateExecution (the flow's transaction), never through it.
func (b *Backend) prepareCreate(ctx context.Context, p backend.CreateExecutionParams) (pendingCreate, error) {
	if p.FlowID != "" || len(p.DependsOn) > 0 || p.Join != nil {
		return pendingCreate{}, ff.Validation(ff.ErrInvalidInput,
			"flow_id, depends_on, join: a flow member is created with CreateExecution or CreateFlow, not in a caller's transaction")
	}
	now := b.appNowMs()
	e, err := ff.NewExecution(p.Spec(), now)
	if err != nil {
		return pendingCreate{}, err
	}
	if err := b.checkAdmissionRefs(ctx, e); err != nil {
		return pendingCreate{}, err
	}
	args, err := b.createArgs(ctx, e, p.Input, now)
	if err != nil {
		return pendingCreate{}, err
	}
	return pendingCreate{e: e, args: args, now: now, explicitID: !p.ExecutionID.IsZero()}, nil
}

// insertExecution runs the create of c on q: the pool, where each
// statement commits alone (commits: the lane it registers may be
// remembered), or a caller's transaction, where nothing may be cached
// before that transaction commits. It never wakes anyone.
func (b *Backend) insertExecution(ctx context.Context, q querier, c pendingCreate, commits bool) (backend.CreateExecutionResult, error) {
	e := c.e
	for range maxCreateTries {
		var inserted int
		if err := q.QueryRow(ctx, createSQL, c.args...).Scan(&inserted); err != nil {
			return backend.CreateExecutionResult{}, mapPgError("create execution", err)
		}
		if commits {
			b.rememberLane(e.Lane)
		}
		if inserted == 1 {
			return backend.CreateExecutionResult{ExecutionID: e.ID, PublicState: e.State.PublicState}, nil
		}
		if e.IdempotencyKey == "" {
			break // the explicit id is taken
		}
		res, key, err := b.takenKey(ctx, q, e, c.now)
		switch {
		case err != nil || key == keyHeld:
			return res, err
		case key == keyAbsent && c.explicitID:
			return res, duplicate(e) // nothing holds the key: the explicit id is taken
		}
	}
	if e.IdempotencyKey != "" && !c.explicitID {
		return backend.CreateExecutionResult{}, ff.Contention(ff.ErrContention,
			"idempotency key of %s: taken by concurrent creates each time it was free", e.ID)
	}
	return backend.CreateExecutionResult{}, duplicate(e)
}

func duplicate(e *ff.Execution) error {
	return ff.Conflict(ff.ErrDuplicateExecution, "execution %s already exists", e.ID)
}

// keyState is what takenKey found of an idempotency key.
type keyState int

const (
	keyAbsent keyState = iota // no execution holds it
	keyHeld                   // an execution holds it, inside its window
	keyFreed                  // its window had passed: takenKey cleared it
)

// createArgs are createSQL's arguments for e, interning its capability set.
func (b *Backend) createArgs(ctx context.Context, e *ff.Execution, input []byte, now int64) ([]any, error) {
	sig, err := b.internCapabilities(ctx, e.Capabilities)
	if err != nil {
		return nil, err
	}
	if input == nil {
		input = []byte{}
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
	return []any{
		e.ID.String(), int16(e.ID.Partition), e.Namespace, e.Lane, e.Kind, e.Priority, sig, e.IdempotencyKey,
		string(s.LifecyclePhase), string(s.OwnershipState), string(s.EligibilityState), string(s.BlockingReason),
		string(s.TerminalOutcome), string(s.AttemptState), string(s.PublicState), e.Claimable(), e.ReadyAtMs,
		e.ExecutionDeadlineMs, e.Policy.AttemptTimeoutMs(), now, input, tags, policy, !b.laneKnown(e.Lane), caps,
		backend.IdempotencyExpiry(e), hooksArg(e.Hooks),
	}, nil
}

// takenKey looks up the execution holding e's idempotency key: while
// the key is held it returns that execution as a duplicate; once the
// key's window has passed it clears the key from that execution, so the
// unique index takes it again.
func (b *Backend) takenKey(ctx context.Context, q querier, e *ff.Execution, now int64) (backend.CreateExecutionResult, keyState, error) {
	var (
		id, state string
		expires   int64
		res       backend.CreateExecutionResult
	)
	err := q.QueryRow(ctx, `SELECT id, public_state, idempotency_expires_at_ms FROM ff_execution
		WHERE namespace = $1 AND idempotency_key = $2`, e.Namespace, e.IdempotencyKey).Scan(&id, &state, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return res, keyAbsent, nil
	}
	if err != nil {
		return res, keyAbsent, mapPgError("create execution: idempotency lookup", err)
	}
	if now >= expires {
		_, err = q.Exec(ctx, `UPDATE ff_execution SET idempotency_key = '', idempotency_expires_at_ms = 0
			WHERE id = $1 AND idempotency_key = $2 AND idempotency_expires_at_ms <= $3`, id, e.IdempotencyKey, now)
		return res, keyFreed, opErr("create execution: expire idempotency key", err)
	}
	existing, err := ff.ParseExecutionID(id)
	if err != nil {
		return res, keyAbsent, ff.Corruption("execution id %q: %v", id, err)
	}
	return backend.CreateExecutionResult{ExecutionID: existing, PublicState: ff.PublicState(state), Duplicate: true}, keyHeld, nil
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
