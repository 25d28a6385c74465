// What a pool worker does with a task (the same in Web Workers and worker_threads, and in the
// packing thread when it helps): hash a run of a shard's bytes, posted to it, to the root of its
// piece subtree (`run`); the answer also tells the Wasm heap of the thread that hashed it.

/** Bytes handed to the Wasm hasher per call: bounds the worker's Wasm heap. */
const WRITE = 1 << 20

/**
 * @param {any} wasm the initialised wasm-bindgen module
 * @param {{ op: 'run', bytes: Uint8Array }} task
 * @returns {Promise<{ result: { root: Uint8Array, height: number, payload: number, heap: number }, transfer: any[] }>}
 */
export async function runTask (wasm, task) {
  if (task.op !== 'run') throw new Error(`carport pool worker: unknown task ${task.op}`)
  const { bytes } = task
  const h = new wasm.PieceRun()
  try {
    for (let off = 0; off < bytes.byteLength; off += WRITE) h.update(bytes.subarray(off, off + WRITE))
    const { root, height, payload } = h.finish()
    return { result: { root, height, payload, heap: wasm.heapSize() }, transfer: [] }
  } finally {
    h.free()
  }
}
