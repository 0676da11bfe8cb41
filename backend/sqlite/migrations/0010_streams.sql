-- FlowFabric embedded schema, version 10: per-attempt output streams.
--
-- ff_stream is one row per attempt that ever streamed or patched its
-- summary: the last frame id (ids are 1, 2, 3, ... per attempt, assigned
-- in the one write transaction, so monotone in commit order), the frame
-- count against the cap, and the summary document. Whether a stream is
-- closed is derived from its attempt's end (ff_attempt.lifecycle), never
-- stored, so an attempt's end writes nothing here.
CREATE TABLE ff_stream (
    execution_id          TEXT    NOT NULL REFERENCES ff_execution (execution_id) ON DELETE CASCADE,
    attempt_index         INTEGER NOT NULL,
    partition_key         INTEGER NOT NULL,
    last_frame_id         INTEGER NOT NULL DEFAULT 0,
    frame_count           INTEGER NOT NULL DEFAULT 0,
    frames_purged         INTEGER NOT NULL DEFAULT 0 CHECK (frames_purged IN (0, 1)),
    updated_at_ms         INTEGER NOT NULL,
    summary_version       INTEGER NOT NULL DEFAULT 0,
    summary_updated_at_ms INTEGER NOT NULL DEFAULT 0,
    summary               BLOB,
    PRIMARY KEY (execution_id, attempt_index)
) WITHOUT ROWID;

CREATE INDEX ff_stream_retention ON ff_stream (updated_at_ms) WHERE frames_purged = 0 AND frame_count > 0;

-- Frames. payload is the frame's bytes: JSON text unless is_binary.
CREATE TABLE ff_stream_frame (
    execution_id   TEXT    NOT NULL,
    attempt_index  INTEGER NOT NULL,
    frame_id       INTEGER NOT NULL,
    at_ms          INTEGER NOT NULL,
    durable        INTEGER NOT NULL,
    is_binary      INTEGER NOT NULL,
    frame_type     TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    payload        BLOB    NOT NULL,
    PRIMARY KEY (execution_id, attempt_index, frame_id)
) WITHOUT ROWID;
