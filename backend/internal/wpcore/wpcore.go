// Package wpcore is the waitpoint area's orchestration, written once for
// every store: each operation runs in one store transaction (Tx) that
// locks the execution row, applies the flowfabric state machine and
// writes the record, its effects and the waitpoint rows together. The
// stores supply only the statements.
package wpcore

import (
	"errors"
	"slices"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/google/uuid"
)

// Tx is one store transaction. Now is its time (the database clock in
// production). LockExecution takes the execution's row lock, which
// serializes every waitpoint operation of that execution.
type Tx interface {
	Now() int64
	LockExecution(id ff.ExecutionID) (*ff.Execution, error)
	// ExecutionExists checks id without locking it (for reads).
	ExecutionExists(id ff.ExecutionID) error
	// SaveExecution writes e (loaded by LockExecution) and fx, including
	// fx.CloseWaitpoints, and wakes its lane after the commit when it
	// became claimable.
	SaveExecution(e *ff.Execution, fx *ff.Effects) error

	CurrentKey() (ff.SigningKey, bool, error)
	Key(kid string) (ff.SigningKey, bool, error)
	// InsertKey inserts k unless its kid exists or, for a current key
	// (ExpiresAtMs 0), another current key exists: concurrent seeds and
	// rotations on several servers then find the winner's.
	InsertKey(k ff.SigningKey) (inserted bool, err error)
	// RetireKey sets a key's expiry; DeleteExpiredKeys drops retired keys
	// past theirs.
	RetireKey(kid string, expiresAtMs int64) error
	DeleteExpiredKeys(nowMs int64) error

	Waitpoint(id string) (ff.Waitpoint, bool, error)
	// WaitpointByKey is the execution's newest waitpoint with key.
	WaitpointByKey(exec ff.ExecutionID, key string) (ff.Waitpoint, bool, error)
	// Waitpoints lists the execution's waitpoints, oldest first.
	Waitpoints(exec ff.ExecutionID, openOnly bool) ([]ff.Waitpoint, error)
	PutWaitpoint(w ff.Waitpoint) error
	CloseWaitpoints(ids []string, state ff.WaitpointState, reason string) error

	OpenSuspension(exec ff.ExecutionID) (ff.Suspension, bool, error)
	// SuspensionByKey is the newest suspension of exec with the key.
	SuspensionByKey(exec ff.ExecutionID, key string) (ff.Suspension, bool, error)
	// LatestSuspension is the newest suspension of exec.
	LatestSuspension(exec ff.ExecutionID) (ff.Suspension, bool, error)
	PutSuspension(s ff.Suspension) error
	// DueSuspensions reads (without locking: the execution row lock
	// comes first, always) open suspensions whose timeout is due.
	DueSuspensions(limit int) ([]ff.Suspension, error)

	// Signals lists signals oldest first: of the waitpoints ids (exec
	// zero), or of exec.
	SignalsOn(waitpointIDs []string) ([]ff.Signal, error)
	SignalsOf(exec ff.ExecutionID) ([]ff.Signal, error)
	SignalsByID(ids []string) ([]ff.Signal, error)
	SignalByKey(waitpointID, key string) (ff.Signal, bool, error)
	CountSignals(exec ff.ExecutionID) (int, error)
	InsertSignal(s ff.Signal) error

	// ExpirePending expires up to limit due pending waitpoints.
	ExpirePending(limit int) (int, error)
}

// CommitThen asks the store to commit what was written and still return
// Err: a fenced call that found the lease expired stores the mark.
type CommitThen struct{ Err error }

func (c *CommitThen) Error() string { return c.Err.Error() }
func (c *CommitThen) Unwrap() error { return c.Err }

// fenceFail returns err, committing the expiry mark when the fence check
// made one.
func fenceFail(tx Tx, e *ff.Execution, fr ff.FenceResult, err error) error {
	if !fr.MarkedExpired {
		return err
	}
	if serr := tx.SaveExecution(e, fr.Effects); serr != nil {
		return serr
	}
	return &CommitThen{Err: err}
}

