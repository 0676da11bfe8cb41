package backend

import (
	"context"
	"encoding/json"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
)

// Waitpoints cover suspension, pending waitpoints, signals and the HMAC
// keystore (spec flows-waitpoints §2). An unknown execution is not_found;
// lease-bound methods fail as the Lifecycle ones do once the lease is
// gone. Tokens are credentials: only CreateWaitpoint, Suspend and
// GetWaitpointToken return them, and no method logs them.
type Waitpoints interface {
	// Suspend parks the lease holder until its condition is satisfied
	// (see ff.Execution.Suspend); the same IdempotencyKey on the same
	// execution again, before it expires, returns the first outcome.
	Suspend(ctx context.Context, p SuspendParams) (SuspendOutcome, error)
	// CreateWaitpoint creates a pending waitpoint under the lease; the
	// same Key again, while it is pending, returns it.
	CreateWaitpoint(ctx context.Context, p CreateWaitpointParams) (WaitpointToken, error)
	// DeliverSignal authenticates the token first (any refusal is
	// ff.ErrInvalidToken, before anything about the execution is read),
	// then checks state, the signal cap and the idempotency key, records
	// the signal and resumes the execution when its condition is
	// satisfied. The same IdempotencyKey on the same waitpoint returns
	// the first signal with Duplicate set.
	DeliverSignal(ctx context.Context, p DeliverSignalParams) (DeliverSignalResult, error)
	// ResumeExecution is the operator's resume of a suspended execution,
	// whatever its condition; anything else is execution_not_eligible.
	ResumeExecution(ctx context.Context, p ResumeExecutionParams) (ff.PublicState, error)
	// ListWaitpoints lists an execution's open (pending and active)
	// waitpoints, oldest first, with their tokens blanked.
	ListWaitpoints(ctx context.Context, p ListWaitpointsParams) ([]ff.Waitpoint, error)
	// GetWaitpointToken returns an open waitpoint's token (not_found once
	// it is closed).
	GetWaitpointToken(ctx context.Context, p GetWaitpointTokenParams) (string, error)
	// ListSignals lists the signals an execution received, oldest first.
	ListSignals(ctx context.Context, p ListSignalsParams) ([]ff.Signal, error)
	// SeedWaitpointKey makes sure a current signing key exists: an
	// existing one is kept; else the given secret is stored, or with
	// Generate a random one; else hmac_secret_not_initialized.
	SeedWaitpointKey(ctx context.Context, p SeedWaitpointKeyParams) (SeedWaitpointKeyResult, error)
	// RotateWaitpointKey makes a new key current; the previous one
	// verifies until now + Grace by the store's clock, never after.
	// Rotating to the current kid with its secret changes nothing; a kid
	// used before with another secret is rotation_conflict.
	RotateWaitpointKey(ctx context.Context, p RotateWaitpointKeyParams) (RotateWaitpointKeyResult, error)
	// ExpireSuspensions applies due suspension timeouts (a sweep).
	ExpireSuspensions(ctx context.Context, p SweepParams) (int, error)
	// ExpirePendingWaitpoints expires pending waitpoints past their
	// expiry (a sweep).
	ExpirePendingWaitpoints(ctx context.Context, p SweepParams) (int, error)
}

// SuspendParams is the input of Suspend.
type SuspendParams struct {
	Handle  ff.Handle
	Request ff.SuspendRequest
}

// Normalize validates the request shape (ff.SuspendRequest.Normalize).
func (p *SuspendParams) Normalize() error { return p.Request.Normalize() }

// WaitpointToken names a waitpoint and carries its token.
type WaitpointToken struct {
	WaitpointID  string
	WaitpointKey string
	Token        string
}

// SuspendOutcome is the result of Suspend: suspended with its waitpoints,
// or AlreadySatisfied (the lease is kept; Signals are the buffered
// signals that satisfied the condition).
type SuspendOutcome struct {
	AlreadySatisfied bool
	SuspensionID     string
	Waitpoints       []WaitpointToken
	Signals          []ff.Signal
}

// CreateWaitpointParams is the input of CreateWaitpoint.
type CreateWaitpointParams struct {
	Handle ff.Handle
	Key    string    // "" mints wpk:<uuid>
	Expiry time.Time // zero = never
}

