package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
)

// An order row and its "send receipt" execution in one transaction: both
// exist after the commit, neither after a rollback, and workers are woken
// by the commit. db is the program's own pool on the same database as
// the backend. (Needs a Postgres server: FF_DATABASE_URL.)
func ExampleBackend_CreateExecutionTx() {
	ctx := context.Background()
	url := os.Getenv("FF_DATABASE_URL")
	b, err := postgres.Open(ctx, postgres.Options{URL: url, AutoMigrate: true})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	orderID := "A-1001"
	err = pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { // commits on nil, rolls back on error
		if _, err := tx.Exec(ctx, `INSERT INTO orders (id, email) VALUES ($1, $2)`, orderID, "ada@example.com"); err != nil {
			return err
		}
		res, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{
			Lane: "receipts", Kind: "receipt.send",
			Input:          []byte(`{"order_id":"` + orderID + `"}`),
			IdempotencyKey: "receipt:" + orderID, // one receipt per order
		})
		if err != nil {
			return err // refused input leaves tx usable; here the order is rolled back with it
		}
		fmt.Println("receipt enqueued:", res.ExecutionID)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// Many executions in one transaction: all or none (a savepoint undoes
// this call's inserts when one fails, and tx stays usable), one wake-up
// per lane at commit.
func ExampleBackend_CreateExecutionsTx() {
	ctx := context.Background()
	b, err := postgres.Open(ctx, postgres.Options{URL: os.Getenv("FF_DATABASE_URL")})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	err = pgx.BeginFunc(ctx, b.Pool(), func(tx pgx.Tx) error {
		var ps []backend.CreateExecutionParams
		for _, email := range []string{"ada@example.com", "bob@example.com"} {
			ps = append(ps, backend.CreateExecutionParams{Lane: "emails", Kind: "newsletter.send",
				Input: []byte(`{"email":"` + email + `"}`), IdempotencyKey: "newsletter-42:" + email})
		}
		res, err := b.CreateExecutionsTx(ctx, tx, ps)
		if err != nil {
			return err
		}
		fmt.Println("enqueued:", len(res))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
}

// The same with database/sql, over pgx's stdlib driver.
func ExampleBackend_CreateExecutionSQLTx() {
	ctx := context.Background()
	url := os.Getenv("FF_DATABASE_URL")
	b, err := postgres.Open(ctx, postgres.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	db, err := sql.Open("pgx", url) // pgx's stdlib driver: other drivers are refused
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `INSERT INTO orders (id, email) VALUES ($1, $2)`, "A-1002", "bob@example.com"); err != nil {
		log.Fatal(err)
	}
	if _, err := b.CreateExecutionSQLTx(ctx, tx, backend.CreateExecutionParams{
		Lane: "receipts", Kind: "receipt.send", Input: []byte(`{"order_id":"A-1002"}`), IdempotencyKey: "receipt:A-1002",
	}); err != nil {
		log.Fatal(err)
	}
	if err := tx.Commit(); err != nil { // the execution exists, and workers are woken, from here
		log.Fatal(err)
	}
}
