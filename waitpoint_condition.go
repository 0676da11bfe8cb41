package flowfabric

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// ConditionType names a resume condition's shape.
type ConditionType string

const (
	ConditionSingle       ConditionType = "single"
	ConditionCount        ConditionType = "count"
	ConditionAllOf        ConditionType = "all_of"
	ConditionOperatorOnly ConditionType = "operator_only"
	ConditionTimeoutOnly  ConditionType = "timeout_only"
)

// Distinct kinds of a count condition: what makes two signals count twice.
const (
	DistinctSignals    = "signals"
	DistinctSources    = "sources"
	DistinctWaitpoints = "waitpoints"
)

// Limits of a resume condition.
const (
	// MaxConditionDepth bounds all_of nesting (a leaf at the top is depth 1).
	MaxConditionDepth = 4
	// MaxConditionMembers bounds one all_of's members and one count's keys.
	MaxConditionMembers = 64
	// MaxConditionBytes bounds a condition's JSON.
	MaxConditionBytes = 16 << 10
	// MaxSignalNameBytes bounds a signal name.
	MaxSignalNameBytes = 256
)

// Condition is a resume condition, in its wire and stored form (DESIGN
// §5.1). Leaves: single (a signal on WaitpointKey, named SignalName or
// any when empty), count (N distinct signals, sources or waitpoints over
// WaitpointKeys, optionally only signals named SignalName); all_of
// composes members; operator_only and timeout_only are never satisfied by
// a signal. A condition is monotone: once satisfied by a set of signals,
// it stays satisfied by any superset, so it is evaluated statelessly over
// every signal received.
type Condition struct {
	Type          ConditionType `json:"type"`
	WaitpointKey  string        `json:"waitpoint_key,omitempty"`
	SignalName    string        `json:"signal_name,omitempty"`
	N             int           `json:"n,omitempty"`
	Distinct      string        `json:"distinct,omitempty"`
	WaitpointKeys []string      `json:"waitpoint_keys,omitempty"`
	Members       []Condition   `json:"members,omitempty"`
}

