#!/usr/bin/env bash
# Runs docsign-bench against a fresh docsign-ca on 127.0.0.1, the way
# docs/benchmarks.md records its numbers.
#
#   ISSUER=rsa-3072   the development hierarchy of the first start (default)
#   ISSUER=ecdsa-p256 or ecdsa-p384: an issuing CA with that key, created by
#                     a development key ceremony (unencrypted file keys), with
#                     the development intermediate retired
#   PORT=18080        loopback port of the server
#   SERVER_ARGS=...   more flags for docsign-ca serve, such as
#                     "--pprof-listen 127.0.0.1:6060" to take a CPU profile
#   DATABASE_URL=postgres://...  an empty PostgreSQL database for the server
#                     and the ceremony, in place of SQLite in the data directory
#
# Every other argument goes to docsign-bench, for example:
#   ISSUER=ecdsa-p256 examples/bench.sh --orders 2000 --clients 16 --out p256.json
#
# The server runs with --auto-validate and --rate-limit off, which are for
# development and benchmarks only. Everything lives in a temporary directory
# that is removed at the end.
set -euo pipefail

issuer=${ISSUER:-rsa-3072}
port=${PORT:-18080}
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
		echo "bench.sh: 127.0.0.1:$port is in use by another server; set PORT" >&2
		exit 1
	fi
	# shellcheck disable=SC2086 # SERVER_ARGS holds several flags.
	"$work/docsign-ca" serve --listen "127.0.0.1:$port" --data-dir "$data" --auto-validate --rate-limit off "${db_args[@]}" ${SERVER_ARGS:-} "$@" \
		>>"$work/server.log" 2>&1 &
	server_pid=$!
	for _ in $(seq 100); do
		if curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; then return 0; fi
		sleep 0.1
	done
	cat "$work/server.log" >&2
	echo "bench.sh: the server did not become healthy" >&2
	exit 1
}

stop_server() {
	kill "$server_pid"
	wait "$server_pid" || true
	server_pid=
}

# The first start creates the database, the account and the development CAs.
start_server

# An ECDSA P-384 issuing CA signs with SHA-384 only, and rejects orders that
# request another signature_hash.
hash_args=()
case "$issuer" in
rsa-3072) ;;
ecdsa-p256 | ecdsa-p384)
	stop_server
	size=${issuer#ecdsa-p}
	dev_ca=$("$work/docsign-ca" ca list --json --data-dir "$data" "${db_args[@]}" | grep '"role":"intermediate"' | sed 's/.*"ca_cert_id":"\([^"]*\)".*/\1/')
	cat >"$work/ceremony.yaml" <<YAML
root:
  key: {type: ecdsa, size: 384, file: root.key}
  subject: {common_name: docsign-bench Root CA, organization: docsign-bench, country: US}
  validity: {years: 10}
  path_length: 1
intermediates:
  - name: issuing
    key: {type: ecdsa, size: $size, file: issuing.key}
    subject: {common_name: docsign-bench ECDSA P-$size Issuing CA, organization: docsign-bench, country: US}
    validity: {years: 5}
    path_length: 0
YAML
	"$work/docsign-ca" ceremony --config "$work/ceremony.yaml" --out "$work/ceremony" --operator docsign-bench \
		--data-dir "$data" "${db_args[@]}" --dev >/dev/null
	"$work/docsign-ca" ca retire --ca-cert-id "$dev_ca" --data-dir "$data" "${db_args[@]}" >/dev/null
	start_server --dev
	if [ "$issuer" = ecdsa-p384 ]; then hash_args=(--signature-hash sha384); fi
	;;
*)
	echo "bench.sh: unknown ISSUER $issuer; use rsa-3072, ecdsa-p256 or ecdsa-p384" >&2
	exit 2
	;;
esac

"$work/docsign-bench" --url "http://127.0.0.1:$port" --api-key-file "$data/bootstrap-api-key" \
	--server-pid "$server_pid" "${hash_args[@]}" "$@"
