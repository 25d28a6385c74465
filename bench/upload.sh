#!/usr/bin/env bash
# Upload door benchmark (not a test): the edge worker on workerd (wrangler dev). A ~100 MB CAR
# shard POSTed to /upload (every block hashed, piece CID and CAR CID computed, stored in R2 with
# its index, recorded by the archivist) against the same bytes streamed into R2 with no checks
# through the same worker (/_bench/put, BENCH_PROXY=on). Runs alternate; each door run uploads a
# different CAR of the same size. Prints MB/s (10^6 bytes/s) and the ratio. Target: >= 0.5x.
# Needs: the worker's tools (.ci/run), target/release/carport.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
CARPORT=${CARPORT_BIN:-target/release/carport}
[ -x "$CARPORT" ] || cargo build --release --locked -p carport-cli
[ -d edge-worker/node_modules ] || (cd edge-worker && npm ci --no-audit --no-fund)
[ -d tests/gateway/node_modules ] || (cd tests/gateway && npm ci --no-audit --no-fund)
edge-worker/build.sh >&2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for i in $(seq 1 "$RUNS"); do
  head -c 99500000 /dev/urandom > "$work/in.bin"
  "$CARPORT" pack "$work/in.bin" -o "$work/$i.car" >/dev/null 2>&1
done
rm "$work/in.bin"
echo "$RUNS CARs of $(stat -c %s "$work/1.car") bytes" >&2
node bench/upload.mjs "$work" "$RUNS"
