-- FlowFabric embedded schema, version 5: the epoch of a revoked lease.
--
-- revoked_lease_epoch is flowfabric.Execution.RevokedLeaseEpoch: when
-- someone other than the lease holder ends an active, leased execution (an
-- operator cancel; later a flow cancel), it records the lease's epoch, so
-- the holder's next fenced write fails with lease_revoked rather than
-- execution_not_active. 0 when no lease was revoked.

ALTER TABLE ff_execution ADD COLUMN revoked_lease_epoch INTEGER NOT NULL DEFAULT 0;
