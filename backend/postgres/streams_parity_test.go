package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The stream statements restate the fence check of the state machine
// (Execution.CheckFence, plus the handle naming the current attempt) as
// the SQL predicate streamFence. For each case, the predicate accepts the
// handle exactly when the state machine does.
func TestStreamFenceParity(t *testing.T) {
	p := newParityEnv(t)
	cases := []struct {
		name  string
		setup func() ff.Handle
	}{
		{"valid", func() ff.Handle { p.create(nil); return p.claim().Handle }},
		{"forged lease id", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			h.Lease.LeaseID = "forged"
			return h
		}},
		{"stale epoch", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			h.Lease.LeaseEpoch++
			return h
		}},
		{"other attempt id", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			h.Lease.AttemptID = "other"
			return h
		}},
		{"other attempt index", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			h.Lease.AttemptIndex++
			return h
		}},
		{"completed", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			require.NoError(t, p.b.Complete(p.ctx, backend.CompleteParams{Handle: h}))
			return h
		}},
		{"delayed", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			require.NoError(t, p.b.Delay(p.ctx, backend.DelayParams{Handle: h, Until: p.clock.Now().Add(time.Duration(parityTTL) * time.Millisecond)}))
			return h
		}},
		// Last: the due lease stays in the table, unmarked.
		{"lease due", func() ff.Handle {
			p.create(nil)
			h := p.claim().Handle
			p.advance(parityTTL)
			return h
		}},
	}
	for _, c := range cases {
		h := c.setup()
		l := h.Lease
		var n int
		require.NoError(t, p.b.pool.QueryRow(p.ctx, `SELECT count(*) FROM ff_execution e WHERE `+streamFence,
			l.ExecutionID.String(), l.LeaseID, int64(l.LeaseEpoch), l.AttemptID, int32(l.AttemptIndex), p.b.nowArg()).Scan(&n))
		e, err := p.b.loadRecord(p.ctx, l.ExecutionID)
		require.NoError(t, err)
		_, ferr := e.CheckFence(p.clock.Now().UnixMilli(), l.Fence())
		idx, _ := e.CurrentAttemptIndex()
		goAccepts := ferr == nil && idx == l.AttemptIndex
		require.Equal(t, goAccepts, n == 1, "%s: SQL accepts %v, the state machine %v (%v)", c.name, n == 1, goAccepts, ferr)
		if c.name == "valid" {
			require.True(t, goAccepts)
		}
	}
}
