package main

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/fftest"
)

// TestFanOut runs the example on an engine with its reconcilers on real
// time, on both stores: the budget stops the fan-out at its hard limit,
// the quota's cap is never exceeded, and a reset lets the waiting calls
// run.
func TestFanOut(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		c := Config{Calls: 16, TokensPerCall: 10, BudgetTokens: 100, RatePerSecond: 50, Concurrency: 3, Reset: true}
		var out strings.Builder
		s, err := Run(t.Context(), e.Backend(), c, &out, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		t.Log(out.String())
		require.Contains(t, out.String(), "first wave: ")
		require.Equal(t, 0, s.Waiting, "the reset let every waiting call run")
		require.Equal(t, c.Calls, s.Completed+s.RefusedByBudget)
		// Only calls already running when a wave reached the limit are
		// refused: at most the concurrency cap per wave (two waves).
		require.LessOrEqual(t, s.RefusedByBudget, 2*int(c.Concurrency))
		require.LessOrEqual(t, s.PeakConcurrency, c.Concurrency, "the quota's concurrency cap held")
		require.LessOrEqual(t, s.TokensUsed, c.BudgetTokens)
		first := strings.SplitN(out.String(), "\n", 2)[0]
		require.NotContains(t, first, " 0 waiting", "the budget stopped the first wave")
	}, fftest.WithRealClock())
}
