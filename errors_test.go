package flowfabric_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestRetryablePerClass(t *testing.T) {
	tests := []struct {
		name string
		err  *ff.Error
		want bool
	}{
		{"not found", ff.NotFound("execution", "x"), false},
		{"validation", ff.Validation(ff.ErrInvalidInput, "x"), false},
		{"corruption", ff.Corruption("x"), false},
		{"contention", ff.Contention(ff.ErrLeaseConflict, "x"), true},
		// execution_not_active is a contention kind that no retry of the
		// same call can fix, terminal or not (issue 9 item 15).
		{"not active carrier", ff.NotActive(ff.NotActiveDetail{}), false},
		{"not active, terminal", ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSuccess}), false},
		{"not active, runnable", ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseRunnable}), false},
		{"conflict", ff.Conflict(ff.ErrIdempotencyConflict, "x"), false},
		{"state", ff.StateError(ff.ErrStaleLease, "x"), false},
		{"bug", ff.Bug("x"), false},
		{"unavailable", ff.Unavailable("op"), false},
		{"transport retryable", ff.Transport("op", io.EOF, true), true},
		{"transport fatal", ff.Transport("op", io.EOF, false), false},
		{"transport timeout kind", &ff.Error{Class: ff.ClassTransport, Kind: ff.ErrTimeout}, true},
		{"resource exhausted", &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted}, true},
		{"timeout class", &ff.Error{Class: ff.ClassTimeout, Kind: ff.ErrTimeout}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Retryable(); got != tc.want {
				t.Fatalf("Retryable() = %v, want %v", got, tc.want)
			}
			if got := ff.IsRetryable(fmt.Errorf("wrapped: %w", tc.err)); got != tc.want {
				t.Fatalf("IsRetryable(wrapped) = %v, want %v", got, tc.want)
			}
		})
	}
	if ff.IsRetryable(io.EOF) || ff.IsRetryable(nil) {
		t.Fatal("foreign or nil errors must not be retryable")
	}
}

func TestConstructorsClassAndKind(t *testing.T) {
	tests := []struct {
		err   *ff.Error
		class ff.ErrorClass
		kind  ff.ErrorKind
	}{
		{ff.NotFound("execution", "id %d", 1), ff.ClassNotFound, ff.ErrNotFound},
		{ff.Validation(ff.ErrInvalidTagKey, "x"), ff.ClassValidation, ff.ErrInvalidTagKey},
		{ff.Corruption("x"), ff.ClassBug, ff.ErrCorruption},
		{ff.Contention(ff.ErrNoActiveLease, "x"), ff.ClassContention, ff.ErrNoActiveLease},
		{ff.Conflict(ff.ErrDuplicateExecution, "x"), ff.ClassConflict, ff.ErrDuplicateExecution},
		{ff.StateError(ff.ErrLeaseRevoked, "x"), ff.ClassState, ff.ErrLeaseRevoked},
		{ff.Bug("x"), ff.ClassBug, ff.ErrBug},
		{ff.Unavailable("op"), ff.ClassUnavailable, ff.ErrUnavailable},
		{ff.Transport("op", io.EOF, true), ff.ClassTransport, ff.ErrTransport},
		{ff.Transport("op", io.EOF, false), ff.ClassTransport, ff.ErrTransportFatal},
		{ff.NotActive(ff.NotActiveDetail{}), ff.ClassContention, ff.ErrExecutionNotActive},
	}
	for _, tc := range tests {
		if tc.err.Class != tc.class || tc.err.Kind != tc.kind {
			t.Errorf("%v: %s/%s, want %s/%s", tc.err, tc.err.Class, tc.err.Kind, tc.class, tc.kind)
		}
		if ff.KindOf(tc.err) != tc.kind || ff.ClassOf(tc.err) != tc.class {
			t.Errorf("%v: KindOf/ClassOf disagree", tc.err)
		}
		wrapped := fmt.Errorf("op: %w", tc.err)
		if !errors.Is(wrapped, tc.kind) || !errors.Is(wrapped, tc.class) {
			t.Errorf("%v: errors.Is does not match its own kind and class", tc.err)
		}
	}
	nf := ff.NotFound("result", "for %s", "x")
	if nf.Entity != "result" || nf.Detail != "result for x" {
		t.Fatalf("NotFound = %+v", nf)
	}
}

