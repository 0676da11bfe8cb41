package cli

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/flowfabric-go/flowfabric/backend/postgres"
	"github.com/flowfabric-go/flowfabric/backend/sqlite"
	"github.com/flowfabric-go/flowfabric/ffserver"
)

// MigrationRow is one known migration and whether it is applied.
type MigrationRow struct {
	Version   int    `json:"version"`
	Name      string `json:"name"`
	Applied   bool   `json:"applied"`
	AppliedAt string `json:"applied_at,omitempty"`
}

// SchemaReport is the backend-neutral migration status.
type SchemaReport struct {
	Backend    string         `json:"backend"`
	Database   string         `json:"database"`
	Current    int            `json:"current_version"`
	Latest     int            `json:"latest_version"`
	Migrations []MigrationRow `json:"migrations"`
}

// UpToDate reports whether the schema is exactly at this build's version.
func (r SchemaReport) UpToDate() bool { return r.Current == r.Latest }

// migrateUp applies pending migrations and returns the versions applied.
// It does not require the schema to be current beforehand.
func migrateUp(ctx context.Context, d ffserver.Database, log *slog.Logger) ([]int, error) {
	switch d.Kind {
	case ffserver.KindPostgres:
		v, err := postgres.MigrateURL(ctx, d.URL)
		if err != nil {
			return v, fmt.Errorf("migrate postgres %s: %w", d.Where(), err)
		}
		return v, nil
	case ffserver.KindSQLite:
		ms, err := sqlite.Migrate(ctx, d.Path, log)
		versions := make([]int, 0, len(ms))
		for _, m := range ms {
			versions = append(versions, m.Version)
		}
		if err != nil {
			return versions, fmt.Errorf("migrate sqlite %s: %w", d.Where(), err)
		}
		return versions, nil
	}
	return nil, fmt.Errorf("unknown backend kind %q", d.Kind)
}

// migrationStatus reports the schema without changing it.
func migrationStatus(ctx context.Context, d ffserver.Database) (SchemaReport, error) {
	r := SchemaReport{Backend: d.Kind, Database: d.Where()}
	switch d.Kind {
	case ffserver.KindPostgres:
		states, err := postgres.MigrationStatusURL(ctx, d.URL)
		if err != nil {
			return r, fmt.Errorf("migration status of postgres %s: %w", d.Where(), err)
		}
		for _, s := range states {
			r.Migrations = append(r.Migrations, MigrationRow{Version: s.Version, Name: s.Name, Applied: s.Applied, AppliedAt: s.AppliedAt})
			if s.Applied && s.Version > r.Current {
				r.Current = s.Version
			}
		}
		r.Latest = postgres.LatestVersion()
		return r, nil
	case ffserver.KindSQLite:
		st, err := sqlite.MigrationStatus(ctx, d.Path)
		if err != nil {
			return r, fmt.Errorf("migration status of sqlite %s: %w", d.Where(), err)
		}
		r.Database, r.Current, r.Latest = st.Path, st.Current, st.Latest
		for _, a := range st.Applied {
			r.Migrations = append(r.Migrations, MigrationRow{Version: a.Version, Name: a.Name, Applied: true,
				AppliedAt: time.UnixMilli(a.AppliedAtMs).UTC().Format(time.RFC3339)})
		}
		for _, p := range st.Pending {
			r.Migrations = append(r.Migrations, MigrationRow{Version: p.Version, Name: p.Name})
		}
		return r, nil
	}
	return r, fmt.Errorf("unknown backend kind %q", d.Kind)
}
