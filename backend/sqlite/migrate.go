package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one embedded schema migration, migrations/NNNN_name.sql.
type Migration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	sql     string
}

// AppliedMigration is a row of ff_schema_version.
type AppliedMigration struct {
	Version     int    `json:"version"`
	Name        string `json:"name"`
	AppliedAtMs int64  `json:"applied_at_ms"`
}

// SchemaStatus is what `flowfabric migrate status` reports.
type SchemaStatus struct {
	Path    string             `json:"path"`
	Exists  bool               `json:"exists"`
	Current int                `json:"current_version"` // 0: no FlowFabric schema yet
	Latest  int                `json:"latest_version"`  // the newest this binary knows
	Applied []AppliedMigration `json:"applied"`
	Pending []Migration        `json:"pending"`
}

// Migrations lists the embedded migrations in version order. Versions
// start at 1 and have no gaps.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite migrations: %w", err)
	}
	var out []Migration
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || len(num) != 4 || name == "" {
			return nil, fmt.Errorf("sqlite migrations: %s: want NNNN_name.sql", n)
		}
		body, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, fmt.Errorf("sqlite migrations: %w", err)
		}
		out = append(out, Migration{Version: v, Name: name, sql: string(body)})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqlite migrations: version %d found where %d was expected", m.Version, i+1)
		}
	}
	return out, nil
}

