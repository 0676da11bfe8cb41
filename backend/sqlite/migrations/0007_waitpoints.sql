-- FlowFabric embedded schema, version 7: suspension, waitpoints, signals and the
-- waitpoint signing keys.
--
-- Every waitpoint operation of an execution takes the execution's row lock
-- first, so these tables need no locks of their own. Lists (signal names,
-- waitpoint ids, satisfier ids) and the resume condition are JSON TEXT
-- written and read by the domain (flowfabric.Waitpoint, Suspension).

-- Signing keys: expires_at_ms = 0 marks the one current key; a retired key
-- verifies until its expiry, compared with the transaction's transaction's time.
CREATE TABLE ff_waitpoint_key (
    kid           TEXT   PRIMARY KEY,
    secret        BLOB  NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ff_waitpoint_key_current ON ff_waitpoint_key (expires_at_ms) WHERE expires_at_ms = 0;

CREATE TABLE ff_waitpoint (
    waitpoint_id          TEXT     PRIMARY KEY,
    execution_id          TEXT     NOT NULL,
    partition_key INTEGER NOT NULL,
    attempt_index         INTEGER  NOT NULL,
    waitpoint_key         TEXT     NOT NULL,
    state                 TEXT     NOT NULL,
    suspension_id         TEXT     NOT NULL DEFAULT '',
    token                 TEXT     NOT NULL,
    token_kid             TEXT     NOT NULL,
    required_signal_names TEXT     NOT NULL DEFAULT '[]',
    created_at_ms         INTEGER   NOT NULL,
    expires_at_ms         INTEGER   NOT NULL DEFAULT 0,
    activated_at_ms       INTEGER   NOT NULL DEFAULT 0,
    closed_at_ms          INTEGER   NOT NULL DEFAULT 0,
    close_reason          TEXT     NOT NULL DEFAULT ''
);
CREATE INDEX ff_waitpoint_exec ON ff_waitpoint (execution_id, created_at_ms);
-- One open waitpoint per key and execution.
CREATE UNIQUE INDEX ff_waitpoint_open_key ON ff_waitpoint (execution_id, waitpoint_key)
    WHERE state IN ('pending', 'active');
-- The pending-expiry sweep's range read.
CREATE INDEX ff_waitpoint_pending_due ON ff_waitpoint (expires_at_ms)
    WHERE state = 'pending' AND expires_at_ms > 0;

CREATE TABLE ff_suspension (
    suspension_id             TEXT     PRIMARY KEY,
    execution_id              TEXT     NOT NULL,
    partition_key INTEGER NOT NULL,
    attempt_index             INTEGER  NOT NULL,
    condition                 TEXT     NOT NULL,
    reason_code               TEXT     NOT NULL,
    timeout_at_ms             INTEGER   NOT NULL DEFAULT 0,
    timeout_behavior          TEXT     NOT NULL,
    waitpoint_ids             TEXT     NOT NULL DEFAULT '[]',
    idempotency_key           TEXT     NOT NULL DEFAULT '',
    idempotency_expires_at_ms INTEGER   NOT NULL DEFAULT 0,
    created_at_ms             INTEGER   NOT NULL,
    closed_at_ms              INTEGER   NOT NULL DEFAULT 0,
    close_reason              TEXT     NOT NULL DEFAULT '',
    satisfiers                TEXT     NOT NULL DEFAULT '[]'
);
CREATE INDEX ff_suspension_exec ON ff_suspension (execution_id, created_at_ms);
-- The timeout sweep's range read: open suspensions with a timeout.
CREATE INDEX ff_suspension_timeout_due ON ff_suspension (timeout_at_ms)
    WHERE closed_at_ms = 0 AND timeout_at_ms > 0;

CREATE TABLE ff_signal (
    seq             INTEGER PRIMARY KEY,
    signal_id       TEXT      NOT NULL UNIQUE,
    execution_id    TEXT      NOT NULL,
    partition_key INTEGER  NOT NULL,
    waitpoint_id    TEXT      NOT NULL,
    waitpoint_key   TEXT      NOT NULL,
    signal_name     TEXT      NOT NULL,
    payload         BLOB,
    source_type     TEXT      NOT NULL DEFAULT '',
    source_identity TEXT      NOT NULL DEFAULT '',
    idempotency_key TEXT      NOT NULL DEFAULT '',
    effect          TEXT      NOT NULL,
    received_at_ms  INTEGER    NOT NULL
);
CREATE INDEX ff_signal_exec ON ff_signal (execution_id, seq);
CREATE INDEX ff_signal_waitpoint ON ff_signal (waitpoint_id, seq);
-- Signal idempotency is per waitpoint.
CREATE UNIQUE INDEX ff_signal_idempotency ON ff_signal (waitpoint_id, idempotency_key) WHERE idempotency_key <> '';
