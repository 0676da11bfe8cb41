-- FlowFabric schema, version 10: operator control of lanes.
--
-- ff_lane_state holds one row per paused lane (no row: the lane runs).
-- The claim statement drops the requested lanes that have a row before it
-- reads any execution, so a paused lane costs one probe of this small
-- table per claim, never a scan of its backlog. Executions of a paused
-- lane keep their stored state (waiting); reads report them blocked by
-- lane state.
CREATE TABLE ff_lane_state (
    lane         text COLLATE "C" PRIMARY KEY,
    paused_at_ms bigint NOT NULL,
    source       text NOT NULL DEFAULT '',
    reason       text NOT NULL DEFAULT ''
);
