package sqlite

import (
	"errors"

	ff "github.com/flowfabric-go/flowfabric"
)

// unblockRef unblocks up to n executions blocked by (kind, ref), in claim
// order, each through the state machine.
func (w *writeTx) unblockRef(kind, ref string, n int64) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	ids, err := w.strings(`SELECT execution_id FROM ff_admission_block WHERE kind = ? AND ref_id = ?
		ORDER BY priority DESC, seq LIMIT ?`, kind, ref, n)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, id := range ids {
		ok, err := w.unblockExecution(id)
		if err != nil {
			return done, err
		}
		if ok {
			done++
		}
	}
	return done, nil
}

// unblockExecution returns one blocked execution to the ready index and
// deletes its blocked row.
func (w *writeTx) unblockExecution(id string) (bool, error) {
	if _, err := w.exec("sqlite: unblock", `DELETE FROM ff_admission_block WHERE execution_id = ?`, id); err != nil {
		return false, err
	}
	eid, err := ff.ParseExecutionID(id)
	if err != nil {
		return false, ff.Corruption("blocked execution id %q: %v", id, err)
	}
	r, err := w.load(eid)
	if errors.Is(err, ff.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !r.e.Unblock(w.now) {
		return false, nil
	}
	return true, w.save(r, false, nil)
}
