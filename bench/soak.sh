#!/usr/bin/env bash
# Gateway load and soak benchmark (not a test): the edge worker on workerd (wrangler dev), loaded
# from a second process (wrk, 64 connections) for DURATION seconds with a mix a site sees: many
# small files (70%), a folder listing (20%) and a large file (10%), every byte verified. Prints
# requests/s, latency percentiles, errors (non-2xx and socket errors), and the worker's memory
# (workerd's resident set) before and after: a leak shows as growth over the run.
# Needs: wrk (apt-get install wrk), the worker's tools (.ci/run), target/release/carport.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/soak.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
DURATION=${DURATION:-180}
CONNECTIONS=${CONNECTIONS:-64}
SMALL=${SMALL:-500}
CARPORT=${CARPORT_BIN:-target/release/carport}
[ -x "$CARPORT" ] || cargo build --release --locked -p carport-cli
[ -d edge-worker/node_modules ] || (cd edge-worker && npm ci --no-audit --no-fund)
[ -d tests/gateway/node_modules ] || (cd tests/gateway && npm ci --no-audit --no-fund)
[ -f edge-worker/build/index.js ] || edge-worker/build.sh >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/site/small"
for i in $(seq 0 $((SMALL - 1))); do head -c 4096 /dev/urandom > "$work/site/small/f$i.bin"; done
head -c $((16 << 20)) /dev/urandom > "$work/site/large.bin"
root=$("$CARPORT" pack "$work/site" -o "$work/site.car" 2>/dev/null | tail -1)
echo "site $root: $SMALL small files, a 16 MiB file; ${CONNECTIONS} connections for ${DURATION}s" >&2
node bench/soak.mjs "$work" "$root" "$SMALL" "$DURATION" "$CONNECTIONS"
