package flowfabric_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

// The bits are the ones WAVE2 assigns, and the masks route exactly the
// features that act at completion (flows, waitpoints, quota slots).
func TestHookBitsAndMasks(t *testing.T) {
	require.Equal(t, ff.Hooks(1), ff.HookFlow)
	require.Equal(t, ff.Hooks(2), ff.HookWaitpoints)
	require.Equal(t, ff.Hooks(8), ff.HookAdmission)
	require.Equal(t, ff.Hooks(16), ff.HookQuotaSlot)
	require.Equal(t, ff.HookFlow|ff.HookWaitpoints|ff.HookQuotaSlot, ff.HooksCompleteSlow)
	require.Zero(t, ff.HooksRenewSlow)
	require.False(t, ff.HookAdmission.Any(ff.HooksCompleteSlow), "admission acts at claim, not at completion")
	require.True(t, (ff.HookAdmission | ff.HookQuotaSlot).Any(ff.HooksCompleteSlow))
	require.False(t, ff.Hooks(0).Any(ff.HooksCompleteSlow))
}
