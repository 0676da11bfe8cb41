package ui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/internal/uitest"
	"github.com/flowfabric-go/flowfabric/server"
)

// The Lanes page lists a paused lane that has no live execution, on the
// page its name falls in, with who paused it.
func TestLanesShowPausedLanesWithoutExecutions(t *testing.T) {
	b := uitest.OpenSQLite(t)
	seed(t, b)
	for _, lane := range []string{"aa-ghost", "zz-ghost"} {
		_, err := b.SetLanePaused(t.Context(), backend.SetLanePausedParams{Lane: lane, Paused: true,
			Who: ff.Actor{Source: "pager", Reason: "incident 7"}})
		require.NoError(t, err)
	}
	srv := uitest.NewServer(t, b, server.Config{})
	c := newClient(t, srv.URL)

	res, page := c.do("GET", "/ui/lanes", nil, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	for _, lane := range []string{"aa-ghost", "billing", "mail", "reports", "zz-ghost"} {
		require.Contains(t, page, `data-lane="`+lane+`"`)
	}
	require.Contains(t, page, "by pager: incident 7")
	require.Less(t, strings.Index(page, "aa-ghost"), strings.Index(page, "billing"), "by name")

	_, first := c.do("GET", "/ui/lanes?limit=2", nil, nil)
	require.Contains(t, first, `data-lane="aa-ghost"`, "a paused lane before the first listed one")
	require.NotContains(t, first, `data-lane="zz-ghost"`, "one after the page is on a later page")
	require.Contains(t, first, `href="/ui/lanes?cursor=mail&amp;limit=2"`)
}

// A refused filter keeps the page and its form, with the API's message.
func TestEventsRefusedFilter(t *testing.T) {
	b := uitest.OpenSQLite(t)
	srv := uitest.NewServer(t, b, server.Config{})
	c := newClient(t, srv.URL)
	res, page := c.do("GET", "/ui/events?lane=a%09b&type=completion", nil, nil)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	require.Contains(t, page, `class="flash err"`)
	require.Contains(t, page, "value=\"a\tb\"", "the form keeps the input")
	require.Contains(t, page, "invalid_input: lane")
	require.NotContains(t, page, "data-live", "nothing to follow")
}
