package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// decodeBody reads the (already capped) body into dst. A field dst does
// not declare is refused (400 invalid_input naming it), so a misspelt
// field is never silently dropped. A body must be JSON with a JSON Content-Type (415 otherwise);
// an empty body is accepted only on routes whose body is optional, and
// leaves dst untouched.
func decodeBody(r *http.Request, dst any) error {
	rt, _ := r.Context().Value(routeKey{}).(*route)
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return bodyReadError(err)
	}
	ct := r.Header.Get("Content-Type")
	if len(bytes.TrimSpace(raw)) == 0 {
		if ct != "" && !isJSONType(ct) {
			return unsupportedType(ct)
		}
		if rt != nil && rt.bodyOptional {
			return nil
		}
		return ff.Validation(wire.ErrInvalidJSON, "request body is empty")
	}
	if !isJSONType(ct) {
		return unsupportedType(ct)
	}
	if err := checkUTF8(rt, raw); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return ff.Validation(wire.ErrInvalidJSON, "invalid JSON: trailing data after the object")
	}
	return nil
}

// freeTextOps are the routes whose body carries only a handle or id and
// free text (reasons, messages, a cancel source). Their bodies may hold
// invalid UTF-8: the decoder turns each bad byte into U+FFFD, the same
// sanitization the domain applies (ff.SanitizeText), so a failure report
// is never refused for its text.
var freeTextOps = map[string]bool{"fail": true, "cancelTask": true, "progress": true, "cancelExecution": true}

// checkUTF8 refuses a body that is not valid UTF-8 (RFC 8259 §8.1) on
// every other route: the decoder would silently replace bad bytes in keys
// and names, so two different idempotency keys could become one.
func checkUTF8(rt *route, raw []byte) error {
	if utf8.Valid(raw) || (rt != nil && freeTextOps[rt.op]) {
		return nil
	}
	return ff.Validation(wire.ErrInvalidJSON, "request body is not valid UTF-8")
}

func isJSONType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

func unsupportedType(ct string) error {
	if ct == "" {
		ct = "none"
	}
	return ff.Validation(wire.ErrUnsupportedMediaType, "Content-Type %q: want application/json", wire.Clip(ct))
}

// jsonError explains a decode failure without echoing the body.
func jsonError(err error) error {
	if e, ok := ff.AsError(err); ok {
		return e
	}
	if name, ok := unknownField(err); ok {
		return ff.Validation(ff.ErrInvalidInput, "unknown field %q in the request body (see /v1/openapi.json for this route's fields)", wire.Clip(name))
	}
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return ff.Validation(wire.ErrInvalidJSON, "invalid JSON at offset %d: %v", syn.Offset, syn)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return ff.Validation(wire.ErrInvalidJSON, "invalid JSON: field %q: cannot use a JSON %s as %s", wire.Clip(field), typ.Value, typ.Type)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return ff.Validation(wire.ErrInvalidJSON, "invalid JSON: unexpected end of input")
	}
	return ff.Validation(wire.ErrInvalidJSON, "invalid JSON: %v", err)
}

// unknownField recognises encoding/json's error for a field the target
// does not declare (it has no typed form) and returns the field name.
func unknownField(err error) (string, bool) {
	rest, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	name, uerr := strconv.Unquote(rest)
	if uerr != nil {
		name = rest
	}
	return name, true
}

// pathExecutionID parses the {id} path value.
func pathExecutionID(r *http.Request) (ff.ExecutionID, error) {
	return ff.ParseExecutionID(r.PathValue("id"))
}

// parseHandle parses a handle's text form, naming field in errors.
func parseHandle(field, s string) (ff.Handle, error) {
	if s == "" {
		return ff.Handle{}, ff.Validation(ff.ErrInvalidInput, "%s: required", field)
	}
	h, err := ff.ParseHandle(s)
	if err != nil {
		return ff.Handle{}, fmt.Errorf("%s: %w", field, err)
	}
	return h, nil
}

// query parses the query string strictly (Request.URL.Query drops
// malformed pairs silently).
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, ff.Validation(ff.ErrInvalidInput, "query string: %v", err)
	}
	return q, nil
}

// queryInt reads an optional integer query parameter.
func queryInt(q url.Values, name string, bits int) (int64, bool, error) {
	v := q.Get(name)
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		return 0, false, ff.Validation(ff.ErrInvalidInput, "query %s=%q: want an integer", name, v)
	}
	return n, true, nil
}

// queryLimit reads the optional page size: absent is 0 (the route's
// default); given, it must be in [1, 1000].
func queryLimit(q url.Values) (int, error) {
	limit, set, err := queryInt(q, "limit", 32)
	if err != nil {
		return 0, err
	}
	if set && (limit < 1 || limit > 1000) {
		return 0, ff.Validation(ff.ErrInvalidInput, "query limit=%d: outside [1, 1000]", limit)
	}
	return int(limit), nil
}
