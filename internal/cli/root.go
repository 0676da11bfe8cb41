// Package cli implements the flowfabric command line: the server, schema
// migrations and the client commands that talk to a running server.
// cmd/flowfabric only calls Main.
package cli

import (
	"context"
	"io"
	"os"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Env is the process environment a command runs in.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads configuration variables; nil means os.Getenv.
	Getenv func(string) string
}

// BuildInfo identifies the binary.
type BuildInfo struct {
	Version string
	Commit  string
}

// version is the build's version: the one set at build time, else the
// module's, else "dev".
func (info BuildInfo) version() string {
	if info.Version != "" {
		return info.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Main runs the command line with args (without the program name) and
// returns the process exit code: 0 on success, 2 for a usage or
// configuration error, 1 for any other failure. Errors are printed to
// Stderr as one line, without a stack trace.
func Main(ctx context.Context, args []string, env Env, info BuildInfo) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if env.Stdin == nil {
		env.Stdin = os.Stdin
	}
	root := newRoot(env, info)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	return reportError(env.Stderr, err)
}

func newRoot(env Env, info BuildInfo) *cobra.Command {
	root := &cobra.Command{
		Use:   "flowfabric",
		Short: "FlowFabric: a durable execution engine on Postgres or embedded SQLite",
		Long: `FlowFabric runs executions on lanes, hands them to workers under leases,
retries and reclaims them, and keeps every state change durable.

Run "flowfabric server" to start the HTTP API and the reconcilers. With no
database configured it uses the embedded SQLite file ./flowfabric.db; set
--database-url (FF_DATABASE_URL) to postgres://... for production.`,
		Example: `  flowfabric server
  flowfabric server --database-url postgres://ff@db:5432/ff --auto-migrate
  flowfabric exec submit --kind email.send --input '{"to":"a@example.com"}'
  flowfabric exec get '{fp:12}:0b9f...'
  flowfabric schedule create nightly --cron "0 2 * * *" --kind report.build`,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd, env.Getenv)
		},
	}
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newServerCmd(env, info),
		newMigrateCmd(env),
		newExecCmd(env),
		newLanesCmd(env),
		newEventsCmd(env),
		newScheduleCmd(env),
		newFlowCmd(env),
		newBudgetCmd(env),
		newQuotaCmd(env),
		newSignalCmd(env),
		newWaitpointKeysCmd(env),
		newVersionCmd(env, info),
		newBenchCmd(env),
	)
	return root
}
