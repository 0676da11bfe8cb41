package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flowfabric-go/flowfabric/server"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// probe checks documented constraints of one request field against the
// handler: for each keyword in checks, the document must state it, a
// value just inside the bound must be accepted (2xx) and one just outside
// refused (400).
type probe struct {
	method, path string
	// field is a dotted path into the JSON body, "?name" for a query
	// parameter or "{name}" for a path parameter.
	field  string
	checks []string
	// body returns a valid body for one request (fresh state each call:
	// a new handle when the request ends a lease); nil is no body.
	body func(e *env) map[string]any
	// item is element i of an array (maxItems) or key i of an object
	// (maxProperties).
	item func(i int) any
}

func createBody(*env) map[string]any { return map[string]any{"kind": "k"} }

func exponential(*env) map[string]any {
	return map[string]any{"kind": "k", "policy": map[string]any{"retry_policy": map[string]any{
		"backoff": map[string]any{"type": "exponential"}}}}
}

// handleBody claims a fresh task and returns a body carrying its handle.
func handleBody(e *env) map[string]any {
	e.create(map[string]any{"lane": "probe"})
	return map[string]any{"handle": e.claimOne("probe").Handle}
}

func withWork(e *env) map[string]any {
	e.create(map[string]any{"lane": "default"})
	return map[string]any{}
}

var probes = []probe{
	{method: "POST", path: "/v1/executions", field: "kind", checks: []string{"maxLength", "minLength"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "lane", checks: []string{"maxLength"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "namespace", checks: []string{"maxLength"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "idempotency_key", checks: []string{"maxLength"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "delay_until_ms", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "deadline_at_ms", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "required_capabilities", checks: []string{"maxItems"}, body: createBody,
		item: func(i int) any { return fmt.Sprintf("c%d", i) }},
	{method: "POST", path: "/v1/executions", field: "tags", checks: []string{"maxProperties"}, body: createBody,
		item: func(i int) any { return fmt.Sprintf("app.k%d", i) }},
	{method: "POST", path: "/v1/executions", field: "policy.retry_policy.max_retries", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.dedup_window_ms", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.max_reclaim_count", checks: []string{"minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.timeout_policy.attempt_timeout_ms", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.timeout_policy.execution_deadline_ms", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.retry_policy.backoff.type", checks: []string{"enum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.retry_policy.backoff.delay_ms", checks: []string{"maximum", "minimum"}, body: createBody},
	{method: "POST", path: "/v1/executions", field: "policy.retry_policy.backoff.jitter", checks: []string{"maximum", "minimum"}, body: exponential},
	{method: "POST", path: "/v1/executions", field: "policy.retry_policy.backoff.max_delay_ms", checks: []string{"maximum", "minimum"}, body: exponential},
	{method: "POST", path: "/v1/executions", field: "policy.retry_policy.backoff.multiplier", checks: []string{"minimum"}, body: exponential},

	{method: "POST", path: "/v1/budgets", field: "reset_interval_ms", checks: []string{"maximum", "minimum"},
		body: func(*env) map[string]any { return map[string]any{"budget_id": "probe"} }},
	{method: "POST", path: "/v1/budgets", field: "budget_id", checks: []string{"maxLength", "minLength"},
		body: func(*env) map[string]any { return map[string]any{} }},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "lease_ttl_ms", checks: []string{"maximum", "minimum"}},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "max", checks: []string{"maximum"}},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "wait_ms", checks: []string{"maximum", "minimum"}, body: withWork},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "lanes", checks: []string{"maxItems"},
		item: func(i int) any { return fmt.Sprintf("l%d", i) }},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "capabilities", checks: []string{"maxItems"},
		item: func(i int) any { return fmt.Sprintf("c%d", i) }},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "worker_instance_id", checks: []string{"maxLength"}},
	{method: "POST", path: "/v1/workers/{worker_id}/claim", field: "{worker_id}", checks: []string{"maxLength"}},

	{method: "POST", path: "/v1/tasks/fail", field: "classification", checks: []string{"enum"}, body: handleBody},
	{method: "POST", path: "/v1/tasks/progress", field: "percent", checks: []string{"maximum", "minimum"}, body: handleBody},
	{method: "POST", path: "/v1/tasks/delay", field: "delay_until_ms", checks: []string{"maximum", "minimum"}, body: handleBody},
	{method: "POST", path: "/v1/tasks/complete-many", field: "items", checks: []string{"maxItems"},
		item: func(int) any { return map[string]any{"handle": "x"} }},
	{method: "POST", path: "/v1/tasks/renew-many", field: "handles", checks: []string{"maxItems"}, item: func(int) any { return "x" }},
	{method: "POST", path: "/v1/tasks/release", field: "handles", checks: []string{"maxItems"}, item: func(int) any { return "x" }},

	{method: "GET", path: "/v1/executions", field: "?limit", checks: []string{"maximum", "minimum"}},
	{method: "GET", path: "/v1/executions", field: "?partition", checks: []string{"maximum", "minimum"}},
	{method: "GET", path: "/v1/executions", field: "?public_state", checks: []string{"enum"}},
	{method: "GET", path: "/v1/executions", field: "?lane", checks: []string{"maxLength"}},
	{method: "GET", path: "/v1/lanes", field: "?limit", checks: []string{"maximum", "minimum"}},
	{method: "GET", path: "/v1/lanes", field: "?cursor", checks: []string{"maxLength"}},
	{method: "POST", path: "/v1/tasks/frames", field: "frames", checks: []string{"maxItems"}, body: handleBody,
		item: func(i int) any { return map[string]any{"payload": i} }},

	{method: "PUT", path: "/v1/executions/{id}/priority", field: "priority", checks: []string{"maximum", "minimum"}},
	{method: "GET", path: "/v1/events", field: "?limit", checks: []string{"maximum", "minimum"}},
	{method: "GET", path: "/v1/events", field: "?wait_ms", checks: []string{"maximum", "minimum"}}, // events exist by now: no wait
	{method: "GET", path: "/v1/events", field: "?lane", checks: []string{"maxLength"}},
	{method: "POST", path: "/v1/lanes/{lane}/pause", field: "{lane}", checks: []string{"maxLength"}},
	{method: "POST", path: "/v1/lanes/{lane}/bulk-cancel", field: "limit", checks: []string{"maximum", "minimum"},
		body: func(*env) map[string]any { return map[string]any{"public_state": "waiting"} }},
}

