// Command tx-enqueue places orders in a program's own Postgres table and
// enqueues each order's "send receipt" execution in the same
// transaction: the receipt exists if and only if the order does. An
// order whose payment is declined is rolled back, and leaves neither an
// order nor a receipt. An in-process worker sends the receipts; it is
// woken by the commit, never before. See README.md.
//
// Environment: FF_DATABASE_URL, a postgres:// URL (required).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/worker"
)

func main() {
	url := os.Getenv("FF_DATABASE_URL")
	if url == "" {
		fmt.Fprintln(os.Stderr, "tx-enqueue: set FF_DATABASE_URL=postgres://...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if _, err := run(ctx, url, os.Stdout, slog.New(slog.NewTextHandler(os.Stderr, nil))); err != nil {
		fmt.Fprintln(os.Stderr, "tx-enqueue:", err)
		os.Exit(1)
	}
}

// order is a row of the program's orders table.
type order struct {
	ID         string
	Email      string
	TotalCents int64
}

// receipt is the input of a "receipt.send" execution: only the order's
// id; the handler reads the rest from the orders table, where the
// transaction guarantees it is.
type receipt struct {
	OrderID string `json:"order_id"`
}

// errDeclined is the payment failure of the second order.
var errDeclined = errors.New("card declined")

// outcome is what run did, for its test.
type outcome struct {
	Placed, Declined order
	Receipt          ff.ExecutionID
}

// run places two orders, one paid and one declined, and runs the
// receipt worker until the paid order's receipt is sent.
func run(ctx context.Context, url string, out io.Writer, log *slog.Logger) (outcome, error) {
	// The engine's store, and the program's own pool on the same database.
	b, err := postgres.Open(ctx, postgres.Options{URL: url, AutoMigrate: true, Logger: log})
	if err != nil {
		return outcome{}, err
	}
	defer b.Close()
	db, err := pgxpool.New(ctx, url)
	if err != nil {
		return outcome{}, err
	}
	defer db.Close()
	if _, err := db.Exec(ctx, ordersTable); err != nil {
		return outcome{}, err
	}

	sent := make(chan string, 1)
	w, err := receiptWorker(b, db, sent)
	if err != nil {
		return outcome{}, err
	}
	wctx, stopWorker := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- w.Run(wctx) }()
	defer func() { stopWorker(); <-stopped }()

	return placeOrders(ctx, b, db, out, sent)
}

// ordersTable is the program's own table.
const ordersTable = `CREATE TABLE IF NOT EXISTS orders (
	id          text PRIMARY KEY,
	email       text NOT NULL,
	total_cents bigint NOT NULL,
	receipt_id  text NOT NULL
)`

func placeOrders(ctx context.Context, b *postgres.Backend, db *pgxpool.Pool, out io.Writer, sent <-chan string) (outcome, error) {
	o := outcome{
		Placed:   order{ID: "ord-" + uuid.NewString()[:8], Email: "ada@example.com", TotalCents: 4200},
		Declined: order{ID: "ord-" + uuid.NewString()[:8], Email: "bob@example.com", TotalCents: 990},
	}
	id, err := placeOrder(ctx, b, db, o.Placed, func() error { return nil })
	if err != nil {
		return o, err
	}
	o.Receipt = id
	fmt.Fprintf(out, "order %s placed, receipt %s enqueued\n", o.Placed.ID, id)

	_, err = placeOrder(ctx, b, db, o.Declined, func() error { return errDeclined })
	if !errors.Is(err, errDeclined) {
		return o, fmt.Errorf("declined order: want %v, got %v", errDeclined, err)
	}
	fmt.Fprintf(out, "order %s rolled back (%v): no order, no receipt\n", o.Declined.ID, err)

	select {
	case line := <-sent:
		fmt.Fprintln(out, line)
		return o, nil
	case <-ctx.Done():
		return o, ctx.Err()
	}
}

// placeOrder is the pattern: the program's write and the enqueue in one
// transaction. charge stands for the program's next step, which may fail
// after the receipt was enqueued: the rollback undoes both, and no worker
// ever sees the receipt.
func placeOrder(ctx context.Context, b *postgres.Backend, db *pgxpool.Pool, o order, charge func() error) (ff.ExecutionID, error) {
	var id ff.ExecutionID
	err := pgx.BeginFunc(ctx, db, func(tx pgx.Tx) error { // commits on nil, rolls back on error
		input, _ := json.Marshal(receipt{OrderID: o.ID})
		res, err := b.CreateExecutionTx(ctx, tx, backend.CreateExecutionParams{
			Lane: "receipts", Kind: "receipt.send", Input: input,
			IdempotencyKey: "receipt:" + o.ID, // one receipt per order, however often this runs
		})
		if err != nil {
			return err
		}
		id = res.ExecutionID
		if _, err := tx.Exec(ctx, `INSERT INTO orders (id, email, total_cents, receipt_id) VALUES ($1, $2, $3, $4)`,
			o.ID, o.Email, o.TotalCents, id.String()); err != nil {
			return err
		}
		return charge()
	})
	return id, err
}

// receiptWorker sends receipts: it reads the order the receipt belongs
// to (always there: they committed together) and reports the line it
// "sent" on sent.
func receiptWorker(b *postgres.Backend, db *pgxpool.Pool, sent chan<- string) (*worker.Worker, error) {
	w, err := worker.New(b, worker.Config{WorkerID: "receipts", Lanes: []string{"receipts"}})
	if err != nil {
		return nil, err
	}
	w.Register("receipt.send", worker.Typed(func(ctx context.Context, _ *worker.Task, in receipt) (map[string]string, error) {
		var o order
		err := db.QueryRow(ctx, `SELECT id, email, total_cents FROM orders WHERE id = $1`, in.OrderID).Scan(&o.ID, &o.Email, &o.TotalCents)
		if err != nil {
			return nil, fmt.Errorf("order %s: %w", in.OrderID, err)
		}
		line := fmt.Sprintf("receipt for order %s (%d.%02d) sent to %s", o.ID, o.TotalCents/100, o.TotalCents%100, o.Email)
		select {
		case sent <- line:
		default: // a repeat (a retry after a lost completion): already reported
		}
		return map[string]string{"sent_to": o.Email}, nil
	}))
	return w, nil
}
