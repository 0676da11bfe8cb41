-- FlowFabric embedded schema, version 1: the execution core.
--
-- Conventions
--   * Times are INTEGER Unix milliseconds; 0 means "unset".
--   * Enumerations are TEXT holding the Go state machine's values
--     (package flowfabric); the Go code owns their meaning and checks the
--     state vector (V1-V10) before every write.
--   * JSON documents are TEXT, opaque payloads are BLOB.
--   * ff_execution is the hot row, updated by every transition; payloads,
--     results and history live beside it and are written once.
--   * The version table ff_schema_version is created by the migrator, not
--     here, in the same transaction as this file.
--
-- Later migrations add the rest of the roadmap beside these tables, keyed
-- by execution_id or by their own ids: flows and dependency edges,
-- waitpoints, signals and HMAC keys, budgets/usage/quotas, stream frames
-- and summaries, and the other outbox families (lease history, signal
-- delivery, operator events), each with its own AUTOINCREMENT cursor.

-- Interned capability requirement sets. A set is immutable once interned:
-- csv is the normalized (sorted, unique) token list joined by commas and
-- id is its signature. Id 0 is the empty set, which any worker satisfies.
CREATE TABLE ff_capability_set (
    id  INTEGER PRIMARY KEY,
    csv TEXT NOT NULL UNIQUE
);
INSERT INTO ff_capability_set (id, csv) VALUES (0, '');

-- Lanes, registered by the first execution created on them.
CREATE TABLE ff_lane (
    name          TEXT PRIMARY KEY,
    created_at_ms INTEGER NOT NULL
) WITHOUT ROWID;

-- One row per execution: every field of flowfabric.Execution as a typed
-- column. seq is the creation order (FIFO within a priority) and the rowid,
-- so the claim index carries it for free. It is not AUTOINCREMENT (which
-- costs a sqlite_sequence write per insert): a new row always gets a seq
-- above every existing row, which is all FIFO needs, and the side tables
-- keyed by seq are deleted with their execution. Columns that never change after
-- creation (execution_id .. idempotency_key, created_at_ms) are never in an
-- UPDATE's SET list, so their indexes are never touched by transitions.
CREATE TABLE ff_execution (
    seq                   INTEGER PRIMARY KEY,
    execution_id          TEXT    NOT NULL UNIQUE,
    partition_key         INTEGER NOT NULL,
    namespace             TEXT    NOT NULL,
    lane                  TEXT    NOT NULL REFERENCES ff_lane (name),
    kind                  TEXT    NOT NULL,
    priority              INTEGER NOT NULL,
    cap_sig               INTEGER NOT NULL REFERENCES ff_capability_set (id),
    idempotency_key       TEXT    NOT NULL,

    lifecycle_phase       TEXT    NOT NULL,
    ownership_state       TEXT    NOT NULL,
    eligibility_state     TEXT    NOT NULL,
    blocking_reason       TEXT    NOT NULL,
    terminal_outcome      TEXT    NOT NULL,
    attempt_state         TEXT    NOT NULL,
    public_state          TEXT    NOT NULL,
    blocking_detail       TEXT    NOT NULL,
    -- ready = flowfabric.Execution.Claimable(): the claim predicate.
    ready                 INTEGER NOT NULL CHECK (ready IN (0, 1)),

    attempt_count         INTEGER NOT NULL,
    current_attempt_id    TEXT    NOT NULL,
    lease_id              TEXT    NOT NULL,
    lease_epoch           INTEGER NOT NULL,
    lease_expires_at_ms   INTEGER NOT NULL,
    lease_ttl_ms          INTEGER NOT NULL,
    worker_id             TEXT    NOT NULL,
    worker_instance_id    TEXT    NOT NULL,
    last_heartbeat_ms     INTEGER NOT NULL,

    retry_count           INTEGER NOT NULL,
    reclaim_count         INTEGER NOT NULL,
    replay_count          INTEGER NOT NULL,

    ready_at_ms           INTEGER NOT NULL,
    attempt_deadline_ms   INTEGER NOT NULL,
    execution_deadline_ms INTEGER NOT NULL,

    created_at_ms         INTEGER NOT NULL,
    started_at_ms         INTEGER NOT NULL,
    completed_at_ms       INTEGER NOT NULL,
    updated_at_ms         INTEGER NOT NULL,

    progress_pct          INTEGER NOT NULL,
    progress_message      TEXT    NOT NULL,
    failure_reason        TEXT    NOT NULL,
    failure_class         TEXT    NOT NULL,
    cancel_reason         TEXT    NOT NULL,
    cancelled_by          TEXT    NOT NULL
);

