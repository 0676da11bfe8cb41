package server_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/instrument"
	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func seedKey(t *testing.T, e *env) {
	t.Helper()
	_, err := e.store.b.SeedWaitpointKey(context.Background(), backend.SeedWaitpointKeyParams{Kid: "k1", Generate: true})
	require.NoError(t, err)
}

// suspendOne creates, claims and suspends one execution on lane.
func (e *env) suspendOne(lane string, body map[string]any) (string, wire.SuspendResponse) {
	e.t.Helper()
	id := e.create(map[string]any{"lane": lane})
	task := e.claimOne(lane)
	body["handle"] = task.Handle
	r := e.post("/v1/tasks/suspend", body)
	require.Equal(e.t, http.StatusOK, r.status, "suspend: %s", r.body)
	require.Equal(e.t, "no-store", r.header.Get("Cache-Control"))
	var out wire.SuspendResponse
	r.json(e.t, &out)
	return id, out
}

func TestWaitpointRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{APIToken: "secret"}, nil)
		seedKey(t, e)
		id, out := e.suspendOne("wp", map[string]any{"condition": map[string]any{"type": "single", "signal_name": "approve"},
			"reason_code": "waiting_for_approval"})
		require.Equal(t, ff.PublicSuspended, out.PublicState)
		require.Len(t, out.Waitpoints, 1)
		wp := out.Waitpoints[0]

		var list wire.WaitpointList
		r := e.get(execPath(id, "/waitpoints"))
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		require.NotContains(t, string(r.body), wp.Token, "the list never carries the token")
		r.json(t, &list)
		require.Len(t, list.Waitpoints, 1)
		require.Equal(t, "k1", list.Waitpoints[0].TokenKid)
		require.Equal(t, ff.TokenFingerprint(wp.Token), list.Waitpoints[0].TokenFingerprint)
		require.Equal(t, []string{"approve"}, list.Waitpoints[0].RequiredSignalNames)

		r = e.get(execPath(id, "/waitpoints/"+wp.WaitpointID+"/token"))
		require.Equal(t, http.StatusOK, r.status)
		require.Equal(t, "no-store", r.header.Get("Cache-Control"))
		var tok wire.TokenResponse
		r.json(t, &tok)
		require.Equal(t, wp.Token, tok.Token)

		// The signal route needs no API token: the waitpoint token is
		// its credential.
		sig := map[string]any{"waitpoint_id": wp.WaitpointID, "token": wp.Token, "signal_name": "approve",
			"payload": map[string]any{"ok": true}, "source": map[string]any{"type": "user", "identity": "ann"},
			"idempotency_key": "click-1"}
		r = e.do(http.MethodPost, execPath(id, "/signal"), sig, "Authorization", "")
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var res wire.SignalResponse
		r.json(t, &res)
		require.Equal(t, ff.EffectResumeConditionSatisfied, res.Effect)
		r = e.do(http.MethodPost, execPath(id, "/signal"), sig, "Authorization", "")
		var dup wire.SignalResponse
		r.json(t, &dup)
		require.True(t, dup.Duplicate)
		require.Equal(t, res.SignalID, dup.SignalID)
		require.Equal(t, http.StatusUnauthorized, e.do(http.MethodGet, execPath(id, "/signals"), nil, "Authorization", "").status,
			"reads stay behind the API token")

		task := e.claimOne("wp")
		require.Equal(t, ff.AttemptResume, task.AttemptType)
		require.Len(t, task.ResumedSignals, 1)
		require.Equal(t, "approve", task.ResumedSignals[0].SignalName)
		require.JSONEq(t, `{"ok":true}`, string(task.ResumedSignals[0].Payload))
		require.Equal(t, "ann", task.ResumedSignals[0].Source.Identity)

		var sigs wire.SignalList
		e.get(execPath(id, "/signals")).json(t, &sigs)
		require.Len(t, sigs.Signals, 1)
		require.Equal(t, http.StatusNotFound, e.get(execPath(id, "/waitpoints/"+wp.WaitpointID+"/token")).status, "closed: no token")

		// Pending waitpoint, then already_satisfied keeps the lease.
		r = e.post("/v1/tasks/waitpoints", map[string]any{"handle": task.Handle, "key": "cb"})
		require.Equal(t, http.StatusCreated, r.status, "%s", r.body)
		var pending wire.WaitpointToken
		r.json(t, &pending)
		r = e.do(http.MethodPost, execPath(id, "/signal"), map[string]any{"waitpoint_key": "cb", "token": pending.Token,
			"signal_name": "done"}, "Authorization", "")
		r.json(t, &res)
		require.Equal(t, ff.EffectBufferedForPending, res.Effect)
		r = e.post("/v1/tasks/suspend", map[string]any{"handle": task.Handle, "waitpoints": []map[string]any{{"key": "cb"}}})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var sat wire.SuspendResponse
		r.json(t, &sat)
		require.True(t, sat.AlreadySatisfied)
		require.Equal(t, http.StatusNoContent, e.post("/v1/tasks/complete", map[string]any{"handle": task.Handle}).status)
	})
}

func TestWaitpointOperatorRoutes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		seedKey(t, e)
		id, _ := e.suspendOne("op", map[string]any{"condition": map[string]any{"type": "operator_only"}})
		var page wire.ExecutionPage
		e.get("/v1/executions?public_state=suspended").json(t, &page)
		require.Len(t, page.Executions, 1)
		r := e.post(execPath(id, "/resume"), nil)
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var res wire.ResumeExecutionResponse
		r.json(t, &res)
		require.Equal(t, ff.PublicWaiting, res.PublicState)
		r = e.post(execPath(id, "/resume"), nil)
		require.Equal(t, http.StatusConflict, r.status)
		require.Equal(t, ff.ErrNotEligible, r.apiError(t).Kind)

		r = e.post("/v1/admin/waitpoint-keys/rotate", map[string]any{"kid": "k2", "secret_hex": strings.Repeat("cd", 32), "grace_ms": 1000})
		require.Equal(t, http.StatusOK, r.status, "%s", r.body)
		var rot wire.RotateKeyResponse
		r.json(t, &rot)
		require.Equal(t, "k1", rot.PreviousKid)
		require.Equal(t, epoch.UnixMilli()+1000, rot.PreviousValidUntilMs)
		r = e.post("/v1/admin/waitpoint-keys/rotate", map[string]any{"kid": "k1"})
		require.Equal(t, http.StatusConflict, r.status)
		require.Equal(t, ff.ErrRotationConflict, r.apiError(t).Kind)

		r = e.post("/v1/tasks/suspend", map[string]any{"handle": "nope"})
		require.Equal(t, http.StatusBadRequest, r.status)
		task := e.claimOne("op")
		r = e.post("/v1/tasks/suspend", map[string]any{"handle": task.Handle, "condition": map[string]any{"type": "count", "n": 0, "distinct": "signals"}})
		require.Equal(t, http.StatusBadRequest, r.status)
		require.Contains(t, r.apiError(t).Error, "count_n_zero")
		r = e.post("/v1/tasks/suspend", map[string]any{"handle": task.Handle, "condition": map[string]any{"type": "single", "bogus": 1}})
		require.Equal(t, http.StatusBadRequest, r.status)
	})
}