// LatestVersion is the schema version this binary creates.
func LatestVersion() int {
	ms, err := Migrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

// querier is what schema inspection needs from a *sql.DB or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// schemaState is what a database holds, read without writing.
type schemaState struct {
	versionTable bool
	otherTables  []string // tables that are neither SQLite's nor the version table
	applied      []AppliedMigration
}

func (s schemaState) current() int {
	if len(s.applied) == 0 {
		return 0
	}
	return s.applied[len(s.applied)-1].Version
}

// foreign reports a SQLite database that holds somebody else's tables.
func (s schemaState) foreign() bool { return !s.versionTable && len(s.otherTables) > 0 }

func inspectSchema(ctx context.Context, q querier) (schemaState, error) {
	var st schemaState
	rows, err := q.QueryContext(ctx, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return st, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return st, err
		}
		if name == "ff_schema_version" {
			st.versionTable = true
		} else {
			st.otherTables = append(st.otherTables, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, err
	}
	if !st.versionTable {
		return st, nil
	}
	rows, err = q.QueryContext(ctx, `SELECT version, name, applied_at_ms FROM ff_schema_version ORDER BY version`)
	if err != nil {
		return st, err
	}
	defer rows.Close()
	for rows.Next() {
		var a AppliedMigration
		if err := rows.Scan(&a.Version, &a.Name, &a.AppliedAtMs); err != nil {
			return st, err
		}
		st.applied = append(st.applied, a)
	}
	return st, rows.Err()
}

// checkSchema refuses a foreign database and a schema newer than latest.
func checkSchema(path string, st schemaState, latest int) error {
	if st.foreign() {
		return notFlowFabric(path, fmt.Sprintf("it has tables %s but no ff_schema_version table", strings.Join(st.otherTables, ", ")))
	}
	if cur := st.current(); cur > latest {
		return schemaError(ErrSchemaTooNew, "sqlite: database %s has schema version %d, newer than the %d this binary knows; upgrade flowfabric (the database was not modified)", path, cur, latest)
	}
	return nil
}

// migrateCommand is the fix named in errors.
func migrateCommand(path string) string {
	return "flowfabric migrate up --database-url " + path
}

// migrateDB applies pending migrations through db (the writer, whose
// transactions are BEGIN IMMEDIATE), one transaction per migration. Each
// transaction re-reads the version under the write lock, so concurrent
// migrators apply every migration exactly once.
func migrateDB(ctx context.Context, db *sql.DB, path string, log *slog.Logger) ([]Migration, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	var applied []Migration
	for {
		done, m, err := migrateOne(ctx, db, path, all)
		if err != nil {
			return applied, err
		}
		if done {
			return applied, nil
		}
		log.Info("sqlite: applied migration", "path", path, "version", m.Version, "name", m.Name)
		applied = append(applied, m)
	}
}

func migrateOne(ctx context.Context, db *sql.DB, path string, all []Migration) (done bool, m Migration, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, m, driverError("sqlite migrate: begin", err)
	}
	defer func() {
		if err != nil || done {
			_ = tx.Rollback()
		}
	}()
	st, err := inspectSchema(ctx, tx)
	if err != nil {
		return false, m, driverError("sqlite migrate: inspect", err)
	}
	if err := checkSchema(path, st, len(all)); err != nil {
		return false, m, err
	}
	cur := st.current()
	if cur == len(all) {
		return true, m, nil
	}
	if !st.versionTable {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE ff_schema_version (
    version       INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    applied_at_ms INTEGER NOT NULL
)`); err != nil {
			return false, m, driverError("sqlite migrate: create version table", err)
		}
	}
	m = all[cur]
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return false, m, driverError(fmt.Sprintf("sqlite migrate: apply %04d_%s", m.Version, m.Name), err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO ff_schema_version (version, name, applied_at_ms) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMilli()); err != nil {
		return false, m, driverError("sqlite migrate: record version", err)
	}
	if err := tx.Commit(); err != nil {
		return false, m, driverError("sqlite migrate: commit", err)
	}
	return false, m, nil
}

// Migrate brings the database at path to the latest schema, creating the
// file if needed, and returns the migrations it applied. It refuses
// foreign databases and newer schemas without modifying them. logger may
// be nil.
func Migrate(ctx context.Context, dbPath string, logger *slog.Logger) ([]Migration, error) {
	abs, err := resolvePath(dbPath)
	if err != nil {
		return nil, err
	}
	f, err := inspectFile(abs, true)
	if err != nil {
		return nil, err
	}
	if f.exists {
		if err := probeSchema(ctx, abs, nil); err != nil {
			return nil, err
		}
	}
	db, err := openWriter(ctx, abs)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return migrateDB(ctx, db, abs, loggerOr(logger))
}

// MigrationStatus reports the schema of the database at path without
// modifying (or creating) it.
func MigrationStatus(ctx context.Context, dbPath string) (SchemaStatus, error) {
	all, err := Migrations()
	if err != nil {
		return SchemaStatus{}, err
	}
	abs, err := resolvePath(dbPath)
	if err != nil {
		return SchemaStatus{}, err
	}
	s := SchemaStatus{Path: abs, Latest: len(all), Pending: all}
	f, err := inspectFile(abs, false)
	if err != nil {
		return s, err
	}
	if !f.exists {
		return s, nil
	}
	s.Exists = true
	var st schemaState
	if err := probeSchema(ctx, abs, &st); err != nil {
		return s, err
	}
	s.Applied = st.applied
	s.Current = st.current()
	if s.Current < len(all) {
		s.Pending = all[s.Current:]
	} else {
		s.Pending = nil
	}
	return s, nil
}

// probeSchema reads the schema of an existing file through a query_only
// connection that sets no persistent pragma, and refuses a foreign
// database or a newer schema. The file is not modified. out, if not nil,
// receives what was read.
func probeSchema(ctx context.Context, abs string, out *schemaState) error {
	db, err := sql.Open(driverName, dsn(abs, "_pragma=busy_timeout(5000)", "_pragma=query_only(1)"))
	if err != nil {
		return driverError("sqlite: open "+abs, err)
	}
	defer db.Close()
	st, err := inspectSchema(ctx, db)
	if err != nil {
		if isNotADB(err) {
			return notFlowFabric(abs, "SQLite cannot read it as a database")
		}
		return driverError("sqlite: read schema of "+abs, err)
	}
	if out != nil {
		*out = st
	}
	return checkSchema(abs, st, LatestVersion())
}
