package wpcore

import (
	"github.com/google/uuid"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// SignalEventData is the data of a signal event (never the token).
type SignalEventData struct {
	SignalID       string `json:"signal_id"`
	WaitpointID    string `json:"waitpoint_id"`
	SignalName     string `json:"signal_name"`
	SourceType     string `json:"source_type,omitempty"`
	SourceIdentity string `json:"source_identity,omitempty"`
}

// Deliver implements backend.Waitpoints.DeliverSignal in tx, in the
// spec's order: the token first (every refusal is invalid_token and
// nothing about the execution has been read), then the execution and
// waitpoint, the idempotency key, the waitpoint's state, the signal cap,
// and the effect.
func Deliver(tx Tx, p backend.DeliverSignalParams) (backend.DeliverSignalResult, error) {
	wpID, err := authenticate(tx, p)
	if err != nil {
		return backend.DeliverSignalResult{}, err
	}
	e, err := tx.LockExecution(p.ExecutionID)
	if err != nil {
		return backend.DeliverSignalResult{}, err
	}
	w, ok, err := tx.Waitpoint(wpID)
	if err != nil {
		return backend.DeliverSignalResult{}, err
	}
	if !ok || w.ExecutionID != e.ID {
		return backend.DeliverSignalResult{}, ff.NotFound("waitpoint", "%s of %s", wpID, e.ID)
	}
	if p.IdempotencyKey != "" {
		if first, dup, err := tx.SignalByKey(w.ID, p.IdempotencyKey); err != nil || dup {
			return backend.DeliverSignalResult{SignalID: first.ID, Effect: first.Effect, Duplicate: dup}, err
		}
	}
	if w.Closed(tx.Now()) {
		return backend.DeliverSignalResult{}, ff.Conflict(ff.ErrWaitpointClosed, "waitpoint %s is %s (closed or expired)", w.ID, w.State)
	}
	if n, err := tx.CountSignals(e.ID); err != nil {
		return backend.DeliverSignalResult{}, err
	} else if n >= p.MaxSignals {
		return backend.DeliverSignalResult{}, ff.Conflict(ff.ErrSignalLimitExceeded, "execution %s holds %d signals, the cap", e.ID, n)
	}
	sig := ff.Signal{ID: uuid.NewString(), ExecutionID: e.ID, WaitpointID: w.ID, WaitpointKey: w.Key, Name: p.Name,
		Payload: p.Payload, Source: p.Source, IdempotencyKey: p.IdempotencyKey, ReceivedAtMs: tx.Now()}
	return apply(tx, e, w, sig)
}

// authenticate verifies the token and returns the waitpoint id it opens.
func authenticate(tx Tx, p backend.DeliverSignalParams) (string, error) {
	t, err := ff.ParseToken(p.Token)
	if err != nil {
		return "", err
	}
	key, ok, err := tx.Key(t.Kid)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ff.InvalidToken()
	}
	id := p.WaitpointID
	if id == "" {
		w, ok, err := tx.WaitpointByKey(p.ExecutionID, p.WaitpointKey)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", ff.InvalidToken()
		}
		id = w.ID
	}
	if err := t.Verify(key, ff.TokenBinding{ExecutionID: p.ExecutionID, WaitpointID: id}, tx.Now()); err != nil {
		return "", err
	}
	return id, nil
}

// apply decides the signal's effect, records it and resumes the
// execution when it satisfies the open suspension's condition.
func apply(tx Tx, e *ff.Execution, w ff.Waitpoint, sig ff.Signal) (backend.DeliverSignalResult, error) {
	fx := &ff.Effects{}
	sig.Effect = ff.EffectBufferedForPending
	if w.State == ff.WaitpointActive {
		s, ok, err := tx.OpenSuspension(e.ID)
		if err != nil {
			return backend.DeliverSignalResult{}, err
		}
		if !ok || s.ID != w.SuspensionID {
			return backend.DeliverSignalResult{}, ff.Conflict(ff.ErrWaitpointClosed, "waitpoint %s: its suspension ended", w.ID)
		}
		var ids []string
		if fx, ids, err = evaluate(tx, e, s, &sig); err != nil {
			return backend.DeliverSignalResult{}, err
		}
		if err := tx.InsertSignal(sig); err != nil {
			return backend.DeliverSignalResult{}, err
		}
		if ids != nil {
			if err := closeSuspension(tx, s, ff.ResumeBySignal, ids); err != nil {
				return backend.DeliverSignalResult{}, err
			}
		}
	} else if err := tx.InsertSignal(sig); err != nil {
		return backend.DeliverSignalResult{}, err
	}
	fx.Events = append([]ff.Event{signalEvent(e, sig)}, fx.Events...)
	return backend.DeliverSignalResult{SignalID: sig.ID, Effect: sig.Effect}, tx.SaveExecution(e, fx)
}

// evaluate sets sig's effect against s; when sig satisfies s's
// condition it resumes e and returns the satisfiers' ids.
func evaluate(tx Tx, e *ff.Execution, s ff.Suspension, sig *ff.Signal) (*ff.Effects, []string, error) {
	cs := sig.ForCondition()
	if !s.Condition.Relevant(cs) {
		sig.Effect = ff.EffectIgnoredNotInCondition
		return &ff.Effects{}, nil, nil
	}
	prior, err := tx.SignalsOn(s.WaitpointIDs)
	if err != nil {
		return nil, nil, err
	}
	all := make([]ff.ConditionSignal, 0, len(prior)+1)
	for _, x := range prior {
		all = append(all, x.ForCondition())
	}
	ok, ids := s.Condition.Satisfied(append(all, cs))
	if !ok {
		sig.Effect = ff.EffectAppendedToWaitpoint
		return &ff.Effects{}, nil, nil
	}
	sig.Effect = ff.EffectResumeConditionSatisfied
	fx, err := e.Resume(tx.Now(), ff.ResumeBySignal, s.ID)
	return fx, ids, err
}

func signalEvent(e *ff.Execution, s ff.Signal) ff.Event {
	return ff.Event{Type: ff.EventSignal, Action: string(s.Effect), ExecutionID: e.ID, Lane: e.Lane,
		Namespace: e.Namespace, Partition: e.ID.Partition, AtMs: s.ReceivedAtMs,
		Data: SignalEventData{SignalID: s.ID, WaitpointID: s.WaitpointID, SignalName: s.Name,
			SourceType: s.Source.Type, SourceIdentity: s.Source.Identity}}
}
