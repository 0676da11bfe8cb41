package ui

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The Budgets page lists the budgets and the quotas, each list paged by
// id on its own. Usage is drawn as <meter> bars with the numbers written
// beside them.

// budgetsPageSize is how many budgets (and quotas) one page shows.
const budgetsPageSize = 20

type budgetsData struct {
	Budgets                   []budgetView
	Quotas                    []quotaView
	BudgetsAfter, QuotasAfter string // this page's cursors
	NextBudgets, NextQuotas   string // "" on the last page
}

type budgetView struct {
	ff.BudgetStatus
	Dims []dimView
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
	bp := backend.ListByIDParams{Cursor: q.Get("budgets_after"), Limit: budgetsPageSize}
	qp := backend.ListByIDParams{Cursor: q.Get("quotas_after"), Limit: budgetsPageSize}
	if err := bp.Normalize(); err != nil {
		return page{}, err
	}
	if err := qp.Normalize(); err != nil {
		return page{}, err
	}
	budgets, err := d.b.ListBudgets(r.Context(), bp)
	if err != nil {
		return page{}, fmt.Errorf("list budgets: %w", err)
	}
	quotas, err := d.b.ListQuotas(r.Context(), qp)
	if err != nil {
		return page{}, fmt.Errorf("list quotas: %w", err)
	}
	data := budgetsData{BudgetsAfter: bp.Cursor, QuotasAfter: qp.Cursor, NextBudgets: budgets.NextCursor, NextQuotas: quotas.NextCursor}
	for _, st := range budgets.Budgets {
		data.Budgets = append(data.Budgets, budgetViewOf(st))
	}
	for _, st := range quotas.Quotas {
		data.Quotas = append(data.Quotas, quotaViewOf(st))
	}
	return page{Template: "budgets", Title: "Budgets and quotas", Data: data}, nil
}

func budgetViewOf(st ff.BudgetStatus) budgetView {
	v := budgetView{BudgetStatus: st}
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
		msg += " Next scheduled reset " + whenMs(res.NextResetAtMs) + " UTC."
	}
	return msg, nil
}
