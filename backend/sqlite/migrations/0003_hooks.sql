-- FlowFabric embedded schema, version 3: feature hooks on the execution row.
--
-- hooks is flowfabric.Hooks, a bit set written whole with the record by
-- every transition. SQLite runs the state machine for every write, so the
-- column only carries the bits; the features act on them in Go.

ALTER TABLE ff_execution ADD COLUMN hooks INTEGER NOT NULL DEFAULT 0;
