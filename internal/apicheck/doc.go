// Package apicheck holds tests that keep the module's public API honest:
// no exported identifier of a public package (one outside internal/,
// cmd/, examples/, bench/ and e2e/) mentions a type of an internal
// package, so code outside this module (a store, an embedding program)
// can use every public API; and every package has exactly one package
// comment in the standard form.
//
// Start with apicheck_test.go; the package has no code of its own.
package apicheck
