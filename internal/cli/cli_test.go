package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	ff "github.com/flowfabric-go/flowfabric"
	"github.com/flowfabric-go/flowfabric/internal/pgtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lockedBuffer is a bytes.Buffer safe for a writer and a reader.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// runMain runs the CLI in process with env vars from vars.
func runMain(t *testing.T, vars map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb lockedBuffer
	env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return vars[k] }}
	code = Main(context.Background(), args, env, BuildInfo{Version: "v0.0.0-test"})
	return out.String(), errb.String(), code
}

func TestEveryCommandHasHelpWithExample(t *testing.T) {
	root := newRoot(Env{Stdout: io.Discard, Stderr: io.Discard}, BuildInfo{})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		require.NotEmpty(t, c.Short, c.CommandPath())
		require.NotEmpty(t, c.Example, "%s has no Example", c.CommandPath())
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)

	out, _, code := runMain(t, nil, "exec", "submit", "--help")
	require.Zero(t, code)
	require.Contains(t, out, "Examples:")
	require.Contains(t, out, "(env FF_SERVER_URL)")
}

func TestVersion(t *testing.T) {
	out, _, code := runMain(t, nil, "version", "--json")
	require.Zero(t, code)
	var v versionInfo
	require.NoError(t, json.Unmarshal([]byte(out), &v))
	require.Equal(t, "v0.0.0-test", v.Version)
}

func TestUsageErrorsExitTwo(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"exec", "get"},
		{"exec", "get", "a", "b"},
		{"exec", "list", "--limit", "many"},
		{"exec", "list", "--state", "sleeping"},
		{"server", "--log-level", "loud"},
		{"server", "--log-format", "xml"},
		{"server", "--database-url", "mysql://h/db"},
		{"server", "--promoter-interval", "1ms"},
		{"server", "--max-long-polls", "0"},
		{"server", "--metrics-max-lanes", "-1"},
		{"server", "--read-body-timeout", "0s"},
	} {
		_, stderr, code := runMain(t, nil, args...)
		require.Equal(t, exitUsage, code, "%v: %s", args, stderr)
		require.True(t, strings.HasPrefix(stderr, "flowfabric: error: "), "%v: %s", args, stderr)
		require.NotContains(t, stderr, "goroutine")
	}
}

func TestEnvFallbackAndFlagPrecedence(t *testing.T) {
	// An unreachable server named only by the environment: the error says
	// which URL was used.
	vars := map[string]string{"FF_SERVER_URL": "http://127.0.0.1:1", "FF_API_TOKEN": "t"}
	_, stderr, code := runMain(t, vars, "exec", "list", "--timeout", "2s")
	require.Equal(t, exitFailure, code)
	require.Contains(t, stderr, "127.0.0.1:1")

	_, stderr, code = runMain(t, vars, "exec", "list", "--timeout", "2s", "--server", "http://127.0.0.1:2")
	require.Equal(t, exitFailure, code)
	require.Contains(t, stderr, "127.0.0.1:2", "the flag wins over the environment")

	_, stderr, code = runMain(t, map[string]string{"FF_SHUTDOWN_GRACE": "soon"}, "server")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "FF_SHUTDOWN_GRACE")
}

