package postgres

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/flowfabric-go/flowfabric/backend"
)

// CreateExecutionSQLTx is CreateExecutionTx for a database/sql
// transaction. tx must come from a *sql.DB opened with pgx's stdlib
// driver (import _ "github.com/jackc/pgx/v5/stdlib"; sql.Open("pgx",
// url)) on this backend's database: the statements are run through tx as
// they are, with arguments only pgx encodes as they need (text arrays,
// bytea, jsonb); other drivers are not supported. Everything
// CreateExecutionTx says holds: the execution exists if and only if tx
// commits, the wake-up is delivered by that commit, and refused input
// leaves tx usable.
func (b *Backend) CreateExecutionSQLTx(ctx context.Context, tx *sql.Tx, p backend.CreateExecutionParams) (backend.CreateExecutionResult, error) {
	return b.createInTx(ctx, sqlTx{tx}, p)
}

// CreateExecutionsSQLTx is CreateExecutionsTx for a database/sql
// transaction, on the terms of CreateExecutionSQLTx. database/sql cannot
// pipeline, so each entry is one round trip (CreateExecutionsTx sends
// them all in one).
func (b *Backend) CreateExecutionsSQLTx(ctx context.Context, tx *sql.Tx, ps []backend.CreateExecutionParams) ([]backend.CreateExecutionResult, error) {
	return b.createManyInTx(ctx, sqlTx{tx}, ps)
}

// sqlTx runs a create's statements through a *sql.Tx. database/sql
// offers no route from a transaction to its driver connection, so the
// same SQL goes through tx itself; pgx's stdlib driver accepts every
// argument type pgx does, so the statements and their encoding are the
// pool path's.
type sqlTx struct{ tx *sql.Tx }

func (s sqlTx) QueryRow(ctx context.Context, query string, args ...any) pgx.Row {
	return sqlRow{s.tx.QueryRowContext(ctx, query, args...)}
}

func (s sqlTx) Exec(ctx context.Context, query string, args ...any) (pgconn.CommandTag, error) {
	_, err := s.tx.ExecContext(ctx, query, args...)
	return pgconn.CommandTag{}, err
}

// sqlRow reports no row as pgx does, which is what the create checks for.
type sqlRow struct{ row *sql.Row }

func (r sqlRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return pgx.ErrNoRows
	}
	return err
}
