package ui_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

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
		c := newCSRFClient(t, b)
		first := c.get("/ui/flows")
		require.Equal(t, 50, strings.Count(first, "<tr data-flow="))
		m := nextFlows.FindStringSubmatch(first)
		require.NotNil(t, m, "a next link")
		second := c.get("/ui/flows?cursor=" + m[1])
		require.Equal(t, 1, strings.Count(second, "<tr data-flow="))
		require.NotRegexp(t, nextFlows, second)
		require.Contains(t, second, "First page")
	})
}

func TestPagesAnswerBadInputWithTheAPIMessage(t *testing.T) {
	eachStore(t, func(t *testing.T, _ uitest.Store, b backend.Backend) {
		c := newCSRFClient(t, b)
		for path, want := range map[string]string{
			"/ui/flows/not-a-flow":                           "want a lowercase canonical uuid",
			"/ui/flows/6f1c1c9e-0000-4000-8000-000000000001": "not_found",
			"/ui/flows?cursor=zzz":                           "cursor: not a flow id",
		} {
			res, err := c.c.Get(c.base + path)
			require.NoError(t, err)
			body := readAll(t, res)
			require.GreaterOrEqual(t, res.StatusCode, 400, path)
			require.Regexp(t, want, body, path)
		}
	})
}