func TestSubmitParams(t *testing.T) {
	s := submitOptions{kind: "k", input: `{"a":1}`, lane: "l", priority: 5, capabilities: []string{"gpu"},
		tags: []string{"app.x=1", "app.y=a=b"}, maxRetries: 3, retryDelay: 2 * time.Second,
		attemptTimeout: time.Minute, delay: time.Hour}
	before := time.Now()
	p, err := s.params(Env{})
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1}`, string(p.Input))
	require.Equal(t, map[string]string{"app.x": "1", "app.y": "a=b"}, p.Tags)
	require.Equal(t, 3, p.Policy.Retry.MaxRetries)
	require.Equal(t, int64(2000), p.Policy.Retry.Backoff.DelayMs)
	require.Equal(t, int64(60_000), *p.Policy.Timeout.AttemptTimeoutMs)
	require.GreaterOrEqual(t, ff.MsFromTime(p.DelayUntil), before.Add(time.Hour).UnixMilli())

	path := filepath.Join(t.TempDir(), "in.json")
	require.NoError(t, os.WriteFile(path, []byte(`[1,2]`), 0o600))
	p, err = submitOptions{kind: "k", input: "@" + path}.params(Env{})
	require.NoError(t, err)
	require.Equal(t, `[1,2]`, string(p.Input))
	p, err = submitOptions{kind: "k", input: "-"}.params(Env{Stdin: strings.NewReader(`"x"`)})
	require.NoError(t, err)
	require.Equal(t, `"x"`, string(p.Input))
	require.Nil(t, p.Policy)

	for _, bad := range []submitOptions{
		{input: "{}"},
		{kind: "k", input: "{"},
		{kind: "k", input: "{}", tags: []string{"novalue"}},
		{kind: "k", input: "{}", maxRetries: -1},
		{kind: "k", input: "{}", id: "x"},
	} {
		_, err := bad.params(Env{})
		require.Error(t, err, "%+v", bad)
	}
}

func TestMigrateUpAndStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return filepath.Join(t.TempDir(), "ff.db") }},
		{"postgres", func(t *testing.T) string { return pgtest.Schema(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url(t)
			vars := map[string]string{"FF_DATABASE_URL": url}
			out, stderr, code := runMain(t, vars, "migrate", "status", "--json")
			require.Zero(t, code, stderr)
			var r SchemaReport
			require.NoError(t, json.Unmarshal([]byte(out), &r))
			require.Equal(t, tc.name, r.Backend)
			require.Zero(t, r.Current)
			require.Positive(t, r.Latest)
			require.NotContains(t, out, "applied_at")

			// The server refuses the unmigrated schema and names the fix.
			_, stderr, code = runMain(t, vars, "server", "--auto-migrate=false", "--listen", "127.0.0.1:0")
			require.Equal(t, exitFailure, code)
			require.Contains(t, stderr, "flowfabric migrate up")

			out, stderr, code = runMain(t, vars, "migrate", "up")
			require.Zero(t, code, stderr)
			require.Contains(t, out, "applied migrations")
			out, _, code = runMain(t, vars, "migrate", "up")
			require.Zero(t, code)
			require.Contains(t, out, "already up to date")

			out, _, code = runMain(t, nil, "migrate", "status", "--database-url", url)
			require.Zero(t, code)
			require.Contains(t, out, "(up to date)")
		})
	}
}

// TestServerInProcess starts `flowfabric server` in process on both
// backends, checks the single startup line and the API, and stops it by
// cancelling its context (what SIGINT does).
func TestServerInProcess(t *testing.T) {
	for _, tc := range []struct {
		name string
		url  func(t *testing.T) string
		args []string
	}{
		{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "ff.db") }, nil},
		{"postgres", func(t *testing.T) string { return pgtest.Schema(t) }, []string{"--auto-migrate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url(t)
			pr, pw := io.Pipe()
			var out lockedBuffer
			env := Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: pw, Getenv: func(string) string { return "" }}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			args := append([]string{"server", "--database-url", url, "--listen", "127.0.0.1:0", "--log-format", "json",
				"--api-token", "tok", "--waitpoint-hmac-secret", strings.Repeat("ab", 32)}, tc.args...)
			done := make(chan int, 1)
			go func() {
				done <- Main(ctx, args, env, BuildInfo{})
				pw.Close()
			}()

			var lines []map[string]any
			var addr string
			sc := bufio.NewScanner(pr)
			for addr == "" && sc.Scan() {
				var rec map[string]any
				require.NoError(t, json.Unmarshal(sc.Bytes(), &rec), sc.Text())
				lines = append(lines, rec)
				if rec["msg"] == "flowfabric server started" {
					addr, _ = rec["addr"].(string)
					require.Equal(t, tc.name, rec["backend"])
					require.Equal(t, "bearer", rec["auth"])
					require.Equal(t, "bearer", rec["metrics_auth"])
					require.Equal(t, true, rec["reconcilers"])
				}
			}
			require.NotEmpty(t, addr, "startup line: %v", lines)
			go func() { _, _ = io.Copy(io.Discard, pr) }()

			resp, err := http.Get("http://" + addr + "/healthz")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			for _, path := range []string{"/v1/executions", "/metrics"} {
				resp, err = http.Get("http://" + addr + path)
				require.NoError(t, err)
				resp.Body.Close()
				require.Equal(t, http.StatusUnauthorized, resp.StatusCode, path)
			}

			cancel()
			select {
			case code := <-done:
				require.Zero(t, code)
			case <-time.After(20 * time.Second):
				t.Fatal("server did not stop")
			}
			http.DefaultClient.CloseIdleConnections()
		})
	}
}

// The edge limits and the metrics rule come from the environment too.
func TestServerLimitFlagsFromEnv(t *testing.T) {
	cmd := newServerCmd(Env{}, BuildInfo{})
	vars := map[string]string{"FF_METRICS_PUBLIC": "true", "FF_MAX_LONG_POLLS": "7", "FF_READ_BODY_TIMEOUT": "3s",
		"FF_WRITE_TIMEOUT": "4s", "FF_METRICS_MAX_LANES": "9"}
	require.NoError(t, applyEnv(cmd, func(k string) string { return vars[k] }))
	for flag, want := range map[string]string{"metrics-public": "true", "max-long-polls": "7",
		"read-body-timeout": "3s", "write-timeout": "4s", "metrics-max-lanes": "9"} {
		require.Equal(t, want, cmd.Flags().Lookup(flag).Value.String(), flag)
	}
}

func TestServerTracingFlags(t *testing.T) {
	out, _, code := runMain(t, nil, "server", "--help")
	require.Zero(t, code)
	require.Contains(t, out, "--traces-exporter")
	require.Contains(t, out, "(env OTEL_TRACES_EXPORTER)")
	require.Contains(t, out, "(env OTEL_EXPORTER_OTLP_ENDPOINT)")

	db := filepath.Join(t.TempDir(), "ff.db")
	_, stderr, code := runMain(t, map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "server", "--database-url", db)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "zipkin")
	_, stderr, code = runMain(t, nil, "server", "--database-url", db, "--otlp-endpoint", "collector:4318")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "collector:4318")
	_, stderr, code = runMain(t, map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
		"server", "--database-url", db)
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "http/protobuf")
	require.NoFileExists(t, db, "refused before the database is opened")
}
