-- FlowFabric schema, version 8: budgets, quotas and admission at claim.
--
-- A budget is one row with its counters and one row per dimension (limits
-- and usage). Usage dedup keys are scoped by budget and expire (swept). A
-- quota remembers every admission of its current window (exact sliding
-- window) and every slot held under its concurrency cap; a slot row lives
-- exactly as long as its execution's lease (released in the transaction
-- that ends the lease). An execution refused by admission leaves the ready
-- index (ff_execution.ready = false) and gets one ff_admission_block row
-- naming the budget or quota it waits for, so unblocking reads only the
-- rows of the budget or quota that freed up and claims never see them.
CREATE TABLE ff_budget (
    budget_id         text   COLLATE "C" PRIMARY KEY,
    scope_type        text   NOT NULL DEFAULT '',
    scope_id          text   NOT NULL DEFAULT '',
    reset_interval_ms bigint NOT NULL DEFAULT 0,
    next_reset_at_ms  bigint NOT NULL DEFAULT 0,
    breach_count      bigint NOT NULL DEFAULT 0,
    soft_breach_count bigint NOT NULL DEFAULT 0,
    last_breach_dim   text   NOT NULL DEFAULT '',
    last_breach_at_ms bigint NOT NULL DEFAULT 0,
    created_at_ms     bigint NOT NULL,
    updated_at_ms     bigint NOT NULL
);
-- The reset reconciler's due index.
CREATE INDEX ff_budget_reset_due ON ff_budget (next_reset_at_ms) WHERE next_reset_at_ms > 0;

CREATE TABLE ff_budget_dim (
    budget_id  text   COLLATE "C" NOT NULL REFERENCES ff_budget (budget_id),
    dimension  text   COLLATE "C" NOT NULL,
    hard_limit bigint NOT NULL DEFAULT 0,
    soft_limit bigint NOT NULL DEFAULT 0,
    usage      bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (budget_id, dimension)
);

CREATE TABLE ff_budget_dedup (
    budget_id     text   COLLATE "C" NOT NULL,
    dedup_key     text   NOT NULL,
    applied_at_ms bigint NOT NULL,
    expires_at_ms bigint NOT NULL,
    PRIMARY KEY (budget_id, dedup_key)
);
CREATE INDEX ff_budget_dedup_expiry ON ff_budget_dedup (expires_at_ms);

CREATE TABLE ff_quota (
    quota_id          text   COLLATE "C" PRIMARY KEY,
    window_ms         bigint NOT NULL DEFAULT 0,
    max_per_window    bigint NOT NULL DEFAULT 0,
    max_concurrent    bigint NOT NULL DEFAULT 0,
    -- When the full window that blocked an execution has room again;
    -- 0 when no execution waits for the window.
    unblock_due_at_ms bigint NOT NULL DEFAULT 0,
    created_at_ms     bigint NOT NULL,
    updated_at_ms     bigint NOT NULL
);
CREATE INDEX ff_quota_unblock_due ON ff_quota (unblock_due_at_ms) WHERE unblock_due_at_ms > 0;

-- The admissions of each quota's current window (older ones are deleted
-- by the next admission check).
CREATE TABLE ff_quota_admission (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quota_id       text   COLLATE "C" NOT NULL,
    admitted_at_ms bigint NOT NULL,
    execution_id   text   NOT NULL
);
CREATE INDEX ff_quota_admission_window ON ff_quota_admission (quota_id, admitted_at_ms);

CREATE TABLE ff_quota_slot (
    quota_id       text   COLLATE "C" NOT NULL,
    execution_id   text   NOT NULL,
    lease_epoch    bigint NOT NULL,
    acquired_at_ms bigint NOT NULL,
    PRIMARY KEY (quota_id, execution_id)
);
CREATE INDEX ff_quota_slot_execution ON ff_quota_slot (execution_id);

-- Executions blocked by admission, one row each, in claim order per
-- budget or quota. A row is written and deleted only by a transaction
-- that holds its execution's row lock.
CREATE TABLE ff_admission_block (
    execution_id  text     PRIMARY KEY,
    kind          text     NOT NULL CHECK (kind IN ('budget', 'quota')),
    ref_id        text     COLLATE "C" NOT NULL,
    lane          text     NOT NULL,
    priority      integer  NOT NULL,
    seq           bigint   NOT NULL,
    blocked_at_ms bigint   NOT NULL
);
CREATE INDEX ff_admission_block_ref ON ff_admission_block (kind, ref_id, priority DESC, seq);