func lockLease(tx Tx, h ff.Handle, tag ff.BackendTag) (*ff.Execution, error) {
	if err := h.CheckBackend(tag); err != nil {
		return nil, err
	}
	return tx.LockExecution(h.Lease.ExecutionID)
}

// Suspend implements backend.Waitpoints.Suspend in tx.
func Suspend(tx Tx, tag ff.BackendTag, p backend.SuspendParams) (backend.SuspendOutcome, error) {
	e, err := lockLease(tx, p.Handle, tag)
	if err != nil {
		return backend.SuspendOutcome{}, err
	}
	if out, ok, err := suspendReplay(tx, e.ID, p.Request.IdempotencyKey); ok || err != nil {
		return out, err
	}
	env, err := suspendEnv(tx, e)
	if err != nil {
		return backend.SuspendOutcome{}, err
	}
	plan, fx, fr, err := e.Suspend(tx.Now(), p.Handle.Lease.Fence(), p.Request, env)
	if err != nil {
		return backend.SuspendOutcome{}, fenceFail(tx, e, fr, err)
	}
	if plan.AlreadySatisfied {
		return alreadySatisfied(tx, plan)
	}
	for _, w := range plan.Waitpoints {
		if err := tx.PutWaitpoint(w); err != nil {
			return backend.SuspendOutcome{}, err
		}
	}
	if err := tx.PutSuspension(plan.Suspension); err != nil {
		return backend.SuspendOutcome{}, err
	}
	if err := tx.SaveExecution(e, fx); err != nil {
		return backend.SuspendOutcome{}, err
	}
	return suspended(plan.Suspension.ID, plan.Waitpoints), nil
}

func suspended(id string, ws []ff.Waitpoint) backend.SuspendOutcome {
	out := backend.SuspendOutcome{SuspensionID: id}
	for _, w := range ws {
		out.Waitpoints = append(out.Waitpoints, backend.WaitpointToken{WaitpointID: w.ID, WaitpointKey: w.Key, Token: w.Token})
	}
	return out
}

// suspendReplay answers a suspend whose key matches a stored suspension
// of the execution that has not expired.
func suspendReplay(tx Tx, exec ff.ExecutionID, key string) (backend.SuspendOutcome, bool, error) {
	if key == "" {
		return backend.SuspendOutcome{}, false, nil
	}
	s, ok, err := tx.SuspensionByKey(exec, key)
	if err != nil || !ok || s.IdempotencyExpiresAtMs <= tx.Now() {
		return backend.SuspendOutcome{}, false, err
	}
	var ws []ff.Waitpoint
	for _, id := range s.WaitpointIDs {
		w, ok, err := tx.Waitpoint(id)
		if err != nil {
			return backend.SuspendOutcome{}, false, err
		}
		if ok {
			ws = append(ws, w)
		}
	}
	return suspended(s.ID, ws), true, nil
}

func suspendEnv(tx Tx, e *ff.Execution) (ff.SuspendEnv, error) {
	env := ff.SuspendEnv{SuspensionID: uuid.NewString()}
	open, err := tx.Waitpoints(e.ID, true)
	if err != nil {
		return env, err
	}
	env.Open = open
	var pending []string
	for _, w := range open {
		if w.State == ff.WaitpointPending {
			pending = append(pending, w.ID)
		}
	}
	if len(pending) > 0 {
		if env.Buffered, err = tx.SignalsOn(pending); err != nil {
			return env, err
		}
	}
	key, ok, err := tx.CurrentKey()
	if err != nil {
		return env, err
	}
	if ok {
		env.Key = key
	}
	return env, nil
}

// alreadySatisfied closes the used pending waitpoints; the lease is kept.
func alreadySatisfied(tx Tx, plan *ff.SuspendPlan) (backend.SuspendOutcome, error) {
	if err := tx.CloseWaitpoints(plan.Close, ff.WaitpointClosed, ff.CloseSatisfiedPending); err != nil {
		return backend.SuspendOutcome{}, err
	}
	sigs, err := tx.SignalsByID(plan.Satisfiers)
	if err != nil {
		return backend.SuspendOutcome{}, err
	}
	return backend.SuspendOutcome{AlreadySatisfied: true, Signals: sigs}, nil
}

