package cli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func TestScheduleCommands(t *testing.T) {
	e := fftest.New(t, fftest.WithHTTP())
	srv := []string{"--server", e.URL()}
	run := func(args ...string) string {
		t.Helper()
		out, errOut, code := runMain(t, nil, append(args, srv...)...)
		require.Zero(t, code, "%v: %s", args, errOut)
		return out
	}
	out := run("schedule", "create", "nightly", "--cron", "0 2 * * *", "--timezone", "Europe/Paris", "--kind", "report.build",
		"--input", `{"scope":"all"}`, "--catch-up", "catch_up", "--catch-up-max", "2", "--tag", "team.owner=data")
	require.Equal(t, "nightly created, next tick 2026-01-01T01:00:00Z\n", out)
	var s wire.Schedule
	require.NoError(t, json.Unmarshal([]byte(run("schedule", "create", "nightly", "--cron", "0 2 * * *", "--timezone", "Europe/Paris",
		"--kind", "report.build", "--input", `{"scope":"all"}`, "--catch-up", "catch_up", "--catch-up-max", "2",
		"--tag", "team.owner=data", "--json")), &s))
	require.Equal(t, "existing", s.Outcome)
	require.Equal(t, "nightly replaced, next tick 2026-01-01T01:00:00Z\n",
		run("schedule", "create", "nightly", "--every", "1h", "--kind", "report.build", "--replace"))
	run("schedule", "create", "beat", "--every", "30s", "--kind", "ops.ping", "--paused")

	require.Equal(t, "ID       SPEC          NEXT                  LAST  FIRED  SKIPPED  STATE\n"+
		"beat     every 30s     2026-01-01T00:00:30Z  -     0      0        paused\n"+
		"nightly  every 1h0m0s  2026-01-01T01:00:00Z  -     0      0        running\n", run("schedule", "list"))
	var page wire.SchedulePage
	require.NoError(t, json.Unmarshal([]byte(run("schedule", "list", "--paused", "--json")), &page))
	require.Len(t, page.Schedules, 1)
	require.Equal(t, "beat", page.Schedules[0].ScheduleID)

	require.NoError(t, json.Unmarshal([]byte(run("schedule", "get", "nightly", "--json")), &s))
	require.Len(t, s.UpcomingMs, 5)
	require.Contains(t, run("schedule", "get", "nightly"), "upcoming   2026-01-01T05:00:00Z")
	require.Equal(t, "nightly paused\n", run("schedule", "pause", "nightly", "--reason", "deploy"))
	require.Equal(t, "nightly resumed\n", run("schedule", "resume", "nightly"))
	require.Equal(t, "nightly deleted\n", run("schedule", "delete", "nightly"))
	_, errOut, code := runMain(t, nil, append([]string{"schedule", "get", "nightly"}, srv...)...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "not_found")
}

func TestScheduleNextIsLocal(t *testing.T) {
	out, errOut, code := runMain(t, nil, "schedule", "next", "--cron", "30 1 * * *", "--timezone", "America/New_York",
		"--from", "2026-10-31T12:00:00Z", "-n", "2")
	require.Zero(t, code, errOut)
	require.Equal(t, "2026-11-01T05:30:00Z\n2026-11-02T06:30:00Z\n", out)
	out, _, code = runMain(t, nil, "schedule", "next", "--every", "90m", "--from", "2026-01-01T00:00:00Z", "-n", "1", "--json")
	require.Zero(t, code)
	require.JSONEq(t, `{"ticks":["2026-01-01T01:30:00Z"]}`, out)
	for _, bad := range [][]string{{"schedule", "next"}, {"schedule", "next", "--cron", "x"}, {"schedule", "create", "s", "--every", "1m"},
		{"schedule", "create", "s", "--kind", "k", "--every", "1m", "--start-at", "tomorrow"}} {
		_, _, code := runMain(t, nil, bad...)
		require.Equal(t, 2, code, "%v", bad)
	}
}
