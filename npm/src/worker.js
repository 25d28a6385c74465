// carport/worker: the Web Worker entry. The package starts it by default in browsers
// (`new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`); one worker runs one
// job and is ended after it. Blobs and Files arrive by reference, streams by transfer, and
// finished shards go back as Blobs.

import * as engine from './engine.js'
import { serializeError } from './errors.js'
import { webPool } from './pool-web.js'
import { loadWasm } from './wasm-web.js'

const acks = new Map()

async function * iterate (stream) {
  const reader = stream.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}

function unwrap (input) {
  if (input && typeof input === 'object' && input.$stream) return input.$stream
  if (input && typeof input === 'object' && input.$entries) return iterate(input.$entries)
  return input
}

async function handle ({ op, input, options, wasmUrl }) {
  const wasm = await loadWasm(wasmUrl)
  input = unwrap(input)
  switch (op) {
    case 'pack': {
      let last = 0
      return engine.pack(wasm, input, options, {
        pool: webPool(options, wasm),
        progress: (progress) => {
          const now = Date.now()
          if (now - last < 50 && progress.bytesRead !== progress.bytesTotal) return
          last = now
          self.postMessage({ type: 'progress', progress })
        },
        shard: (shard) => new Promise((resolve) => {
          acks.set(shard.index, resolve)
          self.postMessage({ type: 'shard', shard })
        })
      })
    }
    case 'verify': return engine.verify(wasm, input, options)
    case 'ls': return engine.ls(wasm, input, options)
    case 'unpack': return engine.unpack(wasm, input, options)
    default: throw new Error(`carport worker: unknown operation ${op}`)
  }
}

self.onmessage = ({ data }) => {
  if (data.type === 'ack') {
    const resolve = acks.get(data.index)
    acks.delete(data.index)
    resolve?.()
    return
  }
  handle(data).then(
    (result) => self.postMessage({ type: 'done', result }),
    (error) => self.postMessage({ type: 'error', error: serializeError(error) })
  )
}
