#!/usr/bin/env bash
# Builds the worker (build/index.js + build/index_bg.wasm) with nothing downloaded: worker-build and
# wasm-bindgen from ../.tools/bin (installed by .ci/run), esbuild and wasm-opt from node_modules.
set -euo pipefail
cd "$(dirname "$0")"
root=$(cd .. && pwd)
export PATH="$root/.tools/bin:$PATH"
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$root/.tools/bin/wasm-bindgen}"
export ESBUILD_BIN="${ESBUILD_BIN:-$PWD/node_modules/.bin/esbuild}"
export WASM_OPT_BIN="${WASM_OPT_BIN:-$PWD/node_modules/.bin/wasm-opt}"
# workerd's V8 has Wasm SIMD: core's piece hasher then hashes four tree nodes at once.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
for t in worker-build "$WASM_BINDGEN_BIN" "$ESBUILD_BIN" "$WASM_OPT_BIN"; do
  command -v "$t" >/dev/null || { echo "build.sh: $t is missing (run .ci/run's install steps)" >&2; exit 1; }
done
exec worker-build --release
