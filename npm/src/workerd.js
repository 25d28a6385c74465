// carport for Cloudflare Workers (workerd): wrangler bundles the .wasm import as a
// WebAssembly.Module. Work runs in the request's thread.

import { createApi } from './api.js'
import { initSync } from '../gen/carport_wasm.js'
import * as wasm from '../gen/carport_wasm.js'
import module from '../gen/carport_wasm_bg.wasm'
import { createIpns } from './ipns.js'

export { CarportError } from './errors.js'

let ready = false

export function init () {
  if (!ready) {
    initSync({ module })
    ready = true
  }
  return Promise.resolve()
}

const api = createApi({ wasm: () => init().then(() => wasm) })

export const { pack, verifyCar, ls, unpack, pieceCid, carCid, verifyArchive, digest, heapSize } = api
export const { createName, exportName, importName, publish, resolve } = createIpns({ wasm: () => init().then(() => wasm) })
