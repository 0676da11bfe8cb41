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
		{"validation", ff.Validation(ff.KindInvalidInput, "x"), false},
		{"corruption", ff.Corruption("x"), false},
		{"contention", ff.Contention(ff.KindLeaseConflict, "x"), true},
		{"not active carrier", ff.NotActive(ff.NotActiveDetail{}), true},
		{"conflict", ff.Conflict(ff.KindIdempotencyConflict, "x"), false},
		{"state", ff.StateError(ff.KindStaleLease, "x"), false},
		{"bug", ff.Bug("x"), false},
		{"unavailable", ff.Unavailable("op"), false},
		{"transport retryable", ff.Transport("op", io.EOF, true), true},
		{"transport fatal", ff.Transport("op", io.EOF, false), false},
		{"transport timeout kind", &ff.Error{Class: ff.ClassTransport, Kind: ff.KindTimeout}, true},
		{"resource exhausted", &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.KindResourceExhausted}, true},
		{"timeout class", &ff.Error{Class: ff.ClassTimeout, Kind: ff.KindTimeout}, false},
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
		kind  string
	}{
		{ff.NotFound("execution", "id %d", 1), ff.ClassNotFound, ff.KindNotFound},
		{ff.Validation(ff.KindInvalidTagKey, "x"), ff.ClassValidation, ff.KindInvalidTagKey},
		{ff.Corruption("x"), ff.ClassValidation, ff.KindCorruption},
		{ff.Contention(ff.KindNoActiveLease, "x"), ff.ClassContention, ff.KindNoActiveLease},
		{ff.Conflict(ff.KindDuplicateExecution, "x"), ff.ClassConflict, ff.KindDuplicateExecution},
		{ff.StateError(ff.KindLeaseRevoked, "x"), ff.ClassState, ff.KindLeaseRevoked},
		{ff.Bug("x"), ff.ClassBug, ff.KindBug},
		{ff.Unavailable("op"), ff.ClassUnavailable, ff.KindUnavailable},
		{ff.Transport("op", io.EOF, true), ff.ClassTransport, ff.KindTransport},
		{ff.Transport("op", io.EOF, false), ff.ClassTransport, "transport_fatal"},
		{ff.NotActive(ff.NotActiveDetail{}), ff.ClassContention, ff.KindExecutionNotActive},
	}
	for _, tc := range tests {
		if tc.err.Class != tc.class || tc.err.Kind != tc.kind {
			t.Errorf("%v: %s/%s, want %s/%s", tc.err, tc.err.Class, tc.err.Kind, tc.class, tc.kind)
		}
		if ff.KindOf(tc.err) != tc.kind || ff.ClassOf(tc.err) != tc.class || !ff.HasKind(tc.err, tc.kind) {
			t.Errorf("%v: KindOf/ClassOf/HasKind disagree", tc.err)
		}
	}
	nf := ff.NotFound("result", "for %s", "x")
	if nf.Entity != "result" || nf.Detail != "result for x" {
		t.Fatalf("NotFound = %+v", nf)
	}
}

func TestErrorsIsMatchesClassAndKind(t *testing.T) {
	stale := ff.StateError(ff.KindStaleLease, "epoch 3 is stale")
	wrapped := fmt.Errorf("complete: %w", stale)
	tests := []struct {
		name   string
		target error
		want   bool
	}{
		{"same class and kind", &ff.Error{Class: ff.ClassState, Kind: ff.KindStaleLease}, true},
		{"class only", &ff.Error{Class: ff.ClassState}, true},
		{"other kind", &ff.Error{Class: ff.ClassState, Kind: ff.KindLeaseExpired}, false},
		{"other class same kind", &ff.Error{Class: ff.ClassContention, Kind: ff.KindStaleLease}, false},
		{"kind without class", &ff.Error{Kind: ff.KindStaleLease}, false},
		{"foreign target", io.EOF, false},
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
	if ff.KindOf(foreign) != ff.KindTransport || ff.ClassOf(foreign) != ff.ClassTransport {
		t.Fatalf("foreign: %q/%q", ff.KindOf(foreign), ff.ClassOf(foreign))
	}
	if ff.HasKind(foreign, ff.KindNotFound) {
		t.Fatal("HasKind on a foreign error")
	}
	if _, ok := ff.AsError(foreign); ok {
		t.Fatal("AsError found an engine error in a foreign one")
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *ff.Error
		want string
	}{
		{ff.StateError(ff.KindStaleLease, "epoch %d is stale", 3), "stale_lease: epoch 3 is stale"},
		{&ff.Error{Class: ff.ClassBug, Kind: ff.KindBug}, "bug"},
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
