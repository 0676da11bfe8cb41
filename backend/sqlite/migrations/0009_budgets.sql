-- FlowFabric embedded schema, version 8: budgets, quotas and admission at
-- claim.
--
-- A budget is one row with its counters and one row per dimension (limits
-- and usage). Usage dedup keys are scoped by budget and expire (swept). A
-- quota remembers every admission of its current window (exact sliding
-- window) and every slot held under its concurrency cap; a slot row lives
-- exactly as long as its execution's lease (released in the transaction
-- that ends the lease). An execution refused by admission leaves the
-- ready index (ff_execution.ready = 0) and gets one ff_admission_block
-- row naming the budget or quota it waits for, so unblocking reads only
-- the rows of the budget or quota that freed up and claims never see them.
CREATE TABLE ff_budget (
    budget_id         TEXT    PRIMARY KEY,
    scope_type        TEXT    NOT NULL DEFAULT '',
    scope_id          TEXT    NOT NULL DEFAULT '',
    reset_interval_ms INTEGER NOT NULL DEFAULT 0,
    next_reset_at_ms  INTEGER NOT NULL DEFAULT 0,
    breach_count      INTEGER NOT NULL DEFAULT 0,
    soft_breach_count INTEGER NOT NULL DEFAULT 0,
    last_breach_dim   TEXT    NOT NULL DEFAULT '',
    last_breach_at_ms INTEGER NOT NULL DEFAULT 0,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX ff_budget_reset_due ON ff_budget (next_reset_at_ms) WHERE next_reset_at_ms > 0;

CREATE TABLE ff_budget_dim (
    budget_id  TEXT    NOT NULL REFERENCES ff_budget (budget_id),
    dimension  TEXT    NOT NULL,
    hard_limit INTEGER NOT NULL DEFAULT 0,
    soft_limit INTEGER NOT NULL DEFAULT 0,
    usage      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_id, dimension)
) WITHOUT ROWID;

CREATE TABLE ff_budget_dedup (
    budget_id     TEXT    NOT NULL,
    dedup_key     TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (budget_id, dedup_key)
) WITHOUT ROWID;
CREATE INDEX ff_budget_dedup_expiry ON ff_budget_dedup (expires_at_ms);

CREATE TABLE ff_quota (
    quota_id          TEXT    PRIMARY KEY,
    window_ms         INTEGER NOT NULL DEFAULT 0,
    max_per_window    INTEGER NOT NULL DEFAULT 0,
    max_concurrent    INTEGER NOT NULL DEFAULT 0,
    unblock_due_at_ms INTEGER NOT NULL DEFAULT 0,
    created_at_ms     INTEGER NOT NULL,
    updated_at_ms     INTEGER NOT NULL
);
CREATE INDEX ff_quota_unblock_due ON ff_quota (unblock_due_at_ms) WHERE unblock_due_at_ms > 0;

CREATE TABLE ff_quota_admission (
    id             INTEGER PRIMARY KEY,
    quota_id       TEXT    NOT NULL,
    admitted_at_ms INTEGER NOT NULL,
    execution_id   TEXT    NOT NULL
);
CREATE INDEX ff_quota_admission_window ON ff_quota_admission (quota_id, admitted_at_ms);

CREATE TABLE ff_quota_slot (
    quota_id       TEXT    NOT NULL,
    execution_id   TEXT    NOT NULL,
    lease_epoch    INTEGER NOT NULL,
    acquired_at_ms INTEGER NOT NULL,
    PRIMARY KEY (quota_id, execution_id)
) WITHOUT ROWID;
CREATE INDEX ff_quota_slot_execution ON ff_quota_slot (execution_id);

CREATE TABLE ff_admission_block (
    execution_id  TEXT    PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('budget', 'quota')),
    ref_id        TEXT    NOT NULL,
    lane          TEXT    NOT NULL,
    priority      INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    blocked_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX ff_admission_block_ref ON ff_admission_block (kind, ref_id, priority DESC, seq);
