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
	// strict is set while a request body is generated: its objects
	// refuse members they do not declare (additionalProperties: false),
	// as the decoder does.
	strict bool
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
	reflect.TypeFor[ff.AttemptType]():  strs(ff.AttemptInitial, ff.AttemptRetry, ff.AttemptReclaim, ff.AttemptReplay, ff.AttemptResume),
	reflect.TypeFor[ff.FailureClass](): strs(ff.FailureClasses...),
	reflect.TypeFor[ff.AttemptLifecycle](): strs(ff.AttemptCreated, ff.AttemptStarted, ff.AttemptSuspended,
		ff.AttemptEndedSuccess, ff.AttemptEndedFailure, ff.AttemptEndedCancelled, ff.AttemptInterruptedReclaimed),
	reflect.TypeFor[ff.LifecyclePhase](): strs(ff.PhaseSubmitted, ff.PhaseRunnable, ff.PhaseActive, ff.PhaseSuspended, ff.PhaseTerminal),
	reflect.TypeFor[ff.OwnershipState](): strs(ff.OwnershipUnowned, ff.OwnershipLeased, ff.OwnershipLeaseExpired, ff.OwnershipLeaseRevoked),
	reflect.TypeFor[ff.EligibilityState](): strs(ff.EligibleNow, ff.NotEligibleUntilTime, ff.BlockedByDependencies,
		ff.BlockedByBudget, ff.BlockedByQuota, ff.BlockedByRoute, ff.BlockedByLaneState, ff.BlockedByOperator,
		ff.EligibilityNotApplicable),
	reflect.TypeFor[ff.BlockingReason](): strs(ff.BlockingNone, ff.BlockingWaitingForWorker, ff.BlockingWaitingForRetryBackoff,
		ff.BlockingWaitingForResumeDelay, ff.BlockingWaitingForDelay, ff.BlockingWaitingForSignal,
		ff.BlockingWaitingForApproval, ff.BlockingWaitingForCallback, ff.BlockingWaitingForToolResult,
		ff.BlockingWaitingForChildren, ff.BlockingWaitingForBudget, ff.BlockingWaitingForQuota,
		ff.BlockingWaitingForCapableWorker, ff.BlockingWaitingForLocality, ff.BlockingPausedByOperator,
		ff.BlockingPausedByPolicy, ff.BlockingPausedByFlowCancel),
	reflect.TypeFor[ff.TerminalOutcome](): strs(ff.OutcomeNone, ff.OutcomeSuccess, ff.OutcomeFailed, ff.OutcomeCancelled,
		ff.OutcomeExpired, ff.OutcomeSkipped),
	reflect.TypeFor[ff.AttemptState](): strs(ff.AttemptStateNone, ff.AttemptPendingFirst, ff.AttemptRunning,
		ff.AttemptInterrupted, ff.AttemptPendingRetry, ff.AttemptPendingReplay, ff.AttemptTerminalState),
}

func strs[S ~string](vs ...S) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	if vals, ok := enums[t]; ok {
		return map[string]any{"type": "string", "enum": vals}
	}
	switch {
	case t == rawMessageType:
		return map[string]any{"description": "any JSON value"}
	case t == executionIDType:
		return map[string]any{"type": "string", "pattern": executionIDPat,
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
	if g.strict {
		out["additionalProperties"] = false
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
		props[name] = g.field(t, name, f.Type)
		if !strings.Contains(opts, "omitempty") {
			*required = append(*required, name)
		}
	}
}

// field is the schema of field name of struct t: its Go type's schema
// with the field's rule (fieldRules) merged in.
func (g *schemaGen) field(t reflect.Type, name string, ft reflect.Type) map[string]any {
	r, ok := fieldRules[t][name]
	if !ok {
		return g.schema(ft)
	}
	if r.as != nil {
		ft = r.as
	}
	out := map[string]any{}
	for k, v := range g.schema(ft) {
		out[k] = v
	}
	for k, v := range r.kw {
		out[k] = v
	}
	return out
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
