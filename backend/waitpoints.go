package backend

import (
	"context"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Waitpoints cover suspension, signals and HMAC tokens (a later wave).
type Waitpoints interface {
	Suspend(ctx context.Context, p SuspendParams) (SuspendOutcome, error)
	CreateWaitpoint(ctx context.Context, h ff.Handle, key string, expiresIn time.Duration) (PendingWaitpoint, error)
	DeliverSignal(ctx context.Context, p DeliverSignalParams) (DeliverSignalResult, error)
	ListPendingWaitpoints(ctx context.Context, id ff.ExecutionID) ([]PendingWaitpoint, error)
	SeedWaitpointHMACSecret(ctx context.Context, kid, secretHex string) error
	RotateWaitpointHMACSecret(ctx context.Context, kid, secretHex string, grace time.Duration) error
}

type SuspendParams struct {
	Handle         ff.Handle
	WaitpointKey   string
	ReasonCode     string
	TimeoutAtMs    int64
	IdempotencyKey string
}

type SuspendOutcome struct {
	Suspended        bool
	Handle           ff.Handle
	WaitpointID      string
	WaitpointToken   string
	AlreadySatisfied bool
}

type PendingWaitpoint struct {
	WaitpointID  string
	WaitpointKey string
	Token        string
	State        string
}

type DeliverSignalParams struct {
	ExecutionID    ff.ExecutionID
	WaitpointID    string
	Token          string
	Name           string
	Payload        []byte
	IdempotencyKey string
}

type DeliverSignalResult struct {
	SignalID  string
	Effect    string
	Duplicate bool
}

// UnimplementedWaitpoints answers every waitpoint operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedWaitpoints struct{}

func (UnimplementedWaitpoints) Suspend(context.Context, SuspendParams) (SuspendOutcome, error) {
	return SuspendOutcome{}, ff.Unavailable("suspend")
}
func (UnimplementedWaitpoints) CreateWaitpoint(context.Context, ff.Handle, string, time.Duration) (PendingWaitpoint, error) {
	return PendingWaitpoint{}, ff.Unavailable("create_waitpoint")
}
func (UnimplementedWaitpoints) DeliverSignal(context.Context, DeliverSignalParams) (DeliverSignalResult, error) {
	return DeliverSignalResult{}, ff.Unavailable("deliver_signal")
}
func (UnimplementedWaitpoints) ListPendingWaitpoints(context.Context, ff.ExecutionID) ([]PendingWaitpoint, error) {
	return nil, ff.Unavailable("list_pending_waitpoints")
}
func (UnimplementedWaitpoints) SeedWaitpointHMACSecret(context.Context, string, string) error {
	return ff.Unavailable("seed_waitpoint_hmac_secret")
}
func (UnimplementedWaitpoints) RotateWaitpointHMACSecret(context.Context, string, string, time.Duration) error {
	return ff.Unavailable("rotate_waitpoint_hmac_secret")
}
