package flowfabric

import (
	"encoding/base64"
	"encoding/binary"
	"strings"
)

// BackendTag names the backend that minted a handle.
type BackendTag byte

const (
	BackendPostgres BackendTag = 0x02
	BackendSQLite   BackendTag = 0x03
)

func (t BackendTag) String() string {
	switch t {
	case BackendPostgres:
		return "postgres"
	case BackendSQLite:
		return "sqlite"
	}
	return "unknown"
}

// HandleKind tells how the lease behind a handle was obtained.
type HandleKind byte

const (
	HandleFresh     HandleKind = 1 // a new attempt (initial, retry or replay)
	HandleResumed   HandleKind = 2 // the same attempt after delay/suspend
	HandleSuspended HandleKind = 3
	HandleReclaimed HandleKind = 4 // a new attempt after lease expiry or revocation
)

func (k HandleKind) String() string {
	switch k {
	case HandleFresh:
		return "fresh"
	case HandleResumed:
		return "resumed"
	case HandleSuspended:
		return "suspended"
	case HandleReclaimed:
		return "reclaimed"
	}
	return "unknown"
}

// Fence is the lease triple every lease-bound write must present.
type Fence struct {
	LeaseID    string `json:"lease_id"`
	LeaseEpoch uint64 `json:"lease_epoch"`
	AttemptID  string `json:"attempt_id"`
}

// Lease is the decoded content of a handle: which execution and attempt it
// holds, under which fence, for how long per renewal.
type Lease struct {
	ExecutionID      ExecutionID
	AttemptIndex     uint32
	AttemptID        string
	LeaseID          string
	LeaseEpoch       uint64
	LeaseTTLMs       uint64
	Lane             string
	WorkerInstanceID string
}

// Fence returns the lease's fence triple.
func (l Lease) Fence() Fence {
	return Fence{LeaseID: l.LeaseID, LeaseEpoch: l.LeaseEpoch, AttemptID: l.AttemptID}
}

// Handle is the worker's proof of a lease. Only backends mint handles; it is
// opaque to everybody else. Its text form (String) is URL-safe and carries
// the backend tag and kind along with the lease.
type Handle struct {
	Backend BackendTag
	Kind    HandleKind
	Lease   Lease
}

const (
	handleMagic   = 0xFF
	handleVersion = 0x01
	handlePrefix  = "ffh1."
)

// Encode returns the binary form: magic, version, backend, kind, then the
// lease fields (little-endian integers; strings as u32 length + bytes).
func (h Handle) Encode() []byte {
	l := h.Lease
	b := make([]byte, 0, 160)
	b = append(b, handleMagic, handleVersion, byte(h.Backend), byte(h.Kind))
	b = appendString(b, l.ExecutionID.String())
	b = binary.LittleEndian.AppendUint32(b, l.AttemptIndex)
	b = appendString(b, l.AttemptID)
	b = appendString(b, l.LeaseID)
	b = binary.LittleEndian.AppendUint64(b, l.LeaseEpoch)
	b = binary.LittleEndian.AppendUint64(b, l.LeaseTTLMs)
	b = appendString(b, l.Lane)
	b = appendString(b, l.WorkerInstanceID)
	return b
}

// String returns the text form used on the wire.
func (h Handle) String() string {
	return handlePrefix + base64.RawURLEncoding.EncodeToString(h.Encode())
}

// MarshalText implements encoding.TextMarshaler.
func (h Handle) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Handle) UnmarshalText(b []byte) error {
	parsed, err := ParseHandle(string(b))
	if err != nil {
		return err
	}
	*h = parsed
	return nil
}

// ParseHandle decodes the text form. A handle always comes from a caller,
// so any malformation (including an id with NUL or invalid UTF-8) is a
// validation error of kind ErrInvalidHandle naming the failing field.
func ParseHandle(s string) (Handle, error) {
	rest, ok := strings.CutPrefix(s, handlePrefix)
	if !ok {
		return Handle{}, invalidHandle("missing %q prefix", handlePrefix)
	}
	raw, err := base64.RawURLEncoding.DecodeString(rest)
	if err != nil {
		return Handle{}, invalidHandle("base64: %v", err)
	}
	return DecodeHandle(raw)
}

