-- FlowFabric schema, version 2: idempotency keys expire.
--
-- A key is held for its execution policy's dedup_window_ms (default 24 h)
-- from creation, until idempotency_expires_at_ms (0 when the execution has
-- no key). A create that meets an expired key clears it from the old
-- execution and creates a new one, and the idempotency-expiry sweep clears
-- expired keys in batches through ff_execution_idempotency_due; a cleared
-- key ('') leaves the unique index ff_execution_idempotency. The column
-- is written at creation and by the clearing only, never by a transition.

ALTER TABLE ff_execution ADD COLUMN idempotency_expires_at_ms bigint NOT NULL DEFAULT 0;

-- Keys written before this version get the default window.
UPDATE ff_execution SET idempotency_expires_at_ms = created_at_ms + 86400000 WHERE idempotency_key <> '';

CREATE INDEX ff_execution_idempotency_due ON ff_execution (idempotency_expires_at_ms) WHERE idempotency_key <> '';
