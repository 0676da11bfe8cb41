-- FlowFabric embedded schema, version 4: one outbox for every event family.
--
-- ff_event replaces ff_completion_event. A row is one flowfabric.Event: its
-- type (completion, lease, signal, operator, flow, budget) and the action
-- of that type's vocabulary (a completion's action is its outcome), the
-- execution it is about ('' for none), a flow (NULL for none), and data, a
-- JSON object as TEXT (NULL means {}: everything is in the typed columns).
-- A row that ends a lease carries the lease's identity in typed columns;
-- lease starts are not written by the claim, a reader expands them from
-- the row that ends the lease (acquired_action, acquired_at_ms).
--
-- id is the cursor: the database has one writer at a time, so commit order
-- is id order. The completion events are carried over with their ids, and
-- the old table's AUTOINCREMENT high-water mark with them, so no cursor
-- ever handed out is reused. No foreign key: events outlive executions.
CREATE TABLE ff_event (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    type               TEXT    NOT NULL,
    action             TEXT    NOT NULL,
    execution_id       TEXT    NOT NULL DEFAULT '',
    partition_key      INTEGER NOT NULL,
    lane               TEXT    NOT NULL DEFAULT '',
    namespace          TEXT    NOT NULL DEFAULT '',
    at_ms              INTEGER NOT NULL,
    -- The lease the row ends: -1 / 0 / '' when none.
    attempt_index      INTEGER NOT NULL DEFAULT -1,
    lease_epoch        INTEGER NOT NULL DEFAULT 0,
    acquired_at_ms     INTEGER NOT NULL DEFAULT 0,
    attempt_id         TEXT    NOT NULL DEFAULT '',
    attempt_type       TEXT    NOT NULL DEFAULT '',
    worker_id          TEXT    NOT NULL DEFAULT '',
    worker_instance_id TEXT    NOT NULL DEFAULT '',
    -- On a row that is not a lease event: the lease action it implies.
    lease_end          TEXT    NOT NULL DEFAULT '',
    -- The lease's start to expand before this row ('acquired',
    -- 'reclaimed'); '' when the row ends no lease.
    acquired_action    TEXT    NOT NULL DEFAULT '',
    flow_id            TEXT,
    data               TEXT
);
INSERT INTO ff_event (id, type, action, execution_id, partition_key, lane, namespace, at_ms)
    SELECT id, 'completion', outcome, execution_id, partition_key, lane, namespace, at_ms
    FROM ff_completion_event ORDER BY id;
-- The copy moved ff_event's counter to the largest id copied; the old
-- table's counter is at least that (ids of deleted rows count too).
DELETE FROM sqlite_sequence WHERE name = 'ff_event';
INSERT INTO sqlite_sequence (name, seq)
    SELECT 'ff_event', coalesce(max(seq), 0) FROM sqlite_sequence WHERE name = 'ff_completion_event';
DROP TABLE ff_completion_event;

-- The current attempt's type, start and worker, kept on the row as on
-- Postgres (not cleared with the lease): the event that ends a lease
-- names them. Rows written before this version take them from their
-- current attempt's row.
ALTER TABLE ff_execution ADD COLUMN attempt_type TEXT NOT NULL DEFAULT '';
ALTER TABLE ff_execution ADD COLUMN attempt_started_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ff_execution ADD COLUMN attempt_worker_id TEXT NOT NULL DEFAULT '';
ALTER TABLE ff_execution ADD COLUMN attempt_worker_instance_id TEXT NOT NULL DEFAULT '';
UPDATE ff_execution SET attempt_type = a.attempt_type, attempt_started_ms = a.started_at_ms,
    attempt_worker_id = a.worker_id, attempt_worker_instance_id = a.worker_instance_id
FROM ff_attempt a
WHERE a.execution_id = ff_execution.execution_id AND a.attempt_index = ff_execution.attempt_count - 1;

-- When the claim took the current (or last) lease; kept when it ends, like
-- lease_epoch. Leases held across this migration report their attempt's
-- start.
ALTER TABLE ff_execution ADD COLUMN lease_acquired_ms INTEGER NOT NULL DEFAULT 0;
UPDATE ff_execution SET lease_acquired_ms = attempt_started_ms WHERE ownership_state = 'leased';
