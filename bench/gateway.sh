#!/usr/bin/env bash
# Gateway benchmark (not a test): the edge worker on workerd (wrangler dev), `wrk` from a second
# process. A 100 MiB file served verified from a local upstream (entity CAR, every block hashed)
# against the same bytes proxied unverified (/_proxy/, BENCH_PROXY=on); and many small files in
# one folder, each fetched from the upstream and verified per request (the Cache API is off; the
# folder's own block is kept in the isolate's memory after the first request, and a last row turns
# that memory off too, MEMORY_BLOCKS_BYTES=0).
# Prints requests/s, MB/s (10^6 bytes/s) and the ratio. Target: verified >= 0.7x unverified.
# DEVTOOLS=off runs the worker without the devtools inspector `wrangler dev` attaches (through
# wrangler's API): closer to production, where nothing else shares the isolate's CPU.
# Needs: wrk (apt-get install wrk), the worker's tools (.ci/run), target/release/carport.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "bench/gateway.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
DURATION=${DURATION:-10}      # seconds of wrk per small-file run (ROUNDS runs of each side, default 3)
DURATION_BIG=${DURATION_BIG:-30}  # per 100 MiB run (one connection)
SMALL=${SMALL:-500}
CARPORT=${CARPORT_BIN:-target/release/carport}
[ -x "$CARPORT" ] || cargo build --release --locked -p carport-cli
[ -d edge-worker/node_modules ] || (cd edge-worker && npm ci --no-audit --no-fund)
[ -d tests/gateway/node_modules ] || (cd tests/gateway && npm ci --no-audit --no-fund)
edge-worker/build.sh >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -c $((100 << 20)) /dev/urandom > "$work/big.bin"
big=$("$CARPORT" pack "$work/big.bin" -o "$work/big.car" 2>/dev/null | tail -1)
mkdir "$work/small"
for i in $(seq 0 $((SMALL - 1))); do head -c 4096 /dev/urandom > "$work/small/f$i.bin"; done
small=$("$CARPORT" pack "$work/small" -o "$work/small.car" 2>/dev/null | tail -1)
echo "100 MiB file: $big; $SMALL small files under $small; wrk ${DURATION_BIG}s (100 MiB), ${DURATION}s (small files)" >&2
node bench/gateway.mjs "$work" "$big" "$small" "$SMALL" "$DURATION" "$DURATION_BIG"
