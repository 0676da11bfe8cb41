package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Lifecycle is the execution lifecycle: create, claim and the
// lease-bound worker operations. Every lease-bound write is fenced by the
// handle's (lease id, epoch, attempt id) inside the write itself. For
// every lease-bound method, an unknown execution is not_found, a handle
// minted by another backend is handle_from_other_backend, and a lease
// that is no longer held fails with stale_lease, lease_expired,
// lease_revoked or execution_not_active (whose detail says what the
// execution became, for replay reconciliation).
type Lifecycle interface {
	// CreateExecution creates an execution. Repeating it with the same
	// namespace-scoped idempotency key within the key's dedup window
	// (IdempotencyExpiry) returns the existing execution, unchanged, with
	// Duplicate set; after the window the key is unused again, whether
	// the idempotency-expiry sweep has cleared it yet or not, and a new
	// execution is created. Repeating an explicit ExecutionID without a
	// key is a conflict (execution_already_exists).
	CreateExecution(ctx context.Context, p CreateExecutionParams) (CreateExecutionResult, error)
	// Claim takes up to p.Max claimable executions from p.Lanes whose
	// required capabilities p.Capabilities satisfy: highest priority
	// first, FIFO within a priority. An empty result means nothing is
	// claimable. Every call takes new work under a new lease epoch. An
	// execution past its execution deadline is never handed out: the
	// claim expires it (terminal expired, reason execution_deadline, with
	// its completion event) before returning, and it takes the place of
	// one claimed execution.
	Claim(ctx context.Context, p ClaimParams) ([]ClaimedTask, error)
	// Renew extends the lease by the TTL stored at claim time (the copy a
	// handle carries is never read: of a handle only the fence counts);
	// repeating it extends again from now.
	Renew(ctx context.Context, p RenewParams) (LeaseRenewal, error)
	// RenewMany renews several leases at once; results align with ps,
	// each entry failing alone as Renew would.
	RenewMany(ctx context.Context, ps []RenewParams) []RenewResult
	// Progress records a progress report under the lease; a repeated
	// report replaces the previous one.
	Progress(ctx context.Context, p ProgressParams) error
	// Complete ends the attempt successfully and stores p.Result. A
	// replay under the same handle after a lost reply returns nil and
	// writes nothing.
	Complete(ctx context.Context, p CompleteParams) error
	// CompleteMany completes several attempts; errors align with ps, each
	// entry failing (or replaying) alone as Complete would.
	CompleteMany(ctx context.Context, ps []CompleteParams) []error
	// Fail ends the attempt as failed and schedules a retry per the
	// execution's policy, or fails the execution. A replay under the same
	// handle returns the same decision (without the retry time, which is
	// zero) and writes nothing.
	Fail(ctx context.Context, p FailParams) (ff.FailOutcome, error)
	// Cancel is the lease holder's cooperative cancel; a replay under the
	// same handle returns nil.
	Cancel(ctx context.Context, p CancelParams) error
	// Delay releases the lease until p.Until; the next claim resumes the
	// same attempt. The lease is gone afterwards, so repeating it fails
	// with execution_not_active.
	Delay(ctx context.Context, p DelayParams) error
	// ReleaseClaims gives back leases whose claim never reached the
	// worker (the claim's reply could not be delivered): each execution
	// is claimable again at once (waiting), the next claim resumes the
	// same attempt (same index and id, new epoch), and nothing is counted
	// (no reclaim, retry or attempt). As after Delay, the attempt timeout
	// is disarmed. Errors align with ps; each entry is fenced like Delay,
	// so a lease already gone fails alone (an expired one is marked, and
	// a repeated release is execution_not_active).
	ReleaseClaims(ctx context.Context, ps []ReleaseClaimParams) []error
}

// ReleaseClaimParams names one lease to give back unused.
type ReleaseClaimParams struct {
	Handle ff.Handle
}

// CreateExecutionParams is the input of CreateExecution. Lane defaults to
// "default"; a zero ExecutionID is minted from the lane.
type CreateExecutionParams struct {
	ExecutionID          ff.ExecutionID
	Namespace            string
	Lane                 string
	Kind                 string
	Input                []byte // opaque bytes; the HTTP API stores JSON
	Priority             int64  // clamped to [0, 9000]
	RequiredCapabilities []string
	IdempotencyKey       string
	DelayUntil           time.Time // zero = claimable at once
	DeadlineAt           time.Time // zero = none (the policy may set a relative one)
	Tags                 map[string]string
	Policy               *ff.ExecutionPolicy
	// FlowID makes the execution a member of that flow, created in the
	// flow's transaction with edges from DependsOn (upstream members) and
	// its Join (default all_of); with upstreams it is waiting_children
	// until its join is satisfied. Plain executions leave all three zero.
	FlowID    string
	DependsOn []ff.ExecutionID
	Join      *ff.JoinPolicy
}

// Spec converts the params into the domain's creation spec.
func (p CreateExecutionParams) Spec() ff.CreateSpec {
	return ff.CreateSpec{
		ID: p.ExecutionID, Namespace: p.Namespace, Lane: p.Lane, Kind: p.Kind,
		Priority: p.Priority, Capabilities: p.RequiredCapabilities, Tags: p.Tags,
		Policy: p.Policy, IdempotencyKey: p.IdempotencyKey, Input: p.Input,
		DelayUntilMs: ff.MsFromTime(p.DelayUntil), DeadlineAtMs: ff.MsFromTime(p.DeadlineAt),
	}
}

