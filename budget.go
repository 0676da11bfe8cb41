package flowfabric

import (
	"math"
	"slices"
	"strings"
	"unicode"
)

// Budget and quota bounds.
const (
	// MaxBudgetDimensions bounds the dimensions of one budget and of one
	// usage report.
	MaxBudgetDimensions = 64
	// MaxDimensionBytes bounds a dimension name.
	MaxDimensionBytes = 128
	// MaxPolicyRefs bounds policy.budget_ids and policy.quota_ids each.
	MaxPolicyRefs = 16
	// DefaultUsageDedupTTLMs is how long a usage report's dedup key is
	// remembered (then swept): 24 hours.
	DefaultUsageDedupTTLMs = 24 * 60 * 60 * 1000
)

// BudgetLimit is one dimension's limits; 0 means no limit of that kind.
// A report that would take usage above Hard is refused (hard_breach); one
// that takes it above Soft is applied and counted (soft_breach).
type BudgetLimit struct {
	Hard int64 `json:"hard"`
	Soft int64 `json:"soft"`
}

// BudgetDefinition is what a budget is created with.
type BudgetDefinition struct {
	ID        string
	ScopeType string
	ScopeID   string
	Limits    map[string]BudgetLimit
	// ResetIntervalMs zeroes the usage every interval; 0 never resets.
	ResetIntervalMs int64
}

// Validate checks a budget definition: an identifier, names of at most
// 256 bytes for the scope, dimension names (ValidateDimension), limits
// >= 0 and a reset interval in [0, MaxDurationMs].
func (d *BudgetDefinition) Validate() error {
	if err := ValidateIdentifier("budget_id", d.ID); err != nil {
		return err
	}
	if err := ValidateName("scope_type", d.ScopeType, MaxIdentifierBytes); err != nil {
		return err
	}
	if err := ValidateName("scope_id", d.ScopeID, MaxIdentifierBytes); err != nil {
		return err
	}
	if err := ValidateLimits(d.Limits); err != nil {
		return err
	}
	if d.ResetIntervalMs < 0 || d.ResetIntervalMs > MaxDurationMs {
		return Validation(ErrInvalidInput, "reset_interval_ms: %d outside [0, %d]", d.ResetIntervalMs, MaxDurationMs)
	}
	return nil
}

// ValidateLimits checks a limits map: at most MaxBudgetDimensions valid
// dimension names, each limit >= 0.
func ValidateLimits(limits map[string]BudgetLimit) error {
	if len(limits) > MaxBudgetDimensions {
		return Validation(ErrInvalidInput, "limits: %d dimensions, at most %d", len(limits), MaxBudgetDimensions)
	}
	for dim, l := range limits {
		if err := ValidateDimension(dim); err != nil {
			return err
		}
		if l.Hard < 0 || l.Soft < 0 {
			return Validation(ErrInvalidInput, "limits.%s: negative limit", dim)
		}
	}
	return nil
}

// ValidateDimension checks a usage dimension name: non-empty, at most
// MaxDimensionBytes, a name without whitespace.
func ValidateDimension(dim string) error {
	if dim == "" {
		return Validation(ErrInvalidInput, "dimension: must not be empty")
	}
	if err := ValidateName("dimension", dim, MaxDimensionBytes); err != nil {
		return err
	}
	if strings.IndexFunc(dim, unicode.IsSpace) >= 0 {
		return Validation(ErrInvalidInput, "dimension %q: whitespace", clip(dim))
	}
	return nil
}

// ValidateUsage checks a usage report: 1..MaxBudgetDimensions dimensions,
// each delta >= 0, and a dedup key of at most 256 bytes (ValidateKey).
func ValidateUsage(deltas map[string]int64, dedupKey string) error {
	if len(deltas) == 0 {
		return Validation(ErrInvalidInput, "dimensions: at least one is required")
	}
	if len(deltas) > MaxBudgetDimensions {
		return Validation(ErrInvalidInput, "dimensions: %d, at most %d", len(deltas), MaxBudgetDimensions)
	}
	for dim, d := range deltas {
		if err := ValidateDimension(dim); err != nil {
			return err
		}
		if d < 0 {
			return Validation(ErrInvalidInput, "dimensions.%s: negative delta %d", dim, d)
		}
	}
	return ValidateKey("dedup_key", dedupKey, MaxIdentifierBytes)
}

