package wire

import (
	"net/http"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
)

// Kinds the HTTP layer produces itself (the engine's kinds live in the
// root package). Like those, they are sentinels for errors.Is.
const (
	ErrInvalidJSON          ff.ErrorKind = "invalid_json"
	ErrUnsupportedMediaType ff.ErrorKind = "unsupported_media_type"
	ErrUnauthorized         ff.ErrorKind = "unauthorized"
	ErrRouteNotFound        ff.ErrorKind = "route_not_found"
	ErrMethodNotAllowed     ff.ErrorKind = "method_not_allowed"
	// ErrRequestTimeout is a request body that did not arrive within the
	// server's read timeout (408).
	ErrRequestTimeout ff.ErrorKind = "request_timeout"
)

// ErrorBody is every error response: {"error", "kind", "retryable"} plus
// optional detail. Class is the engine error class, so clients can
// rebuild the typed error exactly.
type ErrorBody struct {
	Error        string           `json:"error"`
	Kind         ff.ErrorKind     `json:"kind"`
	Retryable    bool             `json:"retryable"`
	Class        ff.ErrorClass    `json:"class,omitempty"`
	Entity       string           `json:"entity,omitempty"`
	RetryAfterMs int64            `json:"retry_after_ms,omitempty"`
	NotActive    *NotActiveDetail `json:"not_active,omitempty"`
	LimitBytes   int64            `json:"limit_bytes,omitempty"`
}

// NotActiveDetail says why a lease-bound call found its execution not
// active: what a client needs to reconcile a replay.
type NotActiveDetail struct {
	LifecyclePhase  ff.LifecyclePhase  `json:"lifecycle_phase"`
	TerminalOutcome ff.TerminalOutcome `json:"terminal_outcome"`
	LeaseEpoch      uint64             `json:"lease_epoch"`
	AttemptID       string             `json:"attempt_id,omitempty"`
}

// ErrorOf turns any error into the engine's typed error, as the API
// renders it. A done context is the engine's context error
// (ff.ContextError: canceled or timeout, as every store reports it);
// anything foreign is a non-retryable transport failure.
func ErrorOf(err error) *ff.Error {
	if e, ok := ff.AsError(err); ok {
		return e
	}
	if e := ff.ContextError("request", err); e != nil {
		return e
	}
	return ff.Transport("server", err, false)
}

// BodyOf renders an engine error. The message is bounded: an echoed
// input value is cut at MaxEchoBytes, the whole at MaxErrorBytes.
func BodyOf(e *ff.Error) ErrorBody {
	b := ErrorBody{
		Error: clipMessage(e.Error()), Kind: e.Kind, Retryable: e.Retryable(), Class: e.Class,
		Entity: e.Entity, RetryAfterMs: e.RetryAfterMs,
	}
	if e.NotActive != nil {
		d := NotActiveDetail(*e.NotActive)
		b.NotActive = &d
	}
	return b
}

