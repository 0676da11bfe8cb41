// Package txrun is the one shape of the operations written once for both
// stores (budgetcore, wpcore): a store hands over a Runner of its
// transactions, and each operation runs in one of them.
package txrun

import "context"

// Runner runs fn in one store transaction named op (for errors) and
// commits it when fn succeeds. Tx is the transaction interface of the
// package the operations are written in.
type Runner[Tx any] func(ctx context.Context, op string, fn func(Tx) error) error

// In runs fn in one transaction of run and returns its result.
func In[T, Tx any](ctx context.Context, run Runner[Tx], op string, fn func(Tx) (T, error)) (T, error) {
	var out T
	err := run(ctx, op, func(t Tx) error {
		var err error
		out, err = fn(t)
		return err
	})
	return out, err
}