// Issue 10 item 5: the constraints the document states are the ones the
// handlers enforce.
func TestDocumentedConstraintsHold(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		doc := openAPIDoc(t, e)
		for _, p := range probes {
			schema := doc.fieldSchema(t, p)
			for _, keyword := range p.checks {
				bound, ok := schema[keyword]
				require.True(t, ok, "%s %s %s: %s is not documented (schema %v)", p.method, p.path, p.field, keyword, schema)
				inside, outside := p.values(t, keyword, bound, schema)
				for _, v := range inside {
					r := p.send(e, v)
					require.True(t, r.status >= 200 && r.status < 300, "%s %s %s=%s (%s %v): %d %s",
						p.method, p.path, p.field, show(v), keyword, bound, r.status, r.body)
				}
				r := p.send(e, outside)
				require.Equal(t, http.StatusBadRequest, r.status, "%s %s %s=%s (beyond %s %v): %s",
					p.method, p.path, p.field, show(outside), keyword, bound, r.body)
			}
		}
	})
}

// values returns the values just inside (accepted) and one just outside
// (refused) a bound.
func (p probe) values(t *testing.T, keyword string, bound any, schema map[string]any) ([]any, any) {
	num := func() json.Number { return bound.(json.Number) }
	isNumber := schema["type"] == "number"
	switch keyword {
	case "maxLength":
		n := mustInt(t, num())
		return []any{strings.Repeat("a", n)}, strings.Repeat("a", n+1)
	case "minLength":
		n := mustInt(t, num())
		return []any{strings.Repeat("a", n)}, strings.Repeat("a", n-1)
	case "maximum":
		if isNumber {
			f, _ := num().Float64()
			return []any{f}, f + 0.5
		}
		n, _ := num().Int64()
		return []any{n}, n + 1
	case "minimum":
		if isNumber {
			f, _ := num().Float64()
			return []any{f}, f - 0.5
		}
		n, _ := num().Int64()
		return []any{n}, n - 1
	case "exclusiveMinimum":
		n, _ := num().Int64()
		return []any{n + 1}, n
	case "maxItems":
		n := mustInt(t, num())
		return []any{p.items(n)}, p.items(n + 1)
	case "maxProperties":
		n := mustInt(t, num())
		return []any{p.props(n)}, p.props(n + 1)
	case "enum":
		return bound.([]any), "not-a-documented-value"
	}
	t.Fatalf("no probe for %s", keyword)
	return nil, nil
}

// show is a value for a failure message, cut to 80 bytes.
func show(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func mustInt(t *testing.T, n json.Number) int {
	i, err := n.Int64()
	require.NoError(t, err)
	return int(i)
}

func (p probe) items(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = p.item(i)
	}
	return out
}

func (p probe) props(n int) map[string]any {
	out := map[string]any{}
	for i := range n {
		out[p.item(i).(string)] = "v"
	}
	return out
}

