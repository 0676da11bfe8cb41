package ui

import (
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
	q := r.URL.Query()
	data := budgetsData{BudgetIDs: q.Get("budgets"), QuotaIDs: q.Get("quotas")}
	for _, id := range lookupIDs(data.BudgetIDs) {
		st, err := d.b.GetBudget(r.Context(), backend.GetBudgetParams{BudgetID: id})
		if missing(err) {
			data.Missing = append(data.Missing, "budget "+id)
			continue
		}
		if err != nil {
			return page{}, fmt.Errorf("read budget %s: %w", id, err)
		}
		data.Budgets = append(data.Budgets, budgetViewOf(st))
	}
	for _, id := range lookupIDs(data.QuotaIDs) {
		st, err := d.b.GetQuota(r.Context(), backend.GetQuotaParams{QuotaID: id})
		if missing(err) {
			data.Missing = append(data.Missing, "quota "+id)
			continue
		}
		if err != nil {
			return page{}, fmt.Errorf("read quota %s: %w", id, err)
		}
		data.Quotas = append(data.Quotas, quotaViewOf(st))
	}
	return page{Template: "budgets", Title: "Budgets and quotas", Data: data}, nil
}

// missing reports an id that names nothing or is not an id at all: the
// page lists it instead of failing.
func missing(err error) bool {
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
		dv := dimView{Name: n, Usage: st.Usage[n], Soft: st.SoftLimits[n], Hard: st.HardLimits[n]}
		dv.Max = dv.Hard
		if dv.Max == 0 {
			dv.Max = max(dv.Soft, dv.Usage)
		}
		dv.OverSoft = dv.Soft > 0 && dv.Usage > dv.Soft
		dv.AtHard = dv.Hard > 0 && dv.Usage >= dv.Hard
		v.Dims = append(v.Dims, dv)
	}
	return v
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
