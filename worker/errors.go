package worker

import (
	"errors"
	"fmt"
	"time"
)

// Causes of a handler context's cancellation, read with context.Cause. A
// handler whose context ends with ErrLeaseLost or ErrExecutionCancelled
// no longer owns its attempt: whatever it returns is not reported.
var (
	// ErrLeaseLost: the lease expired, was revoked or was superseded by a
	// newer claim. The engine hands the execution to another attempt.
	ErrLeaseLost = errors.New("worker: lease lost")
	// ErrExecutionCancelled: the execution was cancelled (by an operator,
	// a flow cascade or a timeout) or otherwise ended elsewhere while the
	// handler ran.
	ErrExecutionCancelled = errors.New("worker: execution cancelled")
	// ErrShutdown: a graceful stop ran out of its grace period. A handler
	// that then returns an error has its attempt released (resumed by the
	// next claim, not counted as a retry); a result is still completed.
	ErrShutdown = errors.New("worker: shutdown grace period expired")
	// ErrKilled: Kill was called; nothing is reported for the attempt.
	ErrKilled = errors.New("worker: killed")
)

// ErrDelayed is returned (usually via Task.Delay) by a handler that wants
// its attempt parked until a later time: the lease is released through
// Transport.Delay, the attempt is neither completed nor failed, and the
// next claim after that time resumes the same attempt.
var ErrDelayed = errors.New("worker: attempt delayed")

// DelayError carries the time a delayed attempt becomes eligible again.
// errors.Is(err, ErrDelayed) holds for it.
type DelayError struct {
	Until time.Time
}

func (e *DelayError) Error() string {
	return fmt.Sprintf("worker: attempt delayed until %s", e.Until.UTC().Format(time.RFC3339Nano))
}

// Is makes a *DelayError match ErrDelayed.
func (e *DelayError) Is(target error) bool { return target == ErrDelayed }

// PermanentError marks a failure that retrying cannot fix: the attempt
// fails with classification "permanent" and, unless the execution's retry
// policy retries permanent failures, the execution fails at once.
type PermanentError struct {
	Err error
}

// Permanent wraps err as a permanent failure; Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

func (e *PermanentError) Error() string { return e.Err.Error() }

func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err's chain holds a *PermanentError.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}
