// Loading the Wasm module in browsers, Web Workers and bundlers: fetched from beside the
// generated glue (`new URL('carport_wasm_bg.wasm', import.meta.url)`, which Vite and other
// bundlers follow), or from a URL, Response, bytes or WebAssembly.Module given to `init`.

import init, * as wasm from '../gen/carport_wasm.js'

let ready = null

export function loadWasm (source) {
  ready ??= init(source ? { module_or_path: source } : undefined).then(() => wasm)
  return ready
}
