package flowfabric_test

import (
	"testing"

	ff "github.com/flowfabric-go/flowfabric"
)

// wantErr fails unless err is an *ff.Error of the given class and kind.
func wantErr(t *testing.T, err error, class ff.ErrorClass, kind ff.ErrorKind) *ff.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got nil error, want %s/%s", class, kind)
	}
	e, ok := ff.AsError(err)
	if !ok {
		t.Fatalf("got %T %v, want *flowfabric.Error %s/%s", err, err, class, kind)
	}
	if e.Class != class || e.Kind != kind {
		t.Fatalf("got %s/%s (%v), want %s/%s", e.Class, e.Kind, err, class, kind)
	}
	return e
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }
