package ffserver_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/ffserver"
)

func nightly(priority int64) backend.CreateScheduleParams {
	return backend.CreateScheduleParams{ID: "nightly", Spec: ff.ScheduleSpec{Cron: "0 2 * * *", Timezone: "Europe/Paris"},
		Execution: backend.CreateExecutionParams{Lane: "reports", Kind: "report.nightly", Priority: priority}}
}

// Schedules declared in Config are stored at Open; a second Open with
// the same declaration changes nothing, a changed one replaces it and
// keeps its pause.
func TestDeclaredSchedules(t *testing.T) {
	eachStore(t, func(t *testing.T, k storeKind) {
		url := k.url(t)
		open := func(p backend.CreateScheduleParams) *ffserver.Server {
			srv, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: url, Migrate: ffserver.MigrateAlways, WaitpointHMACSecret: testSecret,
				Logger: quiet(), Schedules: []backend.CreateScheduleParams{p}})
			require.NoError(t, err)
			return srv
		}
		srv := open(nightly(0))
		first, err := srv.Backend().GetSchedule(t.Context(), backend.GetScheduleParams{ID: "nightly"})
		require.NoError(t, err)
		require.Equal(t, ff.SourceDeclared, first.Source)
		paused, err := srv.Backend().PauseSchedule(t.Context(), backend.PauseScheduleParams{ID: "nightly"})
		require.NoError(t, err)
		require.NoError(t, srv.Close())

		srv = open(nightly(0))
		again, err := srv.Backend().GetSchedule(t.Context(), backend.GetScheduleParams{ID: "nightly"})
		require.NoError(t, err)
		require.Equal(t, paused, again, "an unchanged declaration writes nothing")
		require.NoError(t, srv.Close())

		srv = open(nightly(5))
		defer srv.Close()
		changed, err := srv.Backend().GetSchedule(t.Context(), backend.GetScheduleParams{ID: "nightly"})
		require.NoError(t, err)
		require.NotEqual(t, first.DefinitionHash, changed.DefinitionHash)
		require.Equal(t, int64(5), changed.Template.Priority)
		require.True(t, changed.Paused, "a replaced declaration keeps its pause")
		require.Equal(t, first.NextFireAtMs, changed.NextFireAtMs, "same spec, same next tick")
	})
}

// A bad declaration fails Open with the validation error.
func TestDeclaredScheduleInvalid(t *testing.T) {
	p := nightly(0)
	p.Spec = ff.ScheduleSpec{Every: time.Millisecond}
	_, err := ffserver.Open(t.Context(), ffserver.Config{DatabaseURL: kinds[0].url(t), Logger: quiet(),
		Schedules: []backend.CreateScheduleParams{p}})
	require.ErrorIs(t, err, ff.ErrInvalidInput)
}
