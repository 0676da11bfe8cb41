package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
)

// BenchmarkCreateExecutionsTx enqueues 100 executions per transaction
// (the reported ns/op is per execution).
func BenchmarkCreateExecutionsTx(b *testing.B) {
	ctx := context.Background()
	be, _ := openFresh(b, nil)
	const per = 100
	ps := make([]backend.CreateExecutionParams, per)
	for i := range ps {
		ps[i] = backend.CreateExecutionParams{Lane: "bench", Kind: "k", Input: []byte(`{"n":1}`)}
	}
	b.ResetTimer()
	for n := 0; n < b.N; n += per {
		err := pgx.BeginFunc(ctx, be.Pool(), func(tx pgx.Tx) error {
			_, err := be.CreateExecutionsTx(ctx, tx, ps)
			return err
		})
		require.NoError(b, err)
	}
}
