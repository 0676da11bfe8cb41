package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"

	ff "github.com/flowfabric-go/flowfabric"
)

// capCache mirrors ff_capability_set. Interned sets are immutable and ids
// only grow, so the cache is reloaded incrementally (ids above the highest
// known) whenever an unknown id shows up.
type capCache struct {
	mu    sync.RWMutex
	byID  map[int64][]string
	byCSV map[string]int64
	// maxID is the highest id read by reload, which reads every id above
	// the previous maxID; ids added one by one do not move it, so a gap
	// left by another process is never skipped.
	maxID int64
	// memo maps a worker's capability signature to the ids of the sets it
	// satisfies; it is cleared whenever a set is added.
	memo map[string][]int64
}

const memoLimit = 1024

const (
	qFindCapSet   = `SELECT id FROM ff_capability_set WHERE csv = ?`
	qInsertCapSet = `INSERT INTO ff_capability_set (csv) VALUES (?)`
)

func newCapCache() *capCache {
	return &capCache{
		byID:  map[int64][]string{0: nil},
		byCSV: map[string]int64{"": 0},
		memo:  map[string][]int64{},
	}
}

func (c *capCache) addLocked(id int64, csv string) {
	if _, ok := c.byID[id]; ok {
		return
	}
	c.byID[id] = ff.ParseCapabilitySignature(csv)
	c.byCSV[csv] = id
	clear(c.memo)
}

func (c *capCache) add(id int64, csv string) {
	c.mu.Lock()
	c.addLocked(id, csv)
	c.mu.Unlock()
}

// reload reads the sets interned since the last load.
func (c *capCache) reload(ctx context.Context, q querier) error {
	c.mu.RLock()
	from := c.maxID
	c.mu.RUnlock()
	rows, err := q.QueryContext(ctx, `SELECT id, csv FROM ff_capability_set WHERE id > ? ORDER BY id`, from)
	if err != nil {
		return driverError("sqlite: load capability sets", err)
	}
	defer rows.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	for rows.Next() {
		var id int64
		var csv string
		if err := rows.Scan(&id, &csv); err != nil {
			return driverError("sqlite: load capability sets", err)
		}
		c.addLocked(id, csv)
		c.maxID = max(c.maxID, id)
	}
	if err := rows.Err(); err != nil {
		return driverError("sqlite: load capability sets", err)
	}
	return nil
}

// tokens returns a copy of the set with id, reloading once on a miss.
func (c *capCache) tokens(ctx context.Context, q querier, id int64) ([]string, error) {
	c.mu.RLock()
	t, ok := c.byID[id]
	c.mu.RUnlock()
	if !ok {
		if err := c.reload(ctx, q); err != nil {
			return nil, err
		}
		c.mu.RLock()
		t, ok = c.byID[id]
		c.mu.RUnlock()
		if !ok {
			return nil, ff.Corruption("capability set %d is not interned", id)
		}
	}
	return slices.Clone(t), nil
}

// refresh reloads when q shows ids the cache does not know.
func (c *capCache) refresh(ctx context.Context, q querier) error {
	var maxID int64
	if err := q.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM ff_capability_set`).Scan(&maxID); err != nil {
		return driverError("sqlite: read capability sets", err)
	}
	c.mu.RLock()
	known := c.maxID
	c.mu.RUnlock()
	if maxID <= known {
		return nil
	}
	return c.reload(ctx, q)
}

// satisfied returns the ids of every interned set that a worker offering
// have (normalized) satisfies, ascending. The empty set (0) is always in.
func (c *capCache) satisfied(have []string) []int64 {
	key := ff.CapabilitySignature(have)
	c.mu.RLock()
	ids, ok := c.memo[key]
	c.mu.RUnlock()
	if ok {
		return ids
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ids = make([]int64, 0, 4)
	for id, req := range c.byID {
		if ff.Satisfies(have, req) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(c.memo) >= memoLimit {
		clear(c.memo)
	}
	c.memo[key] = ids
	return ids
}

// intern returns the signature id of the normalized set caps, inserting
// it when new. A new id enters the cache only after the commit.
func (w *writeTx) intern(caps []string) (int64, error) {
	csv := ff.CapabilitySignature(caps)
	c := w.b.caps
	c.mu.RLock()
	id, ok := c.byCSV[csv]
	c.mu.RUnlock()
	if ok {
		return id, nil
	}
	err := w.queryRow(qFindCapSet, csv).Scan(&id)
	switch {
	case err == nil:
		c.add(id, csv) // committed by someone else already
		return id, nil
	case !errors.Is(err, sql.ErrNoRows):
		return 0, driverError("sqlite: intern capability set", err)
	}
	res, err := w.exec("sqlite: intern capability set", qInsertCapSet, csv)
	if err != nil {
		return 0, err
	}
	if id, err = res.LastInsertId(); err != nil {
		return 0, driverError("sqlite: intern capability set", err)
	}
	w.after = append(w.after, func() { c.add(id, csv) })
	return id, nil
}
