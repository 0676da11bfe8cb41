package main

import (
	"bytes"
	"log/slog"
	"testing"

	"github.com/flowfabric-go/flowfabric/fftest"
)

// TestLLMStream runs the example against an engine serving the API: the
// follower prints every token in order, then the close and the summary.
func TestLLMStream(t *testing.T) {
	fftest.EachStore(t, func(t *testing.T, e *fftest.Engine) {
		var out bytes.Buffer
		if err := run(t.Context(), newClient(e.URL(), ""), "sky", &out, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		want := "Sunlight scatters off air molecules, and blue light, with its shorter wavelength, scatters the most. \n" +
			"[attempt_success]\nsummary: {\"done\":true,\"prompt\":\"sky\",\"tokens\":15}\n"
		if got := out.String(); got != want {
			t.Fatalf("output:\n%s\nwant:\n%s", got, want)
		}
	}, fftest.WithHTTP())
}
