package backend

import (
	"context"
)

// Admin is boot, health and identity.
type Admin interface {
	Label() string
	Capabilities() Capabilities
	Ping(ctx context.Context) error
	// Close releases every resource; it returns when in-flight calls on
	// the backend may no longer use them.
	Close() error
}