func TestErrorsIsMatchesClassAndKind(t *testing.T) {
	stale := ff.StateError(ff.ErrStaleLease, "epoch 3 is stale")
	wrapped := fmt.Errorf("complete: %w", stale)
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"same class and kind", &ff.Error{Class: ff.ClassState, Kind: ff.ErrStaleLease}, true},
		{"class only", &ff.Error{Class: ff.ClassState}, true},
		{"other kind", &ff.Error{Class: ff.ClassState, Kind: ff.ErrLeaseExpired}, false},
		{"other class same kind", &ff.Error{Class: ff.ClassContention, Kind: ff.ErrStaleLease}, false},
		{"kind without class", &ff.Error{Kind: ff.ErrStaleLease}, false},
		{"foreign target", io.EOF, false},
		{"kind constant", ff.ErrStaleLease, true},
		{"other kind constant", ff.ErrLeaseExpired, false},
		{"class constant", ff.ClassState, true},
		{"other class constant", ff.ClassContention, false},
		{"kind string of another type", ff.ErrorClass("stale_lease"), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := errors.Is(wrapped, tc.target); got != tc.want {
				t.Fatalf("errors.Is = %v, want %v", got, tc.want)
			}
		})
	}
	// The cause of a transport error stays reachable.
	tr := ff.Transport("query", io.ErrUnexpectedEOF, true)
	if !errors.Is(tr, io.ErrUnexpectedEOF) {
		t.Fatal("Transport does not unwrap to its cause")
	}
	if e, ok := ff.AsError(fmt.Errorf("x: %w", tr)); !ok || e != tr {
		t.Fatal("AsError does not find the wrapped error")
	}
}

func TestKindOfAndClassOfForeignErrors(t *testing.T) {
	if got := ff.KindOf(nil); got != "" {
		t.Fatalf("KindOf(nil) = %q", got)
	}
	if got := ff.ClassOf(nil); got != "" {
		t.Fatalf("ClassOf(nil) = %q", got)
	}
	foreign := errors.New("boom")
	if ff.KindOf(foreign) != ff.ErrTransport || ff.ClassOf(foreign) != ff.ClassTransport {
		t.Fatalf("foreign: %q/%q", ff.KindOf(foreign), ff.ClassOf(foreign))
	}
	if errors.Is(foreign, ff.ErrNotFound) || errors.Is(foreign, ff.ClassTransport) {
		t.Fatal("errors.Is matched a kind or class on a foreign error")
	}
	if _, ok := ff.AsError(foreign); ok {
		t.Fatal("AsError found an engine error in a foreign one")
	}
}

// The sentinels are constants whose Error text is the stable string.
func TestKindAndClassAreErrors(t *testing.T) {
	var k error = ff.ErrNotFound
	var c error = ff.ClassContention
	if k.Error() != "not_found" || c.Error() != "contention" {
		t.Fatalf("Error() = %q, %q", k.Error(), c.Error())
	}
	if errors.Is(ff.NotFound("execution", "x"), ff.ClassContention) {
		t.Fatal("a not_found error matched the contention class")
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *ff.Error
		want string
	}{
		{ff.StateError(ff.ErrStaleLease, "epoch %d is stale", 3), "stale_lease: epoch 3 is stale"},
		{&ff.Error{Class: ff.ClassBug, Kind: ff.ErrBug}, "bug"},
		{ff.Transport("insert attempt", io.EOF, true), "transport: insert attempt: EOF"},
		{ff.Unavailable("suspend"), "unavailable: suspend is not supported by this backend"},
		{ff.NotFound("execution", "{fp:1}:x"), "not_found: execution {fp:1}:x"},
		{ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSuccess, LeaseEpoch: 4}),
			"execution_not_active: execution is terminal (outcome success, epoch 4)"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	na := ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseRunnable, LeaseEpoch: 2, AttemptID: "a"})
	if na.NotActive == nil || na.NotActive.LeaseEpoch != 2 || na.NotActive.AttemptID != "a" {
		t.Fatalf("NotActive detail %+v", na.NotActive)
	}
}
