-- FlowFabric schema, version 4: one outbox for every event family.
--
-- ff_event keeps its cursor, (xid, id): a reader only consumes rows written
-- by transactions older than every running one, so no row that commits
-- late is ever skipped. A row is one flowfabric.Event: its type
-- (completion, lease, signal, operator, flow, budget) and the action of
-- that type's vocabulary (a completion's action is its outcome), the
-- execution it is about ('' for none), a flow (NULL for none), and data,
-- a JSON object (NULL means {}: everything is in the typed columns).
--
-- A row that ends a lease (a completion of a leased execution, a lease
-- event) carries the lease's identity in typed columns: the completion
-- statement fills them from the row it completes, without a jsonb datum.
-- Lease starts are not written by the claim; a reader expands them from
-- the row that ends the lease (acquired_action, acquired_at_ms).
ALTER TABLE ff_event RENAME COLUMN kind TO type;
ALTER TABLE ff_event RENAME COLUMN outcome TO action;
ALTER TABLE ff_event
    ALTER COLUMN execution_id SET DEFAULT '',
    ALTER COLUMN lane SET DEFAULT '',
    -- The lease the row ends: -1 / 0 / '' when none.
    ADD COLUMN attempt_index      integer NOT NULL DEFAULT -1,
    ADD COLUMN lease_epoch        bigint  NOT NULL DEFAULT 0,
    ADD COLUMN acquired_at_ms     bigint  NOT NULL DEFAULT 0,
    ADD COLUMN attempt_id         text    NOT NULL DEFAULT '',
    ADD COLUMN attempt_type       text    NOT NULL DEFAULT '',
    ADD COLUMN worker_id          text    NOT NULL DEFAULT '',
    ADD COLUMN worker_instance_id text    NOT NULL DEFAULT '',
    -- On a row that is not a lease event: the lease action it implies
    -- ('released', 'expired', 'revoked').
    ADD COLUMN lease_end          text    NOT NULL DEFAULT '',
    -- The lease's start to expand before this row: 'acquired' or
    -- 'reclaimed'; '' when the row ends no lease.
    ADD COLUMN acquired_action    text    NOT NULL DEFAULT '',
    ADD COLUMN flow_id            text COLLATE "C",
    ADD COLUMN data               jsonb;

-- When the claim took the current (or last) lease; kept when it ends, like
-- lease_epoch. Leases held across this migration report their attempt's
-- start.
ALTER TABLE ff_execution ADD COLUMN lease_acquired_ms bigint NOT NULL DEFAULT 0;
UPDATE ff_execution SET lease_acquired_ms = attempt_started_ms WHERE ownership_state = 'leased';
