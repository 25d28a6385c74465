#!/usr/bin/env bash
# Builds the npm package `carport` from ../wasm: cargo (wasm32, profile wasm-release, simd128),
# the pinned wasm-bindgen CLI (its version must equal the wasm-bindgen crate's), then wasm-opt
# from npm's binaryen. Output: npm/gen/ (generated, not committed).
#   WASM_BINDGEN=path   the wasm-bindgen CLI (default: ../.tools/bin/wasm-bindgen)
#   CARPORT_WASM_OPT=0  skip wasm-opt (faster local builds)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print }' Cargo.lock)
bindgen=${WASM_BINDGEN:-$root/.tools/bin/wasm-bindgen}
[ -x "$bindgen" ] || { echo "build.sh: $bindgen is missing; install it with: cargo install --root .tools wasm-bindgen-cli --version $want" >&2; exit 1; }
have=$("$bindgen" --version | awk '{print $2}')
[ "$have" = "$want" ] || { echo "build.sh: wasm-bindgen CLI is $have but the crate is $want" >&2; exit 1; }

cargo build --locked -p carport-wasm --target wasm32-unknown-unknown --profile wasm-release --config wasm/build.toml

out=npm/gen
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
"$bindgen" --target web --out-dir "$out.tmp" --out-name carport_wasm --no-typescript \
  target/wasm32-unknown-unknown/wasm-release/carport_wasm.wasm

# The compiled module, so the page can compile it once and hand it to each worker it starts:
# wasm-bindgen keeps it in a module variable and does not export it.
glue=$out.tmp/carport_wasm.js
grep -q '^let wasmModule, wasmInstance, wasm;$' "$glue" || { echo "build.sh: the wasm-bindgen glue changed; update the compiledModule export" >&2; exit 1; }
printf '\n/** carport: the compiled WebAssembly.Module once initialised, to hand to workers. */\nexport function compiledModule () { return wasmModule }\n' >> "$glue"

wasm=$out.tmp/carport_wasm_bg.wasm
if [ "${CARPORT_WASM_OPT:-1}" != 0 ]; then
  [ -d npm/node_modules/binaryen ] || (cd npm && npm ci --no-audit --no-fund)
  node npm/node_modules/binaryen/bin/wasm-opt -O3 \
    --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$wasm" -o "$wasm.opt"
  mv "$wasm.opt" "$wasm"
fi
rm -rf "$out" && mv "$out.tmp" "$out"
raw=$(stat -c %s "$out/carport_wasm_bg.wasm")
gz=$(gzip -9 -c "$out/carport_wasm_bg.wasm" | wc -c)
echo "npm/gen/carport_wasm_bg.wasm: $raw bytes, $gz gzipped" >&2
