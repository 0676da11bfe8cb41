package workload

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ThroughputKey is the key of the report's last line.
const ThroughputKey = "throughput_jobs_per_s"

// Result is what a run measured.
type Result struct {
	System  string
	Mode    Mode
	Jobs    int
	Workers int
	Rate    float64

	Inserted      int
	InsertElapsed time.Duration
	Completed     int
	// WorkElapsed is the work window (first handler start to last
	// completion acknowledgement).
	WorkElapsed time.Duration
	Pickup      Summary
	EndToEnd    Summary
	// ClientCPU is the CPU time (user + system) the harness process used
	// while the jobs were worked off (drain) or during the whole run
	// (steady): the client side's cost, the database server's excluded.
	ClientCPU time.Duration
	// Extra lines, printed before the last line (scenario-specific
	// figures, as key=value).
	Extra []string
}

// InsertRate is jobs inserted per second of insert time.
func (r Result) InsertRate() float64 { return perSecond(r.Inserted, r.InsertElapsed) }

// Throughput is jobs completed per second of the work window.
func (r Result) Throughput() float64 { return perSecond(r.Completed, r.WorkElapsed) }

func perSecond(n int, d time.Duration) float64 {
	if n == 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Print writes the report: human-readable key=value lines, the last of
// which is exactly "throughput_jobs_per_s=<number>".
func (r Result) Print(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "system=%s mode=%s jobs=%d workers=%d", r.System, r.Mode, r.Jobs, r.Workers)
	if r.Mode == ModeSteady {
		fmt.Fprintf(bw, " rate=%g", r.Rate)
	}
	fmt.Fprintln(bw)
	fmt.Fprintf(bw, "inserted=%d insert_seconds=%.3f insert_rate_jobs_per_s=%.1f\n",
		r.Inserted, r.InsertElapsed.Seconds(), r.InsertRate())
	fmt.Fprintf(bw, "completed=%d work_seconds=%.3f\n", r.Completed, r.WorkElapsed.Seconds())
	if r.ClientCPU > 0 && r.Completed > 0 {
		fmt.Fprintf(bw, "client_cpu_seconds=%.3f client_cpu_us_per_job=%.1f\n",
			r.ClientCPU.Seconds(), float64(r.ClientCPU.Microseconds())/float64(r.Completed))
	}
	printSummary(bw, "pickup_latency_ms", r.Pickup)
	printSummary(bw, "end_to_end_latency_ms", r.EndToEnd)
	for _, l := range r.Extra {
		fmt.Fprintln(bw, l)
	}
	fmt.Fprintf(bw, "%s=%.1f\n", ThroughputKey, r.Throughput())
	return bw.Flush()
}

func printSummary(w io.Writer, name string, s Summary) {
	fmt.Fprintf(w, "%s p50=%.3f p95=%.3f p99=%.3f max=%.3f mean=%.3f n=%d\n",
		name, ms(s.P50), ms(s.P95), ms(s.P99), ms(s.Max), ms(s.Mean), s.Count)
}

// SummaryLine formats s like the report does, for Extra lines.
func SummaryLine(name string, s Summary) string {
	var b strings.Builder
	printSummary(&b, name, s)
	return strings.TrimSuffix(b.String(), "\n")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// ParseThroughput extracts the number from a report's last line. It is
// what bench/compare.sh does with sed, kept here so tests pin the format.
func ParseThroughput(report string) (float64, error) {
	lines := strings.Split(strings.TrimRight(report, "\n"), "\n")
	last := lines[len(lines)-1]
	v, ok := strings.CutPrefix(last, ThroughputKey+"=")
	if !ok {
		return 0, fmt.Errorf("last line %q does not start with %s=", last, ThroughputKey)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("last line %q: %w", last, err)
	}
	return f, nil
}
