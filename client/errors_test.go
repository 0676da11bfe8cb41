package client_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// kindErrors is one engine error of every kind, built the way the code
// base builds it (so with its real class).
func kindErrors() []*ff.Error {
	return []*ff.Error{
		ff.NotFound("execution", "x"),
		ff.Validation(ff.ErrInvalidInput, "bad"),
		ff.Validation(ff.ErrInvalidHandle, "handle: bad magic"),
		ff.Validation(ff.ErrInvalidCapabilities, "caps"),
		ff.Validation(ff.ErrInvalidPolicy, "policy"),
		ff.Validation(ff.ErrPayloadTooLarge, "big"),
		ff.Validation(ff.ErrInvalidTagKey, "tag"),
		ff.Validation(ff.ErrHandleFromOtherBackend, "other"),
		ff.Validation(ff.ErrFenceRequired, "fence"),
		ff.Validation(ff.ErrPartialFence, "partial"),
		ff.Contention(ff.ErrContention, "busy"),
		ff.Contention(ff.ErrLeaseConflict, "busy"),
		ff.NotActive(ff.NotActiveDetail{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSuccess, LeaseEpoch: 2}),
		ff.Contention(ff.ErrNoActiveLease, "no lease"),
		ff.Conflict(ff.ErrConflict, "conflict"),
		ff.Conflict(ff.ErrIdempotencyConflict, "dup"),
		ff.Conflict(ff.ErrDuplicateExecution, "exists"),
		ff.Conflict(ff.ErrScheduleConflict, "other definition"),
		ff.Conflict(ff.ErrCycleDetected, "cycle"),
		ff.Conflict(ff.ErrStaleGraphRevision, "stale"),
		ff.Conflict(ff.ErrNotFlowMember, "outside"),
		ff.Conflict(ff.ErrDuplicateEdge, "edge exists"),
		ff.StateError(ff.ErrStaleLease, "old"),
		ff.StateError(ff.ErrLeaseExpired, "late"),
		ff.StateError(ff.ErrLeaseRevoked, "revoked"),
		ff.StateError(ff.ErrExecutionNotTerminal, "running"),
		ff.StateError(ff.ErrMaxReplaysExhausted, "enough"),
		ff.StateError(ff.ErrTerminal, "done"),
		ff.StateError(ff.ErrNotRunnable, "no"),
		ff.StateError(ff.ErrNotEligible, "not eligible"),
		ff.Bug("broken"),
		ff.Corruption("stored tags"),
		ff.Transport("db", io.ErrUnexpectedEOF, true),
		ff.Transport("db", io.ErrUnexpectedEOF, false),
		ff.Unavailable("flows"),
		{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted, Detail: "slow down", RetryAfterMs: 250},
		{Class: ff.ClassTimeout, Kind: ff.ErrTimeout, Detail: "deadline"},
		ff.ContextError("claim", context.Canceled),
		{Class: ff.ClassUnavailable, Kind: ff.ErrSchemaMismatch, Detail: "migrate"},
		ff.Validation(wire.ErrInvalidJSON, "json"),
		ff.Validation(wire.ErrUnsupportedMediaType, "ct"),
		ff.Validation(wire.ErrUnauthorized, "token"),
		{Class: ff.ClassNotFound, Kind: wire.ErrRouteNotFound, Detail: "route"},
		ff.Validation(wire.ErrMethodNotAllowed, "method"),
		ff.Validation(wire.ErrRequestTimeout, "slow body"),
	}
}

// failing answers every read with err.
type failing struct {
	backend.Backend
	err error
}

func (f failing) DescribeExecution(context.Context, backend.DescribeExecutionParams) (backend.ExecutionSnapshot, error) {
	return backend.ExecutionSnapshot{}, f.err
}

// TestEveryKindSurvivesHTTP sends one error of every kind from the
// backend through the server to the client: errors.Is matches the kind
// and class constants on the far side, and class and retryable agree.
func TestEveryKindSurvivesHTTP(t *testing.T) {
	t.Parallel()
	all := kindErrors()
	covered := map[ff.ErrorKind]bool{}
	for _, e := range all {
		covered[e.Kind] = true
	}
	for _, k := range declaredKinds(t) {
		require.True(t, covered[k], "kind %q has no case here", k)
	}
	for _, want := range all {
		t.Run(string(want.Kind), func(t *testing.T) {
			t.Parallel()
			srv := server.New(server.Config{Logger: slog.New(slog.DiscardHandler)}, failing{err: want})
			ts := httptest.NewServer(srv)
			defer ts.Close()
			_, err := client.New(ts.URL).DescribeExecution(t.Context(), backend.DescribeExecutionParams{ExecutionID: ff.NewExecutionID("x")})
			require.ErrorIs(t, err, want.Kind)
			require.ErrorIs(t, err, want.Class)
			require.ErrorIs(t, err, &ff.Error{Class: want.Class, Kind: want.Kind})
			require.Equal(t, want.Retryable(), ff.IsRetryable(err))
			got, ok := ff.AsError(err)
			require.True(t, ok)
			require.Equal(t, want.Class, got.Class)
			require.Equal(t, want.Entity, got.Entity)
			require.Equal(t, want.RetryAfterMs, got.RetryAfterMs)
			require.Equal(t, want.NotActive, got.NotActive)
			for _, other := range all {
				if other.Kind != want.Kind {
					require.False(t, errors.Is(err, other.Kind), "%s also matches %s", want.Kind, other.Kind)
				}
			}
		})
	}
}

// declaredKinds lists every ErrorKind constant declared in the root
// package's error files and in server/wire, read from their source, so a
// new kind without a round-trip case fails the test.
func declaredKinds(t *testing.T) []ff.ErrorKind {
	t.Helper()
	var out []ff.ErrorKind
	for _, path := range []string{"../errors.go", "../context_errors.go", "../server/wire/errors.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || !isErrorKind(spec.Type) {
				return true
			}
			for _, v := range spec.Values {
				lit, ok := v.(*ast.BasicLit)
				require.True(t, ok, "%s: kind value is not a literal", path)
				s, err := strconv.Unquote(lit.Value)
				require.NoError(t, err)
				out = append(out, ff.ErrorKind(s))
			}
			return true
		})
	}
	require.NotEmpty(t, out)
	return out
}

func isErrorKind(e ast.Expr) bool {
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name == "ErrorKind"
	case *ast.SelectorExpr:
		return t.Sel.Name == "ErrorKind"
	}
	return false
}
