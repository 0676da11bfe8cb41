package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	ff "github.com/flowfabric-go/flowfabric"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one embedded schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// MigrationState is one row of MigrationStatus.
type MigrationState struct {
	Version   int    `json:"version"`
	Name      string `json:"name"`
	Applied   bool   `json:"applied"`
	AppliedAt string `json:"applied_at,omitempty"`
}

// Migrations returns the embedded migrations in version order. File names
// are NNNN_name.sql.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		body, err := migrationFS.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// LatestVersion is the schema version this build needs.
func LatestVersion() int {
	ms, err := Migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].Version
}

const migrationTable = `CREATE TABLE IF NOT EXISTS ff_schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// migrationLockKey is the advisory lock that serialises migrators. It is
// derived from the schema so that schemas in one database do not contend.
const migrationLockKey = `SELECT ('x' || substr(md5('flowfabric:migrate:' || current_schema()), 1, 16))::bit(64)::bigint`

// migrateUp applies every pending migration, each in its own transaction,
// under a session advisory lock so concurrent migrators apply each step
// once. It returns the versions applied.
func migrateUp(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: acquire: %w", err)
	}
	defer conn.Release()
	var key int64
	if err := conn.QueryRow(ctx, migrationLockKey).Scan(&key); err != nil {
		return nil, fmt.Errorf("migrate: lock key: %w", err)
	}
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", key); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", key) }()
	if _, err := conn.Exec(ctx, migrationTable); err != nil {
		return nil, fmt.Errorf("migrate: version table: %w", err)
	}
	current, err := currentVersion(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range ms {
		if m.Version <= current {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO ff_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: apply %04d_%s: %w", m.Version, m.Name, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// currentVersion is the highest applied version, 0 for an empty schema.
func currentVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int, error) {
	var v int
	err := q.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM ff_schema_migrations").Scan(&v)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migrationStatus lists every known migration and whether it is applied.
func migrationStatus(ctx context.Context, pool *pgxpool.Pool) ([]MigrationState, error) {
	ms, err := Migrations()
	if err != nil {
		return nil, err
	}
	applied := map[int]string{}
	rows, err := pool.Query(ctx, "SELECT version, applied_at::text FROM ff_schema_migrations")
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" {
		rows = nil
	} else if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	if rows != nil {
		for rows.Next() {
			var v int
			var at string
			if err := rows.Scan(&v, &at); err != nil {
				return nil, fmt.Errorf("migration status: %w", err)
			}
			applied[v] = at
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("migration status: %w", err)
		}
	}
	out := make([]MigrationState, 0, len(ms))
	for _, m := range ms {
		at, ok := applied[m.Version]
		out = append(out, MigrationState{Version: m.Version, Name: m.Name, Applied: ok, AppliedAt: at})
	}
	return out, nil
}

// checkSchema refuses a schema that is not exactly the version this build
// needs, naming the command that fixes it.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := currentVersion(ctx, pool)
	if err != nil {
		return ff.Transport("schema version check", err, true)
	}
	want := LatestVersion()
	switch {
	case v < want:
		return &ff.Error{Class: ff.ClassUnavailable, Kind: ff.ErrSchemaMismatch, Detail: fmt.Sprintf(
			"database schema is at version %d, this build needs %d: run `flowfabric migrate up --database-url <url>` (or start the server with --auto-migrate)", v, want)}
	case v > want:
		return &ff.Error{Class: ff.ClassUnavailable, Kind: ff.ErrSchemaMismatch, Detail: fmt.Sprintf(
			"database schema is at version %d, newer than this build (%d): upgrade flowfabric", v, want)}
	}
	return nil
}
