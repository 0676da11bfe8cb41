// Package postgres is the production backend: backend.Backend on
// PostgreSQL through pgx/v5.
//
// The hot path (claim, complete, renew) is one statement per operation,
// fenced in its WHERE clause, with batch forms over unnest arrays. Every
// other transition loads the execution under a row lock, applies the
// state machine of package flowfabric, and writes the whole record and
// its side effects in the same transaction. When a fenced hot statement
// touches no row, the operation falls back to that path, which decides
// between a replay that already committed and the precise fence error.
//
// Start with [Open] and [Options]; a program serves the backend with
// package ffserver (Config.Backend) or runs workers on it directly.
//
// # Transactional enqueue
//
// A program that keeps its own data in the same database can enqueue
// work in its own transaction: [Backend.CreateExecutionTx] (a pgx.Tx),
// [Backend.CreateExecutionSQLTx] (a *sql.Tx of pgx's stdlib driver) and
// their batch forms. The execution exists if and only if that
// transaction commits, and its wake-up is a NOTIFY delivered by the
// commit. See ExampleBackend_CreateExecutionTx and examples/tx-enqueue.
package postgres