// UsageOutcome is the answer to a usage report.
type UsageOutcome string

const (
	UsageOK             UsageOutcome = "ok"
	UsageSoftBreach     UsageOutcome = "soft_breach"
	UsageHardBreach     UsageOutcome = "hard_breach"
	UsageAlreadyApplied UsageOutcome = "already_applied"
)

// UsageResult is the outcome of one report against one budget. Dimension,
// CurrentUsage and Limit describe the breach: for a hard breach the usage
// before the refused increment, for a soft breach the usage after it.
type UsageResult struct {
	BudgetID     string
	Outcome      UsageOutcome
	Dimension    string
	CurrentUsage int64
	Limit        int64
}

// BudgetDim is one stored dimension of a budget.
type BudgetDim struct {
	Limit BudgetLimit
	Usage int64
}

// ApplyUsage evaluates a report against a budget's dimensions (dims is
// updated in place when the report applies; a dimension the budget does
// not know is added without limits). Dimensions are checked in sorted
// order. A hard breach on any dimension refuses the whole report: nothing
// changes. Otherwise every delta is added (saturating) and the first
// dimension past its soft limit makes the outcome soft_breach.
func ApplyUsage(dims map[string]BudgetDim, deltas map[string]int64) UsageResult {
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range deltas {
			if !yield(k) {
				return
			}
		}
	})
	for _, n := range names {
		d := dims[n]
		if d.Limit.Hard > 0 && addSat(d.Usage, deltas[n]) > d.Limit.Hard {
			return UsageResult{Outcome: UsageHardBreach, Dimension: n, CurrentUsage: d.Usage, Limit: d.Limit.Hard}
		}
	}
	res := UsageResult{Outcome: UsageOK}
	for _, n := range names {
		d := dims[n]
		d.Usage = addSat(d.Usage, deltas[n])
		dims[n] = d
		if res.Outcome == UsageOK && d.Limit.Soft > 0 && d.Usage > d.Limit.Soft {
			res = UsageResult{Outcome: UsageSoftBreach, Dimension: n, CurrentUsage: d.Usage, Limit: d.Limit.Soft}
		}
	}
	return res
}

