package sqlite

import (
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	ff "github.com/flowfabric-go/flowfabric"
)

// Sentinel causes carried (as Err) by the *flowfabric.Error values Open,
// Migrate and MigrationStatus return, for errors.Is.
var (
	// ErrNotFlowFabric: the file is not SQLite, or is a SQLite database
	// with tables but without FlowFabric's version table. It is never
	// modified.
	ErrNotFlowFabric = errors.New("not a FlowFabric database")
	// ErrSchemaTooOld: the schema needs migrations this binary carries and
	// AutoMigrate is off.
	ErrSchemaTooOld = errors.New("database schema is older than this binary")
	// ErrSchemaTooNew: the schema was migrated by a newer binary. Nothing
	// is touched.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrNotWritable: the file or its directory cannot be written (or the
	// directory does not exist).
	ErrNotWritable = errors.New("database path is not writable")
	// ErrClosed: the backend was closed.
	ErrClosed = errors.New("sqlite backend is closed")
)

// schemaError builds the error for a schema this binary must not use
// as it is (older without auto-migration, or newer).
func schemaError(cause error, format string, args ...any) *ff.Error {
	return &ff.Error{Class: ff.ClassUnavailable, Kind: ff.ErrSchemaMismatch, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// openError builds the error for a path that cannot be used: not a
// FlowFabric database, not writable, not a file.
func openError(cause error, format string, args ...any) *ff.Error {
	return &ff.Error{Class: ff.ClassValidation, Kind: ff.ErrInvalidInput, Detail: fmt.Sprintf(format, args...), Err: cause}
}

// driverError wraps a driver failure as a transport error, retryable when
// SQLite reports a lock it could not get in time; a done context is
// mapped by ff.ContextError, as on every store.
func driverError(op string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := ff.AsError(err); ok {
		return err
	}
	if ce := ff.ContextError(op, err); ce != nil {
		return ce
	}
	return ff.Transport(op, err, isBusy(err))
}

// isBusy reports SQLITE_BUSY or SQLITE_LOCKED (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}

// isNotADB reports SQLITE_NOTADB.
func isNotADB(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_NOTADB
}
