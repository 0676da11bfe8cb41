-- FlowFabric schema, version 8: flows (DAGs of executions).
--
-- Membership lives beside the execution row (ff_flow_member), so plain
-- executions carry nothing of flows: no column, no index entry. A member
-- with unresolved inbound edges is stored blocked_by_dependencies, so the
-- claim index never holds it. An upstream with outgoing edges carries the
-- HookFlow bit (ff_execution.hooks): its end takes the slow path, which
-- resolves its edges in the same transaction. Every graph change of a
-- flow locks its ff_flow row, which serializes the cycle check.
CREATE TABLE ff_flow (
    flow_id         text     COLLATE "C" PRIMARY KEY,
    partition       smallint NOT NULL,
    namespace       text     NOT NULL,
    kind            text     NOT NULL,
    state           text     NOT NULL,
    graph_revision  bigint   NOT NULL DEFAULT 0,
    node_count      integer  NOT NULL DEFAULT 0,
    edge_count      integer  NOT NULL DEFAULT 0,
    created_at_ms   bigint   NOT NULL,
    cancelled_at_ms bigint   NOT NULL DEFAULT 0,
    cancel_policy   text     NOT NULL DEFAULT '',
    cancel_reason   text     NOT NULL DEFAULT ''
);
CREATE INDEX ff_flow_list ON ff_flow (namespace, flow_id);

-- One row per member: its join (the edge group of the spec) and whether
-- the join already fired (group_state: fire once).
CREATE TABLE ff_flow_member (
    execution_id  text     COLLATE "C" PRIMARY KEY,
    flow_id       text     COLLATE "C" NOT NULL REFERENCES ff_flow (flow_id),
    partition     smallint NOT NULL,
    ref           text     NOT NULL DEFAULT '',
    join_policy   text     NOT NULL,
    join_n        integer  NOT NULL DEFAULT 0,
    on_satisfied  text     NOT NULL,
    group_state   text     NOT NULL,
    added_at_ms   bigint   NOT NULL
);
CREATE INDEX ff_flow_member_flow ON ff_flow_member (flow_id, execution_id);

CREATE TABLE ff_flow_edge (
    flow_id        text     COLLATE "C" NOT NULL REFERENCES ff_flow (flow_id),
    edge_id        text     COLLATE "C" NOT NULL,
    partition      smallint NOT NULL,
    upstream_id    text     COLLATE "C" NOT NULL,
    downstream_id  text     COLLATE "C" NOT NULL,
    kind           text     NOT NULL,
    state          text     NOT NULL,
    created_at_ms  bigint   NOT NULL,
    resolved_at_ms bigint   NOT NULL DEFAULT 0,
    PRIMARY KEY (flow_id, edge_id),
    UNIQUE (upstream_id, downstream_id)
);
CREATE INDEX ff_flow_edge_down ON ff_flow_edge (downstream_id);
-- The backstop's scan: edges still unresolved.
CREATE INDEX ff_flow_edge_unresolved ON ff_flow_edge (upstream_id) WHERE state = 'unresolved';

-- The cancel backlog: members a flow cancel queued; done once cancelled
-- (kept, so a repeated cancel answers the same members).
CREATE TABLE ff_flow_cancel (
    flow_id      text     COLLATE "C" NOT NULL REFERENCES ff_flow (flow_id),
    execution_id text     COLLATE "C" NOT NULL,
    partition    smallint NOT NULL,
    done         boolean  NOT NULL DEFAULT false,
    PRIMARY KEY (flow_id, execution_id)
);
CREATE INDEX ff_flow_cancel_pending ON ff_flow_cancel (flow_id) WHERE NOT done;
