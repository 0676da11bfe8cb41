package flowfabric

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Waitpoint tokens are "<kid>:<64 lowercase hex>": the HMAC-SHA256, under
// the signing key kid, of the execution id and the waitpoint id (a fresh
// UUID per waitpoint, so a token never opens another waitpoint and a
// re-created waitpoint gets a new token). The fields are length-prefixed,
// so no choice of field contents makes two bindings sign the same bytes.
// A token is a credential: it is never logged, and reads show only its
// kid and fingerprint.

// ErrInvalidToken: a missing, malformed, forged or expired-key waitpoint
// token. It never says which, and it is answered before anything about
// the execution is read (403 over HTTP).
const ErrInvalidToken ErrorKind = "invalid_token"

// Signing-key limits.
const (
	MaxKidBytes     = 64
	MinSecretBytes  = 32
	MaxSecretBytes  = 128
	tokenMACHexSize = 2 * sha256.Size
)

// SigningKey is one HMAC key of the waitpoint keystore. ExpiresAtMs is 0
// for the current key; a retired key verifies tokens until ExpiresAtMs
// (exclusive), measured by the database clock, and never after.
type SigningKey struct {
	Kid         string
	Secret      []byte
	CreatedAtMs int64
	ExpiresAtMs int64
}

// Verifies reports whether k may verify a token at nowMs.
func (k SigningKey) Verifies(nowMs int64) bool {
	return k.ExpiresAtMs == 0 || nowMs < k.ExpiresAtMs
}

// TokenBinding is what a token is bound to.
type TokenBinding struct {
	ExecutionID ExecutionID
	WaitpointID string
}

func (b TokenBinding) message() []byte {
	var out []byte
	for _, f := range []string{"ff-waitpoint-v1", b.ExecutionID.String(), b.WaitpointID} {
		out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
		out = append(out, f...)
	}
	return out
}

func tokenMAC(k SigningKey, b TokenBinding) []byte {
	m := hmac.New(sha256.New, k.Secret)
	m.Write([]byte(k.Kid))
	m.Write(b.message())
	return m.Sum(nil)
}

// MintToken signs b with k.
func MintToken(k SigningKey, b TokenBinding) string {
	return k.Kid + ":" + hex.EncodeToString(tokenMAC(k, b))
}

// ParsedToken is a token split into its kid and MAC, not yet verified.
type ParsedToken struct {
	Kid string
	mac []byte
}

func invalidToken() *Error {
	return &Error{Class: ClassValidation, Kind: ErrInvalidToken, Detail: "the waitpoint token is missing, malformed, forged or signed by an expired key"}
}

// InvalidToken returns the one error every token refusal answers.
func InvalidToken() *Error { return invalidToken() }

// ParseToken checks a token's shape: a valid kid, a colon, exactly 64
// lowercase hex digits. Every refusal is ErrInvalidToken.
func ParseToken(s string) (ParsedToken, error) {
	kid, mac, ok := strings.Cut(s, ":")
	if !ok || ValidateKid(kid) != nil || len(mac) != tokenMACHexSize || strings.ToLower(mac) != mac {
		return ParsedToken{}, invalidToken()
	}
	raw, err := hex.DecodeString(mac)
	if err != nil {
		return ParsedToken{}, invalidToken()
	}
	return ParsedToken{Kid: kid, mac: raw}, nil
}

// Verify checks t against b with k (which must be t's kid and still
// verify at nowMs) in constant time.
func (t ParsedToken) Verify(k SigningKey, b TokenBinding, nowMs int64) error {
	if k.Kid != t.Kid || !k.Verifies(nowMs) || len(k.Secret) == 0 {
		return invalidToken()
	}
	if !hmac.Equal(t.mac, tokenMAC(k, b)) {
		return invalidToken()
	}
	return nil
}

// TokenFingerprint is a short, non-secret name of a token: the first 16
// hex digits of its SHA-256 (not of its MAC, so it reveals nothing of
// it).
func TokenFingerprint(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}

// ValidateKid checks a key id: 1 to 64 bytes of letters, digits, '.',
// '_' and '-' (never ':', which ends the kid in a token).
func ValidateKid(kid string) error {
	if kid == "" || len(kid) > MaxKidBytes {
		return Validation(ErrInvalidInput, "kid: 1 to %d characters", MaxKidBytes)
	}
	for _, r := range kid {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return Validation(ErrInvalidInput, "kid %q: only letters, digits, '.', '_' and '-'", clip(kid))
		}
	}
	return nil
}

// ParseSecretHex decodes a signing secret given in hex: at least 32 and
// at most 128 bytes.
func ParseSecretHex(field, s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, Validation(ErrInvalidInput, "%s: not hex", field)
	}
	if len(b) < MinSecretBytes || len(b) > MaxSecretBytes {
		return nil, Validation(ErrInvalidInput, "%s: %d bytes, want %d to %d (%d to %d hex digits)", field, len(b),
			MinSecretBytes, MaxSecretBytes, 2*MinSecretBytes, 2*MaxSecretBytes)
	}
	return b, nil
}

// NewSecret returns a fresh random 32-byte signing secret.
func NewSecret() []byte {
	b := make([]byte, MinSecretBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24 panics instead)
	return b
}
