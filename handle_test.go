package flowfabric_test

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func sampleHandle(kind ff.HandleKind) ff.Handle {
	id, _ := ff.ParseExecutionID("{fp:86}:" + sampleUUID)
	return ff.Handle{Backend: ff.BackendPostgres, Kind: kind, Lease: ff.Lease{
		ExecutionID:      id,
		AttemptIndex:     3,
		AttemptID:        "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
		LeaseID:          "6ba7b811-9dad-11d1-80b4-00c04fd430c8",
		LeaseEpoch:       1<<40 + 7,
		LeaseTTLMs:       30_000,
		Lane:             "workers-a",
		WorkerInstanceID: "host-1/pid-42",
	}}
}

func TestHandleRoundTripEveryKind(t *testing.T) {
	kinds := []ff.HandleKind{ff.HandleFresh, ff.HandleResumed, ff.HandleSuspended, ff.HandleReclaimed}
	backends := []ff.BackendTag{ff.BackendPostgres, ff.BackendSQLite}
	for _, b := range backends {
		for _, k := range kinds {
			t.Run(b.String()+"/"+k.String(), func(t *testing.T) {
				h := sampleHandle(k)
				h.Backend = b
				s := h.String()
				if !strings.HasPrefix(s, "ffh1.") {
					t.Fatalf("text %q lacks the ffh1. prefix", s)
				}
				if strings.ContainsAny(s, "+/=") {
					t.Fatalf("text %q is not URL-safe unpadded base64", s)
				}
				got, err := ff.ParseHandle(s)
				noErr(t, err)
				if got != h {
					t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
				}
				got, err = ff.DecodeHandle(h.Encode())
				noErr(t, err)
				if got != h {
					t.Fatalf("binary round trip:\n got %+v\nwant %+v", got, h)
				}
				noErr(t, got.CheckBackend(b))
			})
		}
	}
}

func TestHandleRoundTripEmptyStringsAndZero(t *testing.T) {
	h := ff.Handle{Backend: ff.BackendSQLite, Kind: ff.HandleFresh, Lease: ff.Lease{ExecutionID: ff.NewExecutionID("x")}}
	got, err := ff.ParseHandle(h.String())
	noErr(t, err)
	if got != h {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, h)
	}
}

func TestHandleTextAndJSON(t *testing.T) {
	h := sampleHandle(ff.HandleResumed)
	type doc struct {
		Handle ff.Handle `json:"handle"`
	}
	raw, err := json.Marshal(doc{Handle: h})
	noErr(t, err)
	if want := `{"handle":"` + h.String() + `"}`; string(raw) != want {
		t.Fatalf("json = %s, want %s", raw, want)
	}
	var d doc
	noErr(t, json.Unmarshal(raw, &d))
	if d.Handle != h {
		t.Fatalf("json round trip:\n got %+v\nwant %+v", d.Handle, h)
	}
	err = json.Unmarshal([]byte(`{"handle":"nope"}`), &d)
	wantErr(t, err, ff.ClassValidation, ff.ErrInvalidHandle)
	if d.Handle != h {
		t.Fatal("failed UnmarshalText changed the value")
	}
	if h.Lease.Fence() != (ff.Fence{LeaseID: h.Lease.LeaseID, LeaseEpoch: h.Lease.LeaseEpoch, AttemptID: h.Lease.AttemptID}) {
		t.Fatalf("Fence() = %+v", h.Lease.Fence())
	}
}

func encodeText(raw []byte) string { return "ffh1." + base64.RawURLEncoding.EncodeToString(raw) }

