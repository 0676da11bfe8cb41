package client

import (
	"context"
	"net/http"
	"net/url"
	"time"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// Claim takes up to p.Max tasks for worker p.WorkerID (POST
// /v1/workers/{worker_id}/claim). With WithClaimWait it long-polls; an
// empty result means nothing was claimable.
func (c *Client) Claim(ctx context.Context, p backend.ClaimParams) ([]backend.ClaimedTask, error) {
	if err := ff.ValidateIdentifier("worker_id", p.WorkerID); err != nil {
		return nil, err
	}
	req := wire.ClaimRequest{Lanes: p.Lanes, Capabilities: p.Capabilities, LeaseTTLMs: p.LeaseTTL.Milliseconds(),
		Max: p.Max, WorkerInstanceID: p.WorkerInstanceID, WaitMs: c.waitFor(ctx).Milliseconds()}
	var out wire.ClaimResponse
	status, err := c.do(ctx, call{method: http.MethodPost,
		path: "/v1/workers/" + url.PathEscape(p.WorkerID) + "/claim", in: req}, &out)
	if err != nil || status == http.StatusNoContent {
		return nil, err
	}
	tasks := make([]backend.ClaimedTask, 0, len(out.Tasks))
	for _, t := range out.Tasks {
		task, err := t.ToBackend()
		if err != nil {
			return tasks, err
		}
		tasks = append(tasks, task)
	}
	return tasks, nil
}

// claimMargin is left between a long-poll's end and the caller's
// deadline, for the answer to travel back.
const claimMargin = 500 * time.Millisecond

// waitFor is the long-poll wait for a claim under ctx: the configured
// wait, shortened so the server answers before ctx's deadline (a claim
// cut off by the deadline could lose tasks it had already leased).
func (c *Client) waitFor(ctx context.Context) time.Duration {
	wait := c.claimWait
	if dl, ok := ctx.Deadline(); ok && wait > 0 {
		wait = min(wait, max(time.Until(dl)-claimMargin, 0))
	}
	return wait
}

// Renew extends the lease (POST /v1/tasks/renew).
func (c *Client) Renew(ctx context.Context, p backend.RenewParams) (backend.LeaseRenewal, error) {
	var out wire.RenewResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/renew",
		in: wire.HandleRequest{Handle: p.Handle.String()}}, &out)
	if err != nil {
		return backend.LeaseRenewal{}, err
	}
	return backend.LeaseRenewal{ExpiresAt: ff.TimeFromMs(out.LeaseExpiresAtMs), LeaseEpoch: out.LeaseEpoch}, nil
}

// RenewMany renews several leases in one request; results align with ps.
// A failed request fails every entry with the same error.
func (c *Client) RenewMany(ctx context.Context, ps []backend.RenewParams) []backend.RenewResult {
	res := make([]backend.RenewResult, len(ps))
	if len(ps) == 0 {
		return res
	}
	req := wire.RenewManyRequest{Handles: make([]string, len(ps))}
	for i, p := range ps {
		req.Handles[i] = p.Handle.String()
	}
	var out wire.RenewManyResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/renew-many", in: req}, &out)
	if err == nil && len(out.Results) != len(ps) {
		err = ff.Bug("renew-many: %d results for %d handles", len(out.Results), len(ps))
	}
	for i := range res {
		switch {
		case err != nil:
			res[i].Err = err
		case out.Results[i].Error != nil:
			res[i].Err = out.Results[i].Error.ToError(0)
		default:
			res[i].Renewal = backend.LeaseRenewal{ExpiresAt: ff.TimeFromMs(out.Results[i].LeaseExpiresAtMs),
				LeaseEpoch: out.Results[i].LeaseEpoch}
		}
	}
	return res
}

// Progress reports progress under the lease; Percent -1 leaves the
// stored percentage unchanged.
func (c *Client) Progress(ctx context.Context, p backend.ProgressParams) error {
	req := wire.ProgressRequest{Handle: p.Handle.String(), Message: p.Message}
	if p.Percent >= 0 {
		pct := p.Percent
		req.Percent = &pct
	} else if p.Percent < -1 {
		return ff.Validation(ff.ErrInvalidInput, "progress percent %d outside [0, 100]", p.Percent)
	}
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/progress", in: req}, nil)
	return err
}

