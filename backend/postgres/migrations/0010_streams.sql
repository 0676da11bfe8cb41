-- FlowFabric schema, version 10: per-attempt output streams.
--
-- ff_stream is one row per attempt that ever streamed or patched its
-- summary: it holds the last frame id (ids are 1, 2, 3, ... per attempt,
-- assigned under this row's lock, so they are monotone in commit order),
-- the frame count against the cap, and the summary document. Whether the
-- stream is closed is NOT stored: it is derived from the attempt's end
-- (ff_attempt, or the execution row for a successful last attempt), so an
-- attempt's end writes nothing here and the complete path is unchanged.
-- An append locks the execution row FOR SHARE while it checks the fence,
-- so an attempt's end commits after every append that passed its fence.
CREATE TABLE ff_stream (
    execution_id          text COLLATE "C" NOT NULL,
    attempt_index         integer NOT NULL,
    partition             smallint NOT NULL,
    last_frame_id         bigint NOT NULL DEFAULT 0,
    frame_count           bigint NOT NULL DEFAULT 0,
    -- frames_purged: the retention sweep deleted this attempt's frames.
    frames_purged         boolean NOT NULL DEFAULT false,
    updated_at_ms         bigint NOT NULL,
    summary_version       bigint NOT NULL DEFAULT 0,
    summary_updated_at_ms bigint NOT NULL DEFAULT 0,
    summary               bytea,
    PRIMARY KEY (execution_id, attempt_index)
) WITH (fillfactor = 80);

-- The retention sweep walks streams by their last write; a stream whose
-- last write is older than the retention may have ended long enough ago.
CREATE INDEX ff_stream_retention ON ff_stream (updated_at_ms) WHERE NOT frames_purged AND frame_count > 0;

-- Frames. payload is the frame's bytes: JSON text unless is_binary.
CREATE TABLE ff_stream_frame (
    execution_id   text COLLATE "C" NOT NULL,
    attempt_index  integer NOT NULL,
    frame_id       bigint NOT NULL,
    partition      smallint NOT NULL,
    at_ms          bigint NOT NULL,
    durable        boolean NOT NULL,
    is_binary      boolean NOT NULL,
    frame_type     text NOT NULL,
    correlation_id text NOT NULL DEFAULT '',
    payload        bytea NOT NULL,
    PRIMARY KEY (execution_id, attempt_index, frame_id)
);
