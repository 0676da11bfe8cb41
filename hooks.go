package flowfabric

// Hooks are feature flags on the execution row. A feature that must act
// when one of its executions is completed or renewed sets its bit; the
// one-statement fast SQL paths exclude rows carrying a bit of their mask
// (HooksCompleteSlow, HooksRenewSlow), so those rows take the slow path
// (load under lock, state machine, record and effects written in one
// transaction), where the feature's writes happen. Plain executions keep
// Hooks zero and never pay for a feature they do not use.
//
// Hooks are stored whole with the record (ff_execution.hooks) and only the
// transitions of the owning feature change them.
type Hooks uint16

const (
	// HookFlow: the execution is a flow member with outgoing edges; its
	// end resolves them. Set when its first outgoing edge is created,
	// never cleared.
	HookFlow Hooks = 1 << 0
	// HookWaitpoints: the current attempt created waitpoints or
	// suspended; its end closes them. Set by CreateWaitpoint and Suspend,
	// cleared when the attempt ends.
	HookWaitpoints Hooks = 1 << 1
	// Bit 2 is reserved (streams need none).

	// HookAdmission: the policy lists budgets or quotas, so claims go
	// through admission. Set at create, never cleared.
	HookAdmission Hooks = 1 << 3
	// HookQuotaSlot: the execution holds concurrency slots of its quotas;
	// the end of its lease releases them. Cleared when they are released.
	HookQuotaSlot Hooks = 1 << 4
)

// Masks of the fast SQL paths: a row with any of these bits takes the slow
// path. A new fast path that ends a lease must exclude HooksCompleteSlow
// rows the same way.
const (
	HooksCompleteSlow = HookFlow | HookWaitpoints | HookQuotaSlot
	HooksRenewSlow    = Hooks(0)
)

// Any reports whether h has any bit of mask.
func (h Hooks) Any(mask Hooks) bool { return h&mask != 0 }
