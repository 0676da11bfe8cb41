package ui

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The Budgets page shows the budgets and quotas the query names
// (?budgets=a,b&quotas=q): the backend has no list of them, so the page
// is a lookup whose URL can be bookmarked. Usage is drawn as <meter>
// bars with the numbers written beside them.

// maxLookups bounds the ids one lookup reads, of each kind.
const maxLookups = 20

type budgetsData struct {
	BudgetIDs, QuotaIDs string // the query, echoed in the form
	Budgets             []budgetView
	Quotas              []quotaView
	Missing             []string // ids that name nothing
}

type budgetView struct {
	ff.BudgetStatus
	Dims       []dimView
	LastBreach string
	NextReset  string
}

// dimView is one dimension: usage against its limits (0 = none). Max is
// the meter's scale: the hard limit, else the larger of soft and usage.
type dimView struct {
	Name                   string
	Usage, Soft, Hard, Max int64
	OverSoft, AtHard       bool
}

type quotaView struct {
	ff.QuotaStatus
	Window                      string // the window as a duration, "1m0s"
	WindowFull, ConcurrencyFull bool
}

func (d *Dashboard) budgets(r *http.Request) (page, error) {
	ctx, q := r.Context(), r.URL.Query()
	data := budgetsData{BudgetIDs: q.Get("budgets"), QuotaIDs: q.Get("quotas")}
	budgets, err := lookup(ctx, "budget", data.BudgetIDs, &data.Missing, func(ctx context.Context, id string) (ff.BudgetStatus, error) {
		return d.b.GetBudget(ctx, backend.GetBudgetParams{BudgetID: id})
	})
	if err != nil {
		return page{}, err
	}
	quotas, err := lookup(ctx, "quota", data.QuotaIDs, &data.Missing, func(ctx context.Context, id string) (ff.QuotaStatus, error) {
		return d.b.GetQuota(ctx, backend.GetQuotaParams{QuotaID: id})
	})
	if err != nil {
		return page{}, err
	}
	for _, st := range budgets {
		data.Budgets = append(data.Budgets, budgetViewOf(st))
	}
	for _, st := range quotas {
		data.Quotas = append(data.Quotas, quotaViewOf(st))
	}
	return page{Template: "budgets", Title: "Budgets and quotas", Data: data}, nil
}

// lookup reads each id of the list with get; an id that names nothing is
// added to missing as "<kind> <id>".
func lookup[T any](ctx context.Context, kind, list string, missing *[]string, get func(context.Context, string) (T, error)) ([]T, error) {
	var out []T
	for _, id := range lookupIDs(list) {
		v, err := get(ctx, id)
		switch {
		case namesNothing(err):
			*missing = append(*missing, kind+" "+id)
		case err != nil:
			return nil, fmt.Errorf("read %s %s: %w", kind, id, err)
		default:
			out = append(out, v)
		}
	}
	return out, nil
}

// namesNothing reports an id that names nothing or is not an id at all:
// the page lists it instead of failing.
func namesNothing(err error) bool {
	return errors.Is(err, ff.ErrNotFound) || errors.Is(err, ff.ErrInvalidInput)
}

// lookupIDs splits a list of ids on commas and spaces, without repeats,
// at most maxLookups.
func lookupIDs(s string) []string {
	var out []string
	for _, id := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		if !slices.Contains(out, id) && len(out) < maxLookups {
			out = append(out, id)
		}
	}
	return out
}

func budgetViewOf(st ff.BudgetStatus) budgetView {
	v := budgetView{BudgetStatus: st, NextReset: formatMs(st.NextResetAtMs)}
	if st.LastBreachAtMs != 0 {
		v.LastBreach = st.LastBreachDimension + " at " + formatMs(st.LastBreachAtMs)
	}
	names := map[string]bool{}
	for _, m := range []map[string]int64{st.Usage, st.SoftLimits, st.HardLimits} {
		for n := range m {
			names[n] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(names)) {
		v.Dims = append(v.Dims, dimViewOf(n, st.Usage[n], st.SoftLimits[n], st.HardLimits[n]))
	}
	return v
}

func dimViewOf(name string, usage, soft, hard int64) dimView {
	dv := dimView{Name: name, Usage: usage, Soft: soft, Hard: hard, Max: hard}
	if dv.Max == 0 {
		dv.Max = max(soft, usage)
	}
	dv.OverSoft = soft > 0 && usage > soft
	dv.AtHard = hard > 0 && usage >= hard
	return dv
}

func quotaViewOf(st ff.QuotaStatus) quotaView {
	return quotaView{QuotaStatus: st, Window: (time.Duration(st.WindowMs) * time.Millisecond).String(),
		WindowFull:      st.MaxPerWindow > 0 && st.InWindow >= st.MaxPerWindow,
		ConcurrencyFull: st.MaxConcurrent > 0 && st.ActiveConcurrency >= st.MaxConcurrent}
}

// resetBudget zeroes a budget's usage now (its breach counters are kept)
// and unblocks the executions it held.
func (d *Dashboard) resetBudget(r *http.Request) (string, error) {
	p := backend.ResetBudgetParams{BudgetID: r.PathValue("id")}
	if err := p.Validate(); err != nil {
		return "", err
	}
	res, err := d.b.ResetBudget(r.Context(), p)
	if err != nil {
		return "", fmt.Errorf("reset budget %s: %w", p.BudgetID, err)
	}
	msg := fmt.Sprintf("Budget %s reset: usage is zero, %d blocked executions unblocked.", p.BudgetID, res.Unblocked)
	if res.NextResetAtMs != 0 {
		msg += " Next scheduled reset " + formatMs(res.NextResetAtMs) + " UTC."
	}
	return msg, nil
}
