#!/usr/bin/env bash
# The browser module's benchmark (not a test): a generated random Blob (MIB, default 256) packed in
# headless Chromium by carport (npm package, in its Web Worker and in the page thread) and by
# ipfs-car 3.1.0 (bundled with esbuild), best of RUNS (default 3); the Wasm heap peak;
# crypto.subtle SHA-256 on 1 MiB blocks as the ceiling; hash speeds per block size; the piece CID
# speed; the gzipped size of the .wasm. See tests/browser/bench.mjs and pages/bench.html.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f npm/gen/carport_wasm_bg.wasm ] || npm/build.sh
[ -d tests/browser/node_modules ] || (cd tests/browser && npm ci --no-audit --no-fund)
cd tests/browser && exec node bench.mjs
