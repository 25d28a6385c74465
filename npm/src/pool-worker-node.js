// A node:worker_threads worker of carport's hashing pool (see pool.js): reads the package's .wasm
// itself and runs one task at a time.

import { readFileSync } from 'node:fs'
import { parentPort } from 'node:worker_threads'

import * as wasm from '../gen/carport_wasm.js'
import { serializeError } from './errors.js'
import { runTask } from './pool-jobs.js'

parentPort.on('message', async (data) => {
  if (data.type === 'init') {
    try {
      wasm.initSync({ module: readFileSync(new URL('../gen/carport_wasm_bg.wasm', import.meta.url)) })
      parentPort.postMessage({ type: 'ready' })
    } catch (e) {
      parentPort.postMessage({ type: 'failed-start', error: serializeError(e) })
    }
    return
  }
  try {
    const { result, transfer } = await runTask(wasm, data.task)
    parentPort.postMessage({ type: 'done', result }, transfer)
  } catch (e) {
    parentPort.postMessage({ type: 'error', error: serializeError(e) })
  }
})
