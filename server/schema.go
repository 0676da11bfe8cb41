package server

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
)

// schemaGen derives JSON Schemas (2020-12, as OpenAPI 3.1 uses) from the
// Go types the API encodes, so the document follows the code. Named
// structs become components referenced by $ref. A field without
// omitempty is listed as required.
type schemaGen struct {
	components map[string]any
	names      map[reflect.Type]string
}

func newSchemaGen() *schemaGen {
	return &schemaGen{components: map[string]any{}, names: map[reflect.Type]string{}}
}

var (
	rawMessageType    = reflect.TypeFor[json.RawMessage]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
	executionIDType   = reflect.TypeFor[ff.ExecutionID]()
)

// enums lists the closed string types the API exposes.
var enums = map[reflect.Type][]string{
	reflect.TypeFor[ff.PublicState](): func() []string {
		out := make([]string, len(ff.PublicStates))
		for i, p := range ff.PublicStates {
			out[i] = string(p)
		}
		return out
	}(),
	reflect.TypeFor[ff.AttemptType](): {string(ff.AttemptInitial), string(ff.AttemptRetry),
		string(ff.AttemptReclaim), string(ff.AttemptReplay)},
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	if vals, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": vals}
	}
	switch {
	case t == rawMessageType:
		return map[string]any{"description": "any JSON value"}
	case t == executionIDType:
		return map[string]any{"type": "string", "pattern": `^\{fp:[0-9]+\}:[0-9a-f-]{36}$`,
			"description": "execution id {fp:N}:<uuid>; percent-encode it in paths"}
	case t.Kind() != reflect.Pointer && t.Implements(textMarshalerType),
		reflect.PointerTo(t).Implements(textMarshalerType) && t.Kind() == reflect.Struct:
		return map[string]any{"type": "string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return g.schema(t.Elem())
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return map[string]any{"type": "integer"}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer", "minimum": 0}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		return g.ref(t)
	case reflect.Interface:
		return map[string]any{}
	}
	return map[string]any{}
}

// ref registers a struct as a component and returns a reference to it.
func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name, seen := g.names[t]
	if !seen {
		name = t.Name()
		if name == "" {
			return g.object(t)
		}
		if _, taken := g.components[name]; taken {
			name = pkgPrefix(t) + name
		}
		g.names[t] = name
		g.components[name] = map[string]any{} // placeholder breaks cycles
		g.components[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	g.fields(t, props, &required)
	out := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		out["required"] = required
	}
	return out
}

func (g *schemaGen) fields(t reflect.Type, props map[string]any, required *[]string) {
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			g.fields(f.Type, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

func pkgPrefix(t reflect.Type) string {
	p := t.PkgPath()
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		p = p[i+1:]
	}
	if p == "" {
		return ""
	}
	return strings.ToUpper(p[:1]) + p[1:]
}
