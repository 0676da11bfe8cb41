-- FlowFabric schema, version 7: suspension, waitpoints, signals and the
-- waitpoint signing keys.
--
-- Every waitpoint operation of an execution takes the execution's row lock
-- first, so these tables need no locks of their own. Lists (signal names,
-- waitpoint ids, satisfier ids) and the resume condition are JSON text
-- written and read by the domain (flowfabric.Waitpoint, Suspension).

-- Signing keys: expires_at_ms = 0 marks the one current key; a retired key
-- verifies until its expiry, compared with the transaction's database time.
CREATE TABLE ff_waitpoint_key (
    kid           text   PRIMARY KEY,
    secret        bytea  NOT NULL,
    created_at_ms bigint NOT NULL,
    expires_at_ms bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX ff_waitpoint_key_current ON ff_waitpoint_key ((true)) WHERE expires_at_ms = 0;

CREATE TABLE ff_waitpoint (
    waitpoint_id          text     PRIMARY KEY,
    execution_id          text     NOT NULL,
    partition             smallint NOT NULL,
    attempt_index         integer  NOT NULL,
    waitpoint_key         text     NOT NULL,
    state                 text     NOT NULL,
    suspension_id         text     NOT NULL DEFAULT '',
    token                 text     NOT NULL,
    token_kid             text     NOT NULL,
    required_signal_names text     NOT NULL DEFAULT '[]',
    created_at_ms         bigint   NOT NULL,
    expires_at_ms         bigint   NOT NULL DEFAULT 0,
    activated_at_ms       bigint   NOT NULL DEFAULT 0,
    closed_at_ms          bigint   NOT NULL DEFAULT 0,
    close_reason          text     NOT NULL DEFAULT ''
);
CREATE INDEX ff_waitpoint_exec ON ff_waitpoint (execution_id, created_at_ms);
-- One open waitpoint per key and execution.
CREATE UNIQUE INDEX ff_waitpoint_open_key ON ff_waitpoint (execution_id, waitpoint_key)
    WHERE state IN ('pending', 'active');
-- The pending-expiry sweep's range read.
CREATE INDEX ff_waitpoint_pending_due ON ff_waitpoint (expires_at_ms)
    WHERE state = 'pending' AND expires_at_ms > 0;

CREATE TABLE ff_suspension (
    suspension_id             text     PRIMARY KEY,
    execution_id              text     NOT NULL,
    partition                 smallint NOT NULL,
    attempt_index             integer  NOT NULL,
    condition                 text     NOT NULL,
    reason_code               text     NOT NULL,
    timeout_at_ms             bigint   NOT NULL DEFAULT 0,
    timeout_behavior          text     NOT NULL,
    waitpoint_ids             text     NOT NULL DEFAULT '[]',
    idempotency_key           text     NOT NULL DEFAULT '',
    idempotency_expires_at_ms bigint   NOT NULL DEFAULT 0,
    created_at_ms             bigint   NOT NULL,
    closed_at_ms              bigint   NOT NULL DEFAULT 0,
    close_reason              text     NOT NULL DEFAULT '',
    satisfiers                text     NOT NULL DEFAULT '[]'
);
CREATE INDEX ff_suspension_exec ON ff_suspension (execution_id, created_at_ms);
-- The timeout sweep's range read: open suspensions with a timeout.
CREATE INDEX ff_suspension_timeout_due ON ff_suspension (timeout_at_ms)
    WHERE closed_at_ms = 0 AND timeout_at_ms > 0;

CREATE TABLE ff_signal (
    seq             bigserial PRIMARY KEY,
    signal_id       text      NOT NULL UNIQUE,
    execution_id    text      NOT NULL,
    partition       smallint  NOT NULL,
    waitpoint_id    text      NOT NULL,
    waitpoint_key   text      NOT NULL,
    signal_name     text      NOT NULL,
    payload         bytea,
    source_type     text      NOT NULL DEFAULT '',
    source_identity text      NOT NULL DEFAULT '',
    idempotency_key text      NOT NULL DEFAULT '',
    effect          text      NOT NULL,
    received_at_ms  bigint    NOT NULL
);
CREATE INDEX ff_signal_exec ON ff_signal (execution_id, seq);
CREATE INDEX ff_signal_waitpoint ON ff_signal (waitpoint_id, seq);
-- Signal idempotency is per waitpoint.
CREATE UNIQUE INDEX ff_signal_idempotency ON ff_signal (waitpoint_id, idempotency_key) WHERE idempotency_key <> '';
