// Package pgtest gives tests an isolated PostgreSQL schema.
//
// The server comes from FF_TEST_DATABASE_URL, or a local server on
// 127.0.0.1:5432 (user postgres, database test) when it is unset. When no
// server answers, the test is skipped with a one-line hint, unless
// FF_TEST_REQUIRE_POSTGRES=1, which turns the skip into a failure.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is tried when FF_TEST_DATABASE_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

var counter atomic.Int64

// BaseURL returns the server URL tests use.
func BaseURL() string {
	if u := os.Getenv("FF_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// Required reports whether a missing server must fail the test.
func Required() bool { return os.Getenv("FF_TEST_REQUIRE_POSTGRES") == "1" }

// Schema creates a fresh schema, drops it when the test ends, and returns
// a connection URL whose search_path is that schema.
func Schema(tb testing.TB) string {
	tb.Helper()
	return SchemaAt(tb, BaseURL())
}

// SchemaAt is Schema on the server at base instead of the environment's.
func SchemaAt(tb testing.TB, base string) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		if Required() {
			tb.Fatalf("postgres required (FF_TEST_REQUIRE_POSTGRES=1) but unreachable at %s: %v", redact(base), err)
		}
		tb.Skipf("postgres unreachable at %s; set FF_TEST_DATABASE_URL to run Postgres tests", redact(base))
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("fft_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1_000_000_000, counter.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
	})
	return WithSearchPath(base, name)
}

// WithSearchPath returns base with search_path set to schema.
func WithSearchPath(base, schema string) string {
	u, err := url.Parse(base)
	if err != nil || !strings.HasPrefix(base, "postgres") {
		return base + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparsable url>"
	}
	return u.Redacted()
}
