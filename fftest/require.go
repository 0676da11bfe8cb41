package fftest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Reader is what the execution assertions read: backend.Backend,
// *client.Client and *Engine satisfy it.
type Reader interface {
	DescribeExecution(ctx context.Context, p backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error)
	GetExecutionResult(ctx context.Context, p backend.GetExecutionResultParams) ([]byte, error)
	ListAttempts(ctx context.Context, p backend.ListAttemptsParams) ([]ff.Attempt, error)
	ListExecutions(ctx context.Context, p backend.ListExecutionsParams) (backend.ExecutionPage, error)
}

// readTimeout bounds each read of an assertion.
const readTimeout = 10 * time.Second

func readCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), readTimeout)
}

// snapshot reads id's snapshot or fails t.
func snapshot(t testing.TB, r Reader, id ff.ExecutionID) backend.ExecutionSnapshot {
	t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	snap, err := r.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
	if err != nil {
		t.Fatalf("fftest: describe %s: %v", id, err)
	}
	return snap
}

// failf fails t with msg and the state of id.
func failf(t testing.TB, r Reader, id ff.ExecutionID, format string, args ...any) {
	t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	t.Fatalf("%s%s", fmt.Sprintf(format, args...), describeAll(ctx, r, []ff.ExecutionID{id}, ""))
}

// describeAll renders the executions a failure is about: state, blocking
// detail, failure, and each attempt.
func describeAll(ctx context.Context, r Reader, ids []ff.ExecutionID, hint string) string {
	var b strings.Builder
	for _, id := range ids {
		snap, err := r.DescribeExecution(ctx, backend.DescribeExecutionParams{ExecutionID: id})
		if err != nil {
			fmt.Fprintf(&b, "\n  %s: %v", id, err)
			continue
		}
		fmt.Fprintf(&b, "\n  %s (%s): %s", id, snap.Kind, snap.PublicState)
		if snap.BlockingDetail != "" {
			fmt.Fprintf(&b, ", %s", snap.BlockingDetail)
		}
		if !snap.ReadyAt.IsZero() {
			fmt.Fprintf(&b, ", until %s", snap.ReadyAt.UTC().Format(time.RFC3339))
		}
		if snap.FailureReason != "" {
			fmt.Fprintf(&b, ", failure %q", snap.FailureReason)
		}
		atts, _ := r.ListAttempts(ctx, backend.ListAttemptsParams{ExecutionID: id})
		for _, a := range atts {
			fmt.Fprintf(&b, "\n    attempt %d %s: %s", a.Index, a.Type, a.Lifecycle)
			if a.FailureClass != "" || a.FailureReason != "" {
				fmt.Fprintf(&b, " (%s: %s)", a.FailureClass, a.FailureReason)
			}
		}
	}
	return b.String() + hint
}

// RequireState fails t unless execution id is in public state s.
func RequireState(t testing.TB, r Reader, id ff.ExecutionID, s ff.PublicState) backend.ExecutionSnapshot {
	t.Helper()
	snap := snapshot(t, r, id)
	if snap.PublicState != s {
		failf(t, r, id, "fftest: %s is %s, want %s", id, snap.PublicState, s)
	}
	return snap
}

// RequireCompleted fails t unless id completed with the result want: nil
// checks nothing more; a string, []byte or json.RawMessage is compared as
// JSON; any other value is marshalled, then compared as JSON.
func RequireCompleted(t testing.TB, r Reader, id ff.ExecutionID, want any) {
	t.Helper()
	RequireState(t, r, id, ff.PublicCompleted)
	if want == nil {
		return
	}
	got := result(t, r, id)
	var exp []byte
	switch w := want.(type) {
	case string:
		exp = []byte(w)
	case []byte:
		exp = w
	case json.RawMessage:
		exp = w
	default:
		var err error
		if exp, err = json.Marshal(w); err != nil {
			t.Fatalf("fftest: encode the wanted result: %v", err)
		}
	}
	if !jsonEqual(exp, got) {
		failf(t, r, id, "fftest: %s completed with %s, want %s", id, got, exp)
	}
}

// RequireResult fails t unless id completed, and decodes its result into
// into.
func RequireResult(t testing.TB, r Reader, id ff.ExecutionID, into any) {
	t.Helper()
	RequireState(t, r, id, ff.PublicCompleted)
	if err := json.Unmarshal(result(t, r, id), into); err != nil {
		failf(t, r, id, "fftest: decode the result of %s: %v", id, err)
	}
}

func result(t testing.TB, r Reader, id ff.ExecutionID) []byte {
	t.Helper()
	ctx, cancel := readCtx()
	defer cancel()
	got, err := r.GetExecutionResult(ctx, backend.GetExecutionResultParams{ExecutionID: id})
	if err != nil {
		t.Fatalf("fftest: result of %s: %v", id, err)
	}
	return got
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}

// RequireFailed fails t unless id failed, with its last attempt failed
// in class (any class when class is "").
func RequireFailed(t testing.TB, r Reader, id ff.ExecutionID, class ff.FailureClass) {
	t.Helper()
	RequireState(t, r, id, ff.PublicFailed)
	if class == "" {
		return
	}
	ctx, cancel := readCtx()
	defer cancel()
	atts, err := r.ListAttempts(ctx, backend.ListAttemptsParams{ExecutionID: id})
	if err != nil {
		t.Fatalf("fftest: attempts of %s: %v", id, err)
	}
	if len(atts) == 0 || atts[len(atts)-1].FailureClass != string(class) {
		failf(t, r, id, "fftest: %s did not fail with class %s", id, class)
	}
}

// RequireCancelled fails t unless id was cancelled.
func RequireCancelled(t testing.TB, r Reader, id ff.ExecutionID) {
	t.Helper()
	RequireState(t, r, id, ff.PublicCancelled)
}

// RequireAttempts fails t unless id has had exactly n attempts.
func RequireAttempts(t testing.TB, r Reader, id ff.ExecutionID, n int) {
	t.Helper()
	snap := snapshot(t, r, id)
	if int(snap.AttemptCount) != n {
		failf(t, r, id, "fftest: %s has had %d attempts, want %d", id, snap.AttemptCount, n)
	}
}
