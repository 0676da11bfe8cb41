package backendtest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Capabilities tell the truth: every method a flag covers answers
// Unavailable exactly when the flag is false. The table below names, for
// every flag of backend.Supports, the Backend methods it covers; the
// test fails for a flag without an entry and for a Backend method that is
// neither covered by a flag nor listed in unflagged, so every future flag
// and method is checked as soon as it exists.

// flagMethods maps each Supports flag to the methods it covers.
var flagMethods = map[string][]string{
	"CreateExecution":    {"CreateExecution"},
	"Claim":              {"Claim"},
	"ClaimBatch":         {"Claim"},
	"Renew":              {"Renew", "RenewMany"},
	"Progress":           {"Progress"},
	"Complete":           {"Complete", "CompleteMany"},
	"Fail":               {"Fail"},
	"Cancel":             {"Cancel"},
	"Delay":              {"Delay"},
	"CancelExecution":    {"CancelExecution"},
	"ChangePriority":     {"ChangePriority"},
	"ReplayExecution":    {"ReplayExecution"},
	"RevokeLease":        {"RevokeLease"},
	"DescribeExecution":  {"DescribeExecution"},
	"ReadExecutionState": {"ReadExecutionState"},
	"GetExecutionResult": {"GetExecutionResult"},
	"ListExecutions":     {"ListExecutions"},
	"ListLanes":          {"ListLanes"},
	"Flows":              methodsOf[backend.Flows](),
	"Waitpoints":         methodsOf[backend.Waitpoints](),
	"BudgetAdmin": {"CreateBudget", "GetBudget", "ListBudgets", "SetBudgetLimits", "ResetBudget", "ReportUsage",
		"ReportTaskUsage", "ResetDueBudgets", "ExpireUsageDedup"},
	"QuotaAdmin":          {"CreateQuota", "GetQuota", "ListQuotas", "UnblockDue", "RepairQuotaSlots", "AdmissionStats"},
	"Streams":             methodsOf[backend.Streams](),
	"SubscribeCompletion": {"ReadCompletions"},
	"Events":              {"ReadEvents", "SweepEvents", "CountEventRows"},
	"LaneControl":         {"SetLanePaused", "LaneStates"},
	"LeaderElection":      {"TryAcquireLeader"},
	"Schedules":           methodsOf[backend.Schedules](),
}

// unflagged are the operations every backend must answer (never
// Unavailable), and notProbed the methods that are not operations.
var (
	unflagged = []string{"ListAttempts", "ReleaseClaims", "ExpireLeases", "ExpireAttemptTimeouts",
		"ExpireDeadlines", "PromoteDelayed", "ExpireIdempotencyKeys", "Ping"}
	notProbed = []string{"Label", "Capabilities", "Close", "SubscribeWork", "SubscribeEvents"}
)

func init() {
	register("Capabilities/FlagsMatchWhatAnswers", testCapabilitiesMatch)
}

func methodsOf[T any]() []string {
	t := reflect.TypeFor[T]()
	out := make([]string, t.NumMethod())
	for i := range out {
		out[i] = t.Method(i).Name
	}
	return out
}

func testCapabilitiesMatch(t *testing.T, h Harness) {
	e := newEnv(t, h)
	flags := reflect.ValueOf(e.b.Capabilities().Supports)
	covered := map[string]bool{}
	for i := range flags.NumField() {
		flag := flags.Type().Field(i).Name
		methods, ok := flagMethods[flag]
		require.True(t, ok, "flag %s has no entry in flagMethods", flag)
		on := flags.Field(i).Bool()
		for _, m := range methods {
			covered[m] = true
			err := callZero(t, e.ctx, e.b, m)
			require.Equal(t, !on, errors.Is(err, ff.ErrUnavailable),
				"flag %s is %v but %s answered %v", flag, on, m, err)
		}
	}
	for _, m := range unflagged {
		covered[m] = true
		require.NotErrorIs(t, callZero(t, e.ctx, e.b, m), ff.ErrUnavailable, "%s has no flag: it must answer", m)
	}
	for _, m := range methodsOf[backend.Backend]() {
		require.True(t, covered[m] || slices.Contains(notProbed, m),
			"Backend method %s is covered by no flag: add it to flagMethods or unflagged", m)
	}
}

// callZero calls method name of b with ctx and zero-valued params (a
// one-element slice for a batch) and returns its error: the last result,
// or the first entry's for a batch. A leader lease it obtains is released.
func callZero(t *testing.T, ctx context.Context, b backend.Backend, name string) error {
	t.Helper()
	m := reflect.ValueOf(b).MethodByName(name)
	require.True(t, m.IsValid(), "no method %s", name)
	args := []reflect.Value{reflect.ValueOf(ctx)}
	for i := 1; i < m.Type().NumIn(); i++ {
		in := m.Type().In(i)
		v := reflect.New(in).Elem()
		if in.Kind() == reflect.Slice {
			v = reflect.MakeSlice(in, 1, 1)
		}
		args = append(args, v)
	}
	out := m.Call(args)
	for _, o := range out {
		if l, ok := o.Interface().(backend.LeaderLease); ok && l != nil {
			require.NoError(t, l.Release(ctx))
		}
	}
	return errorOf(out[len(out)-1])
}

// errorOf extracts the error of a method's last result: an error, a
// slice of errors, or a slice of results with an Err field.
func errorOf(v reflect.Value) error {
	if v.Kind() == reflect.Slice {
		if v.Len() == 0 {
			return nil
		}
		v = v.Index(0)
		if v.Kind() == reflect.Struct {
			v = v.FieldByName("Err")
		}
	}
	err, _ := v.Interface().(error)
	return err
}
