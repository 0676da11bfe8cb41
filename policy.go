package flowfabric

import (
	"cmp"
	"encoding/json"
	"math"
	"math/rand/v2"
)

// Priority bounds: larger is more urgent; values are clamped on create and
// on change of priority.
const (
	MinPriority = 0
	MaxPriority = 9000
)

// ClampPriority clamps p into [MinPriority, MaxPriority].
func ClampPriority(p int64) int32 {
	if p < MinPriority {
		return MinPriority
	}
	if p > MaxPriority {
		return MaxPriority
	}
	return int32(p)
}

// Defaults applied when a policy leaves a field unset.
const (
	DefaultMaxReclaimCount = 100
	DefaultMaxReplayCount  = 10
	DefaultLeaseTTLMs      = 30_000
	MinLeaseTTLMs          = 100
	MaxLeaseTTLMs          = 24 * 60 * 60 * 1000
	MaxClaimBatch          = 1000
	// DefaultMaxRetries is the retry count of a retry policy whose JSON
	// omits max_retries (spec §5.2). In Go, RetryPolicy's zero value
	// allows no retries: the default applies to the JSON form only.
	DefaultMaxRetries = 3
	// DefaultDedupWindowMs is how long an idempotency key is held when the
	// policy's dedup_window_ms is absent or 0.
	DefaultDedupWindowMs = 24 * 60 * 60 * 1000
	// MaxDedupWindowMs bounds dedup_window_ms (30 days).
	MaxDedupWindowMs = 30 * 24 * 60 * 60 * 1000
	// MaxRetriesLimit bounds retry_policy.max_retries.
	MaxRetriesLimit = 10_000
)

// ExecutionPolicy is frozen at creation. Unset optional fields are omitted
// from its JSON form.
type ExecutionPolicy struct {
	Retry           *RetryPolicy   `json:"retry_policy,omitempty"`
	Timeout         *TimeoutPolicy `json:"timeout_policy,omitempty"`
	MaxReclaimCount *int           `json:"max_reclaim_count,omitempty"`
	MaxReplayCount  *int           `json:"max_replay_count,omitempty"`
	// DedupWindow is how long, in milliseconds, the idempotency key of the
	// execution is held after creation: a create with the same key after
	// the window makes a new execution. Absent or 0 means
	// DefaultDedupWindowMs; at most MaxDedupWindowMs.
	DedupWindow *int64 `json:"dedup_window_ms,omitempty"`
	// BudgetIDs and QuotaIDs name the budgets and quotas the execution
	// runs under: a claim admits it only while none of its budgets is at
	// a hard limit and each quota has room (HookAdmission). Each list has
	// at most MaxPolicyRefs distinct identifiers; the store refuses
	// unknown ones at create.
	BudgetIDs []string `json:"budget_ids,omitempty"`
	QuotaIDs  []string `json:"quota_ids,omitempty"`
}

// TimeoutPolicy bounds one attempt and the whole execution.
type TimeoutPolicy struct {
	// AttemptTimeoutMs, when set, expires an attempt that runs longer; the
	// execution becomes terminal "expired" without consulting the retry
	// policy.
	AttemptTimeoutMs *int64 `json:"attempt_timeout_ms,omitempty"`
	// ExecutionDeadlineMs, when set, is a relative deadline from creation.
	ExecutionDeadlineMs *int64 `json:"execution_deadline_ms,omitempty"`
}

// RetryPolicy decides whether a failed attempt is retried and after how
// long. MaxRetries counts retries after the first attempt; in JSON an
// absent max_retries means DefaultMaxRetries and an explicit 0 means no
// retries.
type RetryPolicy struct {
	MaxRetries int             `json:"max_retries"`
	Backoff    BackoffStrategy `json:"backoff"`
	// RetryPermanent, when true, retries even failures classified
	// permanent. By default a permanent failure is terminal at once.
	RetryPermanent bool `json:"retry_permanent,omitempty"`
}

