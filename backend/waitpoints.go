package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Waitpoints cover suspension, signals and HMAC tokens (a later wave; the
// types below are placeholders its team will redesign). An unknown
// execution or waitpoint is not_found; lease-bound methods fail as the
// Lifecycle ones do once the lease is gone.
type Waitpoints interface {
	// Suspend parks the lease holder until its condition is satisfied;
	// the same IdempotencyKey again returns the same outcome.
	Suspend(ctx context.Context, p SuspendParams) (SuspendOutcome, error)
	// CreateWaitpoint creates a pending waitpoint before a suspend; the
	// same Key again returns it.
	CreateWaitpoint(ctx context.Context, p CreateWaitpointParams) (PendingWaitpoint, error)
	// DeliverSignal delivers a signal; the same IdempotencyKey again
	// returns the first signal with Duplicate set.
	DeliverSignal(ctx context.Context, p DeliverSignalParams) (DeliverSignalResult, error)
	// ListPendingWaitpoints lists an execution's open waitpoints.
	ListPendingWaitpoints(ctx context.Context, p ListPendingWaitpointsParams) ([]PendingWaitpoint, error)
	// SeedWaitpointHMACSecret stores the first signing key; seeding an
	// existing key again is harmless.
	SeedWaitpointHMACSecret(ctx context.Context, p SeedWaitpointHMACSecretParams) error
	// RotateWaitpointHMACSecret makes a new signing key current; tokens of
	// the previous one verify until Grace passes.
	RotateWaitpointHMACSecret(ctx context.Context, p RotateWaitpointHMACSecretParams) error
}

// SuspendParams is the input of Suspend.
type SuspendParams struct {
	Handle         ff.Handle
	WaitpointKey   string
	ReasonCode     string
	TimeoutAt      time.Time // zero = none
	IdempotencyKey string
}

// SuspendOutcome is the result of Suspend.
type SuspendOutcome struct {
	Suspended        bool
	Handle           ff.Handle
	WaitpointID      string
	WaitpointToken   string
	AlreadySatisfied bool
}

// CreateWaitpointParams is the input of CreateWaitpoint.
type CreateWaitpointParams struct {
	Handle    ff.Handle
	Key       string
	ExpiresIn time.Duration // 0 = never
}

// PendingWaitpoint is an open waitpoint. Token is the credential of its
// signals.
type PendingWaitpoint struct {
	WaitpointID  string
	WaitpointKey string
	Token        string
	State        string
}

// DeliverSignalParams is the input of DeliverSignal.
type DeliverSignalParams struct {
	ExecutionID    ff.ExecutionID
	WaitpointID    string
	Token          string
	Name           string
	Payload        []byte
	IdempotencyKey string
}

// DeliverSignalResult is the result of DeliverSignal.
type DeliverSignalResult struct {
	SignalID  string
	Effect    string
	Duplicate bool
}

// ListPendingWaitpointsParams is the input of ListPendingWaitpoints.
type ListPendingWaitpointsParams struct {
	ExecutionID ff.ExecutionID
}

// SeedWaitpointHMACSecretParams is the input of SeedWaitpointHMACSecret.
type SeedWaitpointHMACSecretParams struct {
	Kid       string
	SecretHex string
}

// RotateWaitpointHMACSecretParams is the input of
// RotateWaitpointHMACSecret.
type RotateWaitpointHMACSecretParams struct {
	Kid       string
	SecretHex string
	Grace     time.Duration
}

// UnimplementedWaitpoints answers every waitpoint operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedWaitpoints struct{}

func (UnimplementedWaitpoints) Suspend(context.Context, SuspendParams) (SuspendOutcome, error) {
	return SuspendOutcome{}, ff.Unavailable("suspend")
}

func (UnimplementedWaitpoints) CreateWaitpoint(context.Context, CreateWaitpointParams) (PendingWaitpoint, error) {
	return PendingWaitpoint{}, ff.Unavailable("create_waitpoint")
}

func (UnimplementedWaitpoints) DeliverSignal(context.Context, DeliverSignalParams) (DeliverSignalResult, error) {
	return DeliverSignalResult{}, ff.Unavailable("deliver_signal")
}

func (UnimplementedWaitpoints) ListPendingWaitpoints(context.Context, ListPendingWaitpointsParams) ([]PendingWaitpoint, error) {
	return nil, ff.Unavailable("list_pending_waitpoints")
}

func (UnimplementedWaitpoints) SeedWaitpointHMACSecret(context.Context, SeedWaitpointHMACSecretParams) error {
	return ff.Unavailable("seed_waitpoint_hmac_secret")
}

func (UnimplementedWaitpoints) RotateWaitpointHMACSecret(context.Context, RotateWaitpointHMACSecretParams) error {
	return ff.Unavailable("rotate_waitpoint_hmac_secret")
}