-- The claim index, in claim order. A claim reads it once per (lane,
-- satisfied signature) with LIMIT n and merges the heads in Go, so it never
-- sorts a lane's backlog.
CREATE INDEX ff_execution_claim ON ff_execution (lane, cap_sig, priority DESC, seq)
    WHERE ready = 1;

-- Namespace-scoped idempotency of create.
CREATE UNIQUE INDEX ff_execution_idempotency ON ff_execution (namespace, idempotency_key)
    WHERE idempotency_key <> '';

-- Due-time indexes, one per sweep, each partial on its sweep's predicate.
CREATE INDEX ff_execution_lease_due ON ff_execution (lease_expires_at_ms)
    WHERE lifecycle_phase = 'active' AND ownership_state = 'leased';
CREATE INDEX ff_execution_attempt_due ON ff_execution (attempt_deadline_ms)
    WHERE lifecycle_phase = 'active' AND attempt_deadline_ms > 0;
CREATE INDEX ff_execution_deadline_due ON ff_execution (execution_deadline_ms)
    WHERE lifecycle_phase <> 'terminal' AND execution_deadline_ms > 0;
CREATE INDEX ff_execution_delay_due ON ff_execution (ready_at_ms)
    WHERE lifecycle_phase = 'runnable' AND eligibility_state = 'not_eligible_until_time';

-- Lane depth by public state (ListLanes) and lane-filtered listings.
CREATE INDEX ff_execution_lane_state ON ff_execution (lane, public_state);

-- Written once at create: the opaque input, tags (JSON object) and the
-- frozen policy (JSON, NULL for the default policy).
CREATE TABLE ff_execution_payload (
    seq    INTEGER PRIMARY KEY REFERENCES ff_execution (seq) ON DELETE CASCADE,
    input  BLOB NOT NULL,
    tags   TEXT NOT NULL,
    policy TEXT
);

-- Written once at completion.
CREATE TABLE ff_execution_result (
    seq          INTEGER PRIMARY KEY REFERENCES ff_execution (seq) ON DELETE CASCADE,
    result       BLOB    NOT NULL,
    stored_at_ms INTEGER NOT NULL
);

-- Attempts: indices start at 0 and only grow; resumes reuse the current one.
CREATE TABLE ff_attempt (
    execution_id       TEXT    NOT NULL REFERENCES ff_execution (execution_id) ON DELETE CASCADE,
    attempt_index      INTEGER NOT NULL,
    attempt_id         TEXT    NOT NULL,
    attempt_type       TEXT    NOT NULL,
    lifecycle          TEXT    NOT NULL,
    lease_epoch        INTEGER NOT NULL,
    worker_id          TEXT    NOT NULL,
    worker_instance_id TEXT    NOT NULL,
    started_at_ms      INTEGER NOT NULL,
    ended_at_ms        INTEGER NOT NULL,
    failure_reason     TEXT    NOT NULL,
    failure_class      TEXT    NOT NULL,
    PRIMARY KEY (execution_id, attempt_index)
) WITHOUT ROWID;

-- The completion outbox. id is the cursor: the database has one writer at
-- a time, so commit order is id order and a reader never skips a row that
-- commits late. AUTOINCREMENT keeps ids unique across retention deletes.
-- No foreign key: events outlive the executions they describe.
CREATE TABLE ff_completion_event (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id  TEXT    NOT NULL,
    partition_key INTEGER NOT NULL,
    namespace     TEXT    NOT NULL,
    lane          TEXT    NOT NULL,
    outcome       TEXT    NOT NULL,
    at_ms         INTEGER NOT NULL
);
