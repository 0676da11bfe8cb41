package cli

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/flowfabric-go/flowfabric/ffserver"
)

func newMigrateCmd(env Env) *cobra.Command {
	var dbURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply or inspect database schema migrations",
		Long: `Apply or inspect the database schema. The server refuses a schema that is
not at its version unless started with --auto-migrate; run "migrate up"
before rolling out a new version against Postgres.`,
		Example: `  flowfabric migrate status --database-url postgres://ff@db:5432/ff
  flowfabric migrate up --database-url postgres://ff@db:5432/ff
  FF_DATABASE_URL=./data/ff.db flowfabric migrate up`,
		Args: noArgs,
	}
	cmd.PersistentFlags().StringVar(&dbURL, "database-url", "", "postgres://... URL, sqlite://path or a file path (default ./flowfabric.db)")
	bindEnv(cmd.PersistentFlags(), "database-url", "FF_DATABASE_URL")
	cmd.PersistentFlags().BoolVar(&asJSON, "json", false, "print JSON")

	up := &cobra.Command{
		Use:     "up",
		Short:   "Apply every pending migration",
		Example: "  flowfabric migrate up --database-url postgres://ff@db:5432/ff",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := ffserver.ParseDatabaseURL(dbURL)
			if err != nil {
				return usageError{err}
			}
			applied, err := migrateUp(cmd.Context(), db, nil)
			if err != nil {
				return err
			}
			out := struct {
				Backend  string `json:"backend"`
				Database string `json:"database"`
				Applied  []int  `json:"applied"`
			}{db.Kind, db.Where(), applied}
			return printer{env.Stdout, asJSON}.emit(out, func(w io.Writer) error {
				if len(applied) == 0 {
					_, err := fmt.Fprintf(w, "%s %s: schema already up to date\n", db.Kind, db.Where())
					return err
				}
				_, err := fmt.Fprintf(w, "%s %s: applied migrations %v\n", db.Kind, db.Where(), applied)
				return err
			})
		},
	}
	status := &cobra.Command{
		Use:     "status",
		Short:   "Show which migrations are applied, without changing anything",
		Example: "  flowfabric migrate status --database-url ./flowfabric.db --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := ffserver.ParseDatabaseURL(dbURL)
			if err != nil {
				return usageError{err}
			}
			r, err := migrationStatus(cmd.Context(), db)
			if err != nil {
				return err
			}
			return printer{env.Stdout, asJSON}.emit(r, func(w io.Writer) error {
				state := "up to date"
				switch {
				case r.Current < r.Latest:
					state = fmt.Sprintf("%d pending: run `flowfabric migrate up`", r.Latest-r.Current)
				case r.Current > r.Latest:
					state = "newer than this binary: upgrade flowfabric"
				}
				fmt.Fprintf(w, "%s %s: schema version %d of %d (%s)\n", r.Backend, r.Database, r.Current, r.Latest, state)
				rows := [][]string{{"VERSION", "NAME", "APPLIED"}}
				for _, m := range r.Migrations {
					at := "pending"
					if m.Applied {
						at = m.AppliedAt
					}
					rows = append(rows, []string{strconv.Itoa(m.Version), m.Name, at})
				}
				return table(w, rows)
			})
		},
	}
	cmd.AddCommand(up, status)
	return cmd
}
