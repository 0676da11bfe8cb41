package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// The operator actions of the execution page, each one backend call with
// the dashboard as its source and the form's reason.

func pathID(r *http.Request) (ff.ExecutionID, error) { return ff.ParseExecutionID(r.PathValue("id")) }

func (d *Dashboard) cancelExecution(r *http.Request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	who := actor(r).Normalized()
	st, err := d.b.CancelExecution(r.Context(), backend.CancelExecutionParams{ExecutionID: id, Reason: who.Reason, Source: who.Source})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Cancelled: the execution is now %s.", st), nil
}

func (d *Dashboard) replayExecution(r *http.Request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	st, err := d.b.ReplayExecution(r.Context(), backend.ReplayExecutionParams{ExecutionID: id, Who: actor(r)})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Replayed: the execution is now %s.", st), nil
}

func (d *Dashboard) changePriority(r *http.Request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	raw := strings.TrimSpace(r.PostForm.Get("priority"))
	prio, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return "", ff.Validation(ff.ErrInvalidInput, "priority %q: want a whole number", ff.CutText(raw, 32))
	}
	if err := d.b.ChangePriority(r.Context(), backend.ChangePriorityParams{ExecutionID: id, Priority: prio, Who: actor(r)}); err != nil {
		return "", err
	}
	return fmt.Sprintf("Priority set to %d.", prio), nil
}

func (d *Dashboard) revokeLease(r *http.Request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	res, err := d.b.RevokeLease(r.Context(), backend.RevokeLeaseParams{ExecutionID: id, Who: actor(r)})
	if err != nil {
		return "", err
	}
	if !res.Revoked {
		return "No active lease: nothing was revoked.", nil
	}
	return fmt.Sprintf("Lease (epoch %d) revoked: the next claim reclaims the execution.", res.LeaseEpoch), nil
}

func (d *Dashboard) resumeExecution(r *http.Request) (string, error) {
	id, err := pathID(r)
	if err != nil {
		return "", err
	}
	st, err := d.b.ResumeExecution(r.Context(), backend.ResumeExecutionParams{ExecutionID: id})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("Resumed: the execution is now %s.", st), nil
}
