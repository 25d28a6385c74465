// The hashing pool in browsers: module Web Workers (carport's pool-worker.js beside this file,
// or `poolWorker`), each handed the Wasm module this thread compiled.

import { defaultPoolSize } from './pool.js'

/** What `engine.pack` needs to start a pool here, or null where no Worker can be started. */
export function webPool (options, wasm) {
  if (typeof Worker === 'undefined') return null
  const url = options.poolWorker ?? new URL('./pool-worker.js', import.meta.url)
  return {
    size: options.workers ?? defaultPoolSize(),
    start: () => new Worker(url, { type: 'module' }),
    init: wasm.compiledModule?.()
  }
}
