package wire_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// Every engine error survives the trip through the wire: status, kind,
// class and retryable flag, with the body's class or without it.
func TestErrorRoundTrip(t *testing.T) {
	cases := []struct {
		err    *ff.Error
		status int
	}{
		{ff.NotFound("execution", "x"), 404},
		{ff.Validation(ff.ErrInvalidInput, "bad"), 400},
		{ff.Validation(ff.ErrPayloadTooLarge, "big"), 413},
		{ff.Validation(wire.ErrUnsupportedMediaType, "ct"), 415},
		{ff.Validation(wire.ErrUnauthorized, "no"), 401},
		{ff.Validation(wire.ErrMethodNotAllowed, "no"), 405},
		{ff.Validation(ff.ErrInvalidHandle, "handle: bad magic"), 400},
		{ff.Corruption("stored tags"), 500},
		{ff.Contention(ff.ErrLeaseConflict, "busy"), 409},
		{ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSuccess, LeaseEpoch: 2}), 409},
		{ff.Conflict(ff.ErrIdempotencyConflict, "dup"), 409},
		{ff.StateError(ff.ErrStaleLease, "old"), 409},
		{ff.StateError(ff.ErrLeaseExpired, "late"), 409},
		{ff.StateError(ff.ErrLeaseRevoked, "revoked"), 409},
		{ff.StateError(ff.ErrNotEligible, "terminal"), 409},
		{ff.Unavailable("flows"), 503},
		{&ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted, RetryAfterMs: 250}, 429},
		{&ff.Error{Class: ff.ClassTimeout, Kind: ff.ErrTimeout}, 504},
		{ff.Transport("db", errors.New("reset"), true), 503},
		{ff.Transport("db", errors.New("auth"), false), 500},
		{ff.Bug("broken"), 500},
	}
	for _, c := range cases {
		t.Run(string(c.err.Kind), func(t *testing.T) {
			require.Equal(t, c.status, wire.StatusOf(c.err))
			raw, err := json.Marshal(wire.BodyOf(c.err))
			require.NoError(t, err)
			var body wire.ErrorBody
			require.NoError(t, json.Unmarshal(raw, &body))
			require.Equal(t, c.err.Retryable(), body.Retryable)

			got := body.ToError(c.status)
			require.Equal(t, c.err.Class, got.Class)
			require.Equal(t, c.err.Kind, got.Kind)
			require.Equal(t, c.err.Retryable(), got.Retryable())
			// The message reads the same; a cause is flattened into Detail.
			require.Equal(t, c.err.Error(), got.Error())
			require.Equal(t, c.err.RetryAfterMs, got.RetryAfterMs)
			require.Equal(t, c.err.NotActive, got.NotActive)

			// Without the class field, status and kind still give the
			// same retry decision.
			body.Class = ""
			derived := body.ToError(c.status)
			require.Equal(t, c.err.Retryable(), derived.Retryable(), "derived class %s", derived.Class)
		})
	}
}

func TestErrorForStatus(t *testing.T) {
	e := wire.ErrorForStatus(http.StatusBadGateway, "proxy")
	require.Equal(t, ff.ClassTransport, e.Class)
	require.True(t, e.Retryable())
	e = wire.ErrorForStatus(http.StatusNotFound, "nginx 404")
	require.Equal(t, ff.ClassNotFound, e.Class)
	require.False(t, e.Retryable())
	e = wire.ErrorForStatus(http.StatusTooManyRequests, "slow down")
	require.Equal(t, ff.ClassResourceExhausted, e.Class)
	require.True(t, e.Retryable())
}

func TestPayloadCodec(t *testing.T) {
	j, b := wire.EncodePayload([]byte(`{"a":1}`))
	require.Equal(t, `{"a":1}`, string(j))
	require.Nil(t, b)
	j, b = wire.EncodePayload([]byte{0xff})
	require.Nil(t, j)
	require.Equal(t, []byte{0xff}, b)
	j, b = wire.EncodePayload(nil)
	require.Nil(t, j)
	require.Nil(t, b)

	got, err := wire.DecodePayload("input", json.RawMessage(`[1]`), nil)
	require.NoError(t, err)
	require.Equal(t, `[1]`, string(got))
	_, err = wire.DecodePayload("input", json.RawMessage(`1`), []byte{1})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
}

// A done context that reaches the generic mapping is the engine's context
// error, the one every store returns: canceled or timeout, class timeout,
// not retryable, still matching the context error.
func TestErrorOfADoneContext(t *testing.T) {
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
		e := wire.ErrorOf(cause)
		require.ErrorIs(t, e, c.kind, "%v", cause)
		require.ErrorIs(t, e, ff.ClassTimeout)
		require.ErrorIs(t, e, c.root, "the cause stays in the chain")
		require.False(t, e.Retryable())
		require.Equal(t, http.StatusGatewayTimeout, wire.StatusOf(e))
		require.Equal(t, ff.ContextError("request", cause).Error(), e.Error())
	}
	engine := ff.StateError(ff.ErrStaleLease, "old")
	require.Same(t, engine, wire.ErrorOf(fmt.Errorf("wrapped: %w", engine)))
	require.ErrorIs(t, wire.ErrorOf(errors.New("boom")), ff.ErrTransportFatal)
}
