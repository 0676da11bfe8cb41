package flowfabric_test

import (
	"slices"
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestNewExecutionReadyOrDelayed(t *testing.T) {
	tests := []struct {
		name    string
		delay   int64
		want    ff.StateVector
		readyAt int64
	}{
		{"no delay is W0", 0, vecW0, 0},
		{"delay in the past is W0", t0 - 1, vecW0, 0},
		{"delay equal to now is W0", t0, vecW0, 0},
		{"delay in the future is D0", t0 + 5000, vecD0, t0 + 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", DelayUntilMs: tc.delay}, t0)
			noErr(t, err)
			checkExec(t, e)
			wantVec(t, e, tc.want)
			if e.ReadyAtMs != tc.readyAt {
				t.Fatalf("ReadyAtMs = %d, want %d", e.ReadyAtMs, tc.readyAt)
			}
			if e.LeaseEpoch != 0 || e.AttemptCount != 0 || e.CurrentAttemptID != "" || e.StartedAtMs != 0 {
				t.Fatalf("fresh execution carries attempt/lease state: %+v", e)
			}
			if _, ok := e.CurrentAttemptIndex(); ok {
				t.Fatal("fresh execution has a current attempt")
			}
			if e.CreatedAtMs != t0 || e.UpdatedAtMs != t0 || e.ProgressPct != -1 {
				t.Fatalf("timestamps/progress %+v", e)
			}
		})
	}
}

func TestNewExecutionDefaults(t *testing.T) {
	e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", Priority: 10000,
		Capabilities: []string{"gpu", "cuda", "gpu"}, Namespace: "ns", IdempotencyKey: "k"}, t0)
	noErr(t, err)
	if e.Lane != "default" {
		t.Fatalf("lane %q, want default", e.Lane)
	}
	if e.ID.Partition != 86 || e.ID.IsZero() {
		t.Fatalf("minted id %v, want partition 86", e.ID)
	}
	if e.Priority != 9000 {
		t.Fatalf("priority %d, want clamped 9000", e.Priority)
	}
	if !slices.Equal(e.Capabilities, []string{"cuda", "gpu"}) {
		t.Fatalf("capabilities %q not normalized", e.Capabilities)
	}
	if e.Namespace != "ns" || e.IdempotencyKey != "k" || e.Kind != "job" {
		t.Fatalf("fields not copied: %+v", e)
	}

	e, err = ff.NewExecution(ff.CreateSpec{Kind: "job", Lane: "workers-a", Priority: -5}, t0)
	noErr(t, err)
	if e.Priority != 0 || e.ID.Partition != 193 {
		t.Fatalf("priority %d partition %d, want 0 and 193", e.Priority, e.ID.Partition)
	}

	id := ff.NewExecutionID("elsewhere")
	e, err = ff.NewExecution(ff.CreateSpec{ID: id, Kind: "job"}, t0)
	noErr(t, err)
	if e.ID != id {
		t.Fatalf("given id %v replaced by %v", id, e.ID)
	}
}

func TestNewExecutionDeadline(t *testing.T) {
	rel := func(ms int64) *ff.ExecutionPolicy {
		return &ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{ExecutionDeadlineMs: ptr(ms)}}
	}
	tests := []struct {
		name     string
		policy   *ff.ExecutionPolicy
		absolute int64
		want     int64
	}{
		{"none", nil, 0, 0},
		{"absolute only", nil, t0 + 9000, t0 + 9000},
		{"relative only", rel(5000), 0, t0 + 5000},
		{"absolute earlier wins", rel(5000), t0 + 3000, t0 + 3000},
		{"relative earlier wins", rel(5000), t0 + 10000, t0 + 5000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ff.NewExecution(ff.CreateSpec{Kind: "job", Policy: tc.policy, DeadlineAtMs: tc.absolute}, t0)
			noErr(t, err)
			if e.ExecutionDeadlineMs != tc.want {
				t.Fatalf("ExecutionDeadlineMs = %d, want %d", e.ExecutionDeadlineMs, tc.want)
			}
			if e.DeadlinePassed(tc.want-1) || (tc.want > 0 && !e.DeadlinePassed(tc.want)) {
				t.Fatalf("DeadlinePassed disagrees with deadline %d", tc.want)
			}
		})
	}
}

func TestNewExecutionRejects(t *testing.T) {
	tests := []struct {
		name string
		spec ff.CreateSpec
		kind ff.ErrorKind
	}{
		{"bad lane", ff.CreateSpec{Kind: "job", Lane: strings.Repeat("l", 65)}, ff.ErrInvalidInput},
		{"empty kind", ff.CreateSpec{}, ff.ErrInvalidInput},
		{"long namespace", ff.CreateSpec{Kind: "job", Namespace: strings.Repeat("n", 257)}, ff.ErrInvalidInput},
		{"long idempotency key", ff.CreateSpec{Kind: "job", IdempotencyKey: strings.Repeat("k", 257)}, ff.ErrInvalidInput},
		{"input too large", ff.CreateSpec{Kind: "job", Input: make([]byte, ff.MaxInputBytes+1)}, ff.ErrPayloadTooLarge},
		{"bad capability", ff.CreateSpec{Kind: "job", Capabilities: []string{"a,b"}}, ff.ErrInvalidCapabilities},
		{"bad tag", ff.CreateSpec{Kind: "job", Tags: map[string]string{"App.x": "v"}}, ff.ErrInvalidTagKey},
		{"bad policy", ff.CreateSpec{Kind: "job", Policy: &ff.ExecutionPolicy{MaxReclaimCount: ptr(-1)}}, ff.ErrInvalidPolicy},
		{"negative delay", ff.CreateSpec{Kind: "job", DelayUntilMs: -1}, ff.ErrInvalidInput},
		{"negative deadline", ff.CreateSpec{Kind: "job", DeadlineAtMs: -1}, ff.ErrInvalidInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := ff.NewExecution(tc.spec, t0)
			wantErr(t, err, ff.ClassValidation, tc.kind)
			if e != nil {
				t.Fatal("returned an execution with the error")
			}
		})
	}
	_, err := ff.NewExecution(ff.CreateSpec{Kind: "job", Input: make([]byte, ff.MaxInputBytes)}, t0)
	noErr(t, err)
}
