#!/usr/bin/env bash
# Builds comfyctl, starts the bundled mock ComfyUI server on a free port, and
# shows comfyctl's main commands against it. Cleans up after itself.
set -euo pipefail
cd "$(dirname "$0")"
cargo build --release --locked --quiet
bin=./target/release

ready=$(mktemp)
"$bin/comfyui-mock" --port 0 --queue 2 >"$ready" 2>/dev/null &
mock=$!
cleanup() { kill "$mock" 2>/dev/null || true; wait "$mock" 2>/dev/null || true; rm -f "$ready"; }
trap cleanup EXIT
# The mock prints one readiness line with its port; wait for it (bounded).
for _ in $(seq 100); do [ -s "$ready" ] && break; sleep 0.1; done
port=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$ready")
url="http://127.0.0.1:$port"

set -x
"$bin/comfyctl" health --url "$url"
"$bin/comfyctl" connect --url "$url"
"$bin/comfyctl" watch --url "$url" --interval 1s --count 3
{ set +x; } 2>/dev/null
kill "$mock"; wait "$mock" 2>/dev/null || true
set -x
"$bin/comfyctl" health --url "$url" || echo "exit code $? (unavailable)"
{ set +x; } 2>/dev/null
