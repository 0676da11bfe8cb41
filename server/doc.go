// Package server is FlowFabric's HTTP API: JSON over net/http's ServeMux,
// a thin layer over one backend.Backend. It owns auth, CORS, body limits,
// request logging and metrics, panic recovery, the error-to-status
// mapping and the OpenAPI document; every behaviour lives in the backend.
//
// Start with [New] and [Config]; a program that embeds the engine uses
// package ffserver, which assembles this server with the store and the
// reconcilers.
//
// # Running it
//
//	reg := prometheus.NewRegistry()
//	b := instrument.Wrap(store, reg)                 // backend metrics, optional
//	srv := server.New(server.Config{APIToken: tok, Registry: reg, Logger: log}, b)
//	err := srv.ListenAndServe(ctx, "127.0.0.1:8080") // or srv.Serve(ctx, listener)
//
// *Server is an http.Handler, so it can also be mounted in any http.Server
// or httptest.NewServer. Serve and ListenAndServe return when ctx ends,
// after a graceful shutdown: stop accepting, release long-polling claims
// (they answer 204), wait up to the grace (WithShutdownGrace, default 15 s)
// for in-flight requests, then close what is left. They return nil after
// a clean drain. A Server is served once.
//
// # Routes
//
// Execution ids are "{fp:N}:<uuid>", percent-encoded in paths. Handles
// are the text form minted by claim ("ffh1.…"). Input and result are any
// JSON value, stored byte for byte; bytes that are not JSON travel base64
// in input_base64/result_base64 instead. A body field a route does not
// declare is refused (400 invalid_input naming it; in a policy,
// invalid_policy_json naming its path).
//
//	GET  /healthz                        {status:"ok", backend}; pings the backend, 503 "database unreachable"
//	                                     when it fails (the cause goes to the log). No auth.
//	GET  /metrics                        Prometheus text format. Behind the API token when one is set,
//	                                     unless Config.MetricsPublic.
//	GET  /v1/openapi.json                OpenAPI 3.1 document of every route, generated from this table.
//	GET  /v1/capabilities                wire.Capabilities: {family, version, supports:{<feature>: bool}}.
//	POST /v1/executions                  create. Body: kind, lane ("default"), input, execution_id,
//	                                     namespace, priority, required_capabilities, idempotency_key,
//	                                     delay_until_ms, deadline_at_ms, tags, policy.
//	                                     201 {execution_id, public_state}; an idempotency key already seen
//	                                     answers 200 with the same body plus "duplicate": true.
//	GET  /v1/executions                  ?lane=&public_state=&partition=&kind=&tag=key%3Dvalue&flow_id=
//	                                     &cursor=&limit= (default 50, max 1000).
//	                                     {executions:[{execution_id, lane, kind, public_state, priority,
//	                                     created_at_ms}], next_cursor} in id order; next_cursor is absent on
//	                                     the last page.
//	GET  /v1/executions/{id}             wire.ExecutionSnapshot: state vector, attempt count, lease,
//	                                     progress, timestamps.
//	GET  /v1/executions/{id}/state       the public state as a bare JSON string ("waiting").
//	GET  /v1/executions/{id}/result      the stored result (application/json, or octet-stream when not
//	                                     JSON); 204 when completed without one; 404 until completed.
//	GET  /v1/executions/{id}/attempts    {attempts:[flowfabric.Attempt]} oldest first.
//	POST /v1/executions/{id}/cancel      operator cancel. Optional body {reason, source}.
//	                                     200 {execution_id, public_state}.
//	GET  /v1/lanes                       ?cursor=&limit= {lanes:[{name, counts:{public_state: n}}], next_cursor}.
//	POST /v1/workers/{worker_id}/claim   body (optional): lanes (["default"]), capabilities, lease_ttl_ms
//	                                     (30000), max (1), worker_instance_id, wait_ms (long-poll, at most
//	                                     30000). 200 {tasks:[{handle, execution_id, lane, kind, input,
//	                                     priority, tags, attempt_index, attempt_id, attempt_type,
//	                                     lease_epoch, lease_expires_at_ms}]}, or 204 when nothing is
//	                                     claimable. A reply that cannot be delivered (the client went
//	                                     away) gives its leases back at once, as /v1/tasks/release does.
//	                                     Beyond Config.MaxLongPolls waiting claims: 429.
//	POST /v1/tasks/complete              {handle, result}. 204. Replays after a lost reply are safe.
//	POST /v1/tasks/complete-many         {items:[{handle, result}]} (at most 1000).
//	                                     200 {results:[{error?}]} aligned with items.
//	POST /v1/tasks/fail                  {handle, reason, classification (transient|permanent|infra_crash|
//	                                     timeout|cancelled)}. 200 {retry_scheduled, delay_until_ms}.
//	POST /v1/tasks/renew                 {handle}. 200 {lease_expires_at_ms, lease_epoch}.
//	POST /v1/tasks/renew-many            {handles:[...]} (at most 1000). 200 {results:[{lease_expires_at_ms,
//	                                     lease_epoch} | {error}]} aligned with handles.
//	POST /v1/tasks/release               {handles:[...]} (at most 1000): give back leases claimed but never
//	                                     started; claimable again at once, no reclaim counted.
//	                                     200 {results:[{error?}]} aligned with handles.
//	POST /v1/tasks/progress              {handle, percent (absent: unchanged), message}. 204.
//	POST /v1/tasks/delay                 {handle, delay_until_ms}. 204; the next claim resumes the attempt.
//	POST /v1/tasks/cancel                {handle, reason}: the lease holder cancels. 204.
//	POST /v1/tasks/frames                {handle, frames:[{type, payload | payload_base64, correlation_id,
//	                                     durable (true)}]} (1..1000, all or none). 200 {last_frame_id,
//	                                     frame_count}. Fenced: after the attempt ended, 409.
//	POST /v1/tasks/summary               {handle, patch (a JSON Merge Patch object)}. 200 {summary, version}.
//	GET  /v1/executions/{id}/attempts/{n}/stream
//	                                     ?after=&limit= (100, max 1000)&wait_ms= (long-poll, max 30000).
//	                                     {frames:[{id, type, payload | payload_base64, correlation_id,
//	                                     durable, at_ms}], last_frame_id, closed_at_ms, closed_reason}
//	                                     (null while open). With Accept: text/event-stream: SSE, one event
//	                                     "frame" per frame (id = frame id), resuming after Last-Event-ID,
//	                                     then "closed". The followers of one stream share one feed (one
//	                                     read per append burst; see streamhub.go). Followers waiting at
//	                                     once are capped at Config.MaxLongPolls (counted apart from
//	                                     claims): one more is a 429.
//	GET  /v1/executions/{id}/summary     ?attempt= (default: the latest). {attempt_index, summary, version}.
//
// Events and operator control (each operator action takes an optional
// {reason, source} and writes an operator event naming them):
//
//	GET  /v1/events                      ?after=&types=&lane=&limit=&wait_ms= (long-poll, at most 30000).
//	                                     {events:[wire.Event], next_cursor}; after absent: the oldest kept,
//	                                     "latest": only new ones. With Accept: text/event-stream, Server-Sent
//	                                     Events (id = cursor, event = type) resuming after Last-Event-ID.
//	PUT  /v1/executions/{id}/priority    {priority (0..9000)}. 200 {execution_id, priority}; terminal: 409
//	                                     execution_not_eligible.
//	POST /v1/executions/{id}/replay      200 {execution_id, public_state}; 409 execution_not_terminal or
//	                                     max_replays_exhausted.
//	POST /v1/executions/{id}/revoke-lease 200 {revoked, lease_epoch}.
//	POST /v1/lanes/{lane}/pause|resume   200 {lane, paused, paused_at_ms, source, reason}.
//	GET  /v1/lanes/paused                {lanes:[...]}.
//	POST /v1/lanes/{lane}/bulk-replay|bulk-cancel {public_state, cursor, limit (100, max 1000)}.
//	                                     200 {items:[{execution_id, public_state | error}], next_cursor}.
//
// # Errors
//
// Every error, including malformed JSON, bad ids or query strings,
// unknown routes (404 route_not_found) and wrong methods (405
// method_not_allowed, with Allow), is
//
//	{"error": message, "kind": stable kind, "retryable": bool, "class": error class, ...}
//
// with optional entity, retry_after_ms, not_active (replay reconciliation
// detail) and limit_bytes. The status follows the class of the
// *flowfabric.Error: not_found 404; validation 400 (payload_too_large 413,
// unsupported_media_type 415, unauthorized 401, request_timeout 408);
// contention 409
// (retryable); conflict 409; state 409; unavailable 503;
// resource_exhausted 429; timeout 504; transport 503 when retryable, else
// 500; bug 500 (a recovered panic, or stored data that cannot be decoded:
// corruption). Malformed JSON is 400 invalid_json; a malformed handle is
// 400 invalid_handle; a body without a JSON Content-Type is 415. Clients
// decide retries from kind and retryable, never from the status alone;
// a message repeats at most 64 bytes of any value it echoes (cut on a
// character boundary, ending "…") and is at most 1 KiB;
// the Go client rebuilds the typed error, so errors.Is(err,
// flowfabric.ErrStaleLease) works on its side too.
//
// Every body is a type of package wire; the OpenAPI document at
// /v1/openapi.json is generated from those types and the route table.
//
// # Limits, timeouts, auth, CORS
//
// Bodies are capped per route (Config.MaxBodyBytes): create 1 MiB + 64 KiB,
// complete 1 MiB + 64 KiB, complete-many, renew-many and release 16 MiB,
// every other route 64 KiB; over the cap is 413 payload_too_large with
// limit_bytes. Config.Timeouts bound each request: headers within
// ReadHeader (10 s), the body within ReadBody (30 s, else 408
// request_timeout), the reply within Write (30 s) of the request being
// read, plus a long-poll's wait. At most Config.MaxLongPolls (10 000)
// claims wait at once; one more is 429 resource_exhausted with
// retry_after_ms and Retry-After. Idle long-polls of the same lanes and
// capabilities share one wake-up subscription and claim one at a time
// (wakeup.Waiters), so they cost about one claim per
// WithClaimPollInterval, whatever their number.
//
// With Config.APIToken set, every route but /healthz needs "Authorization:
// Bearer <token>" (constant-time compare; 401 unauthorized otherwise),
// /metrics included unless Config.MetricsPublic. Config.CORSOrigins lists
// allowed browser origins (["*"] for any); preflights are answered before
// auth.
//
// # Dashboard
//
// /ui/ is the web dashboard (package server/ui), not part of the API
// document: it does its own auth (with Config.APIToken, a login form and
// a session cookie; a CSRF token on every action) and never accepts the
// bearer header, and the API never accepts its cookie. WithLeadership
// and Config.Version feed its overview; Config.DisableUI turns it off.
//
// # Observability
//
// One slog line per request (method, route pattern, path, status,
// duration; server errors at Error level, health and metrics at Debug). A
// request whose client went away (a long-poll abandoned, a create
// cancelled) is logged at Info as abandoned with status 499, never as a
// server error. ff_http_requests_total / ff_http_request_duration_seconds
// count by method, route pattern ("unmatched" for no route, "/ui/" for
// the dashboard) and status,
// ff_http_long_polls_waiting gauges the waiting claims and
// ff_http_event_readers_waiting the waiting event readers (capped like
// the claims), in
// Config.Registry.
// Backend metrics come from package backend/instrument.
package server
