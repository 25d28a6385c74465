// What a pool worker does with a task (the same in Web Workers and worker_threads): hash a run of
// a shard's bytes to the root of its piece subtree (`run`: read from a slice of the shard's Blob,
// or bytes posted to it), or hash a whole shard to its CAR CID's digest (`sha256`: the gathered
// buffer, transferred here and back).

import { readRange } from './input.js'

/** Bytes handed to the Wasm hasher per call: bounds the worker's Wasm heap. */
const WRITE = 1 << 20

/**
 * @param {any} wasm the initialised wasm-bindgen module
 * @param {any} task
 * @param {(bytes: Uint8Array) => Promise<Uint8Array> | Uint8Array} sha256
 * @returns {Promise<{ result: any, transfer: any[] }>}
 */
export async function runTask (wasm, task, sha256) {
  if (task.op === 'run') {
    const bytes = task.bytes ?? await readRange(task.blob, task.start, task.end)
    const h = new wasm.PieceRun()
    try {
      for (let off = 0; off < bytes.byteLength; off += WRITE) h.update(bytes.subarray(off, off + WRITE))
      const { root, height, payload } = h.finish()
      return { result: { root, height, payload }, transfer: [] }
    } finally {
      h.free()
    }
  }
  if (task.op === 'sha256') {
    const digest = new Uint8Array(await sha256(new Uint8Array(task.buffer, task.start, task.end - task.start)))
    return { result: { digest, buffer: task.buffer }, transfer: [task.buffer] }
  }
  throw new Error(`carport pool worker: unknown task ${task.op}`)
}