// Normalize validates the key and expiry.
func (p *CreateWaitpointParams) Normalize() error {
	if err := ff.ValidateWaitpointKey("key", p.Key); err != nil {
		return err
	}
	return ff.ValidateInstant("expires_at_ms", ff.MsFromTime(p.Expiry))
}

// DeliverSignalParams is the input of DeliverSignal. WaitpointID or
// WaitpointKey names the waitpoint (the id wins when both are set).
type DeliverSignalParams struct {
	ExecutionID    ff.ExecutionID
	WaitpointID    string
	WaitpointKey   string
	Token          string
	Name           string
	Payload        json.RawMessage // any JSON; nil = none
	Source         ff.SignalSource
	IdempotencyKey string
	// MaxPayloadBytes and MaxSignals default to
	// ff.DefaultMaxSignalPayloadBytes and ff.DefaultMaxSignalsPerExecution.
	MaxPayloadBytes int
	MaxSignals      int
}

// Normalize validates everything but the token and fills the defaults.
func (p *DeliverSignalParams) Normalize() error {
	if p.MaxPayloadBytes <= 0 {
		p.MaxPayloadBytes = ff.DefaultMaxSignalPayloadBytes
	}
	if p.MaxSignals <= 0 {
		p.MaxSignals = ff.DefaultMaxSignalsPerExecution
	}
	switch {
	case p.WaitpointID == "" && p.WaitpointKey == "":
		return ff.Validation(ff.ErrInvalidInput, "waitpoint_id or waitpoint_key: required")
	case len(p.Payload) > p.MaxPayloadBytes:
		return ff.Validation(ff.ErrPayloadTooLarge, "payload: %d bytes, at most %d", len(p.Payload), p.MaxPayloadBytes)
	case p.Payload != nil && !json.Valid(p.Payload):
		return ff.Validation(ff.ErrInvalidInput, "payload: not JSON")
	}
	if p.Name == "" {
		return ff.Validation(ff.ErrInvalidInput, "signal_name: required")
	}
	for _, c := range []struct {
		field, v string
		max      int
	}{{"signal_name", p.Name, ff.MaxSignalNameBytes}, {"source.type", p.Source.Type, ff.MaxIdentifierBytes},
		{"source.identity", p.Source.Identity, ff.MaxIdentifierBytes}} {
		if err := ff.ValidateName(c.field, c.v, c.max); err != nil {
			return err
		}
	}
	if err := ff.ValidateKey("waitpoint_id", p.WaitpointID, ff.MaxIdentifierBytes); err != nil {
		return err
	}
	if err := ff.ValidateWaitpointKey("waitpoint_key", p.WaitpointKey); err != nil {
		return err
	}
	if p.Source.Type == "" {
		p.Source.Type = "external"
	}
	return ff.ValidateIdempotencyKey(p.IdempotencyKey)
}

// DeliverSignalResult is the result of DeliverSignal.
type DeliverSignalResult struct {
	SignalID  string
	Effect    ff.SignalEffect
	Duplicate bool
}

// ResumeExecutionParams is the input of ResumeExecution.
type ResumeExecutionParams struct {
	ExecutionID ff.ExecutionID
}

// ListWaitpointsParams is the input of ListWaitpoints.
type ListWaitpointsParams struct {
	ExecutionID ff.ExecutionID
}

// GetWaitpointTokenParams is the input of GetWaitpointToken.
type GetWaitpointTokenParams struct {
	ExecutionID ff.ExecutionID
	WaitpointID string
}

// ListSignalsParams is the input of ListSignals.
type ListSignalsParams struct {
	ExecutionID ff.ExecutionID
}

// SeedWaitpointKeyParams is the input of SeedWaitpointKey.
type SeedWaitpointKeyParams struct {
	Kid       string // default "k1"
	SecretHex string
	Generate  bool
}

// Normalize validates the kid and secret.
func (p *SeedWaitpointKeyParams) Normalize() ([]byte, error) {
	if p.Kid == "" {
		p.Kid = "k1"
	}
	if err := ff.ValidateKid(p.Kid); err != nil {
		return nil, err
	}
	if p.SecretHex == "" {
		return nil, nil
	}
	return ff.ParseSecretHex("secret_hex", p.SecretHex)
}

