package ui_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// openClient serves b and returns a browser-like HTTP client of it.
func openClient(t *testing.T, b backend.Backend) *client {
	return newClient(t, uitest.NewServer(t, b, server.Config{}).URL)
}

// getOK GETs path, which must answer 200, and returns the page.
func (c *client) getOK(path string) string {
	c.t.Helper()
	res, body := c.do(http.MethodGet, path, nil, nil)
	require.Equal(c.t, http.StatusOK, res.StatusCode, body)
	return body
}

// requireRefusedThenAccepted posts form to path without a CSRF token and
// with a wrong one (both refused, nothing changes: unchanged stays true),
// then with the page's token (accepted: a redirect back, and a change).
func (c *client) requireRefusedThenAccepted(path, token string, form url.Values, unchanged func() bool) {
	c.t.Helper()
	for _, bad := range []string{"", token + "x"} {
		f := url.Values{"csrf": {bad}, "back": {"/ui/"}}
		for k, v := range form {
			f[k] = v
		}
		res, _ := c.do(http.MethodPost, path, f, nil)
		require.Equal(c.t, http.StatusForbidden, res.StatusCode, "POST %s with csrf %q", path, bad)
		require.True(c.t, unchanged(), "a refused POST %s changed nothing", path)
	}
	form.Set("csrf", token)
	form.Set("back", "/ui/")
	res, _ := c.do(http.MethodPost, path, form, nil)
	require.Equal(c.t, http.StatusSeeOther, res.StatusCode)
	require.False(c.t, unchanged(), "the accepted POST %s took effect", path)
}

func TestPageActionsRefuseWithoutCSRF(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		ctx := context.Background()
		c := openClient(t, b)
		flow := seedFlow(t, b, "csrf-flows")
		tok := csrfOf(t, c.getOK("/ui/flows/"+flow.ID))
		c.requireRefusedThenAccepted("/ui/flows/"+flow.ID+"/cancel", tok, url.Values{"policy": {ff.CancelFlowAll}}, func() bool {
			snap, err := b.DescribeFlow(ctx, backend.DescribeFlowParams{FlowID: flow.ID})
			require.NoError(t, err)
			return snap.PublicFlowState != ff.FlowCancelled
		})

		for _, verb := range []string{"approve", "reject"} {
			id := seedSuspended(t, b, "csrf-"+verb)
			ws, err := b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
			require.NoError(t, err)
			c.requireRefusedThenAccepted("/ui/approvals/"+id.String()+"/"+verb, tok, url.Values{"waitpoint": {ws[0].ID}}, func() bool {
				return publicState(t, b, id) == ff.PublicSuspended
			})
		}

		seedBudget(t, b, "csrf-budget")
		c.requireRefusedThenAccepted("/ui/budgets/csrf-budget/reset", tok, url.Values{}, func() bool {
			st, err := b.GetBudget(ctx, backend.GetBudgetParams{BudgetID: "csrf-budget"})
			require.NoError(t, err)
			return st.Usage["tokens"] == 700
		})
	})
}
