package ui

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// executionsPage is the page size of the executions list.
const executionsPage = 50

// executionsData is the executions list: the filters as given, a page,
// and the link to the next one.
type executionsData struct {
	Filter     executionFilter
	States     []ff.PublicState
	Executions []backend.ExecutionSummary
	NextURL    string
	FirstURL   string // set when a cursor was given
}

// executionFilter is the list's query string.
type executionFilter struct {
	Lane, State, Kind, Tag, Flow string
	Limit                        string // page size; "" = executionsPage
}

func filterOf(q url.Values) executionFilter {
	return executionFilter{Lane: q.Get("lane"), State: q.Get("state"), Kind: q.Get("kind"), Tag: q.Get("tag"),
		Flow: q.Get("flow"), Limit: q.Get("limit")}
}

// params turns the filter into the API's listing parameters, normalised
// as the API normalises them.
func (f executionFilter) params(cursor string) (backend.ListExecutionsParams, error) {
	p := backend.ListExecutionsParams{Lane: f.Lane, PublicState: ff.PublicState(f.State), Kind: f.Kind, FlowID: f.Flow,
		Cursor: cursor}
	var err error
	if p.Limit, err = pageLimit(f.Limit, executionsPage); err != nil {
		return p, err
	}
	if p.Tag, err = backend.ParseTagFilter(f.Tag); err != nil {
		return p, err
	}
	return p, p.Normalize()
}

// pageLimit reads a page size from a query value ("" is def); the
// listing's Normalize checks its range.
func pageLimit(raw string, def int) (int, error) {
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, ff.Validation(ff.ErrInvalidInput, "limit %q: want a whole number", ff.CutText(raw, 32))
	}
	return n, nil
}

// query is the filter as a query string, with cursor when set.
func (f executionFilter) query(cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"lane": f.Lane, "state": f.State, "kind": f.Kind, "tag": f.Tag, "flow": f.Flow,
		"limit": f.Limit, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

func (d *Dashboard) executions(r *http.Request) (page, error) {
	q := r.URL.Query()
	f := filterOf(q)
	p, err := f.params(q.Get("cursor"))
	if err != nil {
		return page{Template: "executions", Title: "Executions", Refused: err,
			Data: executionsData{Filter: f, States: ff.PublicStates}}, nil
	}
	list, err := d.b.ListExecutions(r.Context(), p)
	if err != nil {
		return page{}, fmt.Errorf("list executions: %w", err)
	}
	data := executionsData{Filter: f, States: ff.PublicStates, Executions: list.Executions}
	if p.Cursor != "" {
		data.FirstURL = "/ui/executions?" + f.query("")
	}
	if list.NextCursor != "" {
		data.NextURL = "/ui/executions?" + f.query(list.NextCursor)
	}
	return page{Template: "executions", Title: "Executions", Data: data}, nil
}
