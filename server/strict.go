package server

import (
	"encoding/json"
	"reflect"
	"strings"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// parsePolicy refuses a policy member the domain's ExecutionPolicy does
// not declare (at any depth, named by its path), then parses it as
// ff.ParsePolicy does. The walk reads the struct tags, so it holds
// whatever custom decoding the domain types use.
func parsePolicy(raw json.RawMessage) (*ff.ExecutionPolicy, error) {
	var doc any
	if len(raw) > 0 && json.Unmarshal(raw, &doc) == nil {
		if path, ok := unknownMember(doc, reflect.TypeFor[ff.ExecutionPolicy](), "policy"); ok {
			return nil, ff.Validation(ff.ErrInvalidPolicy, "unknown field %q in the policy", wire.Clip(path))
		}
	}
	return ff.ParsePolicy(raw)
}

// unknownMember returns the path of the first object member of doc that
// t (a struct, or a pointer, slice or map of one) does not declare.
func unknownMember(doc any, t reflect.Type, path string) (string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch v := doc.(type) {
	case map[string]any:
		switch t.Kind() {
		case reflect.Struct:
			return unknownInStruct(v, t, path)
		case reflect.Map:
			for k, c := range v {
				if p, ok := unknownMember(c, t.Elem(), path+"."+k); ok {
					return p, true
				}
			}
		}
	case []any:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for _, c := range v {
				if p, ok := unknownMember(c, t.Elem(), path+"[]"); ok {
					return p, true
				}
			}
		}
	}
	return "", false
}

func unknownInStruct(obj map[string]any, t reflect.Type, path string) (string, bool) {
	fields := jsonFields(t)
	for k, c := range obj {
		ft, ok := fields[k]
		if !ok {
			return path + "." + k, true
		}
		if p, bad := unknownMember(c, ft, path+"."+k); bad {
			return p, true
		}
	}
	return "", false
}

// jsonFields maps the JSON member names of struct t to their types,
// following embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case name == "-" || (!f.IsExported() && !f.Anonymous):
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
		case name == "":
			out[f.Name] = f.Type
		default:
			out[name] = f.Type
		}
	}
	return out
}
