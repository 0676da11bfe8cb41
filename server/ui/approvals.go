package ui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/backend"
)

// Approvals lists suspended executions with their open waitpoints. Approve
// and reject deliver a signal to one waitpoint: the dashboard reads the
// waitpoint's token on the server and never renders it; the operator's
// dashboard session is the authority. The signal is named after what the
// waitpoint's condition asks for (decisionSignal) and carries
// {"approved": true|false} (and the form's reason), from source
// operator/dashboard.

const (
	approvalsPageSize = 25
	// approveSignal and rejectSignal name the decision when the condition
	// accepts any signal name (as examples/approval-gate does).
	approveSignal = "approve"
	rejectSignal  = "reject"
)

type approvalsData struct {
	Items      []approvalItem
	Next, Prev string
	// LiveURL is the page's live feed, Fingerprint what the page shows
	// (approvalsFingerprint): the feed compares it.
	LiveURL, Fingerprint string
}

// approvalItem is one suspended execution and its open waitpoints.
type approvalItem struct {
	backend.ExecutionSummary
	Waitpoints []approvalWaitpoint
}

// approvalWaitpoint is a waitpoint with the signals the buttons send; an
// empty Approve means no signal can satisfy it (operator_only or
// timeout_only): only the execution page's resume ends the wait.
type approvalWaitpoint struct {
	ID, Key         string
	Wants           string // the names its condition asks for, or "any signal"
	Approve, Reject string
	CreatedAtMs     int64
}

func (d *Dashboard) approvals(r *http.Request) (page, error) {
	data, err := d.approvalsPage(r.Context(), r.URL.Query().Get("cursor"))
	if err != nil {
		return page{}, err
	}
	return page{Template: "approvals", Title: "Approvals", Data: data}, nil
}

// approvalsPage reads one page of suspended executions, from cursor, with
// their open waitpoints.
func (d *Dashboard) approvalsPage(ctx context.Context, cursor string) (approvalsData, error) {
	p := backend.ListExecutionsParams{PublicState: ff.PublicSuspended, Cursor: cursor, Limit: approvalsPageSize}
	if err := p.Normalize(); err != nil {
		return approvalsData{}, err
	}
	ep, err := d.b.ListExecutions(ctx, p)
	if err != nil {
		return approvalsData{}, fmt.Errorf("list suspended executions: %w", err)
	}
	data := approvalsData{Next: ep.NextCursor, Prev: p.Cursor, LiveURL: "/ui/approvals/live"}
	if p.Cursor != "" {
		data.LiveURL += "?cursor=" + url.QueryEscape(p.Cursor)
	}
	for _, e := range ep.Executions {
		item, err := d.approvalItem(ctx, e)
		if err != nil {
			return approvalsData{}, err
		}
		data.Items = append(data.Items, item)
	}
	data.Fingerprint = approvalsFingerprint(data.Items)
	return data, nil
}

