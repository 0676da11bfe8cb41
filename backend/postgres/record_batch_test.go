package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	ff "github.com/flowfabric-go/flowfabric"
)

// The held record rewrites of a flow transaction (one unnest statement
// per batch) must write exactly what the single-statement rewrite
// writes. Each case loads the same record, applies the same transitions,
// writes them one way and then the other, each in a transaction that is
// rolled back, and compares the whole rows.
func TestHeldRecordRewritesMatchSingleStatements(t *testing.T) {
	require.Len(t, updateArgs(&ff.Execution{}), len(recordSetColumns)+1, "recordSetColumns follows updateArgs")
	p := newParityEnv(t)
	id := p.create(nil)
	h := p.claim().Handle
	fence := h.Lease.Fence()
	now := p.clock.Now().UnixMilli()
	complete := func(e *ff.Execution) *ff.Effects {
		fx, _, err := e.Complete(now, fence, []byte(`{"r":1}`))
		require.NoError(t, err)
		return fx
	}
	progress := func(e *ff.Execution) *ff.Effects {
		e.ProgressPct, e.ProgressMessage = 40, "héllo"
		return nil
	}
	cases := map[string][]func(e *ff.Execution) *ff.Effects{
		"complete with a result":           {complete},
		"no result":                        {progress},
		"a result kept by a later rewrite": {complete, progress},
		"a rewrite then a result":          {progress, complete},
	}
	for name, steps := range cases {
		t.Run(name, func(t *testing.T) {
			single := p.rewriteRolledBack(t, id, steps, func(tx pgx.Tx) (save func(before, e *ff.Execution, fx *ff.Effects), done func()) {
				return func(before, e *ff.Execution, fx *ff.Effects) {
					b := &pgx.Batch{}
					require.NoError(t, queueRecordWrite(b, before, e, fx))
					require.NoError(t, execBatch(p.ctx, tx, b))
				}, func() {}
			})
			held := p.rewriteRolledBack(t, id, steps, func(tx pgx.Tx) (save func(before, e *ff.Execution, fx *ff.Effects), done func()) {
				s := &flowStore{ctx: p.ctx, b: p.b, tx: tx, now: now}
				return func(before, e *ff.Execution, fx *ff.Effects) { require.NoError(t, s.SaveExecution(before, e, fx)) },
					func() { require.NoError(t, s.flush()) }
			})
			require.Equal(t, single, held)
		})
	}
}

// rewriteRolledBack applies steps to id's record in a transaction, saves
// each, calls done, reads the row back and rolls back.
func (p *parityEnv) rewriteRolledBack(t *testing.T, id ff.ExecutionID, steps []func(e *ff.Execution) *ff.Effects,
	writer func(tx pgx.Tx) (save func(before, e *ff.Execution, fx *ff.Effects), done func())) map[string]any {
	tx, err := p.b.pool.Begin(p.ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(p.ctx) }()
	e, err := scanRecord(tx.QueryRow(p.ctx, `SELECT `+recordColumns+recordFrom+` WHERE e.id = $1 FOR UPDATE OF e`, id.String()))
	require.NoError(t, err)
	save, done := writer(tx)
	for _, step := range steps {
		before := *e
		save(&before, e, step(e))
	}
	done()
	rows, err := tx.Query(p.ctx, `SELECT * FROM ff_execution WHERE id = $1`, id.String())
	require.NoError(t, err)
	row, err := pgx.CollectExactlyOneRow(rows, pgx.RowToMap)
	require.NoError(t, err)
	return row
}
