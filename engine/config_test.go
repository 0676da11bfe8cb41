package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Every interval is listed once, with its own field and a default that
// withDefaults applies and that passes its own floor.
func TestIntervalsCoverConfig(t *testing.T) {
	var c Config
	ivs := c.Intervals()
	keys, fields := map[string]bool{}, map[any]bool{}
	for _, iv := range ivs {
		require.False(t, keys[iv.Key], iv.Key)
		require.False(t, fields[iv.Value], iv.Key)
		keys[iv.Key], fields[iv.Value] = true, true
		require.GreaterOrEqual(t, iv.Default, minInterval, iv.Key)
		require.NotEmpty(t, iv.Usage, iv.Key)
	}
	d, err := c.withDefaults()
	require.NoError(t, err)
	for i, iv := range d.Intervals() {
		require.Equal(t, ivs[i].Default, *iv.Value, iv.Key)
	}
	c.PromoterInterval = minInterval / 2
	require.ErrorContains(t, c.Validate(), "engine: promoter interval 5ms is below the 10ms floor")
}
