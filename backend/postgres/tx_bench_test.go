package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/backend"
)

// BenchmarkCreateTx compares, per execution created: the plain create
// (its own implicit transaction), one CreateExecutionTx per caller
// transaction (BEGIN, insert, NOTIFY, COMMIT), and CreateExecutionsTx with
// 100 per transaction (one pipelined round trip and one NOTIFY).
func BenchmarkCreateTx(b *testing.B) {
	ctx := context.Background()
	p := backend.CreateExecutionParams{Lane: "bench", Kind: "k", Input: []byte(`{"n":1}`)}
	b.Run("plain", func(b *testing.B) {
		be, _ := openFresh(b, nil)
		b.ResetTimer()
		for range b.N {
			_, err := be.CreateExecution(ctx, p)
			require.NoError(b, err)
		}
	})
	b.Run("tx_1", func(b *testing.B) {
		be, _ := openFresh(b, nil)
		b.ResetTimer()
		for range b.N {
			err := pgx.BeginFunc(ctx, be.Pool(), func(tx pgx.Tx) error {
				_, err := be.CreateExecutionTx(ctx, tx, p)
				return err
			})
			require.NoError(b, err)
		}
	})
	b.Run("tx_100", func(b *testing.B) {
		be, _ := openFresh(b, nil)
		const per = 100
		ps := make([]backend.CreateExecutionParams, per)
		for i := range ps {
			ps[i] = p
		}
		b.ResetTimer()
		for n := 0; n < b.N; n += per {
			err := pgx.BeginFunc(ctx, be.Pool(), func(tx pgx.Tx) error {
				_, err := be.CreateExecutionsTx(ctx, tx, ps)
				return err
			})
			require.NoError(b, err)
		}
	})
}
