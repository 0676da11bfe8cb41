package server_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// Poison inputs over real HTTP (issue 9 items 1-3): each is answered 400
// with a validation kind naming the field on both stores, never a 500 and
// never accepted; free text in a failure report is stored sanitized.

const maxInt64 = "9223372036854775807"

// requireRefused asserts a 400 of kind whose message names field.
func requireRefused(t *testing.T, r reply, kind ff.ErrorKind, field, what string) {
	t.Helper()
	require.Equal(t, http.StatusBadRequest, r.status, "%s: %s", what, r.body)
	body := r.apiError(t)
	require.Equal(t, kind, body.Kind, "%s: %s", what, r.body)
	require.False(t, body.Retryable, what)
	require.Contains(t, body.Error, field, what)
}

func TestPoisonCreateRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		cases := []struct {
			what, body string
			kind       ff.ErrorKind
			field      string
		}{
			{"NUL in namespace", `{"kind":"k","namespace":"a\u0000b"}`, ff.ErrInvalidInput, "namespace"},
			{"newline in namespace", `{"kind":"k","namespace":"a\nb"}`, ff.ErrInvalidInput, "namespace"},
			{"NUL in idempotency key", `{"kind":"k","idempotency_key":"k\u0000"}`, ff.ErrInvalidInput, "idempotency_key"},
			{"NUL in tag value", `{"kind":"k","tags":{"app.k":"v\u0000"}}`, ff.ErrInvalidInput, "app.k"},
			{"newline in tag key", `{"kind":"k","tags":{"app.k\n":"v"}}`, ff.ErrInvalidTagKey, "tag key"},
			{"U+2028 in kind", `{"kind":"a\u2028b"}`, ff.ErrInvalidInput, "kind"},
			{"U+0085 in kind", `{"kind":"a\u0085b"}`, ff.ErrInvalidInput, "kind"},
			{"newline in kind", `{"kind":"a\nb"}`, ff.ErrInvalidInput, "kind"},
			{"U+2029 in lane", `{"kind":"k","lane":"a\u2029b"}`, ff.ErrInvalidInput, "lane"},
			{"all-zero execution id", `{"kind":"k","execution_id":"{fp:0}:00000000-0000-0000-0000-000000000000"}`, ff.ErrInvalidInput, "execution_id"},
			{"delay_until_ms MaxInt64", `{"kind":"k","delay_until_ms":` + maxInt64 + `}`, ff.ErrInvalidInput, "delay_until_ms"},
			{"deadline_at_ms MaxInt64", `{"kind":"k","deadline_at_ms":` + maxInt64 + `}`, ff.ErrInvalidInput, "deadline_at_ms"},
			{"attempt_timeout_ms MaxInt64", `{"kind":"k","policy":{"timeout_policy":{"attempt_timeout_ms":` + maxInt64 + `}}}`,
				ff.ErrInvalidPolicy, "attempt_timeout_ms"},
			{"execution_deadline_ms MaxInt64", `{"kind":"k","policy":{"timeout_policy":{"execution_deadline_ms":` + maxInt64 + `}}}`,
				ff.ErrInvalidPolicy, "execution_deadline_ms"},
			{"fixed delay_ms MaxInt64", `{"kind":"k","policy":{"retry_policy":{"backoff":{"type":"fixed","delay_ms":` + maxInt64 + `}}}}`,
				ff.ErrInvalidPolicy, "delay_ms"},
			{"exponential max_delay_ms MaxInt64", `{"kind":"k","policy":{"retry_policy":{"backoff":{"type":"exponential","max_delay_ms":` + maxInt64 + `}}}}`,
				ff.ErrInvalidPolicy, "max_delay_ms"},
			{"dedup_window_ms MaxInt64", `{"kind":"k","policy":{"dedup_window_ms":` + maxInt64 + `}}`, ff.ErrInvalidPolicy, "dedup_window_ms"},
			// Raw invalid UTF-8 is not JSON; the decoder would fold it into
			// U+FFFD and two different keys would collide.
			{"invalid UTF-8 idempotency key", "{\"kind\":\"k\",\"idempotency_key\":\"k\xff\"}", wire.ErrInvalidJSON, "UTF-8"},
		}
		for _, c := range cases {
			requireRefused(t, e.post("/v1/executions", c.body), c.kind, c.field, c.what)
		}
		require.Equal(t, http.StatusNoContent, e.post("/v1/workers/w1/claim", map[string]any{}).status, "nothing was created")
		// A key that merely looks like the folded one is its own key.
		first := e.create(map[string]any{"idempotency_key": "k\uFFFD"})
		r := e.post("/v1/executions", "{\"kind\":\"k\",\"idempotency_key\":\"k\xfe\"}")
		require.Equal(t, http.StatusBadRequest, r.status, "%s matched %s", r.body, first)
	})
}

func TestPoisonReadsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		e.create(map[string]any{})
		for _, cur := range []string{"%00", "a%00b", "%FF", "%E2%82"} {
			requireRefused(t, e.get("/v1/lanes?cursor="+cur), ff.ErrInvalidInput, "cursor", "lane cursor "+cur)
		}
		requireRefused(t, e.get(execPath("{fp:0}:00000000-0000-0000-0000-000000000000", "")), ff.ErrInvalidInput,
			"execution_id", "all-zero id")
		requireRefused(t, e.post("/v1/workers/w%00/claim", map[string]any{}), ff.ErrInvalidInput, "worker_id", "NUL worker id")
		requireRefused(t, e.post("/v1/workers/w1/claim", "{\"capabilities\":[\"gpu\xff\"]}"),
			wire.ErrInvalidJSON, "UTF-8", "invalid UTF-8 capability")
	})
}

func TestPoisonTaskCallsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{"policy": map[string]any{"retry_policy": map[string]any{
			"max_retries": 1, "backoff": map[string]any{"type": "fixed", "delay_ms": 0}}}})
		task := e.claimOne("default")

		h, err := ff.ParseHandle(task.Handle)
		require.NoError(t, err)
		bad := h
		bad.Lease.AttemptID += "\x00"
		for _, path := range []string{"/v1/tasks/complete", "/v1/tasks/fail", "/v1/tasks/renew", "/v1/tasks/cancel"} {
			requireRefused(t, e.post(path, map[string]any{"handle": bad.String()}), ff.ErrInvalidHandle, "attempt_id", path)
		}
		requireRefused(t, e.post("/v1/tasks/delay", map[string]any{"handle": task.Handle, "delay_until_ms": int64(ff.MaxInstantMs) + 1}),
			ff.ErrInvalidInput, "delay_until_ms", "delay beyond the last instant")
		requireRefused(t, e.post("/v1/tasks/fail", map[string]any{"handle": task.Handle, "reason": "x", "classification": "PERMANENT"}),
			ff.ErrInvalidInput, "classification", "unknown classification")
		requireRefused(t, e.post(execPath(e.create(map[string]any{}), "/cancel"), map[string]any{"source": ff.CancelledByLeaseHolder}),
			ff.ErrInvalidInput, "source", "operator posing as the lease holder")
		// None of the refusals touched the lease.
		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle}).status)
		var snap wire.ExecutionSnapshot
		e.get(execPath(id, "")).json(t, &snap)
		require.Equal(t, ff.PublicCompleted, snap.PublicState)
	})
}

// A failure report is never refused because of its text: NUL and raw
// invalid UTF-8 in the reason are stored as U+FFFD and the retry policy
// applies (on Postgres this was a 500, and the worker's report was lost).
func TestFailReportTextNeverRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{"policy": map[string]any{"retry_policy": map[string]any{
			"max_retries": 1, "backoff": map[string]any{"type": "fixed", "delay_ms": 0}}}})
		task := e.claimOne("default")
		r := e.post("/v1/tasks/progress", map[string]any{"handle": task.Handle, "percent": 10, "message": "half\x00way"})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)

		// A failure report with NUL and raw invalid UTF-8 in its reason is
		// accepted, stored sanitized, and the retry policy applies.
		body := `{"handle":"` + task.Handle + "\",\"reason\":\"disk\\u0000full \xff\"}"
		r = e.post("/v1/tasks/fail", body)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var out wire.FailResponse
		r.json(t, &out)
		require.True(t, out.RetryScheduled)
		var snap wire.ExecutionSnapshot
		e.get(execPath(id, "")).json(t, &snap)
		require.Equal(t, "disk\uFFFDfull \uFFFD", snap.FailureReason)
		require.Equal(t, "half\uFFFDway", snap.ProgressMessage)
		require.Equal(t, ff.PublicWaiting, snap.PublicState)

		retry := e.claimOne("default")
		require.Equal(t, ff.AttemptRetry, retry.AttemptType)
		r = e.post("/v1/tasks/cancel", map[string]any{"handle": retry.Handle, "reason": "bye\x00"})
		require.Equal(t, http.StatusNoContent, r.status, "%s", r.body)
		e.get(execPath(id, "")).json(t, &snap)
		require.Equal(t, "bye\uFFFD", snap.CancelReason)

		other := e.create(map[string]any{})
		r = e.post(execPath(other, "/cancel"), map[string]any{"reason": "ops\x00", "source": "console\x00"})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		e.get(execPath(other, "")).json(t, &snap)
		require.Equal(t, "ops\uFFFD", snap.CancelReason)
	})
}

func TestReplayAfterOperatorCancelOverHTTP(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		id := e.create(map[string]any{})
		task := e.claimOne("default")
		require.Equal(t, http.StatusOK, e.post(execPath(id, "/cancel"), map[string]any{"reason": "ops"}).status)
		for range 2 {
			r := e.post("/v1/tasks/cancel", map[string]any{"handle": task.Handle})
			require.Equal(t, http.StatusConflict, r.status, "%s", r.body)
			body := r.apiError(t)
			require.Equal(t, ff.ErrLeaseRevoked, body.Kind, "the operator's cancel revoked the holder's lease")
			require.Equal(t, ff.ClassState, body.Class)
			require.False(t, body.Retryable, "a revoked lease is not retryable")
		}
	})
}