// CreateWaitpoint implements backend.Waitpoints.CreateWaitpoint in tx.
func CreateWaitpoint(tx Tx, tag ff.BackendTag, p backend.CreateWaitpointParams) (backend.WaitpointToken, error) {
	e, err := lockLease(tx, p.Handle, tag)
	if err != nil {
		return backend.WaitpointToken{}, err
	}
	now := tx.Now()
	changed, fr, err := e.CreateWaitpoint(now, p.Handle.Lease.Fence())
	if err != nil {
		return backend.WaitpointToken{}, fenceFail(tx, e, fr, err)
	}
	if p.Key == "" {
		p.Key = ff.NewWaitpointKey()
	} else if w, ok, err := tx.WaitpointByKey(e.ID, p.Key); err != nil {
		return backend.WaitpointToken{}, err
	} else if ok && w.State.Open() {
		if w.State != ff.WaitpointPending {
			return backend.WaitpointToken{}, ff.Conflict(ff.ErrWaitpointKeyInUse, "waitpoint %q is %s", p.Key, w.State)
		}
		return backend.WaitpointToken{WaitpointID: w.ID, WaitpointKey: w.Key, Token: w.Token}, nil
	}
	key, ok, err := tx.CurrentKey()
	if err != nil {
		return backend.WaitpointToken{}, err
	}
	if !ok {
		return backend.WaitpointToken{}, ff.HMACNotInitialized()
	}
	idx, _ := e.CurrentAttemptIndex()
	w := ff.Waitpoint{ID: ff.NewWaitpointID(), Key: p.Key, ExecutionID: e.ID, AttemptIndex: idx,
		State: ff.WaitpointPending, TokenKid: key.Kid, CreatedAtMs: now, ExpiresAtMs: ff.MsFromTime(p.Expiry)}
	w.Token = ff.MintToken(key, w.Binding())
	if err := tx.PutWaitpoint(w); err != nil {
		return backend.WaitpointToken{}, err
	}
	if changed {
		if err := tx.SaveExecution(e, nil); err != nil {
			return backend.WaitpointToken{}, err
		}
	}
	return backend.WaitpointToken{WaitpointID: w.ID, WaitpointKey: w.Key, Token: w.Token}, nil
}

// ResumeExecution implements the operator resume in tx.
func ResumeExecution(tx Tx, p backend.ResumeExecutionParams) (ff.PublicState, error) {
	e, err := tx.LockExecution(p.ExecutionID)
	if err != nil {
		return "", err
	}
	s, ok, err := tx.OpenSuspension(e.ID)
	if err != nil {
		return "", err
	}
	fx, err := e.Resume(tx.Now(), ff.ResumeByOperator, s.ID)
	if err != nil {
		return "", err
	}
	if ok {
		if err := closeSuspension(tx, s, ff.ResumeByOperator, nil); err != nil {
			return "", err
		}
	}
	if err := tx.SaveExecution(e, fx); err != nil {
		return "", err
	}
	return e.State.PublicState, nil
}

// closeSuspension closes s and its waitpoints (reason resumed, by
// trigger) and records the signals that satisfied it.
func closeSuspension(tx Tx, s ff.Suspension, trigger string, satisfiers []string) error {
	if err := tx.CloseWaitpoints(s.WaitpointIDs, ff.WaitpointClosed, ff.CloseResumed); err != nil {
		return err
	}
	s.ClosedAtMs = tx.Now()
	s.CloseReason = ff.CloseResumed + ":" + trigger
	s.Satisfiers = satisfiers
	return tx.PutSuspension(s)
}

// ResumedSignals are the signals that resumed exec's latest suspension
// (for a resumed claim).
func ResumedSignals(tx Tx, exec ff.ExecutionID) ([]ff.Signal, error) {
	s, ok, err := tx.LatestSuspension(exec)
	if err != nil || !ok || s.Open() || len(s.Satisfiers) == 0 {
		return nil, err
	}
	return tx.SignalsByID(s.Satisfiers)
}

