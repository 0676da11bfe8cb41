package flowfabric

import (
	"errors"
	"fmt"
)

// ErrorClass is the top-level family of an engine error. Its string is
// stable and part of the API. A class is also an error value, so
// errors.Is(err, flowfabric.ClassContention) asks for a whole family.
type ErrorClass string

// Error returns the class string.
func (c ErrorClass) Error() string { return string(c) }

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

// ErrorKind is the stable snake_case name of a precise error condition;
// its class is fixed by the constructor that produces it. The constants
// below are the sentinels of the engine's errors:
// errors.Is(err, flowfabric.ErrNotFound) reports whether err is an *Error
// of that kind. They are constants, so no caller can reassign them.
type ErrorKind string

// Error returns the kind string.
func (k ErrorKind) Error() string { return string(k) }

const (
	// not_found
	ErrNotFound ErrorKind = "not_found"

	// validation
	ErrInvalidInput           ErrorKind = "invalid_input"
	ErrInvalidHandle          ErrorKind = "invalid_handle"
	ErrInvalidCapabilities    ErrorKind = "invalid_capabilities"
	ErrInvalidPolicy          ErrorKind = "invalid_policy_json"
	ErrPayloadTooLarge        ErrorKind = "payload_too_large"
	ErrInvalidTagKey          ErrorKind = "invalid_tag_key"
	ErrHandleFromOtherBackend ErrorKind = "handle_from_other_backend"
	ErrFenceRequired          ErrorKind = "fence_required"
	ErrPartialFence           ErrorKind = "partial_fence_triple"

	// contention (retryable, except execution_not_active)
	ErrContention         ErrorKind = "contention"
	ErrLeaseConflict      ErrorKind = "lease_conflict"
	ErrExecutionNotActive ErrorKind = "execution_not_active"
	ErrNoActiveLease      ErrorKind = "no_active_lease"

	// conflict
	ErrConflict            ErrorKind = "conflict"
	ErrIdempotencyConflict ErrorKind = "idempotency_conflict"
	ErrDuplicateExecution  ErrorKind = "execution_already_exists"
	// ErrScheduleConflict: a schedule with this id exists with another
	// definition (create it with Replace to swap the definition).
	ErrScheduleConflict ErrorKind = "schedule_conflict"
	// Flows (DESIGN §5.1): an edge that would close a cycle (a self-edge
	// included), an expected graph revision that is not the flow's, an
	// edge end or a spawned parent outside the flow, an edge that exists.
	ErrCycleDetected      ErrorKind = "cycle_detected"
	ErrStaleGraphRevision ErrorKind = "stale_graph_revision"
	ErrNotFlowMember      ErrorKind = "not_flow_member"
	ErrDuplicateEdge      ErrorKind = "dependency_already_exists"

	// state
	ErrStaleLease           ErrorKind = "stale_lease"
	ErrLeaseExpired         ErrorKind = "lease_expired"
	ErrLeaseRevoked         ErrorKind = "lease_revoked"
	ErrExecutionNotTerminal ErrorKind = "execution_not_terminal"
	ErrMaxReplaysExhausted  ErrorKind = "max_replays_exhausted"
	ErrTerminal             ErrorKind = "terminal"
	ErrNotRunnable          ErrorKind = "not_runnable"
	// ErrNotEligible names a condition a retry cannot change: the priority
	// of a terminal execution, an edge into a started flow member, an
	// operator resume of an execution that is not suspended.
	ErrNotEligible ErrorKind = "execution_not_eligible"

	// bug: a broken invariant or stored data that cannot be decoded
	ErrBug        ErrorKind = "bug"
	ErrCorruption ErrorKind = "corruption"

	// others
	ErrTransport         ErrorKind = "transport"
	ErrTransportFatal    ErrorKind = "transport_fatal"
	ErrUnavailable       ErrorKind = "unavailable"
	ErrResourceExhausted ErrorKind = "resource_exhausted"
	ErrTimeout           ErrorKind = "timeout"
	ErrSchemaMismatch    ErrorKind = "schema_version_mismatch"
)

// NotActiveDetail describes why a lease-bound operation found the execution
// not active. It carries what replay reconciliation needs (spec §3.6).
type NotActiveDetail struct {
	LifecyclePhase  LifecyclePhase
	TerminalOutcome TerminalOutcome
	LeaseEpoch      uint64
	AttemptID       string
}

