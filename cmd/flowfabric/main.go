// Command flowfabric is the FlowFabric server and command line; see
// "flowfabric --help". The commands live in internal/cli.
package main

import (
	"context"
	"os"

	"github.com/flowfabric-go/flowfabric/internal/cli"
)

// version and commit are set at build time with
// -ldflags "-X main.version=v1.2.3 -X main.commit=abc123".
var version, commit string

func main() {
	env := cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}
	os.Exit(cli.Main(context.Background(), os.Args[1:], env, cli.BuildInfo{Version: version, Commit: commit}))
}
