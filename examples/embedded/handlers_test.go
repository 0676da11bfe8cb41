package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/fftest"
	"github.com/flowfabric-go/flowfabric/worker"
)

// syncBuffer is the mailbox the handlers write to while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The declared schedule enqueues one digest each morning at 08:00; the
// mailer sends the digest of the day before.
func TestDailyDigest(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		var mail syncBuffer
		w := e.NewWorker(worker.Config{Lanes: []string{"emails"}})
		register(w, &mail)

		e.Advance(2*24*time.Hour + 9*time.Hour) // to the third morning, 09:00
		morning := fftest.Epoch.Add(8 * time.Hour)
		fftest.RequireTicksFired(t, e, "", "daily-digest", morning, morning.AddDate(0, 0, 1), morning.AddDate(0, 0, 2))
		s, err := e.Backend().GetSchedule(t.Context(), backend.GetScheduleParams{ID: "daily-digest"})
		require.NoError(t, err)
		e.RunUntil(w, fftest.Completed(s.LastExecutionID))
		fftest.RequireCompleted(t, e, s.LastExecutionID, `{"digest_for":"2026-01-02"}`)
		require.Contains(t, mail.String(), "digest for 2026-01-02 sent\n")
	}, fftest.WithSchedules(schedules()...))
}

// A signup enqueues one welcome e-mail per address, which the mailer
// sends.
func TestSignupSendsOneWelcome(t *testing.T) {
	e := fftest.New(t)
	api := httptest.NewServer(signup(e.Backend()))
	defer api.Close()
	var mail syncBuffer
	w := e.NewWorker(worker.Config{Lanes: []string{"emails"}})
	register(w, &mail)

	first := postSignup(t, api.Client(), api.URL, "ada@example.com")
	require.Equal(t, first, postSignup(t, api.Client(), api.URL, "ada@example.com"), "one execution per address")
	e.RunUntil(w, fftest.Completed(first))
	fftest.RequireCompleted(t, e, first, `{"sent_to":"ada@example.com"}`)
	require.Equal(t, "welcome sent to ada@example.com\n", mail.String())

	resp, err := api.Client().Post(api.URL, "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
