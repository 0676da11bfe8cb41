package ffserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/server"
)

// The server's dashboard reports this process's reconciler leadership
// and the configured version; with reconcilers disabled it says they do
// not run here.
func TestDashboardShowsLeadership(t *testing.T) {
	for _, c := range []struct {
		name    string
		disable bool
		want    string
	}{
		{"leader", false, "this process leads the reconcilers"},
		{"no reconcilers", true, "not run by this process"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := openServer(t, ffserver.Config{Backend: openStore(t, kinds[0], nil), DisableReconcilers: c.disable,
				HTTP: server.Config{Version: "v7.7.7"}})
			hs := httptest.NewServer(srv.Handler())
			defer hs.Close()
			require.NoError(t, srv.Start(t.Context()))
			defer func() { require.NoError(t, srv.Stop(t.Context())) }()
			// Leadership is taken by the reconcilers' own loop: poll.
			var page string
			require.Eventually(t, func() bool {
				page = getPage(hs.URL + "/ui/")
				return strings.Contains(page, c.want)
			}, 10*time.Second, 20*time.Millisecond, "the overview says %q", c.want)
			require.Contains(t, page, "v7.7.7")
		})
	}
}

// getPage is the body of GET url, or "" when it fails (called from
// require.Eventually's goroutine, so it must not fail the test itself).
func getPage(url string) string {
	res, err := http.Get(url)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		return ""
	}
	return string(b)
}
