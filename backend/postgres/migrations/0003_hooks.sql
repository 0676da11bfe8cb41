-- FlowFabric schema, version 3: feature hooks on the execution row.
--
-- hooks is flowfabric.Hooks, a bit set written whole with the record by
-- every record writer. Each wave-2 feature that must act when one of its
-- executions completes or renews sets its bit; the fenced hot statements
-- leave rows with a bit of their mask (flowfabric.HooksCompleteSlow,
-- HooksRenewSlow) to the slow path, where the feature's writes happen in
-- the same transaction. Plain executions keep 0. The column is appended
-- with a constant default, so adding it rewrites no row.

ALTER TABLE ff_execution ADD COLUMN hooks smallint NOT NULL DEFAULT 0;
