package ffserver

import (
	"context"
	"fmt"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/engine"
)

// scheduleStore is the store the schedule firer sweeps: the instrumented
// backend when the store has schedules, else nil (no firer).
func (s *Server) scheduleStore() backend.Schedules {
	if !s.b.Capabilities().Supports.Schedules {
		return nil
	}
	return s.b
}

// flowStore is the store's flows for the reconcilers, nil when it has
// none.
func (s *Server) flowStore() backend.Flows {
	if !s.b.Capabilities().Supports.Flows {
		return nil
	}
	return s.b
}

// budgetStore is the store the budget and quota reconcilers sweep: the
// instrumented backend when the store has budgets and quotas, else nil.
func (s *Server) budgetStore() backend.Budgets {
	if sp := s.b.Capabilities().Supports; !sp.BudgetAdmin || !sp.QuotaAdmin {
		return nil
	}
	return s.b
}

// declareSchedules upserts Config.Schedules (engine.DeclareSchedules).
// A store without schedules refuses them.
func (s *Server) declareSchedules(ctx context.Context) error {
	if len(s.cfg.Schedules) == 0 {
		return nil
	}
	if s.scheduleStore() == nil {
		return fmt.Errorf("ffserver: declared schedules: %w", ff.Unavailable("schedules"))
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	_, err := engine.DeclareSchedules(ctx, s.b, s.cfg.Schedules, s.log)
	return err
}
