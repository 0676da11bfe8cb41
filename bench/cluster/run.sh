#!/usr/bin/env bash
# Multi-process benchmark (issue 16 item 1): for each S in SERVERS, S
# `flowfabric server` processes and P worker processes (HTTP_WORKERS over
# the HTTP API, spread over the servers, and DB_WORKERS in-process over
# the backend) on one Postgres database. The drain phase works off a
# backlog of JOBS jobs (throughput, CPU of the database's backends and of
# the processes); the steady phase creates STEADY_JOBS over HTTP at RATE/s
# (pickup latency), and half-way through it the reconciler leader is
# SIGKILLed: another server must take leadership (with S=1, the restarted
# one), and the killed server is restarted on its port. Every run checks
# that no execution was lost or run twice. Builds everything it runs; needs Go, psql and a Postgres
# server with the right to create databases.
#
#   bench/cluster/run.sh 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'
#
# The argument is a URL of an existing database; ff_cluster is
# (re)created beside it for every run. Environment: SERVERS ["1 2 4"],
# HTTP_WORKERS [2], DB_WORKERS [2], CONCURRENCY [16], JOBS [20000],
# STEADY_JOBS [2000], RATE [200], RUNS [1] (runs per S), PORT_BASE
# [18300], OUT_DIR [a temporary directory] (binaries, server and worker
# logs), RUN_ARGS [] (more `cluster run` flags).
set -euo pipefail

admin=${1:?usage: $0 <postgres admin url>}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${OUT_DIR:-$(mktemp -d)}
mkdir -p "$out"
(cd "$root" && go build -o "$out/flowfabric" ./cmd/flowfabric && go build -o "$out/cluster" ./bench/cluster)
db=$(printf '%s' "$admin" | sed -E 's#/[^/?]+(\?|$)#/ff_cluster\1#')

fresh() {
	psql -q "$admin" -c 'DROP DATABASE IF EXISTS ff_cluster WITH (FORCE)' -c 'CREATE DATABASE ff_cluster' >/dev/null
	"$out/flowfabric" migrate up --database-url "$db" >/dev/null
}

echo "# $(date -u +%FT%TZ) host: $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# postgres: $(psql -Atq "$admin" -c 'SHOW server_version')," \
	"max_connections $(psql -Atq "$admin" -c 'SHOW max_connections')," \
	"shared_buffers $(psql -Atq "$admin" -c 'SHOW shared_buffers')," \
	"synchronous_commit $(psql -Atq "$admin" -c 'SHOW synchronous_commit')"
summary=()
for s in ${SERVERS:-1 2 4}; do
	for r in $(seq "${RUNS:-1}"); do
		fresh
		dir="$out/s$s-r$r"
		mkdir -p "$dir"
		echo "== S=$s run $r (load $(cut -d' ' -f1 /proc/loadavg))"
		# shellcheck disable=SC2086
		"$out/cluster" run -bin "$out/flowfabric" -db "$db" -dir "$dir" -servers "$s" \
			-http-workers "${HTTP_WORKERS:-2}" -db-workers "${DB_WORKERS:-2}" -concurrency "${CONCURRENCY:-16}" \
			-jobs "${JOBS:-20000}" -steady-jobs "${STEADY_JOBS:-2000}" -rate "${RATE:-200}" \
			-port-base "${PORT_BASE:-18300}" ${RUN_ARGS:-} | tee "$dir/report.txt"
		summary+=("S=$s run $r: $(grep -E '^(drain_throughput_jobs_per_s|steady_pickup_ms|db_cpu_cores|db_cpu_share|leader_moved_ms|check)=' "$dir/report.txt" | cut -c1-60 | paste -sd'|')")
	done
done
echo "== summary"
printf '%s\n' "${summary[@]}"
