package server

import (
	"encoding/json"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/flowfabric-go/flowfabric/server/wire"
)

// mustOpenAPI builds the OpenAPI 3.1 document from the route table: every
// route, its parameters, request body and responses, with schemas derived
// from the wire types. Every error response is the shared Error schema.
func mustOpenAPI(routes []*route) []byte {
	g := newSchemaGen()
	errRef := g.ref(reflect.TypeFor[wire.ErrorBody]())
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		item := paths[rt.path]
		if item == nil {
			item = map[string]any{}
			paths[rt.path] = item
		}
		item[strings.ToLower(rt.method)] = operation(g, rt)
	}
	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":   "FlowFabric HTTP API",
			"version": "v1",
			"description": "Durable executions on lanes, claimed by workers under leases. " +
				"Errors are {error, kind, retryable}; decide retries from kind/retryable.",
		},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{
			"schemas": g.components,
			"securitySchemes": map[string]any{
				"bearer": map[string]any{"type": "http", "scheme": "bearer",
					"description": "required when the server has an API token"},
			},
			"responses": map[string]any{
				"Error": map[string]any{
					"description": "an error; the status follows the error class",
					"content":     map[string]any{"application/json": map[string]any{"schema": errRef}},
				},
			},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic("openapi: " + err.Error())
	}
	return b
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func operation(g *schemaGen, rt *route) map[string]any {
	op := map[string]any{"operationId": rt.op, "summary": rt.summary}
	if rt.public {
		op["security"] = []any{}
	}
	var params []any
	for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
		doc := pathParams[m[1]]
		params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
			"description": doc["description"], "schema": doc["schema"]})
	}
	for _, q := range rt.query {
		schema := map[string]any{"type": q.typ}
		for k, v := range q.kw {
			schema[k] = v
		}
		params = append(params, map[string]any{"name": q.name, "in": "query", "required": false,
			"description": q.desc, "schema": schema})
	}
	if len(params) > 0 {
		op["parameters"] = params
	}
	if rt.body != nil {
		g.strict = true
		schema := g.schema(reflect.TypeOf(rt.body))
		g.strict = false
		op["requestBody"] = map[string]any{
			"required": !rt.bodyOptional,
			"content":  map[string]any{"application/json": map[string]any{"schema": schema}},
		}
	}
	responses := map[string]any{"default": map[string]any{"$ref": "#/components/responses/Error"}}
	for _, r := range rt.responses {
		key := strconv.Itoa(r.status)
		resp, _ := responses[key].(map[string]any)
		if resp == nil {
			resp = map[string]any{"description": r.desc}
			responses[key] = resp
		} else {
			resp["description"] = resp["description"].(string) + "; or " + r.desc
		}
		schema := r.rawSchema
		if schema == nil && r.body != nil {
			schema = g.schema(reflect.TypeOf(r.body))
		}
		if schema == nil {
			continue
		}
		ctype := r.ctype
		if ctype == "" {
			ctype = "application/json"
		}
		content, _ := resp["content"].(map[string]any)
		if content == nil {
			content = map[string]any{}
			resp["content"] = content
		}
		content[ctype] = map[string]any{"schema": schema}
	}
	op["responses"] = responses
	return op
}
