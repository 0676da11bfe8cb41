// Package e2e holds the end-to-end tests: the flowfabric binary is built
// once, servers run as child processes on SQLite and Postgres, and
// workers, the Go client, the CLI and raw HTTP talk to them. It has no
// non-test code.
package e2e