func TestParseHandleCorruption(t *testing.T) {
	good := sampleHandle(ff.HandleFresh).Encode()
	mutate := func(f func(b []byte) []byte) string {
		b := append([]byte(nil), good...)
		return encodeText(f(b))
	}
	// withEID re-encodes the handle with a different execution id string.
	withEID := func(eid string) string {
		b := []byte{0xFF, 0x01, byte(ff.BackendPostgres), byte(ff.HandleFresh)}
		b = binary.LittleEndian.AppendUint32(b, uint32(len(eid)))
		b = append(b, eid...)
		rest := good[4+4+len("{fp:86}:"+sampleUUID):]
		return encodeText(append(b, rest...))
	}
	tests := []struct{ name, text string }{
		{"empty", ""},
		{"no prefix", base64.RawURLEncoding.EncodeToString(good)},
		{"wrong prefix", "ffh2." + base64.RawURLEncoding.EncodeToString(good)},
		{"uppercase prefix", "FFH1." + base64.RawURLEncoding.EncodeToString(good)},
		{"prefix only", "ffh1."},
		{"bad base64 char", "ffh1.!!!!"},
		{"standard base64 alphabet", "ffh1." + strings.NewReplacer("-", "+", "_", "/").Replace(base64.RawURLEncoding.EncodeToString(good)) + "+/"},
		{"padded base64", "ffh1." + base64.URLEncoding.EncodeToString(good) + "=="},
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 0x02; return b })},
		{"unsupported version 0", mutate(func(b []byte) []byte { b[1] = 0x00; return b })},
		{"unsupported version 2", mutate(func(b []byte) []byte { b[1] = 0x02; return b })},
		{"kind 0", mutate(func(b []byte) []byte { b[3] = 0; return b })},
		{"kind 5", mutate(func(b []byte) []byte { b[3] = 5; return b })},
		{"kind 255", mutate(func(b []byte) []byte { b[3] = 255; return b })},
		{"trailing byte", mutate(func(b []byte) []byte { return append(b, 0) })},
		{"trailing bytes", mutate(func(b []byte) []byte { return append(b, "xyz"...) })},
		{"huge string length", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 0xFFFFFFFF); return b })},
		{"string length 4097", mutate(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[4:], 4097); return b })},
		{"bare uuid execution id", withEID(sampleUUID)},
		{"empty execution id", withEID("")},
		{"execution id with leading zero", withEID("{fp:086}:" + sampleUUID)},
		{"execution id with bad uuid", withEID("{fp:86}:" + strings.Repeat("z", 36))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ff.ParseHandle(tc.text)
			wantErr(t, err, ff.ClassValidation, ff.ErrInvalidHandle)
		})
	}
}

func TestDecodeHandleTruncatedAtEveryLength(t *testing.T) {
	good := sampleHandle(ff.HandleReclaimed).Encode()
	for n := range len(good) {
		_, err := ff.DecodeHandle(good[:n])
		if err == nil {
			t.Fatalf("decoding %d of %d bytes succeeded", n, len(good))
		}
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidHandle)
		_, err = ff.ParseHandle(encodeText(good[:n]))
		wantErr(t, err, ff.ClassValidation, ff.ErrInvalidHandle)
	}
	_, err := ff.DecodeHandle(good)
	noErr(t, err)
}

func TestHandleCheckBackend(t *testing.T) {
	h := sampleHandle(ff.HandleFresh)
	noErr(t, h.CheckBackend(ff.BackendPostgres))
	e := wantErr(t, h.CheckBackend(ff.BackendSQLite), ff.ClassValidation, ff.ErrHandleFromOtherBackend)
	if !strings.Contains(e.Detail, "expected=sqlite") || !strings.Contains(e.Detail, "actual=postgres") {
		t.Fatalf("detail %q", e.Detail)
	}
	// An unknown backend byte decodes, then fails the backend check.
	raw := h.Encode()
	raw[2] = 0x7a
	h2, err := ff.DecodeHandle(raw)
	noErr(t, err)
	if h2.Backend.String() != "unknown" {
		t.Fatalf("backend %q", h2.Backend.String())
	}
	wantErr(t, h2.CheckBackend(ff.BackendPostgres), ff.ClassValidation, ff.ErrHandleFromOtherBackend)
}

func TestHandleEnumStrings(t *testing.T) {
	for k, want := range map[ff.HandleKind]string{ff.HandleFresh: "fresh", ff.HandleResumed: "resumed",
		ff.HandleSuspended: "suspended", ff.HandleReclaimed: "reclaimed", 0: "unknown", 9: "unknown"} {
		if k.String() != want {
			t.Errorf("HandleKind(%d).String() = %q, want %q", k, k.String(), want)
		}
	}
	for b, want := range map[ff.BackendTag]string{ff.BackendPostgres: "postgres", ff.BackendSQLite: "sqlite", 0x01: "unknown"} {
		if b.String() != want {
			t.Errorf("BackendTag(%d).String() = %q, want %q", b, b.String(), want)
		}
	}
}
