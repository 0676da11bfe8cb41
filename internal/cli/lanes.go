package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/spf13/cobra"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

func newLanesCmd(env Env) *cobra.Command {
	o := &clientOptions{}
	var p backend.ListLanesParams
	cmd := &cobra.Command{
		Use:   "lanes",
		Short: "List lanes with their queue depth (non-terminal executions by state)",
		Example: `  flowfabric lanes
  flowfabric lanes --json --server http://ff.internal:8080`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, ctx, cancel := o.client(cmd.Context())
			defer cancel()
			page, err := c.ListLanes(ctx, p)
			if err != nil {
				return fmt.Errorf("list lanes: %w", err)
			}
			paused := map[string]bool{}
			if states, err := c.LaneStates(ctx, backend.LaneStatesParams{}); err == nil { // a server without lane control has none
				for _, s := range states {
					paused[s.Lane] = true
				}
			}
			return printer{env.Stdout, o.json}.emit(wire.LanePageOf(page), func(w io.Writer) error {
				// Lanes report queue depth: non-terminal executions only.
				cols := []ff.PublicState{ff.PublicWaiting, ff.PublicDelayed, ff.PublicActive}
				rows := [][]string{{"LANE", "WAITING", "DELAYED", "ACTIVE", "OTHER", "STATE"}}
				for _, l := range page.Lanes {
					row := []string{l.Name}
					var other int64
					for st, n := range l.Counts {
						if !slices.Contains(cols, st) {
							other += n
						}
					}
					for _, c := range cols {
						row = append(row, strconv.FormatInt(l.Counts[c], 10))
					}
					state := "running"
					if paused[l.Name] {
						state = "paused"
					}
					rows = append(rows, append(row, strconv.FormatInt(other, 10), state))
				}
				if err := table(w, rows); err != nil {
					return err
				}
				if page.NextCursor != "" {
					_, err := fmt.Fprintf(w, "more: --cursor %s\n", page.NextCursor)
					return err
				}
				return nil
			})
		},
	}
	o.register(cmd)
	cmd.AddCommand(newLanePauseCmd(env, o, true), newLanePauseCmd(env, o, false), newLanesPausedCmd(env, o),
		newLanesBulkCmd(env, o, backend.BulkReplay), newLanesBulkCmd(env, o, backend.BulkCancel))
	cmd.Flags().IntVar(&p.Limit, "limit", 0, "page size")
	cmd.Flags().StringVar(&p.Cursor, "cursor", "", "start after this lane (from the previous page)")
	return cmd
}
