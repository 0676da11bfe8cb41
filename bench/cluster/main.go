// Command cluster is the multi-process benchmark of bench/cluster/run.sh:
// S `flowfabric server` processes and P worker processes on one Postgres
// database, the reconciler leader killed mid-run.
//
//	cluster run -bin ./flowfabric -db postgres://.../ff_cluster -servers 2 ...
//	    one measured run; prints "key=value" lines (see docs/benchmarks.md)
//	cluster worker -http http://127.0.0.1:18300 | -db postgres://... -out FILE
//	    one worker process (the SDK over HTTP, or in-process over the
//	    backend); on SIGTERM it drains and writes "n created_unix_ns start_unix_ns type"
//	    for every handler start to FILE
//
// The database given to run must be migrated and empty: run.sh re-creates
// it before every run.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: cluster run|worker [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCluster(os.Args[2:])
	case "worker":
		err = runWorker(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: want run or worker", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}
