package flowfabric

import (
	"bytes"
	"encoding/json"
)

// MergePatch applies a JSON Merge Patch (RFC 7386, restated by RFC 7396)
// to doc and returns the merged document. An empty doc is null. A patch
// member whose value is null removes the member, an object value merges
// recursively into an object member (replacing anything else), and every
// other value replaces the member; a patch that is not an object replaces
// the whole document. Numbers keep their exact text. Object members of
// the result are sorted by name. A malformed doc or patch, or a patch
// nested deeper than 32 levels, is invalid_input.
func MergePatch(doc, patch []byte) ([]byte, error) {
	target, err := decodeExact(doc, "summary")
	if err != nil {
		return nil, err
	}
	p, err := decodeExact(patch, "patch")
	if err != nil {
		return nil, err
	}
	merged, err := mergeValue(target, p, 0)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(merged)
	if err != nil {
		return nil, Validation(ErrInvalidInput, "merge patch: %v", err)
	}
	return out, nil
}

// decodeExact decodes one JSON value, keeping numbers as json.Number.
func decodeExact(b []byte, what string) (any, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, Validation(ErrInvalidInput, "%s is not valid JSON: %v", what, err)
	}
	if d.More() {
		return nil, Validation(ErrInvalidInput, "%s holds more than one JSON value", what)
	}
	return v, nil
}

// mergeValue is RFC 7386's MergePatch(Target, Patch).
func mergeValue(target, patch any, depth int) (any, error) {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch, nil
	}
	if depth >= maxPatchDepth {
		return nil, Validation(ErrInvalidInput, "merge patch nests deeper than %d levels", maxPatchDepth)
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		merged, err := mergeValue(t[k], v, depth+1)
		if err != nil {
			return nil, err
		}
		t[k] = merged
	}
	return t, nil
}
