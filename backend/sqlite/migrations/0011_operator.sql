-- FlowFabric embedded schema, version 10: operator control of lanes.
--
-- ff_lane_state holds one row per paused lane (no row: the lane runs).
-- The claim's head query of a lane probes it first, so a paused lane is
-- never scanned. Executions of a paused lane keep their stored state
-- (waiting); reads report them blocked by lane state.
CREATE TABLE ff_lane_state (
    lane         TEXT    PRIMARY KEY,
    paused_at_ms INTEGER NOT NULL,
    source       TEXT    NOT NULL DEFAULT '',
    reason       TEXT    NOT NULL DEFAULT ''
) WITHOUT ROWID;
