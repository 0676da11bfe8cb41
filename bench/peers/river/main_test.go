package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// testURL is the server the harness test uses: FF_TEST_DATABASE_URL, or
// the local default of the main module's tests.
func testURL(t *testing.T) string {
	u := os.Getenv("FF_TEST_DATABASE_URL")
	if u == "" {
		u = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Skipf("postgres unreachable (%v); set FF_TEST_DATABASE_URL", err)
	}
	_ = conn.Close(ctx)
	return u
}

func TestHarnessCompletesEveryJob(t *testing.T) {
	u := testURL(t)
	for _, mode := range []string{"drain", "steady"} {
		t.Run(mode, func(t *testing.T) {
			schema := fmt.Sprintf("river_bench_test_%d_%s", os.Getpid(), mode)
			t.Cleanup(func() {
				conn, err := pgx.Connect(context.Background(), u)
				if err == nil {
					_, _ = conn.Exec(context.Background(), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
					_ = conn.Close(context.Background())
				}
			})
			var out, errb bytes.Buffer
			code := run([]string{"--database-url", u, "--schema", schema, "--jobs", "200", "--workers", "8",
				"--mode", mode, "--rate", "1000", "--progress=false", "--timeout", "1m"}, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			}
			report := out.String()
			lines := strings.Split(strings.TrimRight(report, "\n"), "\n")
			if !regexp.MustCompile(`^throughput_jobs_per_s=[0-9]+\.[0-9]$`).MatchString(lines[len(lines)-1]) {
				t.Fatalf("last line %q\n%s", lines[len(lines)-1], report)
			}
			for _, want := range []string{"system=river/postgres mode=" + mode, "inserted=200 ", "completed=200 ", " n=200\n"} {
				if !strings.Contains(report, want) {
					t.Fatalf("report lacks %q:\n%s", want, report)
				}
			}
		})
	}
}

func TestFlagsRefuseNonPostgres(t *testing.T) {
	var errb bytes.Buffer
	if code := run([]string{"--database-url", "./x.db"}, &bytes.Buffer{}, &errb); code != 2 {
		t.Fatalf("exit %d, want 2 (%s)", code, errb.String())
	}
	if code := run([]string{"--database-url", "postgres://x", "--mode", "caps"}, &bytes.Buffer{}, &errb); code != 2 {
		t.Fatalf("exit %d, want 2 for a mode River has no scenario for", code)
	}
}
