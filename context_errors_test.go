package flowfabric_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestContextError(t *testing.T) {
	for _, tc := range []struct {
		cause error
		kind  ff.ErrorKind
	}{
		{context.Canceled, ff.ErrCanceled},
		{fmt.Errorf("query: %w", context.Canceled), ff.ErrCanceled},
		{context.DeadlineExceeded, ff.ErrTimeout},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), ff.ErrTimeout},
	} {
		e := ff.ContextError("claim", tc.cause)
		wantErr(t, e, ff.ClassTimeout, tc.kind)
		if e.Retryable() || ff.IsRetryable(e) {
			t.Errorf("%v: a context error is not retryable", tc.cause)
		}
		if !errors.Is(e, tc.cause) || !errors.Is(e, tc.kind) {
			t.Errorf("%v: lost its cause or kind: %v", tc.cause, e)
		}
	}
	if e := ff.ContextError("claim", errors.New("boom")); e != nil {
		t.Errorf("a foreign error became %v", e)
	}
	if e := ff.ContextError("claim", nil); e != nil {
		t.Errorf("nil became %v", e)
	}
}
