package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// openSchema drops and re-creates River's schema, migrates it with
// rivermigrate, and returns a pool whose search_path is that schema.
func openSchema(ctx context.Context, o options, logger *slog.Logger) (*pgxpool.Pool, error) {
	if !schemaName.MatchString(o.schema) || o.schema == "public" {
		return nil, fmt.Errorf("schema %q: want a dedicated lower-case identifier such as %s (never public)", o.schema, defaultSchema)
	}
	conn, err := pgx.Connect(ctx, o.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	ident := pgx.Identifier{o.schema}.Sanitize()
	for _, s := range []string{"DROP SCHEMA IF EXISTS " + ident + " CASCADE", "CREATE SCHEMA " + ident} {
		if _, err := conn.Exec(ctx, s); err != nil {
			_ = conn.Close(ctx)
			return nil, fmt.Errorf("prepare schema %s: %w", o.schema, err)
		}
	}
	_ = conn.Close(ctx)

	u, err := url.Parse(o.databaseURL)
	if err != nil {
		return nil, fmt.Errorf("database url: cannot parse the Postgres URL")
	}
	q := u.Query()
	q.Set("search_path", o.schema)
	u.RawQuery = q.Encode()
	cfg, err := pgxpool.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("database url: %w", err)
	}
	if o.maxConns > 0 {
		cfg.MaxConns = int32(o.maxConns)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	migrator, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Schema: o.schema, Logger: logger})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		pool.Close()
		return nil, fmt.Errorf("river migrate up: %w", err)
	}
	return pool, nil
}
