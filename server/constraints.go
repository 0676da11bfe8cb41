package server

import (
	"fmt"
	"reflect"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/server/wire"
)

// rule is what the server enforces on one field, as JSON Schema keywords
// merged into the schema generated from the field's Go type. as, when
// set, documents the field as that type instead (a raw JSON field the
// server parses itself, like the policy).
type rule struct {
	as reflect.Type
	kw map[string]any
}

func kw(pairs ...any) rule {
	m := make(map[string]any, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return rule{kw: m}
}

// Patterns (ECMA-262, as JSON Schema uses) of the text rules the domain
// applies; each mirrors the check named beside it (docs/limits.md).
const (
	lanePattern       = `^[\x20-\x7e]+$`                                                                          // ff.ValidateLane
	namePattern       = `^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$`                                                    // a name: ff.ValidateName
	keyPattern        = `^[^\x00]*$`                                                                              // a key: ff.ValidateKey
	identPattern      = `^[^\s\x00-\x1f\x7f-\x9f\u2028\u2029]+$`                                                  // a name without whitespace: worker ids
	capabilityPattern = `^[^,\x00-\x20\x7f]+$`                                                                    // ff.NormalizeCapabilities
	tagKeyPattern     = `^[a-z][a-z0-9_]*\.[^.\x00-\x1f\x7f-\x9f\u2028\u2029][^\x00-\x1f\x7f-\x9f\u2028\u2029]*$` // ff.ValidateTags
	executionIDPat    = `^\{fp:(0|[1-9][0-9]{0,4})\}:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	handlePattern     = `^ffh1\.`
)

// bytesNote says that a documented maxLength (which JSON Schema counts in
// characters) is enforced in bytes of UTF-8: exact for ASCII, a bound
// otherwise.
func bytesNote(n int) string { return fmt.Sprintf("at most %d bytes of UTF-8", n) }

func instantRule(desc string) rule {
	return kw("minimum", 0, "maximum", ff.MaxInstantMs, "description", desc+"; at most 9999-12-31T23:59:59.999Z")
}

// expOnly marks a rule that applies to exponential backoff only (the
// field is ignored, and not checked, for fixed backoff).
func expOnly(r rule, absent string) rule {
	r.kw["description"] = fmt.Sprintf("%v; exponential backoff only (ignored for fixed); %s", r.kw["description"], absent)
	return r
}

func durationRule(min int64) rule {
	return kw("minimum", min, "maximum", ff.MaxDurationMs, "description", "milliseconds, at most 365 days")
}

func laneRule() rule {
	return kw("maxLength", ff.MaxLaneBytes, "pattern", lanePattern, "default", "default",
		"description", "printable ASCII, 1 to 64 bytes; absent means \"default\"")
}

func identRule(desc string) rule {
	return kw("minLength", 1, "maxLength", ff.MaxIdentifierBytes, "pattern", identPattern,
		"description", desc+"; "+bytesNote(ff.MaxIdentifierBytes)+", no whitespace or control character")
}

func capabilitiesRule(desc string) rule {
	return kw("maxItems", ff.MaxCapabilityTokens, "items", map[string]any{"type": "string", "minLength": 1, "pattern": capabilityPattern},
		"description", desc+fmt.Sprintf("; at most %d tokens and %d bytes joined with commas", ff.MaxCapabilityTokens, ff.MaxCapabilityCSVBytes))
}

func handleRule() rule {
	return kw("minLength", 1, "pattern", handlePattern, "description", "the lease handle returned by claim, verbatim")
}

func handlesRule() rule {
	return kw("maxItems", wire.MaxBatchItems, "items", map[string]any{"type": "string"})
}

// fieldRules holds every constraint the server enforces on a request
// field, by wire (or domain) type and JSON name. The numbers are the
// constants the checks use, so the document cannot disagree with them;
// TestDocumentedConstraintsHold sends values just inside and just outside
// a sample of them. TestFieldRulesNameRealFields keeps the keys honest.
var fieldRules = map[reflect.Type]map[string]rule{
	reflect.TypeFor[wire.CreateExecutionRequest](): {
		"kind": kw("minLength", 1, "maxLength", ff.MaxKindBytes, "pattern", namePattern,
			"description", "the handler-routing name: "+bytesNote(ff.MaxKindBytes)+", no control character"),
		"lane": laneRule(),
		"execution_id": kw("pattern", executionIDPat,
			"description", "an id chosen by the client, {fp:N}:<uuid> (never the all-zero UUID); absent mints one"),
		"namespace": kw("maxLength", ff.MaxIdentifierBytes, "pattern", namePattern,
			"description", "scopes the idempotency key; "+bytesNote(ff.MaxIdentifierBytes)),
		"idempotency_key": kw("maxLength", ff.MaxIdentifierBytes, "pattern", keyPattern,
			"description", "the same key (in the namespace, within the policy's dedup_window_ms) returns the existing execution; "+
				bytesNote(ff.MaxIdentifierBytes)),
		"priority":              kw("description", fmt.Sprintf("larger is more urgent; clamped to [%d, %d], never refused", ff.MinPriority, ff.MaxPriority)),
		"required_capabilities": capabilitiesRule("tokens a worker must all have to claim it"),
		"tags": kw("maxProperties", ff.MaxTags,
			"propertyNames", map[string]any{"pattern": tagKeyPattern, "maxLength": ff.MaxTagBytes},
			"additionalProperties", map[string]any{"type": "string", "pattern": keyPattern},
			"description", fmt.Sprintf("keys <lowercase-prefix>.<field>; at most %d entries and %d bytes of keys and values", ff.MaxTags, ff.MaxTagBytes)),
		"input":          kw("description", fmt.Sprintf("any JSON value, at most %d bytes", ff.MaxInputBytes)),
		"input_base64":   kw("description", fmt.Sprintf("non-JSON input bytes (instead of input), at most %d bytes decoded", ff.MaxInputBytes)),
		"policy":         {as: reflect.TypeFor[ff.ExecutionPolicy]()},
		"delay_until_ms": instantRule("Unix ms before which it is not claimable; absent or past: claimable at once"),
		"deadline_at_ms": instantRule("Unix ms after which it expires; absent: none"),
	},
	reflect.TypeFor[ff.ExecutionPolicy](): {
		"max_reclaim_count": kw("minimum", 0, "default", ff.DefaultMaxReclaimCount),
		"max_replay_count":  kw("minimum", 0, "default", ff.DefaultMaxReplayCount),
		"dedup_window_ms":   kw("minimum", 0, "maximum", ff.MaxDedupWindowMs, "default", ff.DefaultDedupWindowMs),
	},
	reflect.TypeFor[ff.RetryPolicy](): {
		"max_retries": kw("minimum", 0, "maximum", ff.MaxRetriesLimit, "default", ff.DefaultMaxRetries),
	},
	reflect.TypeFor[ff.BackoffStrategy](): {
		"type":             kw("enum", []string{"fixed", "exponential"}, "default", "fixed"),
		"delay_ms":         durationRule(0),
		"initial_delay_ms": expOnly(durationRule(0), "absent means 1000"),
		"max_delay_ms":     expOnly(durationRule(0), "absent means 60000"),
		"multiplier":       expOnly(kw("minimum", 1, "description", "growth per retry"), "absent means 2"),
		"jitter":           expOnly(kw("minimum", 0, "maximum", 1, "description", "the fraction of the delay drawn at random"), "absent means none"),
	},
	reflect.TypeFor[ff.TimeoutPolicy](): {
		"attempt_timeout_ms":    durationRule(1),
		"execution_deadline_ms": durationRule(1),
	},
	reflect.TypeFor[wire.ClaimRequest](): {
		"lanes": kw("maxItems", maxClaimLanes, "items", map[string]any{"type": "string", "maxLength": ff.MaxLaneBytes, "pattern": lanePattern},
			"description", "lanes to claim from; absent means [\"default\"]"),
		"capabilities": capabilitiesRule("what this worker offers"),
		"lease_ttl_ms": kw("minimum", ff.MinLeaseTTLMs, "maximum", ff.MaxLeaseTTLMs, "default", ff.DefaultLeaseTTLMs,
			"description", "the lease's length, renewed by the same amount; absent (or 0) means 30000"),
		"max": kw("minimum", 1, "maximum", ff.MaxClaimBatch, "default", 1,
			"description", "tasks to take at most; absent (or 0) means 1"),
		"worker_instance_id": identRule("this process of the worker; absent means the worker id"),
		"wait_ms": kw("minimum", 0, "maximum", wire.MaxClaimWaitMs,
			"description", "long-poll up to this long when nothing is claimable; beyond the server's cap of waiting claims the answer is 429"),
	},
	reflect.TypeFor[wire.FailRequest](): {
		"handle":         handleRule(),
		"classification": kw("enum", failureClasses(), "default", string(ff.FailureTransient)),
		"reason":         kw("description", fmt.Sprintf("free text, stored cut at %d bytes on a character boundary", ff.MaxReasonBytes)),
	},
	reflect.TypeFor[wire.ProgressRequest](): {
		"handle":  handleRule(),
		"percent": kw("minimum", 0, "maximum", 100, "description", "absent leaves the stored percentage"),
		"message": kw("maxLength", ff.MaxReasonBytes, "description", bytesNote(ff.MaxReasonBytes)+"; free text"),
	},
	reflect.TypeFor[wire.DelayRequest](): {
		"handle":         handleRule(),
		"delay_until_ms": instantRule("Unix ms when the attempt resumes; past: claimable at once"),
	},
	reflect.TypeFor[wire.TaskCancelRequest](): {
		"handle": handleRule(),
		"reason": kw("description", fmt.Sprintf("free text, stored cut at %d bytes on a character boundary", ff.MaxReasonBytes)),
	},
	reflect.TypeFor[wire.HandleRequest](): {"handle": handleRule()},
	reflect.TypeFor[wire.CompleteRequest](): {
		"handle":        handleRule(),
		"result":        kw("description", fmt.Sprintf("any JSON value, at most %d bytes", ff.MaxResultBytes)),
		"result_base64": kw("description", fmt.Sprintf("non-JSON result bytes (instead of result), at most %d bytes decoded", ff.MaxResultBytes)),
	},
	reflect.TypeFor[wire.CompleteManyRequest](): {"items": kw("maxItems", wire.MaxBatchItems)},
	reflect.TypeFor[wire.CancelExecutionRequest](): {
		"reason": kw("description", fmt.Sprintf("free text, stored cut at %d bytes on a character boundary", ff.MaxReasonBytes)),
		"source": kw("not", map[string]any{"const": "lease_holder"}, "default", "operator_override",
			"description", fmt.Sprintf("who cancelled: free text cut at %d bytes; lease_holder is reserved", ff.MaxCancelSourceBytes)),
	},
	reflect.TypeFor[wire.Attempt]():          {"failure_class": kw("enum", failureClasses())},
	reflect.TypeFor[wire.RenewManyRequest](): {"handles": handlesRule()},
	reflect.TypeFor[wire.ReleaseRequest]():   {"handles": handlesRule()},
}

// maxClaimLanes bounds a claim's lanes (backend.ClaimParams.Normalize).
const maxClaimLanes = 64

func failureClasses() []string {
	out := make([]string, len(ff.FailureClasses))
	for i, c := range ff.FailureClasses {
		out[i] = string(c)
	}
	return out
}

// pathParams documents the path parameters.
var pathParams = map[string]map[string]any{
	"id": {"description": "execution id {fp:N}:<uuid>, percent-encoded",
		"schema": map[string]any{"type": "string", "pattern": executionIDPat}},
	"worker_id": {"description": "the claiming worker's id",
		"schema": map[string]any{"type": "string", "minLength": 1, "maxLength": ff.MaxIdentifierBytes, "pattern": identPattern}},
}