func addSat(a, b int64) int64 {
	if b > 0 && a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// BudgetExhausted returns the first dimension (sorted) whose usage has
// reached its hard limit: admission refuses executions of such a budget.
func BudgetExhausted(dims map[string]BudgetDim) (string, bool) {
	names := make([]string, 0, len(dims))
	for n := range dims {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		d := dims[n]
		if d.Limit.Hard > 0 && d.Usage >= d.Limit.Hard {
			return n, true
		}
	}
	return "", false
}

// NextResetMs is when a budget with interval resets next after nowMs, 0
// when it never resets.
func NextResetMs(nowMs, intervalMs int64) int64 {
	if intervalMs <= 0 {
		return 0
	}
	return AddMs(nowMs, intervalMs)
}

// BudgetStatus is a budget's definition and current usage.
type BudgetStatus struct {
	ID                  string
	ScopeType           string
	ScopeID             string
	Usage               map[string]int64
	HardLimits          map[string]int64
	SoftLimits          map[string]int64
	BreachCount         int64
	SoftBreachCount     int64
	LastBreachDimension string
	LastBreachAtMs      int64
	ResetIntervalMs     int64
	NextResetAtMs       int64
	CreatedAtMs         int64
}

// NewBudgetStatus builds the status maps from stored dimensions; a limit
// of 0 (none) is left out of its map.
func NewBudgetStatus(dims map[string]BudgetDim) (usage, hard, soft map[string]int64) {
	usage, hard, soft = map[string]int64{}, map[string]int64{}, map[string]int64{}
	for n, d := range dims {
		usage[n] = d.Usage
		if d.Limit.Hard > 0 {
			hard[n] = d.Limit.Hard
		}
		if d.Limit.Soft > 0 {
			soft[n] = d.Limit.Soft
		}
	}
	return usage, hard, soft
}

// QuotaDefinition is a quota: at most MaxPerWindow admissions in any
// sliding window of WindowMs (exact: every admission is remembered for
// one window), and at most MaxConcurrent executions holding a lease at
// once. 0 disables either limit; at least one is set.
type QuotaDefinition struct {
	ID            string
	WindowMs      int64
	MaxPerWindow  int64
	MaxConcurrent int64
}

// Validate checks a quota definition.
func (q *QuotaDefinition) Validate() error {
	if err := ValidateIdentifier("quota_id", q.ID); err != nil {
		return err
	}
	switch {
	case q.WindowMs < 0 || q.WindowMs > MaxDurationMs:
		return Validation(ErrInvalidInput, "window_ms: %d outside [0, %d]", q.WindowMs, MaxDurationMs)
	case q.MaxPerWindow < 0:
		return Validation(ErrInvalidInput, "max_per_window: negative")
	case q.MaxConcurrent < 0:
		return Validation(ErrInvalidInput, "max_concurrent: negative")
	case q.MaxPerWindow > 0 && q.WindowMs == 0:
		return Validation(ErrInvalidInput, "max_per_window needs window_ms")
	case q.WindowMs > 0 && q.MaxPerWindow == 0:
		return Validation(ErrInvalidInput, "window_ms needs max_per_window")
	case q.MaxPerWindow == 0 && q.MaxConcurrent == 0:
		return Validation(ErrInvalidInput, "a quota needs max_per_window or max_concurrent")
	}
	return nil
}

// QuotaUse is a quota's use at one instant: admissions inside the window
// ending now (and the oldest of them) and slots held.
type QuotaUse struct {
	InWindow    int64
	OldestInWin int64 // admitted_at_ms of the oldest admission in the window; 0 when none
	ActiveSlots int64
}

// WindowStart is the instant at or before which an admission no longer
// counts in the window that ends at nowMs.
func (q *QuotaDefinition) WindowStart(nowMs int64) int64 { return nowMs - q.WindowMs }

// Admit decides whether one more execution may start under q. When not,
// it says why (BlockedByQuota's detail) and, for a full window, the
// instant its oldest admission leaves it (dueAtMs; 0 for a full
// concurrency cap, which a released slot frees).
func (q *QuotaDefinition) Admit(u QuotaUse) (ok bool, detail string, dueAtMs int64) {
	if q.MaxPerWindow > 0 && u.InWindow >= q.MaxPerWindow {
		return false, "quota " + q.ID + ": window full", u.OldestInWin + q.WindowMs
	}
	if q.MaxConcurrent > 0 && u.ActiveSlots >= q.MaxConcurrent {
		return false, "quota " + q.ID + ": concurrency cap reached", 0
	}
	return true, "", 0
}

// Free is how many more executions q admits now: the smaller of the room
// in the window and the free slots (math.MaxInt64 when unlimited).
func (q *QuotaDefinition) Free(u QuotaUse) int64 {
	free := int64(math.MaxInt64)
	if q.MaxPerWindow > 0 {
		free = max(q.MaxPerWindow-u.InWindow, 0)
	}
	if q.MaxConcurrent > 0 {
		free = min(free, max(q.MaxConcurrent-u.ActiveSlots, 0))
	}
	return free
}

// QuotaStatus is a quota's definition and current use.
type QuotaStatus struct {
	QuotaDefinition
	InWindow          int64
	ActiveConcurrency int64
	Blocked           int64 // executions blocked by this quota
	CreatedAtMs       int64
}

// validateRefs checks policy.budget_ids or policy.quota_ids.
func validateRefs(field string, ids []string) error {
	if len(ids) > MaxPolicyRefs {
		return Validation(ErrInvalidPolicy, "%s: %d ids, at most %d", field, len(ids), MaxPolicyRefs)
	}
	for i, id := range ids {
		if err := ValidateIdentifier(field, id); err != nil {
			return Validation(ErrInvalidPolicy, "%v", err)
		}
		if slices.Contains(ids[:i], id) {
			return Validation(ErrInvalidPolicy, "%s: %q listed twice", field, clip(id))
		}
	}
	return nil
}

// UsesAdmission reports whether the policy lists budgets or quotas: its
// executions go through admission at claim (HookAdmission).
func (p *ExecutionPolicy) UsesAdmission() bool {
	return p != nil && (len(p.BudgetIDs) > 0 || len(p.QuotaIDs) > 0)
}

// Budgets returns policy.budget_ids (nil policy: none).
func (p *ExecutionPolicy) Budgets() []string {
	if p == nil {
		return nil
	}
	return p.BudgetIDs
}

// Quotas returns policy.quota_ids, sorted (the order in which admission
// locks them, so two claims never wait on each other in a cycle).
func (p *ExecutionPolicy) Quotas() []string {
	if p == nil {
		return nil
	}
	return slices.Sorted(slices.Values(p.QuotaIDs))
}

// Budget event actions beyond the usage outcomes.
const BudgetEventReset = "reset"

// BudgetEventData is the data of a budget event (type budget): a usage
// report (action: its outcome) or a reset.
type BudgetEventData struct {
	BudgetID     string           `json:"budget_id"`
	Dimensions   map[string]int64 `json:"dimensions,omitempty"`
	Dimension    string           `json:"dimension,omitempty"`
	CurrentUsage int64            `json:"current_usage,omitempty"`
	Limit        int64            `json:"limit,omitempty"`
}

// UsageEvent is the budget event of a report; exec is the reporting
// execution, nil for an operator's report.
func UsageEvent(res UsageResult, deltas map[string]int64, exec *Execution, nowMs int64) Event {
	data := BudgetEventData{BudgetID: res.BudgetID, Dimensions: deltas, Dimension: res.Dimension,
		CurrentUsage: res.CurrentUsage, Limit: res.Limit}
	if exec != nil {
		return exec.event(EventBudget, string(res.Outcome), nowMs, nil, data)
	}
	return Event{Type: EventBudget, Action: string(res.Outcome), AtMs: nowMs, Data: data}
}

// BudgetResetEvent is the budget event of a reset.
func BudgetResetEvent(id string, nowMs int64) Event {
	return Event{Type: EventBudget, Action: BudgetEventReset, AtMs: nowMs, Data: BudgetEventData{BudgetID: id}}
}

// UnknownAdmissionRefs is the create-time refusal of a policy naming
// budgets or quotas that do not exist (invalid_input); nil when none.
func UnknownAdmissionRefs(budgets, quotas []string) error {
	switch {
	case len(budgets) > 0:
		return Validation(ErrInvalidInput, "policy.budget_ids: unknown budget %q", clip(budgets[0]))
	case len(quotas) > 0:
		return Validation(ErrInvalidInput, "policy.quota_ids: unknown quota %q", clip(quotas[0]))
	}
	return nil
}

// AdmitQuotas decides admission over every quota of an execution (uses
// align with qs). A full window refuses before a full concurrency cap:
// its due time is known, while a slot frees at any moment, so an
// execution waits on the window rather than taking the slot's wake-up
// and then the window's refusal. passed lists the quotas that had room
// (a refused execution passes their room on to others).
func AdmitQuotas(qs []QuotaDefinition, uses []QuotaUse) (refusal *AdmissionRefusal, passed []int) {
	for i := range qs {
		ok, detail, due := qs[i].Admit(uses[i])
		switch {
		case ok:
			passed = append(passed, i)
		case refusal == nil || (due > 0 && refusal.DueAtMs == 0):
			refusal = &AdmissionRefusal{By: BlockedByQuota, RefID: qs[i].ID, Detail: detail, DueAtMs: due}
		}
	}
	return refusal, passed
}
