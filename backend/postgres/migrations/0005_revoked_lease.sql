-- FlowFabric schema, version 5: the epoch of a revoked lease.
--
-- revoked_lease_epoch is flowfabric.Execution.RevokedLeaseEpoch: when
-- someone other than the lease holder ends an active, leased execution (an
-- operator cancel; later a flow cancel), it records the lease's epoch, so
-- the holder's next fenced write fails with lease_revoked rather than
-- execution_not_active. 0 when no lease was revoked. Epochs only grow, so
-- no later lease ever matches it; the hot statements never read it (their
-- fence already fails on a terminal row).

ALTER TABLE ff_execution ADD COLUMN revoked_lease_epoch bigint NOT NULL DEFAULT 0;
