package wire

import (
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Conversions between the backend's results and their wire forms. The
// server renders with the ...Of functions, the client rebuilds the
// backend values with ToBackend; a round trip is the identity (up to
// empty slices and maps, which the wire always carries, and times, which
// it carries in whole milliseconds).

// ExecutionSnapshotOf renders a snapshot.
func ExecutionSnapshotOf(s backend.ExecutionSnapshot) ExecutionSnapshot {
	w := ExecutionSnapshot{
		ExecutionID: s.ExecutionID, Namespace: s.Namespace, Lane: s.Lane, Kind: s.Kind, Priority: s.Priority,
		PublicState: s.PublicState, StateVector: StateVector(s.StateVector), BlockingDetail: s.BlockingDetail,
		RequiredCapabilities: nonNil(s.RequiredCaps), Tags: nonNilMap(s.Tags), Policy: s.Policy,
		AttemptCount: s.AttemptCount, RetryCount: s.RetryCount, ReclaimCount: s.ReclaimCount,
		ProgressPct: s.ProgressPct, ProgressMessage: s.ProgressMessage, FailureReason: s.FailureReason,
		CancelReason: s.CancelReason, ReadyAtMs: ms(s.ReadyAt), DeadlineAtMs: ms(s.DeadlineAt),
		CreatedAtMs: ms(s.CreatedAt), StartedAtMs: ms(s.StartedAt), CompletedAtMs: ms(s.CompletedAt),
		UpdatedAtMs: ms(s.UpdatedAt),
	}
	if s.CurrentAttempt != nil {
		a := AttemptRef(*s.CurrentAttempt)
		w.CurrentAttempt = &a
	}
	if l := s.Lease; l != nil {
		w.Lease = &LeaseSummary{LeaseID: l.LeaseID, Epoch: l.Epoch, WorkerID: l.WorkerID,
			WorkerInstanceID: l.WorkerInstanceID, ExpiresAtMs: ms(l.ExpiresAt), LastHeartbeatMs: ms(l.LastHeartbeatAt)}
	}
	return w
}

// ToBackend rebuilds the backend snapshot.
func (w ExecutionSnapshot) ToBackend() backend.ExecutionSnapshot {
	s := backend.ExecutionSnapshot{
		ExecutionID: w.ExecutionID, Namespace: w.Namespace, Lane: w.Lane, Kind: w.Kind, Priority: w.Priority,
		PublicState: w.PublicState, StateVector: ff.StateVector(w.StateVector), BlockingDetail: w.BlockingDetail,
		RequiredCaps: w.RequiredCapabilities, Tags: w.Tags, Policy: w.Policy,
		AttemptCount: w.AttemptCount, RetryCount: w.RetryCount, ReclaimCount: w.ReclaimCount,
		ProgressPct: w.ProgressPct, ProgressMessage: w.ProgressMessage, FailureReason: w.FailureReason,
		CancelReason: w.CancelReason, ReadyAt: at(w.ReadyAtMs), DeadlineAt: at(w.DeadlineAtMs),
		CreatedAt: at(w.CreatedAtMs), StartedAt: at(w.StartedAtMs), CompletedAt: at(w.CompletedAtMs),
		UpdatedAt: at(w.UpdatedAtMs),
	}
	if w.CurrentAttempt != nil {
		a := backend.AttemptRef(*w.CurrentAttempt)
		s.CurrentAttempt = &a
	}
	if l := w.Lease; l != nil {
		s.Lease = &backend.LeaseSummary{LeaseID: l.LeaseID, Epoch: l.Epoch, WorkerID: l.WorkerID,
			WorkerInstanceID: l.WorkerInstanceID, ExpiresAt: at(l.ExpiresAtMs), LastHeartbeatAt: at(l.LastHeartbeatMs)}
	}
	return s
}

// ExecutionPageOf renders a page of executions.
func ExecutionPageOf(p backend.ExecutionPage) ExecutionPage {
	w := ExecutionPage{Executions: make([]ExecutionSummary, len(p.Executions)), NextCursor: p.NextCursor}
	for i, e := range p.Executions {
		w.Executions[i] = ExecutionSummary{ExecutionID: e.ExecutionID, Lane: e.Lane, Kind: e.Kind,
			PublicState: e.PublicState, Priority: e.Priority, CreatedAtMs: ms(e.CreatedAt)}
	}
	return w
}

// ToBackend rebuilds the backend page.
func (w ExecutionPage) ToBackend() backend.ExecutionPage {
	p := backend.ExecutionPage{Executions: make([]backend.ExecutionSummary, len(w.Executions)), NextCursor: w.NextCursor}
	for i, e := range w.Executions {
		p.Executions[i] = backend.ExecutionSummary{ExecutionID: e.ExecutionID, Lane: e.Lane, Kind: e.Kind,
			PublicState: e.PublicState, Priority: e.Priority, CreatedAt: at(e.CreatedAtMs)}
	}
	return p
}

// LanePageOf renders a page of lanes.
func LanePageOf(p backend.LanePage) LanePage {
	w := LanePage{Lanes: make([]LaneInfo, len(p.Lanes)), NextCursor: p.NextCursor}
	for i, l := range p.Lanes {
		w.Lanes[i] = LaneInfo{Name: l.Name, Counts: nonNilMap(l.Counts)}
	}
	return w
}

// ToBackend rebuilds the backend page.
func (w LanePage) ToBackend() backend.LanePage {
	p := backend.LanePage{Lanes: make([]backend.LaneInfo, len(w.Lanes)), NextCursor: w.NextCursor}
	for i, l := range w.Lanes {
		p.Lanes[i] = backend.LaneInfo(l)
	}
	return p
}

// AttemptListOf renders attempts.
func AttemptListOf(as []ff.Attempt) AttemptList {
	w := AttemptList{Attempts: make([]Attempt, len(as))}
	for i, a := range as {
		w.Attempts[i] = Attempt(a)
	}
	return w
}

// ToBackend rebuilds the attempts.
func (w AttemptList) ToBackend() []ff.Attempt {
	as := make([]ff.Attempt, len(w.Attempts))
	for i, a := range w.Attempts {
		as[i] = ff.Attempt(a)
	}
	return as
}

// CapabilitiesOf renders a capability snapshot.
func CapabilitiesOf(c backend.Capabilities) Capabilities {
	return Capabilities{Family: c.Family, Version: c.Version, Supports: Supports(c.Supports)}
}

// ToBackend rebuilds the capability snapshot.
func (w Capabilities) ToBackend() backend.Capabilities {
	return backend.Capabilities{Family: w.Family, Version: w.Version, Supports: backend.Supports(w.Supports)}
}

// ClaimedTaskOf renders a claimed task.
func ClaimedTaskOf(t backend.ClaimedTask) ClaimedTask {
	in, in64 := EncodePayload(t.Input)
	return ClaimedTask{
		Handle: t.Handle.String(), ExecutionID: t.ExecutionID, Lane: t.Lane, Kind: t.Kind,
		Input: in, InputBase64: in64, Priority: t.Priority, Tags: nonNilMap(t.Tags), AttemptIndex: t.AttemptIndex,
		AttemptID: t.AttemptID, AttemptType: t.AttemptType, LeaseEpoch: t.LeaseEpoch,
		LeaseExpiresAtMs: ms(t.LeaseExpiresAt), ResumedSignals: resumedOf(t.ResumedSignals),
	}
}

func resumedOf(ss []ff.Signal) []Signal {
	if len(ss) == 0 {
		return nil
	}
	return SignalsOf(ss)
}

// ToBackend rebuilds the claimed task; a malformed handle or input is an
// error.
func (w ClaimedTask) ToBackend() (backend.ClaimedTask, error) {
	h, err := ff.ParseHandle(w.Handle)
	if err != nil {
		return backend.ClaimedTask{}, err
	}
	in, err := DecodePayload("input", w.Input, w.InputBase64)
	if err != nil {
		return backend.ClaimedTask{}, err
	}
	return backend.ClaimedTask{
		Handle: h, ExecutionID: w.ExecutionID, Lane: w.Lane, Kind: w.Kind, Input: in, Priority: w.Priority,
		Tags: w.Tags, AttemptIndex: w.AttemptIndex, AttemptID: w.AttemptID, AttemptType: w.AttemptType,
		LeaseEpoch: w.LeaseEpoch, LeaseExpiresAt: at(w.LeaseExpiresAtMs), ResumedSignals: resumedToDomain(w.ResumedSignals),
	}, nil
}

// ms and at convert times: the wire carries Unix milliseconds, 0 for
// unset.
func ms(t time.Time) int64 { return ff.MsFromTime(t) }

func at(v int64) time.Time { return ff.TimeFromMs(v) }

// nonNil returns s, or an empty slice for nil: the wire always carries
// the array.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// nonNilMap returns m, or an empty map for nil: the wire always carries
// the object.
func nonNilMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return map[K]V{}
	}
	return m
}

func resumedToDomain(ss []Signal) []ff.Signal {
	if len(ss) == 0 {
		return nil
	}
	out := make([]ff.Signal, len(ss))
	for i, s := range ss {
		out[i] = s.ToDomain()
	}
	return out
}
