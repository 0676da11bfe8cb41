package flowfabric

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

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
// or malformed tag, or a partition outside uint16 is a validation error.
func ParseExecutionID(s string) (ExecutionID, error) {
	rest, ok := strings.CutPrefix(s, "{fp:")
	if !ok {
		return ExecutionID{}, Validation(ErrInvalidInput, "execution_id %q: want {fp:N}:<uuid>", s)
	}
	num, u, ok := strings.Cut(rest, "}:")
	if !ok || num == "" {
		return ExecutionID{}, Validation(ErrInvalidInput, "execution_id %q: want {fp:N}:<uuid>", s)
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || (len(num) > 1 && num[0] == '0') {
		return ExecutionID{}, Validation(ErrInvalidInput, "execution_id %q: bad partition", s)
	}
	parsed, err := uuid.Parse(u)
	if err != nil || len(u) != 36 {
		return ExecutionID{}, Validation(ErrInvalidInput, "execution_id %q: bad uuid", s)
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
			return Validation(ErrInvalidInput, "lane %q: only printable ASCII allowed", lane)
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
	if len(v) > MaxIdentifierBytes {
		return Validation(ErrInvalidInput, "%s: %d bytes, at most %d", field, len(v), MaxIdentifierBytes)
	}
	if !utf8.ValidString(v) {
		return Validation(ErrInvalidInput, "%s: not valid UTF-8", field)
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return Validation(ErrInvalidInput, "%s %q: whitespace or control character", field, v)
		}
	}
	return nil
}

// ValidateKind checks an execution kind (the handler-routing name).
func ValidateKind(kind string) error {
	if kind == "" {
		return Validation(ErrInvalidInput, "kind: must not be empty")
	}
	if len(kind) > MaxKindBytes {
		return Validation(ErrInvalidInput, "kind: %d bytes, at most %d", len(kind), MaxKindBytes)
	}
	if !utf8.ValidString(kind) {
		return Validation(ErrInvalidInput, "kind: not valid UTF-8")
	}
	for _, r := range kind {
		if r < 0x20 || r == 0x7f {
			return Validation(ErrInvalidInput, "kind %q: control character", kind)
		}
	}
	return nil
}

// ValidateTags checks user tags: at most 64 entries, keys of the form
// "<lowercase-prefix>.<field>", and bounded total size.
func ValidateTags(tags map[string]string) error {
	if len(tags) > MaxTags {
		return Validation(ErrInvalidTagKey, "tags: %d entries, at most %d", len(tags), MaxTags)
	}
	size := 0
	for k, v := range tags {
		if !validTagKey(k) {
			return Validation(ErrInvalidTagKey, "tag key %q: want <lowercase-prefix>.<field>", k)
		}
		if !utf8.ValidString(v) {
			return Validation(ErrInvalidInput, "tag %q: value is not valid UTF-8", k)
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
	for _, r := range k {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// PartitionKey is the opaque wire form of a partition, e.g. "{fp:7}".
func PartitionKey(partition uint16) string { return fmt.Sprintf("{fp:%d}", partition) }
