package ffserver

import (
	"context"
	"errors"
	"fmt"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// seedWaitpointKey makes sure the store holds a waitpoint signing key
// (Config.WaitpointHMACSecret). The secret is never logged.
func (s *Server) seedWaitpointKey(ctx context.Context) error {
	if !s.raw.Capabilities().Supports.Waitpoints {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, openTimeout)
	defer cancel()
	onPostgres := s.Postgres() != nil
	res, err := s.raw.SeedWaitpointKey(ctx, backend.SeedWaitpointKeyParams{Kid: s.cfg.WaitpointHMACKid,
		SecretHex: s.cfg.WaitpointHMACSecret, Generate: !onPostgres})
	if errors.Is(err, ff.ErrHMACNotInitialized) {
		return &ff.Error{Class: ff.ClassUnavailable, Kind: ff.ErrHMACNotInitialized, Detail: "ffserver: the Postgres " +
			"database holds no waitpoint signing key: set FF_WAITPOINT_HMAC_SECRET (or --waitpoint-hmac-secret) to at " +
			"least 64 hex digits, e.g. `openssl rand -hex 32`; it seeds the key on the first start, and " +
			"`flowfabric waitpoint-keys rotate` replaces it later"}
	}
	if err != nil {
		return fmt.Errorf("ffserver: seed the waitpoint signing key: %w", err)
	}
	switch {
	case res.Generated:
		s.log.Warn("generated a waitpoint signing key and stored it in the database (first start); "+
			"set FF_WAITPOINT_HMAC_SECRET to choose it, or rotate it with `flowfabric waitpoint-keys rotate`", "kid", res.Kid)
	case res.Seeded:
		s.log.Info("stored the waitpoint signing key from FF_WAITPOINT_HMAC_SECRET", "kid", res.Kid)
	}
	return nil
}
