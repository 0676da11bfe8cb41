package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// A done context that reaches the generic mapping is the engine's context
// error, the one every store returns: canceled or timeout, class timeout,
// not retryable, still matching the context error.
func TestAPIErrorOfADoneContext(t *testing.T) {
	for _, c := range []struct {
		cause, root error
		kind        ff.ErrorKind
	}{
		{context.Canceled, context.Canceled, ff.ErrCanceled},
		{fmt.Errorf("claim: %w", context.Canceled), context.Canceled, ff.ErrCanceled},
		{context.DeadlineExceeded, context.DeadlineExceeded, ff.ErrTimeout},
		{fmt.Errorf("read: %w", context.DeadlineExceeded), context.DeadlineExceeded, ff.ErrTimeout},
	} {
		cause := c.cause
		e := asAPIError(cause)
		require.ErrorIs(t, e, c.kind, "%v", cause)
		require.ErrorIs(t, e, ff.ClassTimeout)
		require.ErrorIs(t, e, c.root, "the cause stays in the chain")
		require.False(t, e.Retryable())
		require.Equal(t, http.StatusGatewayTimeout, wire.StatusOf(e))
		require.Equal(t, ff.ContextError("request", cause).Error(), e.Error())
	}
	engine := ff.StateError(ff.ErrStaleLease, "old")
	require.Same(t, engine, asAPIError(fmt.Errorf("wrapped: %w", engine)))
	require.ErrorIs(t, asAPIError(errors.New("boom")), ff.ErrTransportFatal)
}