// DecodeHandle decodes the binary form. Trailing bytes are an error.
func DecodeHandle(raw []byte) (Handle, error) {
	d := decoder{buf: raw}
	if len(raw) < 4 || raw[0] != handleMagic {
		return Handle{}, invalidHandle("bad magic")
	}
	if raw[1] != handleVersion {
		return Handle{}, invalidHandle("unsupported version %d", raw[1])
	}
	h := Handle{Backend: BackendTag(raw[2]), Kind: HandleKind(raw[3])}
	if h.Kind < HandleFresh || h.Kind > HandleReclaimed {
		return Handle{}, invalidHandle("bad kind %d", raw[3])
	}
	d.buf = raw[4:]
	eid := d.str("execution_id")
	h.Lease.AttemptIndex = d.u32("attempt_index")
	h.Lease.AttemptID = d.str("attempt_id")
	h.Lease.LeaseID = d.str("lease_id")
	h.Lease.LeaseEpoch = d.u64("lease_epoch")
	h.Lease.LeaseTTLMs = d.u64("lease_ttl_ms")
	h.Lease.Lane = d.str("lane")
	h.Lease.WorkerInstanceID = d.str("worker_instance_id")
	if d.err != nil {
		return Handle{}, d.err
	}
	if len(d.buf) != 0 {
		return Handle{}, invalidHandle("%d trailing bytes", len(d.buf))
	}
	id, err := ParseExecutionID(eid)
	if err != nil {
		return Handle{}, invalidHandle("execution_id: %v", err)
	}
	h.Lease.ExecutionID = id
	if err := h.Lease.check(); err != nil {
		return Handle{}, err
	}
	return h, nil
}

// check refuses ids in a lease that no server minted: the execution id
// must not be the all-zero uuid, every other id must be a key
// (ValidateKey) of at most 256 bytes, and the lane a valid lane name (or
// empty), so nothing a store refuses reaches it.
func (l Lease) check() error {
	if l.ExecutionID.IsZero() {
		return invalidHandle("execution_id: the all-zero uuid is not an id")
	}
	for _, f := range []struct{ name, v string }{
		{"attempt_id", l.AttemptID}, {"lease_id", l.LeaseID}, {"worker_instance_id", l.WorkerInstanceID},
	} {
		if why := keyFault(f.v, MaxIdentifierBytes); why != "" {
			return invalidHandle("%s: %s", f.name, why)
		}
	}
	if l.Lane != "" {
		if err := ValidateLane(l.Lane); err != nil {
			return invalidHandle("%v", err)
		}
	}
	return nil
}

// CheckBackend rejects a handle minted by another backend
// (handle_from_other_backend) and one no backend can have minted: an id in
// it with NUL or invalid UTF-8 (invalid_handle). Every lease-bound store
// operation calls it first, so a handle built in Go is held to the same
// rules as one decoded from text.
func (h Handle) CheckBackend(want BackendTag) error {
	if h.Backend != want {
		return Validation(ErrHandleFromOtherBackend, "expected=%s actual=%s", want, h.Backend)
	}
	return h.Lease.check()
}

// invalidHandle reports a malformed handle.
func invalidHandle(format string, args ...any) *Error {
	return Validation(ErrInvalidHandle, "handle: "+format, args...)
}

func appendString(b []byte, s string) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

type decoder struct {
	buf []byte
	err error
}

func (d *decoder) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if len(d.buf) < n {
		d.err = invalidHandle("%s: truncated", field)
		return nil
	}
	out := d.buf[:n]
	d.buf = d.buf[n:]
	return out
}

func (d *decoder) u32(field string) uint32 {
	b := d.take(field, 4)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *decoder) u64(field string) uint64 {
	b := d.take(field, 8)
	if b == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *decoder) str(field string) string {
	n := d.u32(field)
	if d.err != nil {
		return ""
	}
	if n > 4096 {
		d.err = invalidHandle("%s: length %d too large", field, n)
		return ""
	}
	return string(d.take(field, int(n)))
}
