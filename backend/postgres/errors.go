package postgres

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	ff "github.com/flowfabric-go/flowfabric"
)

// mapPgError classifies a driver error by its native kind; a done
// context is mapped by ff.ContextError, as on every store.
func mapPgError(op string, err error) error {
	if ce := ff.ContextError(op, err); ce != nil {
		return ce
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available (NOWAIT)
			return &ff.Error{Class: ff.ClassContention, Kind: ff.ErrContention, Detail: op + ": " + pgErr.Message, Err: err}
		case "23505": // unique_violation
			return &ff.Error{Class: ff.ClassConflict, Kind: ff.ErrConflict, Detail: op + ": " + pgErr.ConstraintName, Err: err}
		case "53300", "53200": // too_many_connections, out_of_memory
			return &ff.Error{Class: ff.ClassResourceExhausted, Kind: ff.ErrResourceExhausted, Detail: op, Err: err}
		case "57014": // query_canceled (statement_timeout)
			return &ff.Error{Class: ff.ClassTimeout, Kind: ff.ErrTimeout, Detail: op, Err: err}
		case "57P01", "57P02", "57P03": // admin shutdown, crash shutdown, cannot connect now
			return ff.Transport(op, err, true)
		}
		return ff.Transport(op, err, false)
	}
	// Connection-level failures (dial, broken pipe, closed pool).
	return ff.Transport(op, err, pgconn.SafeToRetry(err) || isConnErr(err))
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	return errors.As(err, &ce)
}
