// Package sqlite is the embedded backend: FlowFabric on one SQLite file,
// in one process, with the same semantics as Postgres (the conformance
// suite in backend/backendtest proves it). It uses modernc.org/sqlite, a
// pure-Go driver, so it needs no cgo and no setup.
//
// Start with [Open] and [Options]; a program serves the store with
// package ffserver, and tests get one from package fftest.
//
// # Concurrency
//
// The file is opened twice: a writer *sql.DB with exactly one connection,
// through which every write transaction runs as BEGIN IMMEDIATE, and a
// reader pool of query_only connections for side-effect-free reads. WAL
// mode lets the readers see the last committed state while a write is in
// progress. Because there is one writer, a transaction sees no concurrent
// change between reading a row and writing it back: every transition is
// "load the row, apply the flowfabric.Execution transition, write the
// whole row and its Effects", and nothing like SKIP LOCKED is needed.
// The single writer also makes commit order equal AUTOINCREMENT order, so
// the outbox cursor (ff_event.id) never skips a late commit.
//
// # Wake-ups
//
// Work that becomes claimable on a lane (created ready, retried at once,
// delayed into the past, promoted, lease expired) notifies the lane on an
// in-process wakeup.Hub after the commit. A second process on the same
// file receives no wake-ups and relies on its poll fallback.
//
// # Leadership
//
// TryAcquireLeader is an in-process lock per Backend: the embedded
// deployment runs one process per file, so that process is the only
// leader. Two Backends on the same file (or two processes) would each
// elect their own leader; the sweeps stay correct because every sweep
// re-checks its predicate per row inside the single-writer transaction,
// but the work would be duplicated.
//
// # Schema
//
// Migrations are embedded (migrations/NNNN_name.sql) and recorded in the
// ff_schema_version table. Open refuses a file that is not a FlowFabric
// database, a schema newer than this binary, and (unless
// Options.AutoMigrate) an older schema; Migrate and MigrationStatus serve
// `flowfabric migrate up|status`.
package sqlite
