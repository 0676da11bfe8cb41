package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/client"
	"github.com/flowfabric-go/flowfabric/server"
)

// An operator raises an execution's priority and a service follows the
// operator events as they commit, from the cursor of now.
func ExampleClient_Events() {
	dir, _ := os.MkdirTemp("", "ff-example")
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "ff.db"), AutoMigrate: true})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	ts := httptest.NewServer(server.New(server.Config{Logger: slog.New(slog.DiscardHandler)}, b))
	defer ts.Close()
	c := client.New(ts.URL)

	now, _ := c.ReadEvents(ctx, backend.ReadEventsParams{After: backend.EventCursorLatest})
	res, _ := c.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "payments", Kind: "charge"})
	_ = c.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: res.ExecutionID, Priority: 9000,
		Who: ff.Actor{Source: "alice", Reason: "customer escalation"}})
	_, _ = c.SetLanePaused(ctx, backend.SetLanePausedParams{Lane: "payments", Paused: true, Who: ff.Actor{Source: "alice"}})

	follow := backend.ReadEventsParams{After: now.Next, Types: []ff.EventType{ff.EventOperator}}
	seen := 0
	for ev, err := range c.Events(ctx, follow, client.FollowOptions{}) {
		if err != nil {
			panic(err)
		}
		fmt.Println(ev.Type, ev.Action, ev.Lane, string(ev.Data.(json.RawMessage)))
		if seen++; seen == 2 {
			break
		}
	}
	// Output:
	// operator priority_changed payments {"source":"alice","reason":"customer escalation","old_priority":0,"priority":9000}
	// operator lane_paused payments {"source":"alice"}
}