// Error is the engine's typed error. Every error a backend, the server or
// the SDK returns for a known condition is an *Error; anything else is a
// transport failure.
type Error struct {
	Class  ErrorClass
	Kind   ErrorKind // stable snake_case kind, e.g. "stale_lease"
	Detail string    // human explanation
	// Entity names what was not found ("execution", "flow", ...).
	Entity string
	// NotActive is set on ErrExecutionNotActive.
	NotActive *NotActiveDetail
	// RetryAfterMs is an optional hint on resource exhaustion.
	RetryAfterMs int64
	// Err is the underlying cause, if any.
	Err error
}

func (e *Error) Error() string {
	msg := string(e.Kind)
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
// execution_not_active never is, although it is a contention kind: the
// lease the call presented is gone for good (the execution is terminal,
// or runnable again and waiting for a claim under a new epoch), so the
// same call can only fail again; the caller reads the execution instead.
func (e *Error) Retryable() bool {
	if e.Kind == ErrExecutionNotActive {
		return false
	}
	switch e.Class {
	case ClassContention, ClassResourceExhausted:
		return true
	case ClassTransport:
		return e.Kind == ErrTransport || e.Kind == ErrTimeout
	}
	return false
}

// Is makes the kind and class constants sentinels: target matches when it
// is the ErrorKind e.Kind or the ErrorClass e.Class, or another *Error with
// the same class and kind (an empty Kind in target matches any kind of
// that class).
func (e *Error) Is(target error) bool {
	switch t := target.(type) {
	case ErrorKind:
		return t == e.Kind
	case ErrorClass:
		return t == e.Class
	case *Error:
		return t.Class == e.Class && (t.Kind == "" || t.Kind == e.Kind)
	}
	return false
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
// errors that are not engine errors. It is meant for log and metric
// labels; branch on a kind with errors.Is.
func KindOf(err error) ErrorKind {
	if err == nil {
		return ""
	}
	if e, ok := AsError(err); ok {
		return e.Kind
	}
	return ErrTransport
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

// Validation returns a validation error of the given kind.
func Validation(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Class: ClassValidation, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// NotFound returns a not-found error for entity ("execution", ...).
func NotFound(entity, format string, args ...any) *Error {
	return &Error{Class: ClassNotFound, Kind: ErrNotFound, Entity: entity, Detail: entity + " " + fmt.Sprintf(format, args...)}
}

// Contention returns a retryable contention error.
func Contention(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Class: ClassContention, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Conflict returns a permanent conflict error.
func Conflict(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Class: ClassConflict, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// StateError returns a state error of the given kind.
func StateError(kind ErrorKind, format string, args ...any) *Error {
	return &Error{Class: ClassState, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// Unavailable reports that op is not implemented by this backend.
func Unavailable(op string) *Error {
	return &Error{Class: ClassUnavailable, Kind: ErrUnavailable, Detail: op + " is not supported by this backend"}
}

// Transport wraps an I/O or driver failure. retryable marks failures such
// as dropped connections or serialization conflicts that may succeed when
// retried.
func Transport(op string, err error, retryable bool) *Error {
	kind := ErrTransportFatal
	if retryable {
		kind = ErrTransport
	}
	return &Error{Class: ClassTransport, Kind: kind, Detail: op, Err: err}
}

// Corruption reports data read back from the store that could not be
// decoded: a server bug (never retryable), not the caller's mistake. Input
// a caller sent is checked with Validation instead (ErrInvalidHandle,
// ErrInvalidInput).
func Corruption(format string, args ...any) *Error {
	return &Error{Class: ClassBug, Kind: ErrCorruption, Detail: fmt.Sprintf(format, args...)}
}

// Bug reports a broken internal invariant.
func Bug(format string, args ...any) *Error {
	return &Error{Class: ClassBug, Kind: ErrBug, Detail: fmt.Sprintf(format, args...)}
}

// NotActive returns the replay-reconciliation carrier error.
func NotActive(d NotActiveDetail) *Error {
	return &Error{
		Class:     ClassContention,
		Kind:      ErrExecutionNotActive,
		Detail:    fmt.Sprintf("execution is %s (outcome %s, epoch %d)", d.LifecyclePhase, d.TerminalOutcome, d.LeaseEpoch),
		NotActive: &d,
	}
}
