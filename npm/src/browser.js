// carport for browsers and bundlers (Vite, esbuild, webpack): the work runs in a Web Worker
// (carport/worker) started per job, unless `worker: false` or no Worker exists here (then it runs
// in this thread, as it does inside a worker already).

import { createApi } from './api.js'
import { serializeError } from './errors.js'
import { webPool } from './pool-web.js'
import { loadWasm } from './wasm-web.js'
import { createIpns } from './ipns.js'

export { CarportError } from './errors.js'

let wasmSource

/** Optional: where the .wasm is (URL, Response, bytes or WebAssembly.Module); workers get it too. */
export function init (source) {
  wasmSource = source
  return loadWasm(source).then(() => undefined)
}

/**
 * What a worker loads the Wasm from: the module this thread compiles once and hands to every
 * worker (a worker that fetches and compiles it itself adds ~30 ms to every job); if that fails,
 * where this thread was told to load it from, or else nothing (the worker loads it from beside
 * the glue).
 */
let forWorkers = null
function wasmForWorkers () {
  const told = typeof wasmSource === 'string' || wasmSource instanceof URL ? String(wasmSource) : undefined
  forWorkers ??= loadWasm(wasmSource).then((wasm) => wasm.compiledModule?.() ?? told, () => told)
  return forWorkers
}

function startWorker (option) {
  const onMainThread = typeof window !== 'undefined' && typeof Worker !== 'undefined'
  if (option === undefined && !onMainThread) return null
  let w
  if (typeof option === 'function') w = option()
  else if (option instanceof URL || typeof option === 'string') w = new Worker(option, { type: 'module' })
  else if (typeof Worker !== 'undefined' && option instanceof Worker) w = option
  else w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })
  // The job's request carries the Wasm module (or where to load it from), once it is at hand.
  const post = w.postMessage.bind(w)
  w.postMessage = (msg, transfer) => {
    if (!msg?.op) return post(msg, transfer)
    wasmForWorkers().then((wasmUrl) => post(wasmUrl ? { ...msg, wasmUrl } : msg, transfer)).catch((e) => {
      w.onmessage?.({ data: { type: 'error', error: serializeError(e) } })
    })
  }
  return w
}

const api = createApi({ wasm: () => loadWasm(wasmSource), worker: startWorker, pool: webPool })

export const { pack, verifyCar, ls, unpack, pieceCid, carCid, verifyArchive, digest, heapSize } = api
export const { createName, exportName, importName, publish, resolve } = createIpns({ wasm: () => loadWasm(wasmSource) })
