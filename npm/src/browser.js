// carport for browsers and bundlers (Vite, esbuild, webpack): the work runs in a Web Worker
// (carport/worker) started per job, unless `worker: false` or no Worker exists here (then it runs
// in this thread, as it does inside a worker already).

import { createApi } from './api.js'
import { loadWasm } from './wasm-web.js'

export { CarportError } from './errors.js'

let wasmSource

/** Optional: where the .wasm is (URL, Response, bytes or WebAssembly.Module); workers get it too. */
export function init (source) {
  wasmSource = source
  return loadWasm(source).then(() => undefined)
}

function startWorker (option) {
  const onMainThread = typeof window !== 'undefined' && typeof Worker !== 'undefined'
  if (option === undefined && !onMainThread) return null
  let w
  if (typeof option === 'function') w = option()
  else if (option instanceof URL || typeof option === 'string') w = new Worker(option, { type: 'module' })
  else if (typeof Worker !== 'undefined' && option instanceof Worker) w = option
  else w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
  // The worker loads the Wasm from where this thread was told to, if it was told.
  const crossable = typeof wasmSource === 'string' || wasmSource instanceof URL || wasmSource instanceof WebAssembly.Module
  if (crossable) {
    const post = w.postMessage.bind(w)
    w.postMessage = (msg, transfer) => post(msg?.op ? { ...msg, wasmUrl: wasmSource instanceof URL ? wasmSource.href : wasmSource } : msg, transfer)
  }
  return w
}

const api = createApi({ wasm: () => loadWasm(wasmSource), worker: startWorker })

export const { pack, verifyCar, ls, unpack, pieceCid, carCid, verifyArchive, digest, heapSize } = api
