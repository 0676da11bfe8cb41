package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// healthz pings the backend; any failure is 503 so load balancers take
// the instance out whatever the cause. The body only says the database is
// unreachable: the cause (which names the database user, host and name)
// goes to the log.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	if err := s.b.Ping(ctx); err != nil {
		if r.Context().Err() != nil {
			return err // the prober went away: a client abort
		}
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "health check: database unreachable", slog.String("error", err.Error()))
		s.writeJSON(w, r, http.StatusServiceUnavailable, wire.ErrorBody{Error: "database unreachable",
			Kind: ff.ErrTransport, Retryable: true, Class: ff.ClassTransport})
		return nil
	}
	s.writeJSON(w, r, http.StatusOK, wire.Health{Status: "ok", Backend: s.b.Label()})
	return nil
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	s.metricsH.ServeHTTP(w, r)
	return nil
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapi)
	return nil
}

func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) error {
	s.writeJSON(w, r, http.StatusOK, wire.CapabilitiesOf(s.b.Capabilities()))
	return nil
}

func (s *Server) listLanes(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := queryLimit(q)
	if err != nil {
		return err
	}
	page, err := s.b.ListLanes(r.Context(), backend.ListLanesParams{Cursor: q.Get("cursor"), Limit: int(limit)})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, wire.LanePageOf(page))
	return nil
}
