package bench

import (
	"bytes"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// Stream mode: every follower receives every frame, then the close, and
// the report ends with the append throughput.
func TestStreamModeDeliversEveryFrame(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target) {
		for _, bestEffort := range []bool{false, true} {
			c := baseConfig(tg, ModeStream, 60, 4)
			c.BestEffort = bestEffort
			var out bytes.Buffer
			require.NoError(t, Run(t.Context(), c, &out), "report:\n%s", out.String())
			report := out.String()
			require.Contains(t, report, "delivered=240\n")
			require.Regexp(t, `append_to_follower_latency_ms p50=[0-9.]+ .* n=240\n`, report)
			require.Regexp(t, regexp.MustCompile(`append_throughput_frames_per_s=[0-9]+\.[0-9]\n$`), report)
			t.Logf("report:\n%s", report)
		}
	})
}
