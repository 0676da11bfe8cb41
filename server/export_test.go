package server

import "context"

// WithTestHooks installs test seams: onWaiting receives the number of
// waiting long-polls after each change (called under a lock: do not
// block); onClaimed runs after a claim took tasks, before its reply is
// written; onDelivered receives that reply's fate (nil when delivered).
// Any may be nil.
func WithTestHooks(onWaiting func(n int), onClaimed func(ctx context.Context), onDelivered func(err error)) Option {
	return func(s *Server) {
		s.hooks = hooks{onWaiting: onWaiting, onClaimed: onClaimed, onDelivered: onDelivered}
	}
}
