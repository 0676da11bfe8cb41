#!/usr/bin/env bash
# Compare `flowfabric bench` with the River peer harness on one Postgres
# database: build both, run them alternately (ours, river, ours, river, ...)
# RUNS times each, and print every run, the medians and the ratio
# ours/river of the throughput medians.
#
#   bench/compare.sh postgres://postgres@127.0.0.1:5432/test?sslmode=disable
#
# Environment (defaults in brackets):
#   JOBS [20000]  WORKERS [16]  MODE [drain|steady]  RATE [500, steady only]
#   RUNS [3]      BENCH_ARGS [] extra flags for both harnesses (e.g. "--max-conns 8")
#   OURS_ARGS []  RIVER_ARGS [] extra flags for one side only
#   OUT_DIR [a new temp dir] where binaries and each run's full report go
#
# Both harnesses print the same report (internal/bench/workload); this
# script reads the last line, "throughput_jobs_per_s=<number>", and a few
# latency figures. docs/benchmarks.md defines them.
set -euo pipefail

url=${1:-}
if [ -z "$url" ]; then
	echo "usage: $0 <postgres-url>   (env: JOBS, WORKERS, MODE, RATE, RUNS, BENCH_ARGS)" >&2
	exit 2
fi
case "$url" in
postgres://* | postgresql://*) ;;
*)
	echo "compare.sh: River runs on Postgres only; give a postgres:// URL" >&2
	exit 2
	;;
esac

JOBS=${JOBS:-20000}
WORKERS=${WORKERS:-16}
MODE=${MODE:-drain}
RATE=${RATE:-500}
RUNS=${RUNS:-3}
case "$MODE" in drain | steady) ;; *)
	echo "compare.sh: MODE must be drain or steady (River has no caps/crash scenario)" >&2
	exit 2
	;;
esac

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
out=${OUT_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ffcompare.XXXXXX")}
mkdir -p "$out"

echo "== building into $out" >&2
(cd "$root" && go build -o "$out/flowfabric" ./cmd/flowfabric)
(cd "$here/peers/river" && go build -o "$out/river-bench" .)

# shellcheck disable=SC2206 # word splitting of the *_ARGS variables is intended
common=(--database-url "$url" --jobs "$JOBS" --workers "$WORKERS" --mode "$MODE" --rate "$RATE" --progress=false ${BENCH_ARGS:-})
# shellcheck disable=SC2206
ours=("$out/flowfabric" bench "${common[@]}" ${OURS_ARGS:-})
# shellcheck disable=SC2206
river=("$out/river-bench" "${common[@]}" ${RIVER_ARGS:-})

# field FILE PREFIX KEY: the value of KEY= on the line starting with PREFIX.
field() {
	grep -m1 "^$2" "$1" | tr ' ' '\n' | sed -n "s/^$3=//p"
}

# run_one NAME INDEX CMD...: runs one harness, checks and records its report.
run_one() {
	local name=$1 i=$2
	shift 2
	local log="$out/$name-$i.txt"
	echo "== run $i: $name" >&2
	if ! "$@" >"$log" 2>"$log.stderr"; then
		echo "compare.sh: $name run $i failed; see $log and $log.stderr" >&2
		tail -5 "$log.stderr" >&2 || true
		exit 1
	fi
	local last
	last=$(tail -n1 "$log")
	if ! [[ $last =~ ^throughput_jobs_per_s=[0-9]+(\.[0-9]+)?$ ]]; then
		echo "compare.sh: $name run $i: unexpected last line: $last" >&2
		exit 1
	fi
	printf '%-4s %-11s %14s %12s %10s %10s %10s\n' "$i" "$name" "${last#*=}" \
		"$(field "$log" inserted insert_rate_jobs_per_s)" \
		"$(field "$log" pickup_latency_ms p50)" "$(field "$log" pickup_latency_ms p99)" \
		"$(field "$log" end_to_end_latency_ms p99)" >>"$out/table.txt"
	echo "${last#*=}" >>"$out/$name.throughput"
}

median() {
	sort -g "$1" | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2}'
}

: >"$out/table.txt"
rm -f "$out/flowfabric.throughput" "$out/river.throughput"
for i in $(seq 1 "$RUNS"); do
	run_one flowfabric "$i" "${ours[@]}"
	run_one river "$i" "${river[@]}"
done

echo
echo "mode=$MODE jobs=$JOBS workers=$WORKERS$([ "$MODE" = steady ] && echo " rate=$RATE") runs=$RUNS"
printf '%-4s %-11s %14s %12s %10s %10s %10s\n' run system jobs_per_s insert_rate pickup_p50 pickup_p99 e2e_p99
cat "$out/table.txt"
m_ours=$(median "$out/flowfabric.throughput")
m_river=$(median "$out/river.throughput")
echo
echo "median throughput_jobs_per_s flowfabric=$m_ours river=$m_river"
awk -v a="$m_ours" -v b="$m_river" 'BEGIN { if (b > 0) printf "ratio ours/river=%.2f\n", a / b; else print "ratio ours/river=n/a" }'
echo "(full reports in $out)"
