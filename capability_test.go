package flowfabric_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

func tokens(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%03d", i)
	}
	return out
}

func TestNormalizeCapabilities(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string // nil with ok=false means rejected
		ok   bool
	}{
		{"nil", nil, []string{}, true},
		{"empty", []string{}, []string{}, true},
		{"sorted and deduplicated", []string{"gpu", "cuda", "gpu", "arm64", "cuda"}, []string{"arm64", "cuda", "gpu"}, true},
		{"case kept distinct", []string{"GPU", "gpu"}, []string{"GPU", "gpu"}, true},
		{"utf-8 above 0x7f", []string{"région=eu", "工人", "\u00a0nbsp"}, []string{"région=eu", "\u00a0nbsp", "工人"}, true},
		{"punctuation", []string{"os:linux", "mem>=16g", "a.b/c"}, []string{"a.b/c", "mem>=16g", "os:linux"}, true},
		{"256 tokens", tokens(256), tokens(256), true},
		{"257 tokens", tokens(257), nil, false},
		{"4096-byte csv", []string{strings.Repeat("a", 4096)}, []string{strings.Repeat("a", 4096)}, true},
		{"4097-byte csv", []string{strings.Repeat("a", 4097)}, nil, false},
		{"4096-byte csv of two", []string{strings.Repeat("a", 2047), strings.Repeat("b", 2048)}, []string{strings.Repeat("a", 2047), strings.Repeat("b", 2048)}, true},
		{"4097-byte csv of two", []string{strings.Repeat("a", 2048), strings.Repeat("b", 2048)}, nil, false},
		{"empty token", []string{"gpu", ""}, nil, false},
		{"comma", []string{"gpu,cuda"}, nil, false},
		{"space", []string{"gpu cuda"}, nil, false},
		{"leading space", []string{" gpu"}, nil, false},
		{"tab", []string{"gpu\t"}, nil, false},
		{"newline", []string{"gpu\n"}, nil, false},
		{"DEL", []string{"gpu\x7f"}, nil, false},
		{"nul", []string{"\x00"}, nil, false},
		{"control byte 0x1f", []string{"a\x1fb"}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ff.NormalizeCapabilities("required", tc.in)
			if !tc.ok {
				e := wantErr(t, err, ff.ClassValidation, ff.ErrInvalidCapabilities)
				if !strings.HasPrefix(e.Detail, "required:") {
					t.Fatalf("detail %q does not name the role", e.Detail)
				}
				return
			}
			noErr(t, err)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNormalizeCapabilitiesDoesNotAliasInput(t *testing.T) {
	in := []string{"b", "a"}
	_, err := ff.NormalizeCapabilities("worker", in)
	noErr(t, err)
	if !slices.Equal(in, []string{"b", "a"}) {
		t.Fatalf("input reordered to %q", in)
	}
}

func TestCapabilitySignature(t *testing.T) {
	norm, err := ff.NormalizeCapabilities("required", []string{"gpu", "cuda", "gpu"})
	noErr(t, err)
	sig := ff.CapabilitySignature(norm)
	if sig != "cuda,gpu" {
		t.Fatalf("signature %q", sig)
	}
	if back := ff.ParseCapabilitySignature(sig); !slices.Equal(back, norm) {
		t.Fatalf("parsed back %q", back)
	}
	if ff.CapabilitySignature(nil) != "" || ff.ParseCapabilitySignature("") != nil {
		t.Fatal("empty signature does not round trip")
	}
}

func TestSatisfies(t *testing.T) {
	tests := []struct {
		name           string
		have, required []string
		want           bool
	}{
		{"empty requirement, empty worker", nil, nil, true},
		{"empty requirement matches everyone", []string{"gpu"}, nil, true},
		{"exact", []string{"gpu"}, []string{"gpu"}, true},
		{"subset", []string{"arm64", "cuda", "gpu"}, []string{"cuda", "gpu"}, true},
		{"subset non-adjacent", []string{"a", "b", "c", "d"}, []string{"a", "d"}, true},
		{"worker lacks one", []string{"gpu"}, []string{"cuda", "gpu"}, false},
		{"worker has none", nil, []string{"gpu"}, false},
		{"case-sensitive", []string{"GPU"}, []string{"gpu"}, false},
		{"prefix is not a match", []string{"gpu-large"}, []string{"gpu"}, false},
		{"requirement beyond the end", []string{"a", "b"}, []string{"b", "c"}, false},
		{"requirement before the start", []string{"b", "c"}, []string{"a", "b"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ff.Satisfies(tc.have, tc.required); got != tc.want {
				t.Fatalf("Satisfies(%q, %q) = %v, want %v", tc.have, tc.required, got, tc.want)
			}
		})
	}
}
