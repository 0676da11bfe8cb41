package fftrace_test

import (
	"context"
	"log"
	"os"

	"github.com/flowfabric-go/flowfabric/ffserver"
	"github.com/flowfabric-go/flowfabric/fftrace"
)

// Tracing an embedded engine: the provider comes from the OTEL_*
// environment (off when nothing is set), the server and its workers share
// it, and it is flushed after the server stopped.
func ExampleStart() {
	ctx := context.Background()
	tp, err := fftrace.Start(ctx, fftrace.ConfigFromEnv(os.Getenv))
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = tp.Shutdown(context.Background()) }()

	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: "app.db", TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	// Workers made by srv.NewWorker trace their handlers with tp too;
	// then srv.Run(ctx) serves until ctx ends.
}