// approvalsFingerprint names what a page shows: its executions and their
// open waitpoints, in order.
func approvalsFingerprint(items []approvalItem) string {
	h := sha256.New()
	for _, it := range items {
		fmt.Fprintf(h, "%s;", it.ExecutionID)
		for _, w := range it.Waitpoints {
			fmt.Fprintf(h, "%s,", w.ID)
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// approvalsChange is the live feed's event: the page's fingerprint now
// and how many suspended executions it holds.
type approvalsChange struct {
	Fingerprint string `json:"fingerprint"`
	Count       int    `json:"count"`
}

// approvalsLive re-reads the page once per poll and sends "approvals"
// when what it shows changed; the script then offers a reload (the list is
// not rewritten under the operator's pointer).
func (d *Dashboard) approvalsLive(w http.ResponseWriter, r *http.Request) error {
	cursor := r.URL.Query().Get("cursor")
	if _, err := d.approvalsPage(r.Context(), cursor); err != nil {
		return err
	}
	s := startSSE(w, d.write)
	var last []byte
	d.follow(r.Context(), s, nil, livePoll, func(ctx context.Context) error {
		data, err := d.approvalsPage(ctx, cursor)
		if err != nil {
			return err
		}
		return s.sendChanged("approvals", approvalsChange{Fingerprint: data.Fingerprint, Count: len(data.Items)}, &last)
	})
	return nil
}

func (d *Dashboard) approvalItem(ctx context.Context, e backend.ExecutionSummary) (approvalItem, error) {
	ws, err := d.b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: e.ExecutionID})
	if err != nil {
		return approvalItem{}, fmt.Errorf("list waitpoints of %s: %w", e.ExecutionID, err)
	}
	item := approvalItem{ExecutionSummary: e}
	for _, w := range ws {
		aw := approvalWaitpoint{ID: w.ID, Key: w.Key, Wants: wantedNames(w.RequiredSignalNames), CreatedAtMs: w.CreatedAtMs}
		aw.Approve, _ = decisionSignal(w.RequiredSignalNames, true)
		aw.Reject, _ = decisionSignal(w.RequiredSignalNames, false)
		item.Waitpoints = append(item.Waitpoints, aw)
	}
	return item, nil
}

// wantedNames words a waitpoint's required signal names.
func wantedNames(names []string) string {
	if len(names) == 0 {
		return "any signal"
	}
	return strings.Join(names, ", ")
}

// decisionSignal is the name an approve (or reject) sends to a waitpoint
// whose condition asks for names (ff.Condition.RequiredSignalNames): any
// name → approve/reject; a list holding approve/reject → that one;
// otherwise the first name it asks for. false: no signal satisfies it
// (only the sentinels of operator_only and timeout_only, "__...__").
func decisionSignal(names []string, approve bool) (string, bool) {
	want := rejectSignal
	if approve {
		want = approveSignal
	}
	if len(names) == 0 {
		return want, true
	}
	var first string
	for _, n := range names {
		if strings.HasPrefix(n, "__") && strings.HasSuffix(n, "__") {
			continue
		}
		if n == want {
			return n, true
		}
		if first == "" {
			first = n
		}
	}
	return first, first != ""
}

func (d *Dashboard) approveWaitpoint(r *http.Request) (string, error) { return d.decide(r, true) }

func (d *Dashboard) rejectWaitpoint(r *http.Request) (string, error) { return d.decide(r, false) }

// decision is the payload an approve or reject carries.
type decision struct {
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"`
}

// decide delivers the decision to the form's waitpoint with its token,
// read here and never sent to the browser. The idempotency key makes a
// repeated click one signal.
func (d *Dashboard) decide(r *http.Request, approved bool) (string, error) {
	id, err := ff.ParseExecutionID(r.PathValue("id"))
	if err != nil {
		return "", err
	}
	wp, err := d.openWaitpoint(r.Context(), id, r.PostForm.Get("waitpoint"))
	if err != nil {
		return "", err
	}
	name, ok := decisionSignal(wp.RequiredSignalNames, approved)
	if !ok {
		return "", ff.Conflict(ff.ErrNotEligible, "waitpoint %s takes no signal (operator_only or timeout_only): resume the execution instead", wp.ID)
	}
	res, err := d.deliverDecision(r, wp, name, approved)
	if err != nil {
		return "", err
	}
	return decisionMessage(id, name, res), nil
}

// openWaitpoint finds an open waitpoint of the execution by id.
func (d *Dashboard) openWaitpoint(ctx context.Context, id ff.ExecutionID, wpID string) (ff.Waitpoint, error) {
	ws, err := d.b.ListWaitpoints(ctx, backend.ListWaitpointsParams{ExecutionID: id})
	if err != nil {
		return ff.Waitpoint{}, fmt.Errorf("list waitpoints of %s: %w", id, err)
	}
	for _, w := range ws {
		if w.ID == wpID {
			return w, nil
		}
	}
	return ff.Waitpoint{}, ff.NotFound("waitpoint", "%q of %s is not open", ff.CutText(wpID, 64), id)
}

func (d *Dashboard) deliverDecision(r *http.Request, wp ff.Waitpoint, name string, approved bool) (backend.DeliverSignalResult, error) {
	tok, err := d.b.GetWaitpointToken(r.Context(), backend.GetWaitpointTokenParams{ExecutionID: wp.ExecutionID, WaitpointID: wp.ID})
	if err != nil {
		return backend.DeliverSignalResult{}, fmt.Errorf("read token of waitpoint %s: %w", wp.ID, err)
	}
	payload, err := json.Marshal(decision{Approved: approved, Reason: actor(r).Reason})
	if err != nil {
		return backend.DeliverSignalResult{}, fmt.Errorf("encode decision: %w", err)
	}
	res, err := d.b.DeliverSignal(r.Context(), backend.DeliverSignalParams{ExecutionID: wp.ExecutionID, WaitpointID: wp.ID,
		Token: tok, Name: name, Payload: payload, Source: ff.SignalSource{Type: "operator", Identity: dashboardSource},
		IdempotencyKey: dashboardSource + ":" + name + ":" + wp.ID})
	if err != nil {
		return backend.DeliverSignalResult{}, fmt.Errorf("signal %s to waitpoint %s: %w", name, wp.ID, err)
	}
	return res, nil
}

func decisionMessage(id ff.ExecutionID, name string, res backend.DeliverSignalResult) string {
	switch {
	case res.Duplicate:
		return fmt.Sprintf("Signal %q was already sent to %s; nothing changed.", name, id)
	case res.Effect == ff.EffectResumeConditionSatisfied:
		return fmt.Sprintf("Signal %q sent: %s resumes.", name, id)
	}
	return fmt.Sprintf("Signal %q recorded for %s (%s); it still waits.", name, id, res.Effect)
}
