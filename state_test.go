package flowfabric_test

import (
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

// vec builds a state vector from its six stored dimensions, deriving the
// public state.
func vec(lp ff.LifecyclePhase, own ff.OwnershipState, el ff.EligibilityState, br ff.BlockingReason,
	out ff.TerminalOutcome, at ff.AttemptState) ff.StateVector {
	return ff.StateVector{
		LifecyclePhase: lp, OwnershipState: own, EligibilityState: el, BlockingReason: br,
		TerminalOutcome: out, AttemptState: at,
	}.Normalized()
}

// The named vectors of spec §2.3, spelled out independently of the code.
var (
	vecW0 = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptPendingFirst)
	vecD0 = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.NotEligibleUntilTime, ff.BlockingWaitingForDelay, ff.OutcomeNone, ff.AttemptPendingFirst)
	vecBR = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.NotEligibleUntilTime, ff.BlockingWaitingForRetryBackoff, ff.OutcomeNone, ff.AttemptPendingRetry)
	vecWR = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptPendingRetry)
	vecWP = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptPendingReplay)
	vecDI = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.NotEligibleUntilTime, ff.BlockingWaitingForDelay, ff.OutcomeNone, ff.AttemptInterrupted)
	vecRI = vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptInterrupted)
	vecA  = vec(ff.PhaseActive, ff.OwnershipLeased, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeNone, ff.AttemptRunning)
	vecAX = vec(ff.PhaseActive, ff.OwnershipLeaseExpired, ff.EligibilityNotApplicable, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptInterrupted)
	vecAR = vec(ff.PhaseActive, ff.OwnershipLeaseRevoked, ff.EligibilityNotApplicable, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptInterrupted)
)

func vecT(o ff.TerminalOutcome, at ff.AttemptState) ff.StateVector {
	return vec(ff.PhaseTerminal, ff.OwnershipUnowned, ff.EligibilityNotApplicable, ff.BlockingNone, o, at)
}

func TestDerive(t *testing.T) {
	tests := []struct {
		rule string
		v    ff.StateVector
		want ff.PublicState
	}{
		{"D1 success", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSuccess}, ff.PublicCompleted},
		{"D1 failed", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeFailed}, ff.PublicFailed},
		{"D1 cancelled", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeCancelled}, ff.PublicCancelled},
		{"D1 expired", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeExpired}, ff.PublicExpired},
		{"D1 skipped", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSkipped}, ff.PublicSkipped},
		{"D1 outcome none is shown failed", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeNone}, ff.PublicFailed},
		{"D1 empty outcome is shown failed", ff.StateVector{LifecyclePhase: ff.PhaseTerminal}, ff.PublicFailed},
		{"D1 wins over eligibility", ff.StateVector{LifecyclePhase: ff.PhaseTerminal, TerminalOutcome: ff.OutcomeSuccess, EligibilityState: ff.NotEligibleUntilTime}, ff.PublicCompleted},
		{"D2 suspended", ff.StateVector{LifecyclePhase: ff.PhaseSuspended, EligibilityState: ff.EligibilityNotApplicable}, ff.PublicSuspended},
		{"D2 ignores eligibility", ff.StateVector{LifecyclePhase: ff.PhaseSuspended, EligibilityState: ff.NotEligibleUntilTime}, ff.PublicSuspended},
		{"D3 leased", ff.StateVector{LifecyclePhase: ff.PhaseActive, OwnershipState: ff.OwnershipLeased}, ff.PublicActive},
		{"D3 lease expired is still active", ff.StateVector{LifecyclePhase: ff.PhaseActive, OwnershipState: ff.OwnershipLeaseExpired}, ff.PublicActive},
		{"D3 lease revoked is still active", ff.StateVector{LifecyclePhase: ff.PhaseActive, OwnershipState: ff.OwnershipLeaseRevoked}, ff.PublicActive},
		{"D4 eligible_now", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.EligibleNow}, ff.PublicWaiting},
		{"D4 not_eligible_until_time", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.NotEligibleUntilTime}, ff.PublicDelayed},
		{"D4 blocked_by_dependencies", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.BlockedByDependencies}, ff.PublicWaitingChildren},
		{"D4 blocked_by_budget", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.BlockedByBudget}, ff.PublicRateLimited},
		{"D4 blocked_by_quota", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.BlockedByQuota}, ff.PublicRateLimited},
		{"D4 blocked_by_route", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.BlockedByRoute}, ff.PublicWaiting},
		{"D4 blocked_by_lane_state", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.BlockedByLaneState}, ff.PublicWaiting},
		{"D4 blocked_by_operator", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.BlockedByOperator}, ff.PublicWaiting},
		{"D4 not_applicable is shown waiting", ff.StateVector{LifecyclePhase: ff.PhaseRunnable, EligibilityState: ff.EligibilityNotApplicable}, ff.PublicWaiting},
		{"D5 submitted", ff.StateVector{LifecyclePhase: ff.PhaseSubmitted, EligibilityState: ff.NotEligibleUntilTime}, ff.PublicWaiting},
		{"unknown phase never panics", ff.StateVector{LifecyclePhase: "bogus"}, ff.PublicWaiting},
		{"zero vector", ff.StateVector{}, ff.PublicWaiting},
	}
	for _, tc := range tests {
		t.Run(tc.rule, func(t *testing.T) {
			if got := tc.v.Derive(); got != tc.want {
				t.Fatalf("Derive(%v) = %s, want %s", tc.v, got, tc.want)
			}
			if got := tc.v.Normalized().PublicState; got != tc.want {
				t.Fatalf("Normalized().PublicState = %s, want %s", got, tc.want)
			}
		})
	}
	// resumable exists as a public state but is never derived.
	for _, p := range ff.PublicStates {
		if p == ff.PublicResumable {
			return
		}
	}
	t.Fatal("PublicStates lacks resumable")
}