// Complete ends the attempt successfully; replays are safe.
func (c *Client) Complete(ctx context.Context, p backend.CompleteParams) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/complete", in: completeItem(p)}, nil)
	return err
}

func completeItem(p backend.CompleteParams) wire.CompleteRequest {
	req := wire.CompleteRequest{Handle: p.Handle.String()}
	req.Result, req.ResultBase64 = wire.EncodePayload(p.Result)
	return req
}

// CompleteMany completes several attempts in one request; errors align
// with ps. A failed request fails every entry with the same error.
func (c *Client) CompleteMany(ctx context.Context, ps []backend.CompleteParams) []error {
	errs := make([]error, len(ps))
	if len(ps) == 0 {
		return errs
	}
	req := wire.CompleteManyRequest{Items: make([]wire.CompleteRequest, len(ps))}
	for i, p := range ps {
		req.Items[i] = completeItem(p)
	}
	var out wire.CompleteManyResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/complete-many", in: req}, &out)
	if err == nil && len(out.Results) != len(ps) {
		err = ff.Bug("complete-many: %d results for %d items", len(out.Results), len(ps))
	}
	for i := range errs {
		switch {
		case err != nil:
			errs[i] = err
		case out.Results[i].Error != nil:
			errs[i] = out.Results[i].Error.ToError(0)
		}
	}
	return errs
}

// Fail ends the attempt as failed; the outcome tells whether a retry was
// scheduled. A classification outside the canonical set
// (ff.FailureClasses; empty means transient) is refused with
// invalid_input before anything is sent.
func (c *Client) Fail(ctx context.Context, p backend.FailParams) (ff.FailOutcome, error) {
	if _, err := ff.ParseFailureClass(string(p.Classification)); err != nil {
		return ff.FailOutcome{}, err
	}
	var out wire.FailResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/fail", in: wire.FailRequest{
		Handle: p.Handle.String(), Reason: p.Reason, Classification: string(p.Classification)}}, &out)
	if err != nil {
		return ff.FailOutcome{}, err
	}
	return ff.FailOutcome{RetryScheduled: out.RetryScheduled, DelayUntil: ff.TimeFromMs(out.DelayUntilMs)}, nil
}

// Delay releases the lease until p.Until; the next claim resumes the
// same attempt.
func (c *Client) Delay(ctx context.Context, p backend.DelayParams) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/delay",
		in: wire.DelayRequest{Handle: p.Handle.String(), DelayUntilMs: ff.MsFromTime(p.Until)}}, nil)
	return err
}

// Cancel is the lease holder's cooperative cancel.
func (c *Client) Cancel(ctx context.Context, p backend.CancelParams) error {
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/cancel",
		in: wire.TaskCancelRequest{Handle: p.Handle.String(), Reason: p.Reason}}, nil)
	return err
}

// ReleaseClaims gives back leases of tasks that were claimed but never
// started (POST /v1/tasks/release): each execution is claimable again at
// once and its next claim resumes the same attempt, with no reclaim
// counted. Errors align with ps; a lease already gone fails alone, and a
// failed request fails every entry with the same error.
func (c *Client) ReleaseClaims(ctx context.Context, ps []backend.ReleaseClaimParams) []error {
	errs := make([]error, len(ps))
	if len(ps) == 0 {
		return errs
	}
	req := wire.ReleaseRequest{Handles: make([]string, len(ps))}
	for i, p := range ps {
		req.Handles[i] = p.Handle.String()
	}
	var out wire.ReleaseResponse
	_, err := c.do(ctx, call{method: http.MethodPost, path: "/v1/tasks/release", in: req}, &out)
	if err == nil && len(out.Results) != len(ps) {
		err = ff.Bug("release: %d results for %d handles", len(out.Results), len(ps))
	}
	for i := range errs {
		switch {
		case err != nil:
			errs[i] = err
		case out.Results[i].Error != nil:
			errs[i] = out.Results[i].Error.ToError(0)
		}
	}
	return errs
}
