package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// printer writes a command's result: human-readable by default, or JSON
// with --json (one document, indented, for scripts and jq).
type printer struct {
	w    io.Writer
	json bool
}

// emit writes v as JSON, or calls human.
func (p printer) emit(v any, human func(w io.Writer) error) error {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
		return nil
	}
	return human(p.w)
}

// table writes aligned rows; the first row is the header.
func table(w io.Writer, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}
