package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
)

// The outbox is gap-free in commit order: ids are taken at insert, so
// transactions commit their events out of id order; a follower walking
// the cursor must still see each event exactly once.

const insertTestEvent = `INSERT INTO ff_event (type, action, partition, lane, at_ms, data)
	VALUES ('operator', 'test', 0, 'order', 0, jsonb_build_object('n', $1::int))`

// eventNumbers is the "n" of each event of page.
func eventNumbers(t *testing.T, page backend.EventPage) []int {
	t.Helper()
	var out []int
	for _, ev := range page.Events {
		var d struct{ N int }
		require.NoError(t, json.Unmarshal(ev.Data.(json.RawMessage), &d))
		out = append(out, d.N)
	}
	return out
}

// An event written first but committed last is not skipped by a
// follower that already read the later one's commit: the later one is
// held back until the earlier transaction ends, then both come in order.
func TestOutboxLateCommitIsNotSkipped(t *testing.T) {
	ctx := context.Background()
	b, _ := openFresh(t, nil)
	early, err := b.Pool().Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = early.Rollback(ctx) }()
	_, err = early.Exec(ctx, insertTestEvent, 1)
	require.NoError(t, err)
	late, err := b.Pool().Begin(ctx)
	require.NoError(t, err)
	_, err = late.Exec(ctx, insertTestEvent, 2)
	require.NoError(t, err)
	require.NoError(t, late.Commit(ctx))

	// A short read, so the horizon is held only briefly (other packages'
	// tests share the server). Under heavy load the statement itself may
	// outlive it: then it returned nothing either.
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	page, err := b.ReadEvents(short, backend.ReadEventsParams{})
	cancel()
	if err != nil {
		require.ErrorIs(t, err, ff.ErrTimeout)
	}
	require.Empty(t, page.Events, "event 2 committed, but event 1's transaction still runs: nothing is settled")
	require.Empty(t, page.Next)

	require.NoError(t, early.Commit(ctx))
	page, err = b.ReadEvents(ctx, backend.ReadEventsParams{After: page.Next})
	require.NoError(t, err)
	require.Equal(t, []int{1, 2}, eventNumbers(t, page))
	again, err := b.ReadEvents(ctx, backend.ReadEventsParams{After: page.Next})
	require.NoError(t, err)
	require.Empty(t, again.Events)
}

// Many writers commit events in random interleavings while a follower
// walks the cursor: it sees every event exactly once.
func TestOutboxConcurrentWritersFollowerSeesEachOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, _ := openFresh(t, nil)
	const writers, txs = 6, 20
	var wg sync.WaitGroup
	total := make(chan int, writers)
	for w := range writers {
		wg.Go(func() { total <- writeEvents(ctx, t, b, w, txs) })
	}
	seen := map[int]int{}
	var cur backend.EventCursor
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	want := -1
	for want < 0 || len(seen) < want {
		select {
		case <-done:
			if want < 0 {
				want = 0
				for range writers {
					want += <-total
				}
			}
		default:
		}
		page, err := b.ReadEvents(ctx, backend.ReadEventsParams{After: cur, Limit: 7})
		require.NoError(t, err)
		for _, n := range eventNumbers(t, page) {
			seen[n]++
		}
		cur = page.Next
		require.NoError(t, ctx.Err(), "saw %d events", len(seen))
	}
	for n, c := range seen {
		require.Equal(t, 1, c, "event %d seen %d times", n, c)
	}
	require.Len(t, seen, want)
}

// writeEvents commits txs transactions of 1 to 3 events each, holding
// each open a random moment so that commits interleave out of id order,
// and rolls some back; it returns how many events committed.
func writeEvents(ctx context.Context, t *testing.T, b *postgres.Backend, w, txs int) int {
	committed := 0
	for i := range txs {
		tx, err := b.Pool().Begin(ctx)
		if !assertNoErr(t, err) {
			return committed
		}
		k := 1 + rand.IntN(3)
		for j := range k {
			_, err := tx.Exec(ctx, insertTestEvent, (w*txs+i)*10+j)
			assertNoErr(t, err)
		}
		time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond) // interleave the commits
		if i%5 == 4 {
			assertNoErr(t, tx.Rollback(ctx))
			continue
		}
		if assertNoErr(t, tx.Commit(ctx)) {
			committed += k
		}
	}
	return committed
}

func assertNoErr(t *testing.T, err error) bool {
	if err != nil {
		t.Error(fmt.Errorf("writer: %w", err))
		return false
	}
	return true
}

// A commit in another process wakes this process's event subscribers
// (LISTEN/NOTIFY, coalesced with the lane wake-ups).
func TestSubscribeEventsWokenByAnotherProcess(t *testing.T) {
	ctx := t.Context()
	a, url := openFresh(t, nil)
	other, err := postgres.Open(ctx, postgres.Options{URL: url})
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	ch, stop := a.SubscribeEvents(ctx)
	defer stop()
	res, err := other.CreateExecution(ctx, backend.CreateExecutionParams{Lane: "x", Kind: "k"})
	require.NoError(t, err)
	// The listener may start after the first NOTIFY: keep committing
	// events until one wakes us (each is a real commit of the other
	// process, never a wake-up of this one).
	for i := int64(1); ; i++ {
		require.NoError(t, other.ChangePriority(ctx, backend.ChangePriorityParams{ExecutionID: res.ExecutionID, Priority: i % 9000}))
		select {
		case <-ch:
			return
		case <-time.After(100 * time.Millisecond):
			require.Less(t, i, int64(100), "no wake-up from the other process")
		}
	}
}
