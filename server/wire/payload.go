package wire

import (
	"encoding/json"

	ff "github.com/flowfabric-go/flowfabric"
)

// EncodePayload splits opaque bytes into the JSON field (when b is valid
// JSON) or the base64 field (otherwise). Empty b yields neither.
func EncodePayload(b []byte) (asJSON json.RawMessage, asBase64 []byte) {
	if len(b) == 0 {
		return nil, nil
	}
	if json.Valid(b) {
		return json.RawMessage(b), nil
	}
	return nil, b
}

// DecodePayload joins the two payload fields back into bytes. Giving both
// is a validation error naming field.
func DecodePayload(field string, asJSON json.RawMessage, asBase64 []byte) ([]byte, error) {
	if len(asJSON) > 0 && len(asBase64) > 0 {
		return nil, ff.Validation(ff.ErrInvalidInput, "%s and %s_base64 are exclusive", field, field)
	}
	if len(asJSON) > 0 {
		return []byte(asJSON), nil
	}
	if len(asBase64) > 0 {
		return asBase64, nil
	}
	return nil, nil
}