// SeedWaitpointKeyResult says which key is current and how it came.
type SeedWaitpointKeyResult struct {
	Kid       string
	Seeded    bool // stored now (from the secret or generated)
	Generated bool
}

// RotateWaitpointKeyParams is the input of RotateWaitpointKey.
type RotateWaitpointKeyParams struct {
	Kid       string        // "" mints k<unix ms>
	SecretHex string        // "" generates a random secret
	Grace     time.Duration // how long the previous key still verifies
}

// DefaultRotationGrace is the grace of a rotation that names none.
const DefaultRotationGrace = 24 * time.Hour

// Normalize validates the kid, secret and grace; it returns the secret.
func (p *RotateWaitpointKeyParams) Normalize() ([]byte, error) {
	if p.Kid != "" {
		if err := ff.ValidateKid(p.Kid); err != nil {
			return nil, err
		}
	}
	if p.Grace < 0 || p.Grace > 365*24*time.Hour {
		return nil, ff.Validation(ff.ErrInvalidInput, "grace_ms: %d, want 0 to one year", p.Grace.Milliseconds())
	}
	if p.SecretHex == "" {
		return ff.NewSecret(), nil
	}
	return ff.ParseSecretHex("secret_hex", p.SecretHex)
}

// RotateWaitpointKeyResult is the result of RotateWaitpointKey.
type RotateWaitpointKeyResult struct {
	Kid                  string
	PreviousKid          string // "" when there was none
	PreviousValidUntilMs int64
}

// UnimplementedWaitpoints answers every waitpoint operation with
// Unavailable. A backend embeds it until it builds the area;
// Capabilities must agree.
type UnimplementedWaitpoints struct{}

func (UnimplementedWaitpoints) Suspend(context.Context, SuspendParams) (SuspendOutcome, error) {
	return SuspendOutcome{}, ff.Unavailable("suspend")
}

func (UnimplementedWaitpoints) CreateWaitpoint(context.Context, CreateWaitpointParams) (WaitpointToken, error) {
	return WaitpointToken{}, ff.Unavailable("create_waitpoint")
}

func (UnimplementedWaitpoints) DeliverSignal(context.Context, DeliverSignalParams) (DeliverSignalResult, error) {
	return DeliverSignalResult{}, ff.Unavailable("deliver_signal")
}

func (UnimplementedWaitpoints) ResumeExecution(context.Context, ResumeExecutionParams) (ff.PublicState, error) {
	return "", ff.Unavailable("resume_execution")
}

func (UnimplementedWaitpoints) ListWaitpoints(context.Context, ListWaitpointsParams) ([]ff.Waitpoint, error) {
	return nil, ff.Unavailable("list_waitpoints")
}

func (UnimplementedWaitpoints) GetWaitpointToken(context.Context, GetWaitpointTokenParams) (string, error) {
	return "", ff.Unavailable("get_waitpoint_token")
}

func (UnimplementedWaitpoints) ListSignals(context.Context, ListSignalsParams) ([]ff.Signal, error) {
	return nil, ff.Unavailable("list_signals")
}

func (UnimplementedWaitpoints) SeedWaitpointKey(context.Context, SeedWaitpointKeyParams) (SeedWaitpointKeyResult, error) {
	return SeedWaitpointKeyResult{}, ff.Unavailable("seed_waitpoint_key")
}

func (UnimplementedWaitpoints) RotateWaitpointKey(context.Context, RotateWaitpointKeyParams) (RotateWaitpointKeyResult, error) {
	return RotateWaitpointKeyResult{}, ff.Unavailable("rotate_waitpoint_key")
}

func (UnimplementedWaitpoints) ExpireSuspensions(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("expire_suspensions")
}

func (UnimplementedWaitpoints) ExpirePendingWaitpoints(context.Context, SweepParams) (int, error) {
	return 0, ff.Unavailable("expire_pending_waitpoints")
}

// Waitpoint returns the waitpoint of o with key ("" is the first one);
// a zero value when there is none.
func (o SuspendOutcome) Waitpoint(key string) WaitpointToken {
	for _, w := range o.Waitpoints {
		if key == "" || w.WaitpointKey == key {
			return w
		}
	}
	return WaitpointToken{}
}
