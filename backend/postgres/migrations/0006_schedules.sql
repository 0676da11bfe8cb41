-- FlowFabric schema, version 6: stored periodic schedules.
--
-- A schedule's definition (spec, catch-up policy, execution template) is
-- one JSON document written and read by the domain (ff.Schedule); the
-- columns beside it are what the sweep selects on and what it updates. A
-- tick is fired in the transaction that advances next_fire_at_ms past it,
-- and its execution carries the idempotency key ffsched:<id>:<tick_ms>,
-- so a repeated fire of a tick finds the execution instead of making a
-- second one. next_fire_at_ms only grows; 0 means no tick remains.
CREATE TABLE ff_schedule (
    partition         smallint NOT NULL,
    namespace         text     NOT NULL,
    id                text     COLLATE "C" NOT NULL,
    source            text     NOT NULL,
    definition        text     NOT NULL,
    definition_hash   text     NOT NULL,
    spec_hash         text     NOT NULL,
    paused            boolean  NOT NULL DEFAULT false,
    pause_reason      text     NOT NULL DEFAULT '',
    paused_at_ms      bigint   NOT NULL DEFAULT 0,
    next_fire_at_ms   bigint   NOT NULL,
    last_tick_ms      bigint   NOT NULL DEFAULT 0,
    last_execution_id text     NOT NULL DEFAULT '',
    fired_count       bigint   NOT NULL DEFAULT 0,
    skipped_count     bigint   NOT NULL DEFAULT 0,
    last_error        text     NOT NULL DEFAULT '',
    created_at_ms     bigint   NOT NULL,
    updated_at_ms     bigint   NOT NULL,
    PRIMARY KEY (partition, namespace, id)
);
-- The sweep's range read: due, running schedules.
CREATE INDEX ff_schedule_due ON ff_schedule (next_fire_at_ms) WHERE NOT paused AND next_fire_at_ms > 0;
-- Listing a namespace by id.
CREATE INDEX ff_schedule_list ON ff_schedule (namespace, id);
