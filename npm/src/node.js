// carport for Node.js (20+): the Wasm module is read from the package's files; work runs in the
// calling thread (use node:worker_threads around it to move it off).

import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'

import { createApi } from './api.js'
import { initSync } from '../gen/carport_wasm.js'
import * as wasm from '../gen/carport_wasm.js'
import { createIpns } from './ipns.js'

export { CarportError } from './errors.js'

let ready = null

export function init (source) {
  ready ??= (async () => {
    const module = source ?? await readFile(new URL('../gen/carport_wasm_bg.wasm', import.meta.url))
    initSync({ module })
    return wasm
  })()
  return ready.then(() => undefined)
}

/** Node's native SHA-256 over a shard's parts, for its CID: no copy into one buffer. */
function sha256 (parts) {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** The hashing pool in Node: worker_threads running pool-worker-node.js (or `poolWorker`). */
function pool (options) {
  const url = options.poolWorker ?? new URL('./pool-worker-node.js', import.meta.url)
  return { size: options.workers ?? availableParallelism(), start: () => new Worker(url) }
}

const api = createApi({ wasm: () => init().then(() => wasm), sha256, pool })

export const { pack, verifyCar, ls, unpack, pieceCid, carCid, verifyArchive, digest, heapSize } = api
export const { createName, exportName, importName, publish, resolve } = createIpns({ wasm: () => init().then(() => wasm) })
