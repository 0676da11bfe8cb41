package backendtest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Bad input: every rejected call names a stable kind and writes nothing.

func init() {
	register("Validation/CreateRejected", testValidationCreate)
	register("Validation/CreateAtLimits", testValidationCreateLimits)
	register("Validation/ClaimRejected", testValidationClaim)
	register("Validation/WorkerOpsRejected", testValidationWorkerOps)
}

func testValidationCreate(t *testing.T, h Harness) {
	e := newEnv(t, h)
	ok := backend.CreateExecutionParams{Lane: "v", Kind: "k"}
	cases := []struct {
		name string
		mut  func(p *backend.CreateExecutionParams)
		kind ff.ErrorKind
	}{
		{"empty kind", func(p *backend.CreateExecutionParams) { p.Kind = "" }, ff.ErrInvalidInput},
		{"kind with control char", func(p *backend.CreateExecutionParams) { p.Kind = "a\x01b" }, ff.ErrInvalidInput},
		{"lane with control char", func(p *backend.CreateExecutionParams) { p.Lane = "bad\nlane" }, ff.ErrInvalidInput},
		{"lane with non-ASCII", func(p *backend.CreateExecutionParams) { p.Lane = "lané" }, ff.ErrInvalidInput},
		{"lane of 65 bytes", func(p *backend.CreateExecutionParams) { p.Lane = strings.Repeat("l", 65) }, ff.ErrInvalidInput},
		{"capability with comma", func(p *backend.CreateExecutionParams) { p.RequiredCapabilities = []string{"gpu,cuda"} }, ff.ErrInvalidCapabilities},
		{"capability with space", func(p *backend.CreateExecutionParams) { p.RequiredCapabilities = []string{"gpu cuda"} }, ff.ErrInvalidCapabilities},
		{"empty capability", func(p *backend.CreateExecutionParams) { p.RequiredCapabilities = []string{"gpu", ""} }, ff.ErrInvalidCapabilities},
		{"too many capabilities", func(p *backend.CreateExecutionParams) {
			p.RequiredCapabilities = make([]string, ff.MaxCapabilityTokens+1)
			for i := range p.RequiredCapabilities {
				p.RequiredCapabilities[i] = "c" + strings.Repeat("x", i%5)
			}
		}, ff.ErrInvalidCapabilities},
		{"input over 1 MiB", func(p *backend.CreateExecutionParams) { p.Input = make([]byte, ff.MaxInputBytes+1) }, ff.ErrPayloadTooLarge},
		{"bad tag key", func(p *backend.CreateExecutionParams) { p.Tags = map[string]string{"NoDot": "v"} }, ff.ErrInvalidTagKey},
		{"negative delay", func(p *backend.CreateExecutionParams) { p.DelayUntil = time.UnixMilli(-1) }, ff.ErrInvalidInput},
		{"negative deadline", func(p *backend.CreateExecutionParams) { p.DeadlineAt = time.UnixMilli(-1) }, ff.ErrInvalidInput},
		{"idempotency key too long", func(p *backend.CreateExecutionParams) { p.IdempotencyKey = strings.Repeat("k", 257) }, ff.ErrInvalidInput},
		{"bad backoff type", func(p *backend.CreateExecutionParams) {
			p.Policy = &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "linear"}}}
		}, ff.ErrInvalidPolicy},
		{"non-positive attempt timeout", func(p *backend.CreateExecutionParams) {
			p.Policy = &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(0))}}
		}, ff.ErrInvalidPolicy},
	}
	for _, c := range cases {
		p := ok
		c.mut(&p)
		res, err := e.b.CreateExecution(e.ctx, p)
		requireKind(t, err, c.kind, c.name)
		require.ErrorIs(t, err, ff.ClassValidation, c.name)
		require.False(t, ff.IsRetryable(err), c.name)
		require.True(t, res.ExecutionID.IsZero(), "%s: a rejected create returns no id", c.name)
		e.nothingWritten()
	}
	// The same params with the defect removed succeed: the cases above
	// failed for the stated reason only.
	e.create(ok)
}

