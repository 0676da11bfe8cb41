package server

import (
	"net/http"
	"slices"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// route is one API route: how it is served and how it is documented. The
// table below is the single source of both the ServeMux registrations and
// the OpenAPI document, so the two cannot drift.
type route struct {
	method, path string
	op, summary  string
	public       bool  // served without auth
	limit        int64 // body cap; 0 = the route reads no body
	body         any   // request body sample (nil = none); documents the schema
	bodyOptional bool
	query        []param
	responses    []response
	handle       func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// param is a documented query parameter; kw holds the JSON Schema
// constraints the handler enforces on it.
type param struct {
	name, typ, desc string
	kw              map[string]any
}

// response is a documented non-error response. body is a sample value
// whose type gives the schema; rawSchema overrides it.
type response struct {
	status    int
	desc      string
	body      any
	ctype     string // default application/json
	rawSchema map[string]any
}

func ok(status int, desc string, body any) response {
	return response{status: status, desc: desc, body: body}
}

var (
	anyJSON     = map[string]any{"description": "any JSON value, exactly as stored"}
	binarySchem = map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}
	textSchema  = map[string]any{"type": "string"}
)

func (s *Server) routeTable() []*route {
	lim := s.limits
	return append([]*route{
		{method: "GET", path: "/healthz", op: "healthz", public: true,
			summary:   "Liveness: pings the backend.",
			responses: []response{ok(200, "backend reachable", wire.Health{})},
			handle:    (*Server).healthz},
		{method: "GET", path: "/metrics", op: "metrics", public: s.metricsPublic,
			summary:   "Prometheus metrics in the text exposition format; behind the API token when one is set, unless the server runs with FF_METRICS_PUBLIC=true.",
			responses: []response{{status: 200, desc: "metrics", ctype: "text/plain", rawSchema: textSchema}},
			handle:    (*Server).serveMetrics},
		{method: "GET", path: "/v1/openapi.json", op: "openapi",
			summary:   "This OpenAPI 3.1 document.",
			responses: []response{{status: 200, desc: "the document", rawSchema: map[string]any{"type": "object"}}},
			handle:    (*Server).serveOpenAPI},
		{method: "GET", path: "/v1/capabilities", op: "capabilities",
			summary:   "What the backend supports.",
			responses: []response{ok(200, "capability snapshot", wire.Capabilities{})},
			handle:    (*Server).capabilities},
		{method: "POST", path: "/v1/executions", op: "createExecution", limit: lim.Create,
			summary: "Create an execution; an idempotency key returns the existing one.",
			body:    wire.CreateExecutionRequest{},
			responses: []response{ok(201, "created", wire.CreateExecutionResponse{}),
				ok(200, "idempotency key matched an existing execution (duplicate: true)", wire.CreateExecutionResponse{})},
			handle: (*Server).createExecution},
		{method: "GET", path: "/v1/executions", op: "listExecutions",
			summary: "List executions by id, cursor-paginated; filters are optional.",
			query: []param{
				{"lane", "string", "only this lane", map[string]any{"maxLength": ff.MaxLaneBytes, "pattern": lanePattern}},
				{"public_state", "string", "only this public state", map[string]any{"enum": strs(ff.PublicStates...)}},
				{"kind", "string", "only this kind", map[string]any{"maxLength": ff.MaxKindBytes, "pattern": namePattern}},
				{"tag", "string", "only executions with this tag, as key=value", map[string]any{"maxLength": ff.MaxTagBytes + 1}},
				{"flow_id", "string", "only members of this flow", map[string]any{"pattern": flowIDPattern}},
				{"partition", "integer", "only this partition", map[string]any{"minimum": 0, "maximum": 65535}},
				{"cursor", "string", "exclusive execution id to start after", map[string]any{"pattern": executionIDPat}},
				{"limit", "integer", "page size", map[string]any{"minimum": 1, "maximum": 1000, "default": 50}}},
			responses: []response{ok(200, "a page; next_cursor is absent on the last page", wire.ExecutionPage{})},
			handle:    (*Server).listExecutions},
		{method: "GET", path: "/v1/executions/{id}", op: "describeExecution",
			summary:   "Snapshot: state vector, attempt count, lease, timestamps.",
			responses: []response{ok(200, "snapshot", wire.ExecutionSnapshot{})},
			handle:    (*Server).describeExecution},
		{method: "GET", path: "/v1/executions/{id}/state", op: "readExecutionState",
			summary:   "The public state, as a bare JSON string.",
			responses: []response{ok(200, "public state", ff.PublicState(""))},
			handle:    (*Server).readExecutionState},
		{method: "GET", path: "/v1/executions/{id}/result", op: "getExecutionResult",
			summary: "The completion result as stored; 404 until completed.",
			responses: []response{
				{status: 200, desc: "the result (application/json when it is JSON)", rawSchema: anyJSON},
				{status: 200, desc: "a result that is not JSON", ctype: "application/octet-stream", rawSchema: binarySchem},
				{status: 204, desc: "completed without a result"}},
			handle: (*Server).getExecutionResult},
		{method: "GET", path: "/v1/executions/{id}/attempts", op: "listAttempts",
			summary:   "Every attempt of the execution, oldest first.",
			responses: []response{ok(200, "attempts", wire.AttemptList{})},
			handle:    (*Server).listAttempts},
		{method: "POST", path: "/v1/executions/{id}/cancel", op: "cancelExecution", limit: lim.Control,
			summary: "Operator cancel (no lease needed).",
			body:    wire.CancelExecutionRequest{}, bodyOptional: true,
			responses: []response{ok(200, "state after the cancel", wire.CancelExecutionResponse{})},
			handle:    (*Server).cancelExecution},
		{method: "GET", path: "/v1/lanes", op: "listLanes",
			summary: "Lanes with their queue depth by public state.",
			query: []param{{"cursor", "string", "exclusive lane name to start after", map[string]any{"maxLength": ff.MaxLaneBytes, "pattern": keyPattern}},
				{"limit", "integer", "page size", map[string]any{"minimum": 1, "maximum": 1000, "default": 100}}},
			responses: []response{ok(200, "a page of lanes", wire.LanePage{})},
			handle:    (*Server).listLanes},
		{method: "POST", path: "/v1/workers/{worker_id}/claim", op: "claim", limit: lim.Control,
			summary: "Claim up to max tasks; wait_ms long-polls for work.",
			body:    wire.ClaimRequest{}, bodyOptional: true,
			responses: []response{ok(200, "claimed tasks", wire.ClaimResponse{}),
				{status: 204, desc: "nothing claimable (within wait_ms)"}},
			handle: (*Server).claim},
		{method: "POST", path: "/v1/tasks/complete", op: "complete", limit: lim.Complete,
			summary:   "Complete the attempt with an optional result; replays are safe.",
			body:      wire.CompleteRequest{},
			responses: []response{{status: 204, desc: "completed"}},
			handle:    (*Server).complete},
		{method: "POST", path: "/v1/tasks/complete-many", op: "completeMany", limit: lim.Batch,
			summary:   "Complete several attempts; results align with items.",
			body:      wire.CompleteManyRequest{},
			responses: []response{ok(200, "per-item outcome", wire.CompleteManyResponse{})},
			handle:    (*Server).completeMany},
		{method: "POST", path: "/v1/tasks/fail", op: "fail", limit: lim.Control,
			summary:   "Fail the attempt; the policy decides whether it is retried.",
			body:      wire.FailRequest{},
			responses: []response{ok(200, "retry decision", wire.FailResponse{})},
			handle:    (*Server).fail},
		{method: "POST", path: "/v1/tasks/renew", op: "renew", limit: lim.Control,
			summary:   "Extend the lease by its TTL.",
			body:      wire.HandleRequest{},
			responses: []response{ok(200, "the new lease", wire.RenewResponse{})},
			handle:    (*Server).renew},
		{method: "POST", path: "/v1/tasks/renew-many", op: "renewMany", limit: lim.Batch,
			summary:   "Renew several leases; results align with handles.",
			body:      wire.RenewManyRequest{},
			responses: []response{ok(200, "per-handle outcome", wire.RenewManyResponse{})},
			handle:    (*Server).renewMany},
		{method: "POST", path: "/v1/tasks/release", op: "release", limit: lim.Batch,
			summary:   "Give back leases claimed but never started: each execution is claimable again at once, with no reclaim counted; results align with handles.",
			body:      wire.ReleaseRequest{},
			responses: []response{ok(200, "per-handle outcome", wire.ReleaseResponse{})},
			handle:    (*Server).release},
		{method: "POST", path: "/v1/tasks/progress", op: "progress", limit: lim.Control,
			summary:   "Report progress under the lease.",
			body:      wire.ProgressRequest{},
			responses: []response{{status: 204, desc: "recorded"}},
			handle:    (*Server).progress},
		{method: "POST", path: "/v1/tasks/delay", op: "delay", limit: lim.Control,
			summary:   "Release the lease until delay_until_ms; the next claim resumes the attempt.",
			body:      wire.DelayRequest{},
			responses: []response{{status: 204, desc: "delayed"}},
			handle:    (*Server).delay},
		{method: "POST", path: "/v1/tasks/cancel", op: "cancelTask", limit: lim.Control,
			summary:   "The lease holder cancels its execution.",
			body:      wire.TaskCancelRequest{},
			responses: []response{{status: 204, desc: "cancelled"}},
			handle:    (*Server).cancelTask},
	}, slices.Concat(s.scheduleRoutes(), s.flowRoutes(), s.waitpointRoutes(), s.budgetRoutes(), s.streamRoutes(), s.eventsRoutes(), s.operatorRoutes())...)
}
