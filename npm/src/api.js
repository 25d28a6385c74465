// The public API, the same in every environment. An entry (browser.js, node.js, workerd.js)
// gives it a way to load the Wasm module and, in browsers, a way to start a Web Worker; with a
// worker the work runs there and only messages (and Blobs, and transferred streams) cross.

import * as engine from './engine.js'
import { CarportError, abortError, deserializeError, fromWasm, throwIfAborted } from './errors.js'

/** Options that cross to the worker (functions and signals stay here). */
function plain (options) {
  const out = {}
  for (const [k, v] of Object.entries(options ?? {})) {
    if (typeof v === 'function' || k === 'signal' || k === 'worker') continue
    out[k] = typeof URL !== 'undefined' && v instanceof URL ? String(v) : v
  }
  return out
}

const isStream = (x) => typeof ReadableStream !== 'undefined' && x instanceof ReadableStream
const isBlob = (x) => typeof Blob !== 'undefined' && x instanceof Blob
const isFileList = (x) => typeof FileList !== 'undefined' && x instanceof FileList
const isBytes = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x)

/**
 * @param {{ wasm: () => Promise<any>, worker?: (option: any) => (Worker | null),
 *   sha256?: (parts: Uint8Array[]) => Uint8Array | Promise<Uint8Array>,
 *   pool?: (options: object, wasm: any) => ({ size: number, start: () => any, init?: any } | null) }} platform
 *   `pool`: how this platform starts hashing workers for `pack` in this thread (pool.js).
 */
