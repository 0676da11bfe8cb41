package backendtest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestExternalStore proves a store written outside this module can run
// the conformance suite: testdata/externalstore is built as a module of
// its own (requiring this one through a replace directive), where the Go
// toolchain refuses any internal import, and its TestConformance runs
// the whole suite on a store type of its own. Modules come from the
// local cache only (GOPROXY=off): this module's own build filled it.
func TestExternalStore(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH: cannot build the external module")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	writeExternalModule(t, root, dir)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "test", "-count=1", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off", "GOTOOLCHAIN=local")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "external store:\n%s", out)
	require.Contains(t, string(out), "ok  \texample.com/externalstore")
}

// writeExternalModule lays out the external module in dir: its test
// file, a go.mod that requires this module (at root) with this module's
// go version and requirements, and this module's go.sum.
func writeExternalModule(t *testing.T, root, dir string) {
	src, err := os.ReadFile(filepath.Join("testdata", "externalstore", "store_test.go"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "store_test.go"), src, 0o600))
	gomod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	const self = "github.com/flowfabric-go/flowfabric"
	rest, ok := strings.CutPrefix(string(gomod), "module "+self+"\n")
	require.True(t, ok, "go.mod starts with the module line")
	mod := "module example.com/externalstore\n\nrequire " + self + " v0.0.0\n" + rest +
		"\nreplace " + self + " => " + root + "\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o600))
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o600))
}
