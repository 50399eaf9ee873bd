#!/usr/bin/env bash
# Measures how order info, the filtered order list and status changes scale
# with the number of stored orders, the way docs/benchmarks.md records the
# growth run. It starts a fresh docsign-ca on 127.0.0.1 and completes a few
# orders through the whole lifecycle. Then, for each size, it stops the
# server, tops the store up with `docsign-ca dev seed` and starts the server
# again. It runs `docsign-bench --mode read` once for each of the three calls.
#
#   SIZES="1000 100000 1000000"   stored orders to measure at, ascending
#   PORT=18080                    loopback port of the server
#   OUT=growth                    prefix of the JSON reports, one per size and call
#   SERVER_ARGS=...               more flags for docsign-ca serve, such as
#                                 "--pprof-listen 127.0.0.1:6060" for profiles
#   DATABASE_URL=postgres://...   an empty PostgreSQL database for the server
#                                 and the seed, in place of SQLite in the
#                                 data directory
#
# Every other argument goes to docsign-bench, for example:
#   examples/growth.sh --orders 2000 --clients 4
#
# Seeding is for benchmarks only: every seeded order reuses one certificate's
# DER. Everything lives in a temporary directory that is removed at the end,
# except the PostgreSQL database, which keeps the seeded orders.
set -euo pipefail

sizes=${SIZES:-1000 100000 1000000}
port=${PORT:-18080}
out=${OUT:-growth}
work=$(mktemp -d)
data=$work/data
db_args=()
if [ -n "${DATABASE_URL:-}" ]; then db_args=(--database-url "$DATABASE_URL"); fi
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/docsign-ca" ./cmd/docsign-ca
go build -o "$work/docsign-bench" ./cmd/docsign-bench

start_server() {
	if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
		echo "growth.sh: 127.0.0.1:$port is in use by another server; set PORT" >&2
		exit 1
	fi
	# shellcheck disable=SC2086 # SERVER_ARGS holds several flags.
	"$work/docsign-ca" serve --listen "127.0.0.1:$port" --data-dir "$data" --auto-validate --rate-limit off "${db_args[@]}" ${SERVER_ARGS:-} \
		>>"$work/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 600); do
		if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then return 0; fi
		sleep 0.1
	done
	cat "$work/server.log" >&2
	echo "growth.sh: the server did not become healthy" >&2
	exit 1
}

stop_server() {
	kill "$server_pid"
	wait "$server_pid" || true
	server_pid=
}

# Real orders first: the seed copies the newest issued one, and the read
# mode places its status-changes window around order 1.
start_server
"$work/docsign-bench" --url "http://127.0.0.1:$port" --api-key-file "$data/bootstrap-api-key" \
	--orders 20 --clients 4 --baseline-duration 0 >/dev/null
stored=$(curl -sf -H "X-DC-DEVKEY: $(cat "$data/bootstrap-api-key")" "http://127.0.0.1:$port/services/v2/order/certificate?limit=1" |
	sed 's/.*"total":\([0-9]*\).*/\1/')

for size in $sizes; do
	stop_server
	if [ "$size" -gt "$stored" ]; then
		"$work/docsign-ca" dev seed --orders $((size - stored)) --data-dir "$data" "${db_args[@]}"
		stored=$size
	fi
	start_server
	echo "== $stored stored orders; server $(grep VmRSS /proc/"$server_pid"/status) after start"
	# One call per run, so that a slow call does not delay the others.
	for call in order_info list_issued status_changes; do
		echo "== $call; $(uptime)"
		"$work/docsign-bench" --mode read --read-calls "$call" --stored-orders "$stored" --url "http://127.0.0.1:$port" \
			--api-key-file "$data/bootstrap-api-key" --server-pid "$server_pid" --out "$out-$stored-$call.json" "$@"
	done
done
