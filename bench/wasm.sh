#!/usr/bin/env bash
# The browser module's benchmark (not a test): a generated random Blob (MIB, default 256) packed in
# headless Chromium by carport (npm package: pools of 1, 2 and hardwareConcurrency hashing workers,
# piece CIDs off and on, in its Web Worker; and in the page thread) and by ipfs-car 3.1.0 (bundled
# with esbuild: CAR bytes only; plus the CAR CID; plus the piece CID by @web3-storage/data-segment
# 5.3.0), best of RUNS (default 3), with the ratios against issue 19's targets; the Wasm heaps and
# the renderer's resident memory per row; BIG=1 adds the rows at 1 GiB (BIG_RUNS, default 1) and
# the memory growth from 256 MiB to 1 GiB; crypto.subtle SHA-256 on 1 MiB blocks as the ceiling;
# hash speeds per block size; the piece CID speed; the gzipped size of the .wasm.
# See tests/browser/bench.mjs and pages/bench.html. Run it under the build lock:
#   flock /tmp/carport.lock bench/wasm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f npm/gen/carport_wasm_bg.wasm ] || npm/build.sh
[ -d tests/browser/node_modules/@web3-storage/data-segment ] || (cd tests/browser && npm ci --no-audit --no-fund)
cd tests/browser && exec node bench.mjs
