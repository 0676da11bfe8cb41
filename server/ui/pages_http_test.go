package ui_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
)

var nextFlows = regexp.MustCompile(`href="/ui/flows\?cursor=([0-9a-f-]+)" rel="next"`)

func TestFlowsListPages(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		for range 51 {
			_, err := b.CreateFlow(context.Background(), backend.CreateFlowParams{Kind: "batch"})
			require.NoError(t, err)
		}
		c := openClient(t, b)
		first := c.getOK("/ui/flows")
		require.Equal(t, 50, strings.Count(first, "<tr data-flow="))
		m := nextFlows.FindStringSubmatch(first)
		require.NotNil(t, m, "a next link")
		second := c.getOK("/ui/flows?cursor=" + m[1])
		require.Equal(t, 1, strings.Count(second, "<tr data-flow="))
		require.NotRegexp(t, nextFlows, second)
		require.Contains(t, second, "First page")
	})
}

func TestBudgetsAndQuotasListsPage(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		ctx := context.Background()
		for i := range 21 {
			_, err := b.CreateBudget(ctx, backend.CreateBudgetParams{BudgetDefinition: ff.BudgetDefinition{
				ID: fmt.Sprintf("b%02d", i), Limits: map[string]ff.BudgetLimit{"calls": {Hard: 10}}}})
			require.NoError(t, err)
		}
		seedQuota(t, b, "q1")
		c := openClient(t, b)
		first := c.getOK("/ui/budgets")
		require.Equal(t, 20, strings.Count(first, `<section class="card usage" data-budget=`))
		require.Contains(t, first, `href="/ui/budgets?budgets_after=b19&amp;quotas_after=" rel="next"`)
		require.Contains(t, first, `data-quota="q1"`)
		second := c.getOK("/ui/budgets?budgets_after=b19")
		require.Equal(t, 1, strings.Count(second, `<section class="card usage" data-budget=`))
		require.Contains(t, second, `data-budget="b20"`)
		require.Contains(t, second, `data-quota="q1"`, "the quotas keep their own page")
	})
}

func TestPagesAnswerBadInputWithTheAPIMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		c := openClient(t, b)
		for path, want := range map[string]string{
			"/ui/flows/not-a-flow":                           "want a lowercase canonical uuid",
			"/ui/flows/6f1c1c9e-0000-4000-8000-000000000001": "not_found",
			"/ui/flows?cursor=zzz":                           "cursor: not a flow id",
			"/ui/approvals?cursor=zzz":                       "cursor",
		} {
			res, body := c.do(http.MethodGet, path, nil, nil)
			require.GreaterOrEqual(t, res.StatusCode, 400, path)
			require.Regexp(t, want, body, path)
		}
	})
}

// TestLargeFlowPageRenders draws a flow of the largest size one request
// may create.
func TestLargeFlowPageRenders(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		members := make([]backend.FlowMemberParams, ff.MaxFlowRequestExecutions)
		for i := range members {
			members[i] = backend.FlowMemberParams{Ref: fmt.Sprintf("m%d", i),
				Execution: backend.CreateExecutionParams{Lane: "big", Kind: "step"}}
			for _, back := range []int{1, 7, 31} {
				if i >= back {
					members[i].DependsOnRefs = append(members[i].DependsOnRefs, fmt.Sprintf("m%d", i-back))
				}
			}
		}
		res, err := b.CreateFlow(context.Background(), backend.CreateFlowParams{Kind: "big", Members: members})
		require.NoError(t, err)
		page := openClient(t, b).getOK("/ui/flows/" + res.FlowID)
		require.Equal(t, ff.MaxFlowRequestExecutions, strings.Count(page, `class="dag-node st-`))
		require.Equal(t, 3*ff.MaxFlowRequestExecutions-1-7-31, strings.Count(page, `class="dag-edge edge-`))
	})
}