// Every bad token is 403 invalid_token, reveals nothing and changes
// nothing.
func TestSignalRefusesBadTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{APIToken: "secret"}, nil)
		seedKey(t, e)
		id, out := e.suspendOne("sec", map[string]any{"waitpoints": []map[string]any{{"key": "a"}, {"key": "b"}},
			"condition": map[string]any{"type": "count", "n": 1, "distinct": "signals"}})
		a, b := out.Waitpoints[0], out.Waitpoints[1]
		kid, mac, _ := strings.Cut(a.Token, ":")
		forged := []byte(mac)
		forged[5] ^= 1
		if forged[5] > 'f' || (forged[5] > '9' && forged[5] < 'a') {
			forged[5] = '0'
		}
		// An expired-grace token: rotate with no grace, then sign with k1.
		_, err := e.store.b.RotateWaitpointKey(context.Background(), backend.RotateWaitpointKeyParams{Kid: "k2", Grace: 0})
		require.NoError(t, err)
		for name, tok := range map[string]string{
			"expired grace":   a.Token,
			"forged":          kid + ":" + string(forged),
			"truncated":       a.Token[:len(a.Token)-1],
			"empty":           "",
			"other waitpoint": b.Token,
			"unknown kid":     "zz:" + mac,
		} {
			r := e.do(http.MethodPost, execPath(id, "/signal"), map[string]any{"waitpoint_id": a.WaitpointID, "token": tok,
				"signal_name": "go"}, "Authorization", "")
			require.Equal(t, http.StatusForbidden, r.status, "%s: %s", name, r.body)
			body := r.apiError(t)
			require.Equal(t, ff.ErrInvalidToken, body.Kind, name)
			require.NotContains(t, body.Error, id, "%s: the refusal names nothing", name)
		}
		r := e.do(http.MethodPost, "/v1/executions/not-an-id/signal", map[string]any{"waitpoint_id": a.WaitpointID,
			"token": a.Token, "signal_name": "go"}, "Authorization", "")
		require.Equal(t, http.StatusForbidden, r.status)
		var snap wire.ExecutionSnapshot
		e.get(execPath(id, "")).json(t, &snap)
		require.Equal(t, ff.PublicSuspended, snap.PublicState)
		var sigs wire.SignalList
		e.get(execPath(id, "/signals")).json(t, &sigs)
		require.Empty(t, sigs.Signals, "refused signals change nothing")
	})
}

// Tokens never reach the log, even at debug level and on refusals.
func TestTokensAreNeverLogged(t *testing.T) {
	var logs lockedLog
	e := newEnv(t, openSQLite, server.Config{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}, nil)
	seedKey(t, e)
	id, out := e.suspendOne("log", map[string]any{})
	wp := out.Waitpoints[0]
	for _, tok := range []string{wp.Token[:len(wp.Token)-1], wp.Token} {
		e.do(http.MethodPost, execPath(id, "/signal"), map[string]any{"waitpoint_id": wp.WaitpointID, "token": tok, "signal_name": "go"})
	}
	e.get(execPath(id, "/waitpoints/"+wp.WaitpointID+"/token"))
	_, mac, _ := strings.Cut(wp.Token, ":")
	require.NotEmpty(t, logs.String(), "the server logged its requests")
	require.NotContains(t, logs.String(), mac[:16])
}

type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestWaitpointMetrics(t *testing.T) {
	e := newEnv(t, openSQLite, server.Config{}, func(b backend.Backend, reg *prometheus.Registry) backend.Backend {
		return instrument.Wrap(b, reg)
	})
	seedKey(t, e)
	id, out := e.suspendOne("m", map[string]any{})
	wp := out.Waitpoints[0]
	sig := func(tok string) int {
		return e.post(execPath(id, "/signal"), map[string]any{"waitpoint_id": wp.WaitpointID, "token": tok, "signal_name": "go"}).status
	}
	require.Equal(t, http.StatusForbidden, sig("k1:bad"))
	require.Equal(t, http.StatusOK, sig(wp.Token))
	m := e.scrape()
	require.Equal(t, 1.0, m[`ff_suspensions_total{outcome="suspended"}`])
	require.Equal(t, 1.0, m[`ff_signals_total{effect="resume_condition_satisfied"}`])
	require.Equal(t, 1.0, m[`ff_backend_errors_total{kind="invalid_token",op="deliver_signal"}`])
}