// StatusOf maps an engine error to its HTTP status. The mapping is the
// API contract: clients decide retries from kind/retryable, not status.
func StatusOf(e *ff.Error) int {
	switch e.Class {
	case ff.ClassNotFound:
		return http.StatusNotFound
	case ff.ClassValidation:
		switch e.Kind {
		case ff.ErrPayloadTooLarge:
			return http.StatusRequestEntityTooLarge
		case ErrUnsupportedMediaType:
			return http.StatusUnsupportedMediaType
		case ErrUnauthorized:
			return http.StatusUnauthorized
		case ErrMethodNotAllowed:
			return http.StatusMethodNotAllowed
		case ErrRequestTimeout:
			return http.StatusRequestTimeout
		case ff.ErrInvalidToken:
			return http.StatusForbidden
		}
		return http.StatusBadRequest
	case ff.ClassContention, ff.ClassConflict, ff.ClassState:
		return http.StatusConflict
	case ff.ClassUnavailable:
		return http.StatusServiceUnavailable
	case ff.ClassResourceExhausted:
		return http.StatusTooManyRequests
	case ff.ClassTimeout:
		return http.StatusGatewayTimeout
	case ff.ClassTransport:
		if e.Retryable() {
			return http.StatusServiceUnavailable
		}
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

// ToError rebuilds the typed error from a response body and its status.
// The class comes from the body when the server sent one, else it is
// derived from the status and kind.
func (b ErrorBody) ToError(status int) *ff.Error {
	detail := strings.TrimPrefix(b.Error, string(b.Kind)+": ")
	if detail == string(b.Kind) {
		detail = ""
	}
	e := &ff.Error{
		Class: b.Class, Kind: b.Kind, Detail: detail, Entity: b.Entity,
		RetryAfterMs: b.RetryAfterMs,
	}
	if b.NotActive != nil {
		d := ff.NotActiveDetail(*b.NotActive)
		e.NotActive = &d
	}
	if e.Kind == "" {
		e.Kind = kindForStatus(status, b.Retryable)
	}
	if !knownClass(e.Class) {
		e.Class = classFor(status, e.Kind, b.Retryable)
	}
	return e
}

// ErrorForStatus builds the error for a response without a decodable
// body (a proxy page, an empty 502).
func ErrorForStatus(status int, text string) *ff.Error {
	retryable := status == http.StatusBadGateway || status == http.StatusServiceUnavailable ||
		status == http.StatusGatewayTimeout || status == http.StatusTooManyRequests
	kind := kindForStatus(status, retryable)
	return &ff.Error{Class: classFor(status, kind, retryable), Kind: kind, Detail: text}
}

func kindForStatus(status int, retryable bool) ff.ErrorKind {
	switch status {
	case http.StatusNotFound:
		return ff.ErrNotFound
	case http.StatusUnauthorized:
		return ErrUnauthorized
	case http.StatusForbidden:
		return ff.ErrInvalidToken
	case http.StatusRequestEntityTooLarge:
		return ff.ErrPayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return ErrUnsupportedMediaType
	case http.StatusMethodNotAllowed:
		return ErrMethodNotAllowed
	case http.StatusRequestTimeout:
		return ErrRequestTimeout
	case http.StatusTooManyRequests:
		return ff.ErrResourceExhausted
	case http.StatusBadRequest:
		return ff.ErrInvalidInput
	case http.StatusConflict:
		if retryable {
			return ff.ErrContention
		}
		return ff.ErrConflict
	}
	if retryable {
		return ff.ErrTransport
	}
	return ff.ErrTransportFatal
}

// stateKinds are the kinds the engine raises with ClassState.
var stateKinds = map[ff.ErrorKind]bool{
	ff.ErrStaleLease: true, ff.ErrLeaseExpired: true, ff.ErrLeaseRevoked: true,
	ff.ErrExecutionNotTerminal: true, ff.ErrMaxReplaysExhausted: true, ff.ErrTerminal: true,
	ff.ErrNotRunnable: true, ff.ErrNotEligible: true,
}

func classFor(status int, kind ff.ErrorKind, retryable bool) ff.ErrorClass {
	switch {
	case status == http.StatusNotFound:
		return ff.ClassNotFound
	case status == http.StatusConflict && retryable:
		return ff.ClassContention
	case status == http.StatusConflict && stateKinds[kind]:
		return ff.ClassState
	case status == http.StatusConflict:
		return ff.ClassConflict
	case status == http.StatusTooManyRequests:
		return ff.ClassResourceExhausted
	case status == http.StatusGatewayTimeout && kind == ff.ErrTimeout:
		return ff.ClassTimeout
	case status == http.StatusServiceUnavailable && kind == ff.ErrUnavailable:
		return ff.ClassUnavailable
	case status >= 400 && status < 500:
		return ff.ClassValidation
	case status == http.StatusInternalServerError && (kind == ff.ErrBug || kind == ff.ErrCorruption):
		return ff.ClassBug
	}
	return ff.ClassTransport
}

func knownClass(c ff.ErrorClass) bool {
	switch c {
	case ff.ClassNotFound, ff.ClassValidation, ff.ClassContention, ff.ClassConflict, ff.ClassState,
		ff.ClassBug, ff.ClassTransport, ff.ClassUnavailable, ff.ClassResourceExhausted, ff.ClassTimeout:
		return true
	}
	return false
}
