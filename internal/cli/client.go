package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/flowfabric-go/flowfabric/client"
)

// DefaultServerURL is where client commands look for the server.
const DefaultServerURL = "http://127.0.0.1:8080"

// clientOptions are the flags shared by the commands that call a server.
type clientOptions struct {
	server  string
	token   string
	timeout time.Duration
	json    bool
}

func (o *clientOptions) register(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.server, "server", DefaultServerURL, "FlowFabric server URL")
	bindEnv(f, "server", "FF_SERVER_URL")
	f.StringVar(&o.token, "api-token", "", "bearer token for the server")
	bindEnv(f, "api-token", "FF_API_TOKEN")
	f.DurationVar(&o.timeout, "timeout", 30*time.Second, "request timeout")
	f.BoolVar(&o.json, "json", false, "print JSON")
}

// client returns an API client and a context bounded by --timeout.
func (o *clientOptions) client(ctx context.Context) (*client.Client, context.Context, context.CancelFunc) {
	var opts []client.Option
	if o.token != "" {
		opts = append(opts, client.WithToken(o.token))
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	return client.New(o.server, opts...), ctx, cancel
}
