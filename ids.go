package flowfabric

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/google/uuid"
)

// ExecutionID identifies an execution for its whole life. Its text form is
// "{fp:N}:<uuid>" where N is the partition; retries, reclaims, resumes and
// replays keep the same id, and N is read from the id, never recomputed.
type ExecutionID struct {
	Partition uint16
	UUID      uuid.UUID
}

// NewExecutionID mints a standalone execution id for lane.
func NewExecutionID(lane string) ExecutionID {
	return ExecutionID{Partition: LanePartition(lane, DefaultFlowPartitions), UUID: uuid.New()}
}

// NewFlowMemberID mints an execution id co-located with flow.
func NewFlowMemberID(flow uuid.UUID) ExecutionID {
	return ExecutionID{Partition: FlowPartition(flow, DefaultFlowPartitions), UUID: uuid.New()}
}

// IsZero reports whether id is the zero value (no id).
func (id ExecutionID) IsZero() bool { return id.UUID == uuid.Nil }

func (id ExecutionID) String() string {
	return "{fp:" + strconv.Itoa(int(id.Partition)) + "}:" + id.UUID.String()
}

// ParseExecutionID parses the "{fp:N}:<uuid>" form. A bare UUID, a missing
// or malformed tag, a partition outside uint16 or the all-zero UUID is a
// validation error.
func ParseExecutionID(s string) (ExecutionID, error) {
	bad := func(why string) (ExecutionID, error) {
		return ExecutionID{}, Validation(ErrInvalidInput, "execution_id %q: %s", clip(s), why)
	}
	rest, ok := strings.CutPrefix(s, "{fp:")
	if !ok {
		return bad("want {fp:N}:<uuid>")
	}
	num, u, ok := strings.Cut(rest, "}:")
	if !ok || num == "" {
		return bad("want {fp:N}:<uuid>")
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || (len(num) > 1 && num[0] == '0') {
		return bad("bad partition")
	}
	parsed, err := uuid.Parse(u)
	if err != nil || len(u) != 36 {
		return bad("bad uuid")
	}
	if parsed == uuid.Nil {
		return bad("the all-zero uuid is not an id")
	}
	return ExecutionID{Partition: uint16(n), UUID: parsed}, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id ExecutionID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with full validation.
func (id *ExecutionID) UnmarshalText(b []byte) error {
	parsed, err := ParseExecutionID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// Limits on identifiers and payloads accepted at ingress.
const (
	MaxLaneBytes       = 64
	MaxIdentifierBytes = 256
	MaxKindBytes       = 256
	MaxInputBytes      = 1 << 20 // 1 MiB
	MaxResultBytes     = 1 << 20
	MaxTags            = 64
	MaxTagBytes        = 4096
	MaxReasonBytes     = 4096
)

// ValidateLane checks a lane name: non-empty, at most 64 bytes, printable
// ASCII only.
func ValidateLane(lane string) error {
	if lane == "" {
		return Validation(ErrInvalidInput, "lane: must not be empty")
	}
	if len(lane) > MaxLaneBytes {
		return Validation(ErrInvalidInput, "lane: %d bytes, at most %d", len(lane), MaxLaneBytes)
	}
	for i := 0; i < len(lane); i++ {
		if lane[i] < 0x20 || lane[i] > 0x7e {
			return Validation(ErrInvalidInput, "lane %q: only printable ASCII allowed", clip(lane))
		}
	}
	return nil
}

// ValidateIdentifier checks a worker id, worker instance id or similar
// name: non-empty, at most 256 bytes, valid UTF-8, no whitespace or
// control characters.
func ValidateIdentifier(field, v string) error {
	if v == "" {
		return Validation(ErrInvalidInput, "%s: must not be empty", field)
	}
	if err := ValidateName(field, v, MaxIdentifierBytes); err != nil {
		return err
	}
	if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
		return Validation(ErrInvalidInput, "%s %q: whitespace", field, clip(v))
	}
	return nil
}

// ValidateKind checks an execution kind (the handler-routing name):
// non-empty, at most 256 bytes, a name (ValidateName).
func ValidateKind(kind string) error {
	if kind == "" {
		return Validation(ErrInvalidInput, "kind: must not be empty")
	}
	return ValidateName("kind", kind, MaxKindBytes)
}

// ValidateNamespace checks a namespace: empty (the default namespace) or
// a name (ValidateName) of at most 256 bytes.
func ValidateNamespace(ns string) error {
	return ValidateName("namespace", ns, MaxIdentifierBytes)
}

// ValidateIdempotencyKey checks an idempotency key: empty (none) or at
// most 256 bytes of valid UTF-8 without NUL (ValidateKey).
func ValidateIdempotencyKey(key string) error {
	return ValidateKey("idempotency_key", key, MaxIdentifierBytes)
}

// ValidateTags checks user tags: at most 64 entries, keys of the form
// "<lowercase-prefix>.<field>" that are names (ValidateName; any fault of
// a key is invalid_tag_key), values of valid UTF-8 without NUL
// (invalid_input), and at most 4096 bytes in all.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return Validation(ErrInvalidTagKey, "tags: %d entries, at most %d", len(tags), MaxTags)
	}
	size := 0
	for k, v := range tags {
		if err := fault(ErrInvalidTagKey, "tag key", nameFault(k, MaxTagBytes)); err != nil {
			return err
		}
		if !validTagKey(k) {
			return Validation(ErrInvalidTagKey, "tag key %q: want <lowercase-prefix>.<field>", clip(k))
		}
		if err := ValidateKey("tag "+clip(k), v, MaxTagBytes); err != nil {
			return err
		}
		size += len(k) + len(v)
	}
	if size > MaxTagBytes {
		return Validation(ErrInvalidInput, "tags: %d bytes, at most %d", size, MaxTagBytes)
	}
	return nil
}

// validTagKey matches ^[a-z][a-z0-9_]*\.[^.].*
func validTagKey(k string) bool {
	dot := strings.IndexByte(k, '.')
	if dot < 1 || dot+1 >= len(k) || k[dot+1] == '.' {
		return false
	}
	if k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < dot; i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// PartitionKey is the opaque wire form of a partition, e.g. "{fp:7}".
func PartitionKey(partition uint16) string { return fmt.Sprintf("{fp:%d}", partition) }
