package engine

import (
	"context"
	"fmt"
	"log/slog"
	"slices"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// DeclareReport says what DeclareSchedules did, by schedule id
// (namespace/id when the namespace is not the default).
type DeclareReport struct {
	Created, Replaced, Unchanged []string
	// Stale are declared schedules in the declarations' namespaces that
	// the program no longer declares: reported and kept.
	Stale []string
}

// DeclareSchedules makes the store's declared schedules match decls:
// each is created, replaced when its definition changed (paused state
// and counters kept), or left alone. Declared schedules absent from
// decls are logged and kept: during a rolling deploy older processes
// still declare them; delete them with `flowfabric schedule delete`.
// Safe to call from several processes at once.
func DeclareSchedules(ctx context.Context, s backend.Schedules, decls []backend.CreateScheduleParams, log *slog.Logger) (DeclareReport, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var rep DeclareReport
	names := map[string][]string{} // namespace -> declared ids
	for _, d := range decls {
		d.Declared, d.Replace = true, true
		res, err := s.CreateSchedule(ctx, d)
		if err != nil {
			return rep, fmt.Errorf("declare schedule %s: %w", scheduleName(d.Namespace, d.ID), err)
		}
		rep.record(res.Outcome, scheduleName(d.Namespace, d.ID))
		names[d.Namespace] = append(names[d.Namespace], d.ID)
	}
	for ns, ids := range names {
		stale, err := staleDeclared(ctx, s, ns, ids)
		if err != nil {
			return rep, err
		}
		rep.Stale = append(rep.Stale, stale...)
	}
	for _, name := range rep.Stale {
		log.Warn("declared schedule no longer declared: kept (delete it with `flowfabric schedule delete`)", "schedule", name)
	}
	log.Info("schedules declared", "created", len(rep.Created), "replaced", len(rep.Replaced), "unchanged", len(rep.Unchanged))
	return rep, nil
}

func (r *DeclareReport) record(o backend.ScheduleOutcome, name string) {
	switch o {
	case backend.ScheduleCreated:
		r.Created = append(r.Created, name)
	case backend.ScheduleReplaced:
		r.Replaced = append(r.Replaced, name)
	default:
		r.Unchanged = append(r.Unchanged, name)
	}
}

// staleDeclared lists ns's declared schedules that are not in ids.
func staleDeclared(ctx context.Context, s backend.Schedules, ns string, ids []string) ([]string, error) {
	var stale []string
	p := backend.ListSchedulesParams{Namespace: ns, Limit: 1000}
	for {
		page, err := s.ListSchedules(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("list declared schedules: %w", err)
		}
		for _, sc := range page.Schedules {
			if sc.Source == ff.SourceDeclared && !slices.Contains(ids, sc.ID) {
				stale = append(stale, scheduleName(ns, sc.ID))
			}
		}
		if page.NextCursor == "" {
			return stale, nil
		}
		p.Cursor = page.NextCursor
	}
}

func scheduleName(ns, id string) string {
	if ns == "" {
		return id
	}
	return ns + "/" + id
}
