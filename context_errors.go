package flowfabric

import (
	"context"
	"errors"
)

// ErrCanceled is the kind of an operation abandoned because its caller's
// context was canceled: a client abort (a long-poll given up, a request
// whose client went away), not a failure of the engine. Its class is
// ClassTimeout and it is not retryable: nobody waits for the answer.
const ErrCanceled ErrorKind = "canceled"

// ContextError returns the engine error for the context error in err's
// chain, or nil when err carries none: ErrCanceled for context.Canceled
// and ErrTimeout for context.DeadlineExceeded, both of class timeout and
// neither retryable. err stays the cause, so errors.Is(e,
// context.Canceled) still holds. Every store maps a done context through
// it, so one cancellation is the same error on every store.
func ContextError(op string, err error) *Error {
	switch {
	case errors.Is(err, context.Canceled):
		return &Error{Class: ClassTimeout, Kind: ErrCanceled, Detail: op + ": canceled by the caller", Err: err}
	case errors.Is(err, context.DeadlineExceeded):
		return &Error{Class: ClassTimeout, Kind: ErrTimeout, Detail: op + ": deadline exceeded", Err: err}
	}
	return nil
}
