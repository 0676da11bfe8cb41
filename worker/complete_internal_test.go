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
	start := time.Now()
	batch := c.gather([]completion{{}})
	require.Len(t, batch, 1)
	// The linger is 1ms; allow for a slow machine, but it must not be a
	// poll interval.
	require.Less(t, time.Since(start), time.Second)

	go func() { c.in <- completion{} }()
	batch = c.gather([]completion{{}})
	require.NotEmpty(t, batch)
}
