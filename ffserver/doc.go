// Package ffserver runs a FlowFabric engine inside a Go program: it opens
// a store (Postgres or SQLite), instruments it with Prometheus metrics,
// runs the reconcilers while this process leads, serves the HTTP API on
// its own listener or on the program's mux, runs in-process workers, and
// shuts all of it down in order. The flowfabric binary's "server" command
// is this package plus flags, so an embedded engine is the same engine.
//
// Start with [Open] and [Config]; see Example_mount.
//
// # Life of a Server
//
// [Open] opens the store and builds everything, starting nothing.
// [Server.Start] starts the reconcilers, the listener (when [Config].Addr
// is set) and the workers; [Server.Stop] stops them in order; and
// [Server.Close] closes the store. [Server.Run] is Start, a wait for its
// context, and Stop:
//
//	srv, err := ffserver.Open(ctx, ffserver.Config{DatabaseURL: os.Getenv("FF_DATABASE_URL")})
//	if err != nil {
//		return err
//	}
//	defer srv.Close()
//	w, err := srv.NewWorker(worker.Config{WorkerID: "app", Lanes: []string{"emails"}})
//	if err != nil {
//		return err
//	}
//	w.Register("email.send", worker.Typed(sendEmail))
//	return srv.Run(ctx) // until ctx ends; then drain, stop, and Close releases the store
//
// # Mounting on the program's mux
//
// With no Addr the API has no listener of its own: mount [Server.Handler]
// on the program's server. Its routes are absolute (/healthz, /metrics,
// /v1/…), so a prefix takes http.StripPrefix; auth, CORS, body limits and
// timeouts apply inside the handler as they do on the engine's own
// listener.
//
//	mux := http.NewServeMux()
//	mux.Handle("/flowfabric/", http.StripPrefix("/flowfabric", srv.Handler()))
//	mux.HandleFunc("POST /orders", placeOrder(srv.Backend()))
//
// Shut the program's server down together with the engine: call Stop and
// the server's Shutdown at the same time (Stop releases the API's
// long-polling claims, which would otherwise hold Shutdown for their
// whole wait), and Close only once both have returned, since Close
// closes the store the API reads. examples/embedded does exactly this.
//
// # Shutdown order
//
// Stop runs two phases. First, in parallel, the HTTP listener drains
// (in-flight requests finish within ShutdownGrace, long-polling claims
// answer at once) and every worker drains (running handlers finish and
// their outcomes are written). Only then do the reconcilers stop: they
// keep sweeping during the drain, so a lease that expires while a slow
// handler finishes is still reclaimed. Close then closes the store, if
// Open opened it.
//
// # Code that creates executions
//
// [Server.Backend] is the instrumented store: create executions through it
// (or through the HTTP API) so they count in /metrics. [Server.Postgres]
// is the Postgres store itself, for what only Postgres offers: enqueueing
// in the program's own transaction (postgres.Backend.CreateExecutionTx;
// see examples/tx-enqueue).
package ffserver
