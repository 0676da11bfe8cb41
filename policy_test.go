package flowfabric_test

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func TestClampPriority(t *testing.T) {
	tests := []struct {
		in   int64
		want int32
	}{
		{-5, 0}, {math.MinInt64, 0}, {0, 0}, {1, 1}, {8999, 8999}, {9000, 9000}, {9001, 9000}, {10000, 9000}, {math.MaxInt64, 9000},
	}
	for _, tc := range tests {
		if got := ff.ClampPriority(tc.in); got != tc.want {
			t.Errorf("ClampPriority(%d) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func TestParsePolicyAccepts(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		nilOut  bool
		retries int
	}{
		{"empty", "", true, 0},
		{"null", "null", true, 0},
		{"empty object", "{}", false, 0},
		{"fixed", `{"retry_policy":{"max_retries":3,"backoff":{"type":"fixed","delay_ms":500}}}`, false, 3},
		{"exponential", `{"retry_policy":{"max_retries":2,"backoff":{"type":"exponential","initial_delay_ms":100,"max_delay_ms":1000,"multiplier":1,"jitter":1}}}`, false, 2},
		{"exponential defaults", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential"}}}`, false, 1},
		{"timeouts", `{"timeout_policy":{"attempt_timeout_ms":1,"execution_deadline_ms":2},"max_reclaim_count":0,"max_replay_count":0}`, false, 0},
		{"max retries 10000", `{"retry_policy":{"max_retries":10000,"backoff":{"type":"fixed"}}}`, false, 10000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ff.ParsePolicy([]byte(tc.raw))
			noErr(t, err)
			if (p == nil) != tc.nilOut {
				t.Fatalf("policy %+v, want nil=%v", p, tc.nilOut)
			}
			if p.MaxRetries() != tc.retries {
				t.Fatalf("MaxRetries = %d, want %d", p.MaxRetries(), tc.retries)
			}
		})
	}
}

func TestParsePolicyRejects(t *testing.T) {
	tests := []struct{ name, raw string }{
		{"bad json", `{`},
		{"not an object", `[1]`},
		{"wrong field type", `{"retry_policy":{"max_retries":"3"}}`},
		{"bad backoff type", `{"retry_policy":{"max_retries":1,"backoff":{"type":"linear"}}}`},
		{"negative max retries", `{"retry_policy":{"max_retries":-1,"backoff":{"type":"fixed"}}}`},
		{"max retries too large", `{"retry_policy":{"max_retries":10001,"backoff":{"type":"fixed"}}}`},
		{"negative fixed delay", `{"retry_policy":{"max_retries":1,"backoff":{"type":"fixed","delay_ms":-1}}}`},
		{"negative delay without type", `{"retry_policy":{"max_retries":1,"backoff":{"delay_ms":-1}}}`},
		{"negative initial delay", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential","initial_delay_ms":-1}}}`},
		{"negative max delay", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential","max_delay_ms":-1}}}`},
		{"multiplier below 1", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential","multiplier":0.5}}}`},
		{"negative multiplier", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential","multiplier":-2}}}`},
		{"negative jitter", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential","jitter":-0.1}}}`},
		{"jitter above 1", `{"retry_policy":{"max_retries":1,"backoff":{"type":"exponential","jitter":1.5}}}`},
		{"zero attempt timeout", `{"timeout_policy":{"attempt_timeout_ms":0}}`},
		{"negative attempt timeout", `{"timeout_policy":{"attempt_timeout_ms":-5}}`},
		{"negative deadline", `{"timeout_policy":{"execution_deadline_ms":-5}}`},
		{"negative max reclaim", `{"max_reclaim_count":-1}`},
		{"negative max replay", `{"max_replay_count":-1}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ff.ParsePolicy([]byte(tc.raw))
			wantErr(t, err, ff.ClassValidation, ff.ErrInvalidPolicy)
			if p != nil {
				t.Fatalf("returned a policy with the error: %+v", p)
			}
		})
	}
	// Validate also rejects values JSON cannot carry.
	for _, m := range []float64{math.NaN(), math.Inf(1)} {
		p := &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "exponential", Multiplier: m}}}
		wantErr(t, p.Validate(), ff.ClassValidation, ff.ErrInvalidPolicy)
	}
	p := &ff.ExecutionPolicy{Retry: &ff.RetryPolicy{MaxRetries: 1, Backoff: ff.BackoffStrategy{Type: "exponential", Jitter: math.NaN()}}}
	wantErr(t, p.Validate(), ff.ClassValidation, ff.ErrInvalidPolicy)
	var nilPolicy *ff.ExecutionPolicy
	noErr(t, nilPolicy.Validate())
}

func TestPolicyOmitsUnsetFields(t *testing.T) {
	// Unset optional fields must be omitted, never written as null.
	raw, err := json.Marshal(ff.ExecutionPolicy{})
	noErr(t, err)
	if string(raw) != "{}" {
		t.Fatalf("empty policy marshals to %s", raw)
	}
	raw, err = json.Marshal(ff.ExecutionPolicy{Timeout: &ff.TimeoutPolicy{AttemptTimeoutMs: ptr(int64(5))}})
	noErr(t, err)
	if want := `{"timeout_policy":{"attempt_timeout_ms":5}}`; string(raw) != want {
		t.Fatalf("got %s, want %s", raw, want)
	}
	p, err := ff.ParsePolicy(raw)
	noErr(t, err)
	if p.AttemptTimeoutMs() != 5 || p.DeadlineMs() != 0 {
		t.Fatalf("round trip %+v", p)
	}
}

func TestPolicyAccessorsAndDefaults(t *testing.T) {
	var nilPolicy *ff.ExecutionPolicy
	if nilPolicy.MaxRetries() != 0 || nilPolicy.ReclaimCap() != ff.DefaultMaxReclaimCount ||
		nilPolicy.AttemptTimeoutMs() != 0 || nilPolicy.DeadlineMs() != 0 {
		t.Fatal("nil policy defaults wrong")
	}
	p := &ff.ExecutionPolicy{MaxReclaimCount: ptr(0)}
	if p.ReclaimCap() != 0 {
		t.Fatalf("ReclaimCap = %d, want 0", p.ReclaimCap())
	}
	if (&ff.ExecutionPolicy{}).ReclaimCap() != 100 {
		t.Fatal("default reclaim cap is not 100")
	}
}

func TestBackoffFixed(t *testing.T) {
	tests := []struct {
		name    string
		b       ff.BackoffStrategy
		retries int
		want    int64
	}{
		{"fixed", ff.BackoffStrategy{Type: "fixed", DelayMs: 500}, 0, 500},
		{"fixed does not grow", ff.BackoffStrategy{Type: "fixed", DelayMs: 500}, 7, 500},
		{"fixed zero is immediate", ff.BackoffStrategy{Type: "fixed"}, 0, 0},
		{"missing type falls back to 1000", ff.BackoffStrategy{}, 3, 1000},
		{"missing type with delay", ff.BackoffStrategy{DelayMs: 250}, 0, 250},
		{"unknown type falls back to 1000", ff.BackoffStrategy{Type: "linear", DelayMs: 5}, 0, 1000},
		{"fixed ignores jitter", ff.BackoffStrategy{Type: "fixed", DelayMs: 500, Jitter: 1}, 0, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.BackoffMs(tc.retries, func() float64 { return 0 }); got != tc.want {
				t.Fatalf("BackoffMs(%d) = %d, want %d", tc.retries, got, tc.want)
			}
		})
	}
}

func TestBackoffExponential(t *testing.T) {
	def := ff.BackoffStrategy{Type: "exponential"} // 1000 · 2^n, capped at 60 000
	want := []int64{1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000}
	for n, w := range want {
		if got := def.BackoffMs(n, nil); got != w {
			t.Errorf("default BackoffMs(%d) = %d, want %d", n, got, w)
		}
	}
	for _, n := range []int{64, 1100, 1 << 20} { // overflow to +Inf is capped
		if got := def.BackoffMs(n, nil); got != 60000 {
			t.Errorf("BackoffMs(%d) = %d, want 60000", n, got)
		}
	}
	custom := ff.BackoffStrategy{Type: "exponential", InitialDelayMs: 100, MaxDelayMs: 1000, Multiplier: 3}
	for n, w := range []int64{100, 300, 900, 1000} {
		if got := custom.BackoffMs(n, nil); got != w {
			t.Errorf("custom BackoffMs(%d) = %d, want %d", n, got, w)
		}
	}
	flat := ff.BackoffStrategy{Type: "exponential", InitialDelayMs: 250, Multiplier: 1}
	if got := flat.BackoffMs(10, nil); got != 250 {
		t.Errorf("multiplier 1 BackoffMs(10) = %d, want 250", got)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	tests := []struct {
		jitter float64
		rnd    float64
		d      int64
		lo, hi int64
	}{
		{0.5, 0, 4000, 2000, 2000},        // (1-j)·d
		{0.5, 0.999, 4000, 3990, 3998},    // just below d
		{0.25, 0, 1000, 750, 750},         // n=0
		{1, 0, 4000, 0, 0},                // full jitter reaches 0
		{1, 0.5, 4000, 2000, 2000},        // midpoint
		{0.2, 0.999, 60000, 59980, 59999}, // capped delay is jittered too
	}
	for _, tc := range tests {
		n := 2 // 1000·2² = 4000
		switch tc.d {
		case 1000:
			n = 0
		case 60000:
			n = 30
		}
		b := ff.BackoffStrategy{Type: "exponential", Jitter: tc.jitter}
		got := b.BackoffMs(n, func() float64 { return tc.rnd })
		if got < tc.lo || got > tc.hi {
			t.Errorf("jitter %.2f rnd %.3f d %d: got %d, want in [%d, %d]", tc.jitter, tc.rnd, tc.d, got, tc.lo, tc.hi)
		}
	}
	// Without an injected source the result stays inside [(1-j)·d, d].
	b := ff.BackoffStrategy{Type: "exponential", Jitter: 0.5}
	for range 200 {
		if got := b.BackoffMs(2, nil); got < 2000 || got > 4000 {
			t.Fatalf("jittered delay %d outside [2000, 4000]", got)
		}
	}
}

func TestParseFailureClass(t *testing.T) {
	accepted := map[string]ff.FailureClass{
		"transient": ff.FailureTransient, "permanent": ff.FailurePermanent, "infra_crash": ff.FailureInfra,
		"timeout": ff.FailureTimeout, "cancelled": ff.FailureCancelled, "": ff.FailureTransient,
	}
	for in, want := range accepted {
		got, err := ff.ParseFailureClass(in)
		noErr(t, err)
		if got != want {
			t.Errorf("ParseFailureClass(%q) = %s, want %s", in, got, want)
		}
	}
	// Anything else is refused, naming the accepted values: an unknown
	// class used to become transient (SQLite) or be stored as is
	// (Postgres, so "PERMANENT" was retried).
	for _, in := range []string{"PERMANENT", "Permanent", "bogus", " transient", "transient\x00", strings.Repeat("x", 5000)} {
		got, err := ff.ParseFailureClass(in)
		e := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
		if got != "" || !strings.Contains(e.Detail, "infra_crash") || len(e.Detail) > 300 {
			t.Errorf("ParseFailureClass(%.20q) = %q, %v", in, got, err)
		}
	}
}

func TestRetryPolicyMaxRetriesDefault(t *testing.T) {
	tests := []struct {
		raw  string
		want int
	}{
		{`{"retry_policy":{"backoff":{"type":"fixed"}}}`, ff.DefaultMaxRetries},
		{`{"retry_policy":{}}`, 3},
		{`{"retry_policy":{"max_retries":0}}`, 0}, // explicit 0: no retries
		{`{"retry_policy":{"max_retries":7,"retry_permanent":true}}`, 7},
		{`{}`, 0}, // no retry policy: no retries
	}
	for _, tc := range tests {
		p, err := ff.ParsePolicy([]byte(tc.raw))
		noErr(t, err)
		if got := p.MaxRetries(); got != tc.want {
			t.Errorf("%s: MaxRetries = %d, want %d", tc.raw, got, tc.want)
		}
	}
	// The other fields still decode, and a stored policy round-trips.
	p, err := ff.ParsePolicy([]byte(`{"retry_policy":{"retry_permanent":true,"backoff":{"type":"fixed","delay_ms":5}}}`))
	noErr(t, err)
	if !p.Retry.RetryPermanent || p.Retry.Backoff.DelayMs != 5 {
		t.Fatalf("decoded %+v", p.Retry)
	}
	raw, err := json.Marshal(p)
	noErr(t, err)
	again, err := ff.ParsePolicy(raw)
	noErr(t, err)
	if *again.Retry != *p.Retry {
		t.Fatalf("round trip %+v, want %+v", again.Retry, p.Retry)
	}
	_, err = ff.ParsePolicy([]byte(`{"retry_policy":{"max_retries":"3"}}`))
	wantErr(t, err, ff.ClassValidation, ff.ErrInvalidPolicy)
}

func TestDedupWindow(t *testing.T) {
	var nilPolicy *ff.ExecutionPolicy
	if nilPolicy.DedupWindowMs() != ff.DefaultDedupWindowMs || ff.DefaultDedupWindowMs != 24*60*60*1000 {
		t.Fatal("nil policy: want the 24 h default window")
	}
	tests := []struct {
		raw  string
		want int64
	}{
		{`{}`, ff.DefaultDedupWindowMs},
		{`{"dedup_window_ms":0}`, ff.DefaultDedupWindowMs},
		{`{"dedup_window_ms":1}`, 1},
		{`{"dedup_window_ms":3600000}`, 3_600_000},
		{`{"dedup_window_ms":2592000000}`, ff.MaxDedupWindowMs},
	}
	for _, tc := range tests {
		p, err := ff.ParsePolicy([]byte(tc.raw))
		noErr(t, err)
		if got := p.DedupWindowMs(); got != tc.want {
			t.Errorf("%s: DedupWindowMs = %d, want %d", tc.raw, got, tc.want)
		}
	}
	for _, raw := range []string{`{"dedup_window_ms":-1}`, `{"dedup_window_ms":2592000001}`, `{"dedup_window_ms":9223372036854775807}`} {
		_, err := ff.ParsePolicy([]byte(raw))
		e := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidPolicy)
		if !strings.Contains(e.Detail, "dedup_window_ms") {
			t.Errorf("%s: detail %q does not name the field", raw, e.Detail)
		}
	}
	raw, err := json.Marshal(ff.ExecutionPolicy{DedupWindow: ptr(int64(5000))})
	noErr(t, err)
	if string(raw) != `{"dedup_window_ms":5000}` {
		t.Fatalf("marshal: %s", raw)
	}
}
