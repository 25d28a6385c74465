// A Web Worker of carport's hashing pool (see pool.js): started by the thread that packs, it
// instantiates the Wasm module it is handed and runs one task at a time.

import { serializeError } from './errors.js'
import { runTask } from './pool-jobs.js'
import { loadWasm } from './wasm-web.js'

let wasm = null

self.onmessage = async ({ data }) => {
  if (data.type === 'init') {
    try {
      wasm = await loadWasm(data.init)
      self.postMessage({ type: 'ready' })
    } catch (e) {
      self.postMessage({ type: 'failed-start', error: serializeError(e) })
    }
    return
  }
  try {
    const { result, transfer } = await runTask(wasm, data.task)
    self.postMessage({ type: 'done', result }, transfer)
  } catch (e) {
    self.postMessage({ type: 'error', error: serializeError(e) })
  }
}
