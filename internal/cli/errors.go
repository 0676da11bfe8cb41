package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError is a mistake in the command line or configuration: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// reportError prints err as one line and returns the exit code.
func reportError(w io.Writer, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintln(w, "flowfabric: interrupted")
		return exitFailure
	}
	msg := strings.TrimSpace(err.Error())
	fmt.Fprintf(w, "flowfabric: error: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(msg) {
		fmt.Fprintln(w, "Run with --help for usage.")
		return exitUsage
	}
	return exitFailure
}

// isCobraUsage recognises the one usage error cobra produces itself
// (flag errors go through the flag error func, arguments through
// exactArgs and noArgs).
func isCobraUsage(msg string) bool { return strings.HasPrefix(msg, "unknown command") }

// exactArgs requires n positional arguments, with a usage error naming them.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("expected %s, got %d argument(s)", what, len(args))
		}
		return nil
	}
}

// noArgs refuses positional arguments.
func noArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unexpected argument %q", args[0])
	}
	return nil
}
