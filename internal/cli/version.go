package cli

import (
	"fmt"
	"io"
	"runtime"

	"github.com/spf13/cobra"
)

type versionInfo struct {
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"go_version"`
	Platform  string `json:"platform"`
}

func newVersionCmd(env Env, info BuildInfo) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "version",
		Short:   "Print the version of this binary",
		Example: "  flowfabric version\n  flowfabric version --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := versionInfo{Version: info.version(), Commit: info.Commit, GoVersion: runtime.Version(),
				Platform: runtime.GOOS + "/" + runtime.GOARCH}
			return printer{env.Stdout, asJSON}.emit(v, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "flowfabric %s (%s, %s)\n", v.Version, v.GoVersion, v.Platform)
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
