package ui_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// csrfClient is a browser-like client of a dashboard over real HTTP: it
// keeps the session cookie and follows no redirect.
type csrfClient struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newCSRFClient(t *testing.T, b backend.Backend) *csrfClient {
	srv := uitest.NewServer(t, b, server.Config{})
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &csrfClient{t: t, base: srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get GETs path and returns its body; the answer must be 200.
func (c *csrfClient) get(path string) string {
	res, err := c.c.Get(c.base + path)
	require.NoError(c.t, err)
	body := readAll(c.t, res)
	require.Equal(c.t, http.StatusOK, res.StatusCode, body)
	return body
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return string(b)
}

// page GETs path and returns its body and the CSRF token in its forms.
func (c *csrfClient) page(path string) (string, string) {
	body := c.get(path)
	m := csrfField.FindStringSubmatch(body)
	require.NotNil(c.t, m, "a form with a CSRF token on %s", path)
	return body, m[1]
}

func (c *csrfClient) post(path string, form url.Values) int {
	res, err := c.c.Post(c.base+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	_ = res.Body.Close()
	return res.StatusCode
}

// requireRefusedThenAccepted posts form to path without a CSRF token and
// with a wrong one (both refused, nothing changes: unchanged stays true),
// then with the page's token (accepted: a redirect back).
func (c *csrfClient) requireRefusedThenAccepted(path, token string, form url.Values, unchanged func() bool) {
	c.t.Helper()
	for _, bad := range []string{"", token + "x"} {
		f := url.Values{"csrf": {bad}, "back": {"/ui/"}}
		for k, v := range form {
			f[k] = v
		}
		require.GreaterOrEqual(c.t, c.post(path, f), 400, "POST %s with csrf %q", path, bad)
		require.True(c.t, unchanged(), "a refused POST %s changed nothing", path)
	}
	form.Set("csrf", token)
	form.Set("back", "/ui/")
	require.Equal(c.t, http.StatusSeeOther, c.post(path, form))
	require.False(c.t, unchanged(), "the accepted POST %s took effect", path)
}

func TestPageActionsRefuseWithoutCSRF(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		ctx := context.Background()
		c := newCSRFClient(t, b)
		flow := seedFlow(t, b, "csrf-flows")
		_, tok := c.page("/ui/flows/" + flow.ID)
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