// UnmarshalJSON decodes a retry policy, defaulting an absent max_retries
// to DefaultMaxRetries.
func (r *RetryPolicy) UnmarshalJSON(b []byte) error {
	type plain RetryPolicy // no methods: no recursion
	var aux struct {
		plain
		MaxRetries *int `json:"max_retries"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*r = RetryPolicy(aux.plain)
	r.MaxRetries = DefaultMaxRetries
	if aux.MaxRetries != nil {
		r.MaxRetries = *aux.MaxRetries
	}
	return nil
}

// BackoffStrategy is tagged by Type: "fixed" uses DelayMs; "exponential"
// uses InitialDelayMs·Multiplier^retries capped at MaxDelayMs, with
// optional jitter in [(1-Jitter)·d, d] where Jitter is a fraction in
// [0,1].
type BackoffStrategy struct {
	Type           string  `json:"type"`
	DelayMs        int64   `json:"delay_ms,omitempty"`
	InitialDelayMs int64   `json:"initial_delay_ms,omitempty"`
	MaxDelayMs     int64   `json:"max_delay_ms,omitempty"`
	Multiplier     float64 `json:"multiplier,omitempty"`
	Jitter         float64 `json:"jitter,omitempty"`
}

// Validate checks the policy's shape and bounds; errors are
// invalid_policy_json naming the field and its limit. Every duration is at
// most MaxDurationMs (365 days), dedup_window_ms at most MaxDedupWindowMs.
func (p *ExecutionPolicy) Validate() error {
	if p == nil {
		return nil
	}
	if err := p.Retry.validate(); err != nil {
		return err
	}
	if t := p.Timeout; t != nil {
		if err := positiveDuration("timeout_policy.attempt_timeout_ms", t.AttemptTimeoutMs); err != nil {
			return err
		}
		if err := positiveDuration("timeout_policy.execution_deadline_ms", t.ExecutionDeadlineMs); err != nil {
			return err
		}
	}
	if p.MaxReclaimCount != nil && *p.MaxReclaimCount < 0 {
		return Validation(ErrInvalidPolicy, "max_reclaim_count: negative")
	}
	if p.MaxReplayCount != nil && *p.MaxReplayCount < 0 {
		return Validation(ErrInvalidPolicy, "max_replay_count: negative")
	}
	if w := p.DedupWindow; w != nil && (*w < 0 || *w > MaxDedupWindowMs) {
		return Validation(ErrInvalidPolicy, "dedup_window_ms: %d outside [0, %d]", *w, MaxDedupWindowMs)
	}
	if err := validateRefs("budget_ids", p.BudgetIDs); err != nil {
		return err
	}
	return validateRefs("quota_ids", p.QuotaIDs)
}

// positiveDuration checks an optional duration: when set, in
// (0, MaxDurationMs].
func positiveDuration(field string, ms *int64) error {
	if ms != nil && (*ms <= 0 || *ms > MaxDurationMs) {
		return Validation(ErrInvalidPolicy, "%s: %d outside (0, %d]", field, *ms, MaxDurationMs)
	}
	return nil
}

// duration checks a duration that may be 0: in [0, MaxDurationMs].
func duration(field string, ms int64) error {
	if ms < 0 || ms > MaxDurationMs {
		return Validation(ErrInvalidPolicy, "%s: %d outside [0, %d]", field, ms, MaxDurationMs)
	}
	return nil
}

func (r *RetryPolicy) validate() error {
	if r == nil {
		return nil
	}
	if r.MaxRetries < 0 || r.MaxRetries > MaxRetriesLimit {
		return Validation(ErrInvalidPolicy, "retry_policy.max_retries: %d outside [0, %d]", r.MaxRetries, MaxRetriesLimit)
	}
	return r.Backoff.validate()
}

func (b BackoffStrategy) validate() error {
	switch b.Type {
	case "", "fixed":
		return duration("retry_policy.backoff.delay_ms", b.DelayMs)
	case "exponential":
		if err := duration("retry_policy.backoff.initial_delay_ms", b.InitialDelayMs); err != nil {
			return err
		}
		if err := duration("retry_policy.backoff.max_delay_ms", b.MaxDelayMs); err != nil {
			return err
		}
		if b.Multiplier != 0 && (b.Multiplier < 1 || math.IsNaN(b.Multiplier) || math.IsInf(b.Multiplier, 0)) {
			return Validation(ErrInvalidPolicy, "retry_policy.backoff.multiplier: want a finite number >= 1")
		}
		if b.Jitter < 0 || b.Jitter > 1 || math.IsNaN(b.Jitter) {
			return Validation(ErrInvalidPolicy, "retry_policy.backoff.jitter: want a fraction in [0, 1]")
		}
		return nil
	}
	return Validation(ErrInvalidPolicy, "retry_policy.backoff.type %q: want fixed or exponential", clip(b.Type))
}

// ParsePolicy decodes and validates a policy document. Empty input or "{}"
// is the default policy (no retry, no timeouts).
func ParsePolicy(raw []byte) (*ExecutionPolicy, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var p ExecutionPolicy
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, Validation(ErrInvalidPolicy, "policy: %v", err)
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// MaxRetries is the number of retries the policy allows (0 without one).
func (p *ExecutionPolicy) MaxRetries() int {
	if p == nil || p.Retry == nil {
		return 0
	}
	return p.Retry.MaxRetries
}

// ReclaimCap is the number of lease reclaims allowed before the execution
// fails with max_reclaims_exceeded.
func (p *ExecutionPolicy) ReclaimCap() int {
	if p == nil || p.MaxReclaimCount == nil {
		return DefaultMaxReclaimCount
	}
	return *p.MaxReclaimCount
}

// DedupWindowMs returns how long the execution's idempotency key is held,
// in milliseconds: the policy's dedup_window_ms, or DefaultDedupWindowMs
// when it is absent or 0. A nil policy has the default window.
func (p *ExecutionPolicy) DedupWindowMs() int64 {
	if p == nil || p.DedupWindow == nil || *p.DedupWindow <= 0 {
		return DefaultDedupWindowMs
	}
	return min(*p.DedupWindow, MaxDedupWindowMs)
}

// AttemptTimeoutMs returns the attempt timeout, 0 when none.
func (p *ExecutionPolicy) AttemptTimeoutMs() int64 {
	if p == nil || p.Timeout == nil || p.Timeout.AttemptTimeoutMs == nil {
		return 0
	}
	return *p.Timeout.AttemptTimeoutMs
}

// DeadlineMs returns the relative execution deadline, 0 when none.
func (p *ExecutionPolicy) DeadlineMs() int64 {
	if p == nil || p.Timeout == nil || p.Timeout.ExecutionDeadlineMs == nil {
		return 0
	}
	return *p.Timeout.ExecutionDeadlineMs
}

// BackoffMs returns the delay before retry number retries+1, where retries
// is the number of retries already scheduled. rnd supplies jitter in [0,1);
// nil uses a process-local source. The result is always in
// [0, MaxDurationMs], whatever the strategy holds (even one stored before
// the limits existed): a huge multiplier or exponent saturates at the
// maximum delay, never wraps.
func (b BackoffStrategy) BackoffMs(retries int, rnd func() float64) int64 {
	switch b.Type {
	case "exponential":
		return b.exponentialMs(retries, rnd)
	case "fixed", "":
		if b.Type == "" && b.DelayMs == 0 {
			return 1000
		}
		return clampDuration(b.DelayMs)
	}
	return 1000
}

// exponentialMs is min(initial·multiplier^retries, max), jittered, with
// the defaults 1000 ms, 2 and 60 000 ms for unset fields.
func (b BackoffStrategy) exponentialMs(retries int, rnd func() float64) int64 {
	initial := cmp.Or(clampDuration(b.InitialDelayMs), 1000)
	maxd := cmp.Or(clampDuration(b.MaxDelayMs), 60_000)
	mult := cmp.Or(b.Multiplier, 2)
	d := float64(initial) * math.Pow(mult, float64(max(retries, 0)))
	if !(d <= float64(maxd)) { // also NaN and +Inf
		d = float64(maxd)
	}
	if b.Jitter > 0 && b.Jitter <= 1 {
		if rnd == nil {
			rnd = rand.Float64
		}
		d = d*(1-b.Jitter) + d*b.Jitter*rnd()
	}
	return clampDuration(int64(max(d, 0)))
}

// clampDuration bounds ms to [0, MaxDurationMs].
func clampDuration(ms int64) int64 {
	return min(max(ms, 0), MaxDurationMs)
}