// Values exactly at the limits are accepted.
func testValidationCreateLimits(t *testing.T, h Harness) {
	e := newEnv(t, h)
	lane := strings.Repeat("l", ff.MaxLaneBytes)
	id := e.create(backend.CreateExecutionParams{Lane: lane, Input: make([]byte, ff.MaxInputBytes),
		RequiredCapabilities: []string{"ünïcode", "x~"}})
	s := e.consistent(id)
	require.Equal(t, lane, s.Lane)
	task := e.claimWith(backend.ClaimParams{WorkerID: "w1", Lanes: []string{lane}, Capabilities: []string{"x~", "ünïcode"}})
	require.Len(t, task.Input, ff.MaxInputBytes)
	requireKind(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: make([]byte, ff.MaxResultBytes+1)}),
		ff.ErrPayloadTooLarge)
	e.state(id, ff.PublicActive)
	require.NoError(t, e.b.Complete(e.ctx, backend.CompleteParams{Handle: task.Handle, Result: make([]byte, ff.MaxResultBytes)}))
	res, err := e.b.GetExecutionResult(e.ctx, backend.GetExecutionResultParams{ExecutionID: id})
	require.NoError(t, err)
	require.Len(t, res, ff.MaxResultBytes)
}

func testValidationClaim(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("v")
	ok := claimParams("w1", "v")
	cases := []struct {
		name string
		mut  func(p *backend.ClaimParams)
		kind ff.ErrorKind
	}{
		{"empty worker id", func(p *backend.ClaimParams) { p.WorkerID = "" }, ff.ErrInvalidInput},
		{"worker id with space", func(p *backend.ClaimParams) { p.WorkerID = "w 1" }, ff.ErrInvalidInput},
		{"max 1001", func(p *backend.ClaimParams) { p.Max = 1001 }, ff.ErrInvalidInput},
		{"negative max", func(p *backend.ClaimParams) { p.Max = -1 }, ff.ErrInvalidInput},
		{"lease ttl too short", func(p *backend.ClaimParams) { p.LeaseTTL = 50 * time.Millisecond }, ff.ErrInvalidInput},
		{"lease ttl too long", func(p *backend.ClaimParams) { p.LeaseTTL = (ff.MaxLeaseTTLMs + 1) * time.Millisecond }, ff.ErrInvalidInput},
		{"bad lane", func(p *backend.ClaimParams) { p.Lanes = []string{"v", "bad\x7flane"} }, ff.ErrInvalidInput},
		{"65 lanes", func(p *backend.ClaimParams) {
			p.Lanes = nil
			for i := range 65 {
				p.Lanes = append(p.Lanes, "l"+strconv.Itoa(i))
			}
		}, ff.ErrInvalidInput},
		{"capability with comma", func(p *backend.ClaimParams) { p.Capabilities = []string{"gpu,cuda"} }, ff.ErrInvalidCapabilities},
		{"capability with space", func(p *backend.ClaimParams) { p.Capabilities = []string{"gpu cuda"} }, ff.ErrInvalidCapabilities},
	}
	for _, c := range cases {
		p := ok
		c.mut(&p)
		tasks, err := e.b.Claim(e.ctx, p)
		requireKind(t, err, c.kind, c.name)
		require.Empty(t, tasks, c.name)
		s := e.state(id, ff.PublicWaiting)
		require.Nil(t, s.CurrentAttempt, "%s: a rejected claim takes nothing", c.name)
	}
	e.claimWith(ok)
}

func testValidationWorkerOps(t *testing.T, h Harness) {
	e := newEnv(t, h)
	id := e.createIn("v")
	task := e.claim("v")
	requireKind(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: -2}), ff.ErrInvalidInput)
	requireKind(t, e.b.Progress(e.ctx, backend.ProgressParams{Handle: task.Handle, Percent: 5,
		Message: strings.Repeat("m", ff.MaxReasonBytes+1)}), ff.ErrInvalidInput)
	var zero ff.Handle
	err := e.b.Complete(e.ctx, backend.CompleteParams{Handle: zero})
	require.Error(t, err, "a zero handle is refused")
	require.ErrorIs(t, err, ff.ClassValidation, "a zero handle is a validation error: %v", err)
	e.state(id, ff.PublicActive)
	require.Nil(t, e.consistent(id).ProgressPct)
}
