-- FlowFabric embedded schema, version 8: flows (DAGs of executions).
--
-- Membership lives beside the execution row (ff_flow_member), so plain
-- executions carry nothing of flows. A member with unresolved inbound
-- edges is stored blocked_by_dependencies (ready = 0), so the claim index
-- never holds it. An upstream with outgoing edges carries the HookFlow
-- bit (ff_execution.hooks): its end resolves its edges in the same write
-- transaction. The single writer serializes every graph change, so the
-- cycle check always sees every committed edge.
CREATE TABLE ff_flow (
    flow_id         TEXT    PRIMARY KEY,
    partition_key   INTEGER NOT NULL,
    namespace       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    graph_revision  INTEGER NOT NULL DEFAULT 0,
    node_count      INTEGER NOT NULL DEFAULT 0,
    edge_count      INTEGER NOT NULL DEFAULT 0,
    created_at_ms   INTEGER NOT NULL,
    cancelled_at_ms INTEGER NOT NULL DEFAULT 0,
    cancel_policy   TEXT    NOT NULL DEFAULT '',
    cancel_reason   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX ff_flow_list ON ff_flow (namespace, flow_id);

-- One row per member: its join and whether it already fired.
CREATE TABLE ff_flow_member (
    execution_id  TEXT    PRIMARY KEY,
    flow_id       TEXT    NOT NULL REFERENCES ff_flow (flow_id),
    partition_key INTEGER NOT NULL,
    ref           TEXT    NOT NULL DEFAULT '',
    join_policy   TEXT    NOT NULL,
    join_n        INTEGER NOT NULL DEFAULT 0,
    on_satisfied  TEXT    NOT NULL,
    group_state   TEXT    NOT NULL,
    added_at_ms   INTEGER NOT NULL
);
CREATE INDEX ff_flow_member_flow ON ff_flow_member (flow_id, execution_id);

CREATE TABLE ff_flow_edge (
    flow_id        TEXT    NOT NULL REFERENCES ff_flow (flow_id),
    edge_id        TEXT    NOT NULL,
    partition_key  INTEGER NOT NULL,
    upstream_id    TEXT    NOT NULL,
    downstream_id  TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    state          TEXT    NOT NULL,
    created_at_ms  INTEGER NOT NULL,
    resolved_at_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, edge_id),
    UNIQUE (upstream_id, downstream_id)
);
CREATE INDEX ff_flow_edge_down ON ff_flow_edge (downstream_id);
CREATE INDEX ff_flow_edge_unresolved ON ff_flow_edge (upstream_id) WHERE state = 'unresolved';

-- The cancel backlog; rows are kept once done, so a repeated cancel
-- answers the same members.
CREATE TABLE ff_flow_cancel (
    flow_id       TEXT    NOT NULL REFERENCES ff_flow (flow_id),
    execution_id  TEXT    NOT NULL,
    partition_key INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
    PRIMARY KEY (flow_id, execution_id)
);
CREATE INDEX ff_flow_cancel_pending ON ff_flow_cancel (flow_id) WHERE done = 0;