// DecodeCondition decodes a condition strictly (unknown fields refused,
// one JSON value) and checks its shape; Resolve checks it against the
// suspension's waitpoints. Every refusal is invalid_input.
func DecodeCondition(raw []byte) (Condition, error) {
	if len(raw) > MaxConditionBytes {
		return Condition{}, Validation(ErrInvalidInput, "condition: %d bytes, at most %d", len(raw), MaxConditionBytes)
	}
	if depth := jsonDepth(raw); depth > 2*MaxConditionDepth+1 {
		return Condition{}, Validation(ErrInvalidInput, "condition: nested deeper than %d levels (depth_exceeded)", MaxConditionDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c Condition
	if err := dec.Decode(&c); err != nil {
		return Condition{}, Validation(ErrInvalidInput, "condition: %s", clip(err.Error()))
	}
	if dec.More() {
		return Condition{}, Validation(ErrInvalidInput, "condition: trailing data after the JSON value")
	}
	if err := c.checkShape(1); err != nil {
		return Condition{}, err
	}
	return c, nil
}

// jsonDepth returns the deepest nesting of objects and arrays in raw
// (strings skipped), so that a hostile document is refused before it is
// decoded.
func jsonDepth(raw []byte) int {
	depth, max, inStr, esc := 0, 0, false, false
	for _, c := range raw {
		switch {
		case inStr && esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case inStr && c == '"':
			inStr = false
		case inStr:
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			max = maxInt(max, depth)
		case c == '}' || c == ']':
			depth--
		}
	}
	return max
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func condErr(code, format string, args ...any) error {
	return Validation(ErrInvalidInput, "condition: "+format+" ("+code+")", args...)
}

// Validate checks c's shape (what DecodeCondition checks), for a
// condition built in Go rather than decoded.
func (c *Condition) Validate() error {
	if b, err := json.Marshal(c); err != nil || len(b) > MaxConditionBytes {
		return Validation(ErrInvalidInput, "condition: at most %d bytes of JSON", MaxConditionBytes)
	}
	return c.checkShape(1)
}

// checkShape validates c without the waitpoints: types, fields allowed
// per type, limits and depth.
func (c *Condition) checkShape(depth int) error {
	if depth > MaxConditionDepth {
		return condErr("depth_exceeded", "all_of nested deeper than %d", MaxConditionDepth)
	}
	if err := c.checkNames(); err != nil {
		return err
	}
	switch c.Type {
	case ConditionSingle:
		return c.only("single", c.N == 0 && c.Distinct == "" && c.WaitpointKeys == nil && c.Members == nil)
	case ConditionCount:
		return c.checkCount()
	case ConditionAllOf:
		return c.checkAllOf(depth)
	case ConditionOperatorOnly, ConditionTimeoutOnly:
		return c.only(string(c.Type), c.WaitpointKey == "" && c.SignalName == "" && c.N == 0 && c.Distinct == "" &&
			c.WaitpointKeys == nil && c.Members == nil)
	case "":
		return condErr("type_missing", "type: required (single, count, all_of, operator_only, timeout_only)")
	}
	return condErr("unknown_type", "type %q: want single, count, all_of, operator_only or timeout_only", clip(string(c.Type)))
}

func (c *Condition) only(typ string, ok bool) error {
	if !ok {
		return condErr("unexpected_field", "a %s condition takes no other fields", typ)
	}
	return nil
}

func (c *Condition) checkNames() error {
	if err := ValidateWaitpointKey("condition.waitpoint_key", c.WaitpointKey); err != nil {
		return err
	}
	if err := ValidateName("condition.signal_name", c.SignalName, MaxSignalNameBytes); err != nil {
		return err
	}
	if len(c.WaitpointKeys) > MaxConditionMembers {
		return condErr("too_many_keys", "waitpoint_keys: %d, at most %d", len(c.WaitpointKeys), MaxConditionMembers)
	}
	for _, k := range c.WaitpointKeys {
		if k == "" {
			return condErr("empty_key", "waitpoint_keys: empty key")
		}
		if err := ValidateWaitpointKey("condition.waitpoint_keys", k); err != nil {
			return err
		}
	}
	return nil
}

func (c *Condition) checkCount() error {
	if c.Members != nil || c.WaitpointKey != "" {
		return condErr("unexpected_field", "a count condition takes n, distinct, waitpoint_keys and signal_name")
	}
	if c.N <= 0 {
		return condErr("count_n_zero", "count: n must be at least 1")
	}
	switch c.Distinct {
	case DistinctSignals, DistinctSources, DistinctWaitpoints:
	case "":
		return condErr("distinct_missing", "count: distinct required (signals, sources or waitpoints)")
	default:
		return condErr("distinct_unknown", "count: distinct %q: want signals, sources or waitpoints", clip(c.Distinct))
	}
	if c.WaitpointKeys != nil && len(c.WaitpointKeys) == 0 {
		return condErr("count_waitpoints_empty", "count: waitpoint_keys is empty (leave it out for all waitpoints)")
	}
	return nil
}

func (c *Condition) checkAllOf(depth int) error {
	if c.WaitpointKey != "" || c.SignalName != "" || c.N != 0 || c.Distinct != "" || c.WaitpointKeys != nil {
		return condErr("unexpected_field", "an all_of condition takes only members")
	}
	if len(c.Members) == 0 {
		return condErr("allof_empty_members", "all_of: members is empty")
	}
	if len(c.Members) > MaxConditionMembers {
		return condErr("too_many_members", "all_of: %d members, at most %d", len(c.Members), MaxConditionMembers)
	}
	for i := range c.Members {
		m := &c.Members[i]
		if m.Type == ConditionOperatorOnly || m.Type == ConditionTimeoutOnly {
			return condErr("unexpected_member", "all_of: a %s member can never be satisfied", m.Type)
		}
		if err := m.checkShape(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// Resolve fills the defaults from the suspension's waitpoint keys (a
// single leaf's missing waitpoint_key is the only waitpoint; a count's
// missing waitpoint_keys are all of them) and checks every key against
// them both ways: a key the condition names must be a waitpoint of the
// suspension, and each waitpoint must be named by the condition (except
// under operator_only and timeout_only).
func (c *Condition) Resolve(keys []string) error {
	used := map[string]bool{}
	if err := c.resolve(keys, used); err != nil {
		return err
	}
	if c.Type == ConditionOperatorOnly || c.Type == ConditionTimeoutOnly {
		return nil
	}
	for _, k := range keys {
		if !used[k] {
			return condErr("extra_binding_not_referenced_by_condition", "waitpoint %q is not named by the condition", clip(k))
		}
	}
	return nil
}

func (c *Condition) resolve(keys []string, used map[string]bool) error {
	switch c.Type {
	case ConditionSingle:
		if c.WaitpointKey == "" {
			if len(keys) != 1 {
				return condErr("waitpoint_key_mismatch", "single: waitpoint_key is required with %d waitpoints", len(keys))
			}
			c.WaitpointKey = keys[0]
		}
		return markKey(c.WaitpointKey, keys, used)
	case ConditionCount:
		if c.WaitpointKeys == nil {
			c.WaitpointKeys = slices.Clone(keys)
		}
		seen := map[string]bool{}
		for _, k := range c.WaitpointKeys {
			if seen[k] {
				return condErr("duplicate_key", "count: waitpoint_keys names %q twice", clip(k))
			}
			seen[k] = true
			if err := markKey(k, keys, used); err != nil {
				return err
			}
		}
		if c.Distinct == DistinctWaitpoints && c.N > len(c.WaitpointKeys) {
			return condErr("count_exceeds_waitpoint_set", "count: n %d exceeds the %d waitpoints it counts", c.N, len(c.WaitpointKeys))
		}
	case ConditionAllOf:
		for i := range c.Members {
			if err := c.Members[i].resolve(keys, used); err != nil {
				return err
			}
		}
	}
	return nil
}

func markKey(k string, keys []string, used map[string]bool) error {
	if !slices.Contains(keys, k) {
		return condErr("referenced_waitpoint_key_missing_binding", "waitpoint_key %q is not a waitpoint of this suspension", clip(k))
	}
	used[k] = true
	return nil
}

// ConditionSignal is what the evaluation reads of one received signal.
type ConditionSignal struct {
	ID, Name, WaitpointKey, SourceType, SourceIdentity string
}

// Satisfied evaluates c over sigs (oldest first) and returns the ids of
// the signals that satisfy it, in order, when it is satisfied.
func (c *Condition) Satisfied(sigs []ConditionSignal) (bool, []string) {
	switch c.Type {
	case ConditionSingle:
		for _, s := range sigs {
			if c.leafMatches(s) {
				return true, []string{s.ID}
			}
		}
	case ConditionCount:
		return c.countSatisfied(sigs)
	case ConditionAllOf:
		var ids []string
		for i := range c.Members {
			ok, got := c.Members[i].Satisfied(sigs)
			if !ok {
				return false, nil
			}
			ids = appendNew(ids, got...)
		}
		return true, ids
	}
	return false, nil
}

func (c *Condition) leafMatches(s ConditionSignal) bool {
	if c.SignalName != "" && c.SignalName != s.Name {
		return false
	}
	if c.Type == ConditionSingle {
		return s.WaitpointKey == c.WaitpointKey
	}
	return slices.Contains(c.WaitpointKeys, s.WaitpointKey)
}

func (c *Condition) countSatisfied(sigs []ConditionSignal) (bool, []string) {
	seen := map[string]bool{}
	var ids []string
	for _, s := range sigs {
		if !c.leafMatches(s) {
			continue
		}
		d := s.ID
		switch c.Distinct {
		case DistinctSources:
			d = s.SourceType + "\x00" + s.SourceIdentity
		case DistinctWaitpoints:
			d = s.WaitpointKey
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		ids = append(ids, s.ID)
		if len(ids) >= c.N {
			return true, ids
		}
	}
	return false, nil
}

// Relevant reports whether a signal could count toward c at all (its
// waitpoint and name match some leaf).
func (c *Condition) Relevant(s ConditionSignal) bool {
	switch c.Type {
	case ConditionSingle, ConditionCount:
		return c.leafMatches(s)
	case ConditionAllOf:
		for i := range c.Members {
			if c.Members[i].Relevant(s) {
				return true
			}
		}
	}
	return false
}

// RequiredSignalNames lists the names the condition asks of signals on
// waitpoint key (empty: any name), with the sentinels __operator_only__
// and __timeout_only__ for those conditions.
func (c *Condition) RequiredSignalNames(key string) []string {
	switch c.Type {
	case ConditionOperatorOnly:
		return []string{"__operator_only__"}
	case ConditionTimeoutOnly:
		return []string{"__timeout_only__"}
	case ConditionSingle, ConditionCount:
		if c.SignalName != "" && c.leafMatches(ConditionSignal{Name: c.SignalName, WaitpointKey: key}) {
			return []string{c.SignalName}
		}
	case ConditionAllOf:
		var out []string
		for i := range c.Members {
			out = appendNew(out, c.Members[i].RequiredSignalNames(key)...)
		}
		return out
	}
	return nil
}

func appendNew(dst []string, xs ...string) []string {
	for _, x := range xs {
		if !slices.Contains(dst, x) {
			dst = append(dst, x)
		}
	}
	return dst
}

// MaxWaitpointKeyBytes bounds a waitpoint key.
const MaxWaitpointKeyBytes = 256

// ValidateWaitpointKey checks a waitpoint key (empty passes: callers that
// need one check first). Keys are names: no control characters.
func ValidateWaitpointKey(field, k string) error {
	if strings.TrimSpace(k) != k {
		return Validation(ErrInvalidInput, "%s %q: leading or trailing space", field, clip(k))
	}
	return ValidateName(field, k, MaxWaitpointKeyBytes)
}
