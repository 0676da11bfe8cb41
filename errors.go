package flowfabric

import (
	"errors"
	"fmt"
)

// ErrorClass is the top-level family of an engine error. Its string is
// stable and part of the API.
type ErrorClass string

const (
	ClassNotFound          ErrorClass = "not_found"
	ClassValidation        ErrorClass = "validation"
	ClassContention        ErrorClass = "contention"
	ClassConflict          ErrorClass = "conflict"
	ClassState             ErrorClass = "state"
	ClassBug               ErrorClass = "bug"
	ClassTransport         ErrorClass = "transport"
	ClassUnavailable       ErrorClass = "unavailable"
	ClassResourceExhausted ErrorClass = "resource_exhausted"
	ClassTimeout           ErrorClass = "timeout"
)

// Stable error kinds. A kind names the precise condition; its class is
// fixed by the constructor that produces it.
const (
	// not_found
	KindNotFound = "not_found"

	// validation
	KindInvalidInput           = "invalid_input"
	KindInvalidCapabilities    = "invalid_capabilities"
	KindInvalidPolicy          = "invalid_policy_json"
	KindPayloadTooLarge        = "payload_too_large"
	KindInvalidTagKey          = "invalid_tag_key"
	KindCorruption             = "corruption"
	KindHandleFromOtherBackend = "handle_from_other_backend"
	KindFenceRequired          = "fence_required"
	KindPartialFence           = "partial_fence_triple"

	// contention (retryable)
	KindContention         = "contention"
	KindLeaseConflict      = "lease_conflict"
	KindExecutionNotActive = "execution_not_active"
	KindNotEligible        = "execution_not_eligible"
	KindNoActiveLease      = "no_active_lease"

	// conflict
	KindConflict            = "conflict"
	KindIdempotencyConflict = "idempotency_conflict"
	KindDuplicateExecution  = "execution_already_exists"

	// state
	KindStaleLease           = "stale_lease"
	KindLeaseExpired         = "lease_expired"
	KindLeaseRevoked         = "lease_revoked"
	KindExecutionNotTerminal = "execution_not_terminal"
	KindMaxReplaysExhausted  = "max_replays_exhausted"
	KindTerminal             = "terminal"
	KindNotRunnable          = "not_runnable"

	// others
	KindBug               = "bug"
	KindTransport         = "transport"
	KindUnavailable       = "unavailable"
	KindResourceExhausted = "resource_exhausted"
	KindTimeout           = "timeout"
	KindSchemaMismatch    = "schema_version_mismatch"
)

// NotActiveDetail describes why a lease-bound operation found the execution
// not active. It carries what replay reconciliation needs (spec §3.6).
type NotActiveDetail struct {
	LifecyclePhase  LifecyclePhase  `json:"lifecycle_phase"`
	TerminalOutcome TerminalOutcome `json:"terminal_outcome"`
	LeaseEpoch      uint64          `json:"lease_epoch"`
	AttemptID       string          `json:"attempt_id,omitempty"`
}

// Error is the engine's typed error. Every error a backend, the server or
// the SDK returns for a known condition is an *Error; anything else is a
// transport failure.
type Error struct {
	Class  ErrorClass
	Kind   string // stable snake_case kind, e.g. "stale_lease"
	Detail string // human explanation
	// Entity names what was not found ("execution", "flow", ...).
	Entity string
	// NotActive is set on KindExecutionNotActive.
	NotActive *NotActiveDetail
	// RetryAfterMs is an optional hint on resource exhaustion.
	RetryAfterMs int64
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := e.Kind
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether retrying the same call may succeed.
func (e *Error) Retryable() bool {
	switch e.Class {
	case ClassContention, ClassResourceExhausted:
		return true
	case ClassTransport:
		return e.Kind == KindTransport || e.Kind == KindTimeout
	}
	return false
}

// Is matches another *Error with the same class and kind, so that
// errors.Is(err, &flowfabric.Error{Class: ..., Kind: ...}) works; an empty
// Kind in target matches any kind of that class.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Class == e.Class && (t.Kind == "" || t.Kind == e.Kind)
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// KindOf returns the stable kind of err, "" for nil, and "transport" for
// errors that are not engine errors.
func KindOf(err error) string {
	if err == nil {
		return ""
	}
	if e, ok := AsError(err); ok {
		return e.Kind
	}
	return KindTransport
}

// ClassOf returns the class of err, "" for nil, and transport for errors
// that are not engine errors (mirroring KindOf).
func ClassOf(err error) ErrorClass {
	if err == nil {
		return ""
	}
	if e, ok := AsError(err); ok {
		return e.Class
	}
	return ClassTransport
}

// IsRetryable reports whether err is an engine error marked retryable.
func IsRetryable(err error) bool {
	if e, ok := AsError(err); ok {
		return e.Retryable()
	}
	return false
}

// HasKind reports whether err is an engine error of the given kind.
func HasKind(err error, kind string) bool { return KindOf(err) == kind }

// Validation returns a validation error of the given kind.
func Validation(kind, format string, args ...any) *Error {
	return &Error{Class: ClassValidation, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// NotFound returns a not-found error for entity ("execution", ...).
func NotFound(entity, format string, args ...any) *Error {
	return &Error{Class: ClassNotFound, Kind: KindNotFound, Entity: entity, Detail: entity + " " + fmt.Sprintf(format, args...)}
}

// Contention returns a retryable contention error.
func Contention(kind, format string, args ...any) *Error {
	return &Error{Class: ClassContention, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Conflict returns a permanent conflict error.
func Conflict(kind, format string, args ...any) *Error {
	return &Error{Class: ClassConflict, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// StateError returns a state error of the given kind.
func StateError(kind, format string, args ...any) *Error {
	return &Error{Class: ClassState, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Unavailable reports that op is not implemented by this backend.
func Unavailable(op string) *Error {
	return &Error{Class: ClassUnavailable, Kind: KindUnavailable, Detail: op + " is not supported by this backend"}
}

// Transport wraps an I/O or driver failure. retryable marks failures such
// as dropped connections or serialization conflicts that may succeed when
// retried.
func Transport(op string, err error, retryable bool) *Error {
	kind := "transport_fatal"
	if retryable {
		kind = KindTransport
	}
	return &Error{Class: ClassTransport, Kind: kind, Detail: op, Err: err}
}

// Corruption reports stored data that could not be decoded.
func Corruption(format string, args ...any) *Error {
	return &Error{Class: ClassValidation, Kind: KindCorruption, Detail: fmt.Sprintf(format, args...)}
}

// Bug reports a broken internal invariant.
func Bug(format string, args ...any) *Error {
	return &Error{Class: ClassBug, Kind: KindBug, Detail: fmt.Sprintf(format, args...)}
}

// NotActive returns the replay-reconciliation carrier error.
func NotActive(d NotActiveDetail) *Error {
	return &Error{
		Class:     ClassContention,
		Kind:      KindExecutionNotActive,
		Detail:    fmt.Sprintf("execution is %s (outcome %s, epoch %d)", d.LifecyclePhase, d.TerminalOutcome, d.LeaseEpoch),
		NotActive: &d,
	}
}
