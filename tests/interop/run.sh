#!/usr/bin/env bash
# Interop suite: the official OpenTelemetry Python SDK exporters (gRPC and HTTP) against a real
# `cockpit serve` on ephemeral ports. Creates its own venv from PyPI.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${COCKPIT_INTEROP_VENV:-$here/.venv}"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cargo build --quiet --manifest-path "$root/Cargo.toml"
bin="$root/target/debug/cockpit"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_server() {
  mkfifo "$work/addr"
  env -u COCKPIT_OPERATOR_TOKEN -u COCKPIT_VIEWER_TOKEN -u COCKPIT_INGEST_TOKEN XDG_CONFIG_HOME="$work" \
    "$bin" serve --otlp-grpc 127.0.0.1:0 --otlp-http 127.0.0.1:0 --api 127.0.0.1:0 --data-dir "$work/data" \
    >"$work/addr" 2>"$work/stderr" &
  server_pid=$!
  read -r addrs <"$work/addr"
  echo "cockpit serve: $addrs"
  # No token configured: serve generated the operator token in its data dir.
  COCKPIT_OPERATOR_TOKEN="$(cat "$work/data/operator.token")"
  export COCKPIT_OPERATOR_TOKEN
}

start_server
"$venv/bin/python" "$here/send_otel.py" "$addrs"
"$venv/bin/python" "$here/ofrep_check.py" "$addrs"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
echo "interop: all passed"
