package e2e

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAuthRejectsMissingOrWrongToken checks bearer auth on a real
// server: /healthz is public; the API and /metrics are not.
func TestAuthRejectsMissingOrWrongToken(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db, "--api-token", token)
		body := `{"kind":"k","input":{}}`
		requireAPIError(t, do(t, "POST", srv.URL+"/v1/executions", body), 401, "unauthorized")
		requireAPIError(t, do(t, "POST", srv.URL+"/v1/executions", body, "Authorization", "Bearer wrong"), 401, "unauthorized")
		requireAPIError(t, do(t, "GET", srv.URL+"/v1/executions", "", "Authorization", token), 401, "unauthorized")
		require.Equal(t, 201, do(t, "POST", srv.URL+"/v1/executions", body, "Authorization", "Bearer "+token).status)
		require.Equal(t, 200, do(t, "GET", srv.URL+"/healthz", "").status)
		requireAPIError(t, do(t, "GET", srv.URL+"/metrics", ""), 401, "unauthorized")
		require.Equal(t, 200, do(t, "GET", srv.URL+"/metrics", "", "Authorization", "Bearer "+token).status)
	})
}

// TestMalformedRequestsGetJSONErrors checks the error shape for bad
// input on a real server.
func TestMalformedRequestsGetJSONErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, db database) {
		srv := startServer(t, db)
		u := srv.URL
		requireAPIError(t, do(t, "POST", u+"/v1/executions", `{"kind":`), 400, "invalid_json")
		requireAPIError(t, do(t, "POST", u+"/v1/executions", `[1,2]`), 400, "invalid_json")
		requireAPIError(t, do(t, "POST", u+"/v1/executions", `{"kind":"k","input":{},"priority":"high"}`), 400, "invalid_json")
		requireAPIError(t, do(t, "GET", u+"/v1/executions/"+url.PathEscape("nope"), ""), 400, "invalid_input")
		requireAPIError(t, do(t, "GET", u+"/v1/executions/"+url.PathEscape("{fp:1}:0b9f5c9e-2f5e-4c43-9c1f-3f7c7f1d2a10"), ""), 404, "not_found")
		requireAPIError(t, do(t, "GET", u+"/v1/no-such-route", ""), 404, "route_not_found")
		requireAPIError(t, do(t, "DELETE", u+"/v1/executions", ""), 405, "method_not_allowed")
		// A handle that does not decode is reported as corrupt input.
		requireAPIError(t, do(t, "POST", u+"/v1/tasks/complete", `{"handle":"garbage","result":{}}`), 400, "invalid_handle")
		requireAPIError(t, do(t, "POST", u+"/v1/workers/w1/claim", `{"lease_ttl_ms":1}`), 400, "invalid_input")
	})
}