// send makes one request with the field set to v.
func (p probe) send(e *env, v any) reply {
	path := strings.Replace(p.path, "{worker_id}", "w1", 1)
	path = strings.Replace(path, "{lane}", "probe", 1)
	if strings.Contains(path, "{id}") {
		path = strings.Replace(path, "{id}", escape(e.create(map[string]any{"lane": "probe-op"})), 1)
	}
	switch {
	case strings.HasPrefix(p.field, "?"):
		return e.do(p.method, path+"?"+url.Values{p.field[1:]: {fmt.Sprint(v)}}.Encode(), nil)
	case strings.HasPrefix(p.field, "{"):
		path = strings.Replace(p.path, p.field, url.PathEscape(fmt.Sprint(v)), 1)
		return e.do(p.method, path, map[string]any{})
	}
	body := map[string]any{}
	if p.body != nil {
		body = p.body(e)
	}
	setPath(body, strings.Split(p.field, "."), v)
	return e.do(p.method, path, body)
}

func setPath(m map[string]any, path []string, v any) {
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = v
}

// apiDoc is the served OpenAPI document, numbers kept exact.
type apiDoc map[string]any

func openAPIDoc(t *testing.T, e *env) apiDoc {
	r := e.get("/v1/openapi.json")
	require.Equal(t, http.StatusOK, r.status)
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var doc map[string]any
	require.NoError(t, dec.Decode(&doc))
	return doc
}

// fieldSchema finds the schema of the probe's field, resolving $refs.
func (d apiDoc) fieldSchema(t *testing.T, p probe) map[string]any {
	op := d.dig(t, "paths", p.path, strings.ToLower(p.method))
	if strings.HasPrefix(p.field, "?") || strings.HasPrefix(p.field, "{") {
		name := strings.Trim(p.field, "?{}")
		params, _ := op["parameters"].([]any)
		for _, raw := range params {
			param := raw.(map[string]any)
			if param["name"] == name {
				return param["schema"].(map[string]any)
			}
		}
		t.Fatalf("%s %s: no parameter %s", p.method, p.path, name)
	}
	s := d.resolve(t, apiDoc(op).dig(t, "requestBody", "content", "application/json", "schema"))
	for _, k := range strings.Split(p.field, ".") {
		props, ok := s["properties"].(map[string]any)
		require.True(t, ok, "%s: no properties on the way to %s", p.path, p.field)
		child, ok := props[k].(map[string]any)
		require.True(t, ok, "%s: %s is not documented", p.path, p.field)
		s = d.resolve(t, child)
	}
	return s
}

// resolve merges a $ref's target under the keywords beside it.
func (d apiDoc) resolve(t *testing.T, s map[string]any) map[string]any {
	ref, ok := s["$ref"].(string)
	if !ok {
		return s
	}
	target := d.resolve(t, d.dig(t, "components", "schemas", strings.TrimPrefix(ref, "#/components/schemas/")))
	out := map[string]any{}
	for k, v := range target {
		out[k] = v
	}
	for k, v := range s {
		if k != "$ref" {
			out[k] = v
		}
	}
	return out
}

func (d apiDoc) dig(t *testing.T, keys ...string) map[string]any {
	m := map[string]any(d)
	for _, k := range keys {
		next, ok := m[k].(map[string]any)
		require.True(t, ok, "openapi.json: no %v", keys)
		m = next
	}
	return m
}

// Every request body schema refuses members it does not declare, as the
// decoder does.
func TestRequestSchemasAreClosed(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		e := newEnv(t, open, server.Config{}, nil)
		doc := openAPIDoc(t, e)
		n := 0
		for _, item := range doc.dig(t, "paths") {
			for _, op := range item.(map[string]any) {
				body, ok := op.(map[string]any)["requestBody"]
				if !ok {
					continue
				}
				s := doc.resolve(t, apiDoc(body.(map[string]any)).dig(t, "content", "application/json", "schema"))
				require.Equal(t, false, s["additionalProperties"], "%v", s)
				n++
			}
		}
		require.Positive(t, n)
		fail := doc.resolve(t, doc.dig(t, "components", "schemas", "FailRequest"))
		require.Equal(t, []any{"transient", "permanent", "infra_crash", "timeout", "cancelled"},
			fail["properties"].(map[string]any)["classification"].(map[string]any)["enum"])
		require.Equal(t, wire.MaxBatchItems, mustInt(t, doc.resolve(t, doc.dig(t, "components", "schemas", "ReleaseRequest"))["properties"].(map[string]any)["handles"].(map[string]any)["maxItems"].(json.Number)))
	})
}
