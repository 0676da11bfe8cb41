package bench

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
)

// openStore prepares the dedicated database and opens the backend on it,
// migrated. It returns the backend and its label for the report.
func openStore(ctx context.Context, c *Config) (backend.Backend, string, error) {
	if c.PostgresURL != "" {
		b, err := openPostgres(ctx, c)
		return b, "flowfabric/postgres", err
	}
	b, err := openSQLite(ctx, c)
	return b, "flowfabric/sqlite", err
}

// openPostgres (re)creates the bench schema and opens the backend with
// search_path set to it; migrations are applied there.
func openPostgres(ctx context.Context, c *Config) (backend.Backend, error) {
	conn, err := pgx.Connect(ctx, c.PostgresURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ident := pgx.Identifier{c.Schema}.Sanitize()
	stmts := []string{"CREATE SCHEMA IF NOT EXISTS " + ident}
	if c.SchemaReset {
		stmts = []string{"DROP SCHEMA IF EXISTS " + ident + " CASCADE", "CREATE SCHEMA " + ident}
	}
	for _, s := range stmts {
		if _, err := conn.Exec(ctx, s); err != nil {
			return nil, fmt.Errorf("prepare schema %s: %w", c.Schema, err)
		}
	}
	u, err := withSearchPath(c.PostgresURL, c.Schema)
	if err != nil {
		return nil, err
	}
	b, err := postgres.Open(ctx, postgres.Options{URL: u, AutoMigrate: true, MaxConns: c.MaxConns, Logger: c.Logger})
	if err != nil {
		return nil, fmt.Errorf("open postgres schema %s: %w", c.Schema, err)
	}
	if !c.SchemaReset {
		if err := ensureEmpty(ctx, b); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	return b, nil
}

// withSearchPath returns raw with search_path set to schema, replacing
// any search_path it had.
func withSearchPath(raw, schema string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("database url: cannot parse the Postgres URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// openSQLite opens a fresh bench database file. With SchemaReset an
// existing file is deleted first, but only if it is a FlowFabric database
// whose lanes are all the bench lane: the bench never deletes real data.
func openSQLite(ctx context.Context, c *Config) (backend.Backend, error) {
	path := strings.TrimPrefix(c.SQLitePath, "sqlite://")
	if c.SchemaReset {
		if err := removeBenchFile(ctx, c, path); err != nil {
			return nil, err
		}
	}
	b, err := sqlite.Open(ctx, sqlite.Options{Path: path, AutoMigrate: true, Logger: c.Logger})
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	if !c.SchemaReset {
		if err := ensureEmpty(ctx, b); err != nil {
			_ = b.Close()
			return nil, err
		}
	}
	return b, nil
}

func removeBenchFile(ctx context.Context, c *Config, path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	old, err := sqlite.Open(ctx, sqlite.Options{Path: path, AutoMigrate: true, Logger: c.Logger})
	if err != nil {
		return fmt.Errorf("schema reset: %s is not a FlowFabric database, refusing to delete it: %w", path, err)
	}
	page, err := old.ListLanes(ctx, backend.ListLanesParams{Limit: 100})
	_ = old.Close()
	if err != nil {
		return fmt.Errorf("schema reset: list lanes of %s: %w", path, err)
	}
	for _, l := range page.Lanes {
		if l.Name != Lane {
			return fmt.Errorf("schema reset: %s has lane %q, not only the bench lane %q; refusing to delete it (use a fresh path)", path, l.Name, Lane)
		}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("schema reset: %w", err)
		}
	}
	return nil
}

// ensureEmpty refuses a database that already holds executions: their
// handlers would run in the bench and skew it.
func ensureEmpty(ctx context.Context, b backend.Backend) error {
	page, err := b.ListExecutions(ctx, backend.ListExecutionsParams{Limit: 1})
	if err != nil {
		return fmt.Errorf("check the database is empty: %w", err)
	}
	if len(page.Executions) > 0 {
		return fmt.Errorf("the bench database already holds executions; pass --schema-reset (or use a fresh schema or file)")
	}
	return nil
}
