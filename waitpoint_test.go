package flowfabric

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func testKey(kid string) SigningKey {
	return SigningKey{Kid: kid, Secret: []byte(strings.Repeat("s", 32))}
}

func TestTokenBindsExecutionAndWaitpoint(t *testing.T) {
	k := testKey("k1")
	exec := NewExecutionID("lane")
	b := TokenBinding{ExecutionID: exec, WaitpointID: uuid.NewString()}
	tok := MintToken(k, b)
	p, err := ParseToken(tok)
	if err != nil {
		t.Fatalf("parse own token: %v", err)
	}
	if err := p.Verify(k, b, 0); err != nil {
		t.Fatalf("verify own token: %v", err)
	}
	other := b
	other.WaitpointID = uuid.NewString()
	if err := p.Verify(k, other, 0); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a token opened another waitpoint: %v", err)
	}
	expired := k
	expired.ExpiresAtMs = 100
	if err := p.Verify(expired, b, 99); err != nil {
		t.Fatalf("inside the grace: %v", err)
	}
	if err := p.Verify(expired, b, 100); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("after the grace: %v", err)
	}
	if TokenFingerprint(tok) == "" || strings.Contains(tok, TokenFingerprint(tok)) {
		t.Fatalf("fingerprint %q must be short and not part of the token", TokenFingerprint(tok))
	}
}

// FuzzParseToken: no input panics, and every refusal is invalid_token.
func FuzzParseToken(f *testing.F) {
	good := MintToken(testKey("k1"), TokenBinding{ExecutionID: NewExecutionID("x"), WaitpointID: "w"})
	for _, s := range []string{good, "", ":", "k1:", good[:10], "k:1:" + strings.Repeat("a", 64), strings.ToUpper(good), "k\x00:" + strings.Repeat("0", 64)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseToken(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidToken) {
				t.Fatalf("refusal of %q is %v, not invalid_token", s, err)
			}
			return
		}
		if ValidateKid(p.Kid) != nil {
			t.Fatalf("accepted kid %q", p.Kid)
		}
		if err := p.Verify(testKey(p.Kid), TokenBinding{WaitpointID: "w"}, 0); err != nil && !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("verify refusal %v", err)
		}
	})
}

// FuzzDecodeCondition: no input panics, every refusal is invalid_input,
// and an accepted condition resolves or refuses typed, and evaluates.
func FuzzDecodeCondition(f *testing.F) {
	for _, s := range []string{
		`{"type":"single"}`, `{"type":"single","waitpoint_key":"a","signal_name":"ok"}`,
		`{"type":"count","n":2,"distinct":"sources","waitpoint_keys":["a","b"]}`,
		`{"type":"all_of","members":[{"type":"single","waitpoint_key":"a"},{"type":"all_of","members":[{"type":"single","waitpoint_key":"b"}]}]}`,
		`{"type":"operator_only"}`, `{"type":"timeout_only"}`, `{"type":"count","n":0}`, `{"type":"all_of","members":[]}`,
		`[[[[[[[[[[[[`, `{"type":"single","x":1}`, `{"type":"single"} {}`, `null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := DecodeCondition(raw)
		if err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("refusal %v is not invalid_input", err)
			}
			return
		}
		if err := c.Resolve([]string{"a", "b"}); err != nil {
			if !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("resolve refusal %v is not invalid_input", err)
			}
			return
		}
		sigs := []ConditionSignal{{ID: "1", Name: "ok", WaitpointKey: "a"}, {ID: "2", Name: "x", WaitpointKey: "b", SourceType: "u"}}
		ok, ids := c.Satisfied(sigs)
		if ok != (len(ids) > 0) && c.Type != ConditionAllOf {
			t.Fatalf("satisfied %v with satisfiers %v", ok, ids)
		}
	})
}

func TestConditionValidationCodes(t *testing.T) {
	for raw, code := range map[string]string{
		`{"type":"count","n":0,"distinct":"signals"}`:                     "count_n_zero",
		`{"type":"all_of","members":[]}`:                                  "allof_empty_members",
		`{"type":"count","n":1,"distinct":"signals","waitpoint_keys":[]}`: "count_waitpoints_empty",
		`{"type":"all_of","members":[{"type":"all_of","members":[{"type":"all_of","members":[{"type":"all_of","members":[{"type":"single"}]}]}]}]}`: "depth_exceeded",
		`{"type":"bogus"}`:                       "unknown_type",
		`{"type":"operator_only","n":1}`:         "unexpected_field",
		`{"type":"single","signal_name":"a\nb"}`: "signal_name",
	} {
		_, err := DecodeCondition([]byte(raw))
		if !errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), code) {
			t.Errorf("%s: got %v, want invalid_input with %s", raw, err, code)
		}
	}
	depth4 := `{"type":"all_of","members":[{"type":"all_of","members":[{"type":"all_of","members":[{"type":"count","n":1,"distinct":"signals","waitpoint_keys":["a"]}]}]}]}`
	if _, err := DecodeCondition([]byte(depth4)); err != nil {
		t.Errorf("depth 4 is allowed: %v", err)
	}
}

func TestSuspendReleasesLeaseAndSetsHook(t *testing.T) {
	e, err := NewExecution(CreateSpec{Kind: "k"}, 1)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := e.Claim(1, ClaimArgs{WorkerID: "w", LeaseTTLMs: 1000}, BackendSQLite)
	if err != nil {
		t.Fatal(err)
	}
	plan, fx, _, err := e.Suspend(2, h.Lease.Fence(), SuspendRequest{TimeoutBehavior: TimeoutFail, ReasonCode: "waiting_for_signal"},
		SuspendEnv{Key: testKey("k1"), SuspensionID: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if plan.AlreadySatisfied || len(plan.Waitpoints) != 1 || fx == nil {
		t.Fatalf("plan %+v", plan)
	}
	if e.State.PublicState != PublicSuspended || e.LeaseID != "" || !e.Hooks.Any(HookWaitpoints) {
		t.Fatalf("after suspend: %s lease %q hooks %b", e.State, e.LeaseID, e.Hooks)
	}
	if err := e.State.Check(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Complete(3, h.Lease.Fence(), nil); !errors.Is(err, ErrExecutionNotActive) {
		t.Fatalf("old handle: %v", err)
	}
	rfx, err := e.Resume(4, ResumeBySignal, "s")
	if err != nil || rfx == nil || e.State.PublicState != PublicWaiting || e.State.AttemptState != AttemptInterrupted {
		t.Fatalf("resume: %v %s", err, e.State)
	}
	h2, _, err := e.Claim(5, ClaimArgs{WorkerID: "w", LeaseTTLMs: 1000}, BackendSQLite)
	if err != nil || h2.Kind != HandleResumed {
		t.Fatalf("resumed claim: %v %v", err, h2.Kind)
	}
	cfx, _, err := e.Complete(6, h2.Lease.Fence(), nil)
	if err != nil || cfx.CloseWaitpoints != CloseAttemptEnded || e.Hooks.Any(HookWaitpoints) {
		t.Fatalf("complete: %v close %q hooks %b", err, cfx.CloseWaitpoints, e.Hooks)
	}
}