func TestCheckAcceptsNamedVectors(t *testing.T) {
	tests := []struct {
		name string
		v    ff.StateVector
		pub  ff.PublicState
	}{
		{"W0", vecW0, ff.PublicWaiting},
		{"D0", vecD0, ff.PublicDelayed},
		{"BR", vecBR, ff.PublicDelayed},
		{"WR", vecWR, ff.PublicWaiting},
		{"WP", vecWP, ff.PublicWaiting},
		{"DI", vecDI, ff.PublicDelayed},
		{"RI", vecRI, ff.PublicWaiting},
		{"A", vecA, ff.PublicActive},
		{"AX", vecAX, ff.PublicActive},
		{"AR", vecAR, ff.PublicActive},
		{"T(completed)", vecT(ff.OutcomeSuccess, ff.AttemptTerminalState), ff.PublicCompleted},
		{"T(failed)", vecT(ff.OutcomeFailed, ff.AttemptTerminalState), ff.PublicFailed},
		{"T(cancelled)", vecT(ff.OutcomeCancelled, ff.AttemptTerminalState), ff.PublicCancelled},
		{"T(expired)", vecT(ff.OutcomeExpired, ff.AttemptTerminalState), ff.PublicExpired},
		{"T(skipped)", vecT(ff.OutcomeSkipped, ff.AttemptTerminalState), ff.PublicSkipped},
		{"T(cancelled) before any attempt", vecT(ff.OutcomeCancelled, ff.AttemptStateNone), ff.PublicCancelled},
		{"T(skipped) before any attempt", vecT(ff.OutcomeSkipped, ff.AttemptStateNone), ff.PublicSkipped},
		{"CI", vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.BlockedByDependencies, ff.BlockingWaitingForChildren, ff.OutcomeNone, ff.AttemptInterrupted), ff.PublicWaitingChildren},
		{"S", vec(ff.PhaseSuspended, ff.OwnershipUnowned, ff.EligibilityNotApplicable, ff.BlockingWaitingForSignal, ff.OutcomeNone, ff.AttemptInterrupted), ff.PublicSuspended},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.v.PublicState != tc.pub {
				t.Fatalf("public state %s, want %s", tc.v.PublicState, tc.pub)
			}
			noErr(t, tc.v.Check())
		})
	}
}

func TestCheckRejectsEachForbiddenCombination(t *testing.T) {
	// Each vector breaks exactly one of V1-V10; the error must name it.
	tests := []struct {
		code string
		v    ff.StateVector
	}{
		{"V1", vec(ff.PhaseTerminal, ff.OwnershipLeased, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeSuccess, ff.AttemptTerminalState)},
		{"V2", vec(ff.PhaseSuspended, ff.OwnershipLeased, ff.EligibilityNotApplicable, ff.BlockingWaitingForSignal, ff.OutcomeNone, ff.AttemptInterrupted)},
		{"V3", vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeFailed, ff.AttemptPendingRetry)},
		{"V4", vec(ff.PhaseTerminal, ff.OwnershipUnowned, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeNone, ff.AttemptTerminalState)},
		{"V5", vec(ff.PhaseActive, ff.OwnershipLeased, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeNone, ff.AttemptPendingFirst)},
		{"V6", vec(ff.PhaseTerminal, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingNone, ff.OutcomeSuccess, ff.AttemptTerminalState)},
		{"V7", vec(ff.PhaseActive, ff.OwnershipLeased, ff.EligibleNow, ff.BlockingNone, ff.OutcomeNone, ff.AttemptRunning)},
		{"V8", vec(ff.PhaseSubmitted, ff.OwnershipLeased, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeNone, ff.AttemptPendingFirst)},
		{"V9", vec(ff.PhaseRunnable, ff.OwnershipUnowned, ff.EligibleNow, ff.BlockingWaitingForWorker, ff.OutcomeNone, ff.AttemptRunning)},
		{"V10", vec(ff.PhaseActive, ff.OwnershipUnowned, ff.EligibilityNotApplicable, ff.BlockingNone, ff.OutcomeNone, ff.AttemptRunning)},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			e := wantErr(t, tc.v.Check(), ff.ClassBug, ff.ErrBug)
			if !strings.HasPrefix(e.Detail, tc.code+":") {
				t.Fatalf("detail %q, want it to start with %s:", e.Detail, tc.code)
			}
		})
	}
}

func TestCheckRejectsStalePublicState(t *testing.T) {
	v := vecA
	v.PublicState = ff.PublicWaiting
	wantErr(t, v.Check(), ff.ClassBug, ff.ErrBug)
	v = vecW0
	v.PublicState = ff.PublicResumable // never derived
	wantErr(t, v.Check(), ff.ClassBug, ff.ErrBug)
}

func TestParsePublicState(t *testing.T) {
	for _, p := range ff.PublicStates {
		got, err := ff.ParsePublicState(string(p))
		noErr(t, err)
		if got != p {
			t.Fatalf("ParsePublicState(%s) = %s", p, got)
		}
	}
	for _, bad := range []string{"", "Waiting", "running", "terminal"} {
		_, err := ff.ParsePublicState(bad)
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidInput)
	}
	terminal := map[ff.PublicState]bool{ff.PublicCompleted: true, ff.PublicFailed: true, ff.PublicCancelled: true,
		ff.PublicExpired: true, ff.PublicSkipped: true}
	for _, p := range ff.PublicStates {
		if p.IsTerminal() != terminal[p] {
			t.Errorf("%s.IsTerminal() = %v", p, p.IsTerminal())
		}
	}
}
