package worker

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGatherBatchesWhatIsReady(t *testing.T) {
	t.Parallel()
	w := &Worker{}
	c := newCompleter(w, completeBatchMax+10)
	for range 5 {
		c.in <- completion{}
	}
	// Idle worker: take what is queued and flush at once, no linger.
	first := <-c.in
	require.Len(t, c.gather([]completion{first}), 5)

	for range completeBatchMax + 10 {
		c.in <- completion{}
	}
	first = <-c.in
	require.Len(t, c.gather([]completion{first}), completeBatchMax, "a batch is capped")
	for len(c.in) > 0 {
		<-c.in
	}
}

func TestGatherLingersOnlyBriefly(t *testing.T) {
	t.Parallel()
	w := &Worker{}
	w.running.Store(3) // busy: more completions may come
	c := newCompleter(w, 10)
	// With handlers still running and nothing else queued, gather must
	// end its linger by itself and flush the one completion (a liveness
	// check: the bound only catches a gather that never returns).
	done := make(chan []completion, 1)
	go func() { done <- c.gather([]completion{{}}) }()
	var batch []completion
	select {
	case batch = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("gather never returned while handlers were running")
	}
	require.Len(t, batch, 1)

	go func() { c.in <- completion{} }()
	batch = c.gather([]completion{{}})
	require.NotEmpty(t, batch)
}