// IdempotencyExpiry returns when the idempotency key of e, a new
// execution, stops being held (Unix ms): its creation plus its policy's
// dedup window (ff.ExecutionPolicy.DedupWindowMs); 0 when e has no key.
// A key is held while now < expiry; from then on a create with the same
// key makes a new execution.
func IdempotencyExpiry(e *ff.Execution) int64 {
	if e.IdempotencyKey == "" {
		return 0
	}
	return e.CreatedAtMs + e.Policy.DedupWindowMs()
}

// CreateExecutionResult tells which execution holds the work.
type CreateExecutionResult struct {
	ExecutionID ff.ExecutionID
	PublicState ff.PublicState
	// Duplicate is true when the idempotency key matched an existing
	// execution, which is returned unchanged.
	Duplicate bool
}

// ClaimParams is the input of Claim.
type ClaimParams struct {
	WorkerID         string
	WorkerInstanceID string
	Lanes            []string
	Capabilities     []string
	LeaseTTL         time.Duration // 0 = 30 s; in [100 ms, 24 h], whole milliseconds
	Max              int           // 0 = 1; at most 1000
}

// Normalize validates p and fills defaults; it returns the normalized
// worker capability set.
func (p *ClaimParams) Normalize() ([]string, error) {
	if err := ff.ValidateIdentifier("worker_id", p.WorkerID); err != nil {
		return nil, err
	}
	if p.WorkerInstanceID == "" {
		p.WorkerInstanceID = p.WorkerID
	}
	if err := ff.ValidateIdentifier("worker_instance_id", p.WorkerInstanceID); err != nil {
		return nil, err
	}
	if len(p.Lanes) == 0 {
		p.Lanes = []string{"default"}
	}
	if len(p.Lanes) > 64 {
		return nil, ff.Validation(ff.ErrInvalidInput, "lanes: %d given, at most 64", len(p.Lanes))
	}
	for _, l := range p.Lanes {
		if err := ff.ValidateLane(l); err != nil {
			return nil, err
		}
	}
	if p.LeaseTTL == 0 {
		p.LeaseTTL = ff.DefaultLeaseTTLMs * time.Millisecond
	}
	p.LeaseTTL = p.LeaseTTL.Truncate(time.Millisecond)
	if ms := p.LeaseTTL.Milliseconds(); ms < ff.MinLeaseTTLMs || ms > ff.MaxLeaseTTLMs {
		return nil, ff.Validation(ff.ErrInvalidInput, "lease_ttl_ms %d outside [%d, %d]", ms, ff.MinLeaseTTLMs, ff.MaxLeaseTTLMs)
	}
	if p.Max == 0 {
		p.Max = 1
	}
	if p.Max < 0 || p.Max > ff.MaxClaimBatch {
		return nil, ff.Validation(ff.ErrInvalidInput, "max %d outside [1, %d]", p.Max, ff.MaxClaimBatch)
	}
	return ff.NormalizeCapabilities("worker", p.Capabilities)
}

// ClaimedTask is one claimed execution with its lease handle.
type ClaimedTask struct {
	Handle       ff.Handle
	ExecutionID  ff.ExecutionID
	Lane         string
	Kind         string
	Input        []byte
	Priority     int32
	Tags         map[string]string
	AttemptIndex uint32
	AttemptID    string
	// AttemptType is the minted attempt's type, or ff.AttemptResume when
	// the claim continues an interrupted attempt (ff.ClaimedAttemptType).
	AttemptType    ff.AttemptType
	LeaseEpoch     uint64
	LeaseExpiresAt time.Time
	// ResumedSignals are the signals that satisfied the suspension this
	// claim resumes (oldest first); nil for any other claim.
	ResumedSignals []ff.Signal
}

// RenewParams is the input of Renew and one entry of RenewMany.
type RenewParams struct {
	Handle ff.Handle
}

// LeaseRenewal is the new lease expiry.
type LeaseRenewal struct {
	ExpiresAt  time.Time
	LeaseEpoch uint64
}

// RenewResult is one entry of RenewMany.
type RenewResult struct {
	Renewal LeaseRenewal
	Err     error
}

// ProgressParams reports progress under a lease. Percent -1 leaves the
// stored percentage unchanged.
type ProgressParams struct {
	Handle  ff.Handle
	Percent int
	Message string
}

// CompleteParams completes an attempt with an optional result.
type CompleteParams struct {
	Handle ff.Handle
	Result []byte
}

// FailParams reports a failed attempt. Classification is one of the
// canonical classes (ff.FailureClasses); empty means transient.
type FailParams struct {
	Handle         ff.Handle
	Reason         string
	Classification ff.FailureClass
}

// Normalize applies the classification rule every store shares: empty is
// transient, and anything but a canonical class (so also "PERMANENT") is
// refused with invalid_input before the store is touched.
func (p *FailParams) Normalize() error {
	c, err := ff.ParseFailureClass(string(p.Classification))
	if err != nil {
		return err
	}
	p.Classification = c
	return nil
}

// CancelParams is a lease holder's cancel.
type CancelParams struct {
	Handle ff.Handle
	Reason string
}

// DelayParams parks an attempt until Until; a time already past (or the
// zero Time) makes the execution claimable at once.
type DelayParams struct {
	Handle ff.Handle
	Until  time.Time
}
