package backend

import (
	"context"
)

// Admin is boot, health and identity.
type Admin interface {
	// Label names the backend family ("postgres", "sqlite").
	Label() string
	// Capabilities is a static snapshot of what the backend implements;
	// a false flag means the operation answers Unavailable.
	Capabilities() Capabilities
	// Ping checks the store answers; repeating it is always safe.
	Ping(ctx context.Context) error
	// Close releases every resource; it returns when in-flight calls on
	// the backend may no longer use them. It is idempotent.
	Close() error
}
