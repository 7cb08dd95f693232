#!/usr/bin/env bash
# Peers, side by side: comfyctl beside the TypeScript ComfyUI SDK
# (@saintno/comfyui-sdk, default settings), wait-on and a plain
# `until curl -sf …; do sleep 1; done` loop, all measured in one run.
#
#   bash bench/peers/run.sh
#
# 1. needs node and npm (without them: prints a note, exits 0);
# 2. installs the peers with npm into a scratch folder under ${TMPDIR:-/tmp},
#    never into the repo (removed afterwards unless PEERS_SCRATCH names a
#    folder to reuse);
# 3. builds the release binaries (cargo build --release --locked --bins);
# 4. runs bench/peers/driver.mjs, which prints a markdown table (stdout):
#    medians for comfyctl and each peer, and the ratio peer / comfyctl.
#
# Takes about five minutes (outages of 2, 10 and 30 s, a second outage and an
# idle trial bounded at 60 s each, 5 readiness-gate repetitions per tool).
#
# Environment:
#   PEERS_SDK_VERSION      npm version of @saintno/comfyui-sdk (default 0.3.1)
#   PEERS_WAIT_ON_VERSION  npm version of wait-on (default 9.5.1)
#   PEERS_SCRATCH          reuse this folder for node_modules (kept afterwards)
#   PEERS_OUTAGES, PEERS_GATE_REPS, PEERS_BOUND_S, PEERS_IDLE_S: see driver.mjs
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
start=$SECONDS

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "bench/peers: Node.js (node and npm) not found; the peer benchmark needs it. Skipping." >&2
  exit 0
fi

sdk_version="${PEERS_SDK_VERSION:-0.3.1}"
wait_on_version="${PEERS_WAIT_ON_VERSION:-9.5.1}"

if [[ -n "${PEERS_SCRATCH:-}" ]]; then
  mkdir -p "$PEERS_SCRATCH"
  scratch="$(cd "$PEERS_SCRATCH" && pwd)"
else
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/comfyctl-peers.XXXXXX")"
  trap 'rm -rf "$scratch"' EXIT
fi
case "$scratch/" in
  "$root"/*)
    echo "bench/peers: scratch folder $scratch is inside the repo; refusing" >&2
    exit 2
    ;;
esac

echo "bench/peers: installing @saintno/comfyui-sdk@$sdk_version and wait-on@$wait_on_version into $scratch" >&2
# --omit=peer: the SDK's only peer dependency is TypeScript, unused at run time.
npm install --no-save --no-audit --no-fund --omit=peer --loglevel=error \
  --prefix "$scratch" "@saintno/comfyui-sdk@$sdk_version" "wait-on@$wait_on_version" >&2

echo "bench/peers: building release binaries" >&2
(cd "$root" && cargo build --release --locked --bins >&2)

target_dir="${CARGO_TARGET_DIR:-target}"
[[ "$target_dir" = /* ]] || target_dir="$root/$target_dir"
status=0
node "$here/driver.mjs" --scratch "$scratch" --bin-dir "$target_dir/release" || status=$?

echo "bench/peers: whole run took $((SECONDS - start)) s" >&2
exit "$status"
