package worker

import (
	"context"
	"encoding/json"
	"fmt"
)

// Handler runs one attempt of an execution of the kind it is registered
// for. Its outcome decides the attempt's:
//
//   - a nil error completes the execution with result, marshalled to JSON
//     ([]byte and json.RawMessage are stored as given; nil stores no
//     result);
//   - an error fails the attempt as transient: the execution's retry
//     policy decides whether it is retried;
//   - Permanent(err) fails it as permanent (no retry unless the policy
//     retries permanent failures);
//   - Task.Delay's error (or any error matching ErrDelayed) parks it;
//   - a panic fails it as transient with the panic message, and the worker
//     keeps running.
//
// ctx is cancelled when the attempt is no longer owned (context.Cause is
// ErrLeaseLost or ErrExecutionCancelled; the outcome is then discarded),
// when a graceful stop runs out of grace (ErrShutdown), or on Kill
// (ErrKilled).
type Handler func(ctx context.Context, t *Task) (result any, err error)

// Typed adapts a function over decoded input to a Handler: the task's
// JSON input is decoded into In (a decoding failure is permanent) and Out
// is the result.
//
//	w.Register("greet", worker.Typed(func(ctx context.Context, t *worker.Task, in Greet) (Greeting, error) {
//		return Greeting{Greeting: "hello, " + in.Name}, nil
//	}))
func Typed[In, Out any](fn func(ctx context.Context, t *Task, in In) (Out, error)) Handler {
	return func(ctx context.Context, t *Task) (any, error) {
		var in In
		if err := t.Decode(&in); err != nil {
			return nil, Permanent(err)
		}
		out, err := fn(ctx, t, in)
		if err != nil {
			return nil, err
		}
		return out, nil
	}
}

// encodeResult turns a handler's result into the stored bytes.
func encodeResult(result any) ([]byte, error) {
	switch r := result.(type) {
	case nil:
		return nil, nil
	case []byte:
		return r, nil
	case json.RawMessage:
		return r, nil
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("marshal result: %w", err)
	}
	return b, nil
}
