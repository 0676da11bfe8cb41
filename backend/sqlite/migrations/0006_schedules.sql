-- FlowFabric embedded schema, version 6: stored periodic schedules.
--
-- A schedule's definition (spec, catch-up policy, execution template) is
-- one JSON document written and read by the domain (ff.Schedule); the
-- columns beside it are what the sweep selects on and what it updates. A
-- tick is fired in the write transaction that advances next_fire_at_ms
-- past it, and its execution carries the idempotency key
-- ffsched:<id>:<tick_ms>, so a repeated fire of a tick finds the execution
-- instead of making a second one. next_fire_at_ms only grows; 0 means no
-- tick remains.
CREATE TABLE ff_schedule (
    namespace         TEXT    NOT NULL,
    id                TEXT    NOT NULL,
    partition_key     INTEGER NOT NULL,
    source            TEXT    NOT NULL,
    definition        TEXT    NOT NULL,
    definition_hash   TEXT    NOT NULL,
    spec_hash         TEXT    NOT NULL,
    paused            INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    pause_reason      TEXT    NOT NULL DEFAULT '',
    paused_at_ms      INTEGER NOT NULL DEFAULT 0,
    next_fire_at_ms   INTEGER NOT NULL,
    last_tick_ms      INTEGER NOT NULL DEFAULT 0,
    last_execution_id TEXT    NOT NULL DEFAULT '',
    fired_count       INTEGER NOT NULL DEFAULT 0,
    skipped_count     INTEGER NOT NULL DEFAULT 0,
    last_error        TEXT    NOT NULL DEFAULT '',
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL,
    PRIMARY KEY (namespace, id)
) WITHOUT ROWID;
-- The sweep's range read: due, running schedules.
CREATE INDEX ff_schedule_due ON ff_schedule (next_fire_at_ms) WHERE paused = 0 AND next_fire_at_ms > 0;