// ListWaitpoints implements the read in tx; tokens are blanked.
func ListWaitpoints(tx Tx, p backend.ListWaitpointsParams) ([]ff.Waitpoint, error) {
	if err := tx.ExecutionExists(p.ExecutionID); err != nil {
		return nil, err
	}
	ws, err := tx.Waitpoints(p.ExecutionID, true)
	for i := range ws {
		ws[i].TokenFingerprint = ff.TokenFingerprint(ws[i].Token)
		ws[i].Token = ""
	}
	return ws, err
}

// GetWaitpointToken implements the operator read in tx.
func GetWaitpointToken(tx Tx, p backend.GetWaitpointTokenParams) (string, error) {
	w, ok, err := tx.Waitpoint(p.WaitpointID)
	if err != nil {
		return "", err
	}
	if !ok || w.ExecutionID != p.ExecutionID || !w.State.Open() {
		return "", ff.NotFound("waitpoint", "%s of %s (unknown or closed)", p.WaitpointID, p.ExecutionID)
	}
	return w.Token, nil
}

// ListSignals implements the read in tx.
func ListSignals(tx Tx, p backend.ListSignalsParams) ([]ff.Signal, error) {
	if err := tx.ExecutionExists(p.ExecutionID); err != nil {
		return nil, err
	}
	return tx.SignalsOf(p.ExecutionID)
}