export function createApi (platform) {
  /** Starts a worker for one job, or returns null to work in this thread. */
  const spawn = (options) => (options?.worker === false ? null : platform.worker?.(options?.worker) ?? null)

  /**
   * A job in a worker: posts the request, routes messages, ends the worker when done or aborted.
   * `on(type, data, reply)` handles messages other than 'done' and 'error'.
   */
  function remote (w, request, transfer, signal, on) {
    return new Promise((resolve, reject) => {
      let over = false
      const end = (f, v) => {
        if (over) return
        over = true
        signal?.removeEventListener('abort', onAbort)
        w.terminate()
        f(v)
      }
      const onAbort = () => end(reject, signal.reason ?? abortError())
      signal?.addEventListener('abort', onAbort)
      w.onmessage = ({ data }) => {
        if (data.type === 'done') end(resolve, data.result)
        else if (data.type === 'error') end(reject, deserializeError(data.error))
        else on?.(data.type, data, (msg) => w.postMessage(msg))
      }
      w.onerror = (e) => {
        e.preventDefault?.()
        end(reject, new CarportError(`carport worker failed: ${e.message ?? 'could not start (is carport/worker served beside the module?)'}`, { code: 'Worker' }))
      }
      w.onmessageerror = () => end(reject, new CarportError('a message from the carport worker could not be read', { code: 'Worker' }))
      try {
        w.postMessage(request, transfer)
      } catch (e) {
        end(reject, e)
      }
    })
  }

  /** What to post for `input`, or null when it cannot cross to a worker. */
  function forWorker (input) {
    if (isBlob(input) || isFileList(input) || isBytes(input) || typeof input === 'string') return { input, transfer: [] }
    if (Array.isArray(input) && input.every(isBlob)) return { input, transfer: [] }
    if (isStream(input)) return { input: { $stream: input }, transfer: [input] }
    if (input != null && (typeof input[Symbol.asyncIterator] === 'function' || typeof input[Symbol.iterator] === 'function')) {
      const stream = entryStream(input)
      return { input: { $entries: stream }, transfer: [stream] }
    }
    return null
  }

  /**
   * Packs `input` into CAR shards. Returns at once; the shards arrive on `shards` as they are
   * made and the root CID settles at the end.
   */
  function pack (input, options = {}) {
    const signal = options.signal
    const onProgress = options.onProgress
    const inner = new AbortController()
    const stop = (reason) => inner.abort(reason ?? abortError())
    if (signal) {
      if (signal.aborted) stop(signal.reason)
      else signal.addEventListener('abort', () => stop(signal.reason), { once: true })
    }
    let settle
    const root = new Promise((resolve, reject) => { settle = { resolve, reject } })
    root.catch(() => {})
    let summary
    let wake = null
    // Packing waits for a reader of `shards` that is behind; with no reader at all (only `root`
    // awaited) every shard is kept until it is read.
    const room = (controller) => !shards.locked || controller.desiredSize > 0 ? undefined : new Promise((resolve) => { wake = resolve })
    const shards = new ReadableStream({
      start (controller) {
        const emit = (shard) => {
          controller.enqueue(shard)
          return room(controller)
        }
        run(input, options, emit, onProgress, inner.signal).then((result) => {
          summary = result
          settle.resolve(result.root)
          controller.close()
        }, (e) => {
          settle.reject(e)
          try { controller.error(e) } catch {}
        })
      },
      pull () {
        const w = wake
        wake = null
        w?.()
      },
      cancel (reason) {
        stop(reason)
      }
    }, { highWaterMark: 1 })

    const done = root.then(() => summary)
    done.catch(() => {})
    return {
      root,
      shards,
      /** Resolves at the end with `{ root, blocks, bytesRead, shards, wasmHeap }`. */
      done,
      /** Reads every shard; resolves with the root and the shards in order. */
      async collect () {
        const all = []
        const reader = shards.getReader()
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          all.push(value)
        }
        return { root: await root, shards: all, blocks: summary?.blocks, bytesRead: summary?.bytesRead, wasmHeap: summary?.wasmHeap }
      }
    }
  }

  async function run (input, options, emit, onProgress, signal) {
    throwIfAborted(signal)
    const w = spawn(options)
    const crossing = w && await prepare(input)
    if (!w || !crossing) {
      w?.terminate()
      const wasm = await platform.wasm()
      return engine.pack(wasm, input, options, { shard: emit, progress: onProgress, signal, sha256: platform.sha256, pool: platform.pool?.(options, wasm) })
    }
    return remote(w, { op: 'pack', input: crossing.input, options: plain(options) }, crossing.transfer, signal, async (type, data, reply) => {
      if (type === 'progress') onProgress?.(data.progress)
      else if (type === 'shard') {
        await emit(data.shard)
        reply({ type: 'ack', index: data.shard.index })
      }
    })
  }

  /** What to post, or null to work in this thread (a stream needs transferable streams). */
  async function prepare (input) {
    const crossing = forWorker(input)
    if (!crossing) return null
    if (crossing.transfer.length > 0 && !supportsStreamTransfer()) return null
    return crossing
  }

  /** An operation on CAR input (verify, ls, unpack): in a worker when there is one. */
  async function carOp (op, input, options = {}) {
    const signal = options.signal
    throwIfAborted(signal)
    const w = spawn(options)
    const crossing = w && carCrossing(input)
    if (!w || !crossing) {
      w?.terminate()
      const wasm = await platform.wasm()
      return engine[op](wasm, input, plain(options), signal)
    }
    return remote(w, { op, input: crossing.input, options: plain(options) }, crossing.transfer, signal)
  }

  function carCrossing (input) {
    const list = Array.isArray(input) ? input.map((x) => (x && typeof x === 'object' && 'blob' in x ? x.blob : x)) : [input]
    if (list.some((x) => isStream(x)) && !supportsStreamTransfer()) return null
    if (!list.every((x) => isBlob(x) || isBytes(x) || isStream(x))) return null
    const transfer = list.filter(isStream)
    return { input: Array.isArray(input) ? list : list[0], transfer }
  }

  return {
    pack,
    /** Verifies a CAR (bytes, Blob or stream) or an array of shards of one DAG. */
    verifyCar: (input, options) => carOp('verify', input, options),
    /** Lists the UnixFS tree in a CAR (or shards). */
    ls: (input, options) => carOp('ls', input, options),
    /** Unpacks a CAR (or shards) into `{ path, type, cid, content }` entries. */
    unpack: (input, options) => carOp('unpack', input, options),
    /** The Filecoin piece CID of any bytes (a CAR). */
    pieceCid: async (input, options = {}) => {
      const wasm = await platform.wasm()
      return engine.piece(wasm, input, options.signal)
    },
    /** The CID of a CAR's bytes (codec car, sha2-256). */
    carCid: async (blob) => {
      const wasm = await platform.wasm()
      return engine.carCid(wasm, isBlob(blob) ? blob : new Blob([blob]))
    },
    /**
     * Checks an archive record (`GET /archive/{root}` of the edge worker) against piece CIDs the
     * caller computed itself (`shard.piece.cid` from `pack`): each must be placed in the record's
     * aggregate by its inclusion proof. Resolves `{ piece, aggregate, stage, deal? }` (an array
     * for an array of pieces); throws a CarportError otherwise.
     */
    verifyArchive: async (record, { pieceCid } = {}) => {
      const wasm = await platform.wasm()
      if (pieceCid === undefined) throw new CarportError('verifyArchive needs the pieceCid you computed', { code: 'Settings' })
      const check = (p) => {
        try {
          return wasm.verifyArchive(record, String(p))
        } catch (e) {
          throw fromWasm(e)
        }
      }
      return Array.isArray(pieceCid) ? pieceCid.map(check) : check(pieceCid)
    },
    /** Multihash digest with carport's Wasm hashes (for benchmarks): `alg` is one of core's hash names. */
    digest: async (alg, bytes) => (await platform.wasm()).digest(alg, bytes),
    /** Bytes of this thread's Wasm memory (its peak: it only grows); for tests and benchmarks. */
    heapSize: async () => (await platform.wasm()).heapSize()
  }
}

let streamTransfer
function supportsStreamTransfer () {
  if (streamTransfer !== undefined) return streamTransfer
  try {
    const s = new ReadableStream()
    structuredClone(s, { transfer: [s] })
    streamTransfer = true
  } catch {
    streamTransfer = false
  }
  return streamTransfer
}

/**
 * Entries of an (async) iterable as a ReadableStream that can be transferred to the worker.
 * Entry contents must be cloneable: Blobs and bytes cross as they are; streamed contents are
 * gathered into a Blob first (the browser keeps large Blobs on disk).
 */
function entryStream (iterable) {
  const it = typeof iterable[Symbol.asyncIterator] === 'function' ? iterable[Symbol.asyncIterator]() : iterable[Symbol.iterator]()
  return new ReadableStream({
    async pull (controller) {
      const { done, value } = await it.next()
      if (done) return controller.close()
      const e = { ...value }
      const c = e.content
      if (c != null && !isBlob(c) && !isBytes(c) && typeof c !== 'string') {
        e.content = isStream(c) ? await new Response(c).blob() : await blobOf(c)
      }
      controller.enqueue(e)
    },
    async cancel () { await it.return?.() }
  }, { highWaterMark: 0 })
}

async function blobOf (iterable) {
  const parts = []
  for await (const p of iterable) parts.push(p)
  return new Blob(parts)
}
