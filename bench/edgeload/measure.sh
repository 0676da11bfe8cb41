#!/usr/bin/env bash
# Measure the edge costs of one flowfabric build (issue 9 items 5 and 6):
# /metrics size after 20 000 claims on lane names nobody created, and the
# database transactions per second of 2 000 idle long-polls (and of the
# same server with none), each on a fresh Postgres database.
#
#   bench/edgeload/measure.sh ./flowfabric postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#
# The second argument is a URL of an existing database on the server with
# the right to create databases; ff_edgeload is (re)created beside it.
# Environment: LANES_N [20000], IDLE_N [2000], MEASURE [30s], WARMUP [20s],
# PORT [18181], SERVER_ARGS [] (extra server flags, e.g. --reconcilers=false
# to leave only the long-polls' own transactions), LOG [/dev/null] (server
# log). xact_commit also counts autovacuum on the fresh database: WARMUP
# lets it settle, and the run with no long-polls is the floor to compare.
set -euo pipefail

bin=${1:?usage: $0 <flowfabric binary> <postgres admin url>}
admin=${2:?usage: $0 <flowfabric binary> <postgres admin url>}
port=${PORT:-18181}
here=$(cd "$(dirname "$0")" && pwd)
tool=$(mktemp -d)/edgeload
(cd "$here" && go build -o "$tool" .)
db=$(printf '%s' "$admin" | sed -E 's#/[^/?]+(\?|$)#/ff_edgeload\1#')
url=http://127.0.0.1:$port
pid=

fresh() {
	psql -q "$admin" -c 'DROP DATABASE IF EXISTS ff_edgeload' -c 'CREATE DATABASE ff_edgeload' >/dev/null 2>&1
	"$bin" migrate up --database-url "$db" >/dev/null
}

start() {
	# shellcheck disable=SC2086
	"$bin" server --database-url "$db" --listen "127.0.0.1:$port" --log-level warn ${SERVER_ARGS:-} 2>>"${LOG:-/dev/null}" &
	pid=$!
	for _ in $(seq 100); do
		curl -fs "$url/healthz" >/dev/null 2>&1 && return
		sleep 0.1
	done
	echo "server did not start" >&2
	exit 1
}

stop() {
	kill "$pid" && wait "$pid" || true
}
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null || true' EXIT

echo "== metrics size, ${LANES_N:-20000} claims on unknown lanes"
fresh
start
"$tool" lanes -url "$url" -n "${LANES_N:-20000}"
echo "server_rss_kb=$(ps -o rss= -p "$pid")"
stop

echo "== idle long-polls"
fresh
start
"$tool" idle -url "$url" -db "$db" -n 0 -warmup "${WARMUP:-20s}" -measure "${MEASURE:-30s}"
"$tool" idle -url "$url" -db "$db" -n "${IDLE_N:-2000}" -warmup 10s -measure "${MEASURE:-30s}"
stop
