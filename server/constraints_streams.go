package server

import (
	"fmt"
	"reflect"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// The constraints of the stream routes, merged into the tables of
// constraints.go. The payload caps are the store's (configurable); the
// defaults are documented.
func init() {
	pathParams["n"] = map[string]any{"description": "attempt index (0 is the first attempt)",
		"schema": map[string]any{"type": "integer", "minimum": 0, "maximum": 1<<32 - 1}}
	fieldRules[reflect.TypeFor[wire.AppendFramesRequest]()] = map[string]rule{
		"handle": handleRule(),
		"frames": kw("minItems", 1, "maxItems", ff.MaxFramesPerAppend, "description", "appended all or none, with consecutive ids"),
	}
	fieldRules[reflect.TypeFor[wire.FrameIn]()] = map[string]rule{
		"type": kw("maxLength", ff.MaxFrameTypeBytes, "pattern", namePattern,
			"description", "free-form frame type (absent: data); "+bytesNote(ff.MaxFrameTypeBytes)+", no control character"),
		"payload": kw("description", fmt.Sprintf(
			"any JSON value; at most %d bytes by default (413 payload_too_large)", ff.DefaultMaxFrameBytes)),
		"payload_base64": kw("description", "bytes that are not JSON, base64; exclusive with payload"),
		"correlation_id": kw("maxLength", ff.MaxCorrelationIDBytes, "pattern", keyPattern, "description", bytesNote(ff.MaxCorrelationIDBytes)),
		"durable":        kw("description", "default true; false: best effort, may be lost in a database crash (see docs/streams.md)"),
	}
	fieldRules[reflect.TypeFor[wire.PatchSummaryRequest]()] = map[string]rule{
		"handle": handleRule(),
		"patch": kw("type", "object", "description", fmt.Sprintf(
			"a JSON Merge Patch (RFC 7386) object: null removes a member, objects merge, anything else replaces; the document is at most %d bytes by default", ff.DefaultMaxSummaryBytes)),
	}
}