// ExpireSuspensions applies up to p.Limit due suspension timeouts in tx.
func ExpireSuspensions(tx Tx, p backend.SweepParams) (int, error) {
	due, err := tx.DueSuspensions(p.Limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range due {
		done, err := timeOut(tx, s)
		if err != nil {
			return n, err
		}
		if done {
			n++
		}
	}
	return n, nil
}

// timeOut applies s's timeout when its execution is still suspended by
// it. The execution is locked first, as every waitpoint operation does,
// and s re-read under that lock: a signal or another sweep may have
// closed it since it was read.
func timeOut(tx Tx, s ff.Suspension) (bool, error) {
	e, err := tx.LockExecution(s.ExecutionID)
	if errors.Is(err, ff.ErrNotFound) {
		s.ClosedAtMs, s.CloseReason = tx.Now(), "orphaned"
		return false, tx.PutSuspension(s)
	}
	if err != nil {
		return false, err
	}
	cur, ok, err := tx.OpenSuspension(e.ID)
	if err != nil || !ok || cur.ID != s.ID || cur.TimeoutAtMs == 0 || cur.TimeoutAtMs > tx.Now() {
		return false, err
	}
	now := tx.Now()
	fx := e.SuspensionTimedOut(now, cur.TimeoutBehavior, cur.ID)
	if fx == nil {
		cur.ClosedAtMs, cur.CloseReason = now, "stale"
		return false, tx.PutSuspension(cur)
	}
	if cur.TimeoutBehavior == ff.TimeoutAutoResume {
		if err := autoResume(tx, e, cur); err != nil {
			return false, err
		}
	}
	return true, tx.SaveExecution(e, fx)
}

// autoResume records the timeout signal and closes the suspension with it.
func autoResume(tx Tx, e *ff.Execution, s ff.Suspension) error {
	sig := ff.Signal{ID: uuid.NewString(), ExecutionID: e.ID, Name: ff.TimeoutSignalName,
		Source: ff.SignalSource{Type: "system", Identity: "suspension_timeout"},
		Effect: ff.EffectResumeConditionSatisfied, ReceivedAtMs: tx.Now()}
	if len(s.WaitpointIDs) > 0 {
		w, ok, err := tx.Waitpoint(s.WaitpointIDs[0])
		if err != nil {
			return err
		}
		if ok {
			sig.WaitpointID, sig.WaitpointKey = w.ID, w.Key
		}
	}
	if err := tx.InsertSignal(sig); err != nil {
		return err
	}
	return closeSuspension(tx, s, ff.ResumeByTimeout, []string{sig.ID})
}

// Seed implements backend.Waitpoints.SeedWaitpointKey in tx.
func Seed(tx Tx, p backend.SeedWaitpointKeyParams) (backend.SeedWaitpointKeyResult, error) {
	secret, err := p.Normalize()
	if err != nil {
		return backend.SeedWaitpointKeyResult{}, err
	}
	cur, ok, err := tx.CurrentKey()
	if err != nil || ok {
		return backend.SeedWaitpointKeyResult{Kid: cur.Kid}, err
	}
	res := backend.SeedWaitpointKeyResult{Kid: p.Kid, Seeded: true}
	if secret == nil {
		if !p.Generate {
			return backend.SeedWaitpointKeyResult{}, ff.HMACNotInitialized()
		}
		secret, res.Generated = ff.NewSecret(), true
	}
	if _, used, err := tx.Key(p.Kid); err != nil {
		return backend.SeedWaitpointKeyResult{}, err
	} else if used {
		return seededElsewhere(tx, p.Kid)
	}
	inserted, err := tx.InsertKey(ff.SigningKey{Kid: p.Kid, Secret: secret, CreatedAtMs: tx.Now()})
	if err != nil || inserted {
		return res, err
	}
	return seededElsewhere(tx, "")
}

// seededElsewhere answers a seed that found its key taken after it found
// no current key: another server seeded at the same moment (often with
// the same kid, from the same configuration), and its key is now
// current. With none current, a taken kid is one used before (retired),
// which a seed may not reuse.
func seededElsewhere(tx Tx, kid string) (backend.SeedWaitpointKeyResult, error) {
	cur, ok, err := tx.CurrentKey()
	switch {
	case err != nil:
		return backend.SeedWaitpointKeyResult{}, err
	case ok:
		return backend.SeedWaitpointKeyResult{Kid: cur.Kid}, nil
	case kid != "":
		return backend.SeedWaitpointKeyResult{}, ff.Conflict(ff.ErrRotationConflict, "kid %q was used before", kid)
	}
	return backend.SeedWaitpointKeyResult{}, ff.HMACNotInitialized()
}

// Rotate implements backend.Waitpoints.RotateWaitpointKey in tx.
func Rotate(tx Tx, p backend.RotateWaitpointKeyParams) (backend.RotateWaitpointKeyResult, error) {
	secret, err := p.Normalize()
	if err != nil {
		return backend.RotateWaitpointKeyResult{}, err
	}
	now := tx.Now()
	if p.Kid == "" {
		p.Kid = "k" + uuid.NewString()[:8]
	}
	cur, hasCur, err := tx.CurrentKey()
	if err != nil {
		return backend.RotateWaitpointKeyResult{}, err
	}
	if old, used, err := tx.Key(p.Kid); err != nil {
		return backend.RotateWaitpointKeyResult{}, err
	} else if used {
		if hasCur && cur.Kid == p.Kid && slices.Equal(old.Secret, secret) {
			return backend.RotateWaitpointKeyResult{Kid: p.Kid}, nil
		}
		return backend.RotateWaitpointKeyResult{}, ff.Conflict(ff.ErrRotationConflict, "kid %q was used before; rotate to a new kid", p.Kid)
	}
	if err := tx.DeleteExpiredKeys(now); err != nil {
		return backend.RotateWaitpointKeyResult{}, err
	}
	res := backend.RotateWaitpointKeyResult{Kid: p.Kid}
	if hasCur {
		res.PreviousKid, res.PreviousValidUntilMs = cur.Kid, ff.AddMs(now, p.Grace.Milliseconds())
		if err := tx.RetireKey(cur.Kid, max(res.PreviousValidUntilMs, 1)); err != nil {
			return backend.RotateWaitpointKeyResult{}, err
		}
	}
	inserted, err := tx.InsertKey(ff.SigningKey{Kid: p.Kid, Secret: secret, CreatedAtMs: now})
	if err == nil && !inserted {
		err = ff.Conflict(ff.ErrRotationConflict, "another rotation made a key current at the same moment; rotate again")
	}
	return res, err
}
