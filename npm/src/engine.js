// The work itself, wherever the Wasm module is: in a Web Worker (the default in browsers), in
// Node, in a Cloudflare Worker, or in a page that asked for no worker. Everything about bytes is
// carport-core's (through ../gen/carport_wasm.js); this file moves bytes between JavaScript's
// Blobs and streams and the Wasm module, a slice at a time.

import { CarportError, fromWasm, throwIfAborted } from './errors.js'
import { Gather } from './gather.js'
import { SLICE, carList, leaves, reuseSlice, slices, source } from './input.js'
import { Pool } from './pool.js'
import { runTask } from './pool-jobs.js'

/** Bytes handed to the Wasm module per call: bounds the Wasm heap whatever the input. */
const WRITE = 1 << 20
/** Shards kept as one ArrayBuffer to hash with crypto.subtle at most this large; larger ones
 * are hashed in Wasm slice by slice. */
const SUBTLE_MAX = 256 << 20
const CAR_TYPE = 'application/vnd.ipld.car'
/** Leaves given to crypto.subtle before the first is awaited. */
const LEAVES_AHEAD = 8
/** In `parts`, a leaf whose bytes were gathered and not kept (the shard Blob is then made from
 * the gathered buffer). */
const GATHERED = Symbol('gathered')
/** Inputs smaller than this are packed without a pool (starting workers costs ~40 ms each). */
const POOL_MIN = 16 << 20
/** Shards hashed at once with a pool (each one's runs spread over the workers). */
const POOL_SHARDS = 2
/** log2 of the quads of a piece run: 2^15 quads = 4,161,536 payload bytes (core's
 * `subtree_len(15)`), made smaller for small shards so every worker gets runs. */
const RUN_LOG2 = 15
const RUN_LOG2_MIN = 10

const subtle = globalThis.crypto?.subtle

/**
 * Packs `input` into CAR shards.
 * @param {any} wasm the initialised wasm-bindgen module
 * @param {any} input
 * @param {object} options pack options (see index.d.ts)
 * @param {{ shard: (s: object) => Promise<void> | void, progress?: (p: object) => void, signal?: AbortSignal,
 *   sha256?: (parts: Uint8Array[]) => Promise<Uint8Array> | Uint8Array,
 *   pool?: { size: number, start: () => any, init?: any } | null }} hooks
 *   `pool`: how to start hashing workers (pool.js); with `size` > 1 and `piece`, each shard's
 *   piece runs are hashed there while this thread packs on.
 *   `sha256`, when the platform has a native streaming SHA-256 (Node's node:crypto), hashes a
 *   shard's parts for its CID; otherwise crypto.subtle or Wasm does.
 *   `shard` is called in order for each finished shard; packing waits for the promise it returns
 *   (this is how a slow reader of the shards holds packing back).
 * @returns {Promise<{ root: string, blocks: number, bytesRead: number, shards: number }>}
 */
export async function pack (wasm, input, options, hooks) {
  const signal = hooks.signal
  throwIfAborted(signal)
  const src = source(input, options)
  const heapStart = wasm.heapSize()
  const packer = construct(() => new wasm.Packer(wasmOptions(wasm, options), src.kind === 'tree'))
  // `gather`: when crypto.subtle hashes the shards, each is gathered into one buffer as it is made.
  // `parts`: what the shard Blob is made of, when not of the gathered buffer.
  const shardSize = options.shardSize ?? wasm.defaultShardSize()
  const gather = !hooks.sha256 && subtle && shardSize <= SUBTLE_MAX ? new Gather(shardSize, src.size) : null
  const state = { parts: [], gathered: 0, bytesRead: 0, shards: 0, previous: Promise.resolve(), emitted: [] }
  // Only piece runs go to the pool so far (the CAR CID stays one crypto.subtle / node:crypto pass
  // here): without `piece` a pool would only cost its start.
  const poolSize = !options.piece || (hooks.pool && src.size !== undefined && src.size < POOL_MIN) ? 1 : (hooks.pool?.size ?? 1)
  const pool = poolSize > 1 ? new Pool(poolSize, hooks.pool.start, hooks.pool.init) : null
  const closePool = () => pool?.close()
  // Waiting on the pool, this thread hashes piece runs too.
  const local = async (task) => (await runTask(wasm, task)).result
  const help = (promise) => pool ? pool.helpWhile(promise, local) : promise
  signal?.addEventListener('abort', closePool)
  const progress = () => hooks.progress?.({ bytesRead: state.bytesRead, bytesTotal: src.size, blocks: packer.blocks() })

  // `leaf`: the bytes a number in the events stands for (a leaf hashed here, kept out of Wasm);
  // `ref`: the slice of the input File they were read from, which the shard Blob can take
  // instead of a copy.
  const out = async (events, leaf, ref) => {
    for (const ev of events) {
      if (ev instanceof Uint8Array) {
        state.parts.push(ev)
        gather?.push(ev)
      } else if (typeof ev === 'number') {
        if (gather) {
          gather.push(leaf)
          state.parts.push(ref ?? GATHERED)
          if (!ref) state.gathered++
        } else {
          state.parts.push(leaf)
        }
      } else {
        // A shard closed. Its CID (and piece) are computed from its final bytes while packing
        // goes on; at most one shard waits for them.
        const parts = state.gathered ? null : state.parts
        state.parts = []
        state.gathered = 0
        // Shards being hashed or handed on: one without a pool, POOL_SHARDS with one.
        const workers = pool ? await pool.ready : 0
        while (state.emitted.length >= (workers ? POOL_SHARDS : 1)) await help(state.emitted.shift())
        throwIfAborted(signal)
        const hashing = workers
          ? finishPooled(wasm, pool, workers, ev, gather && gather.take(ev.header, ev.trailer), parts, options, hooks.sha256)
          : gather
            ? finishGathered(wasm, ev, gather.take(ev.header, ev.trailer), parts, options)
            : finishShard(wasm, ev, parts, options, hooks.sha256)
        hashing.catch(() => {})
        const done = state.previous.then(() => hashing).then(hooks.shard)
        done.catch(() => {})
        state.previous = done
        state.emitted.push(done)
        state.shards++
      }
    }
  }
  // Fixed-size raw leaves are hashed with crypto.subtle (native SHA-256, 3-5x Wasm's from 64 KiB
  // up) and never copied into Wasm; core builds the tree from their digests.
  const writeLeaves = async (content, size) => {
    const inflight = []
    let settled = 0
    const settle = async ({ leaf, ref, digest }) => {
      const sha256 = new Uint8Array(await digest)
      throwIfAborted(signal)
      await out(call(() => packer.hashedLeaf(sha256, leaf.byteLength, leaf.byteLength <= 64 ? leaf : undefined)), leaf, ref)
      // Gathered, the leaf's bytes are no longer needed (leaves settle in order).
      if (gather) reuseSlice(spare, leaf, size)
      state.bytesRead += leaf.byteLength
      if (++settled % 4 === 0) progress()
    }
    // A File's bytes stay where they are: the shard Blob takes slices of it (a Blob made in
    // memory would have its slices copied, so it is not sliced).
    const file = gather && typeof File !== 'undefined' && content instanceof File ? content : null
    let at = 0
    const spare = []
    for await (const leaf of leaves(content, size, spare)) {
      throwIfAborted(signal)
      const ref = file?.slice(at, at + leaf.byteLength)
      at += leaf.byteLength
      inflight.push({ leaf, ref, digest: subtle.digest('SHA-256', leaf) })
      if (inflight.length >= LEAVES_AHEAD) await settle(inflight.shift())
    }
    while (inflight.length) await settle(inflight.shift())
  }
  const write = async (content) => {
    const size = subtle ? packer.leafSize() : undefined
    if (size) return writeLeaves(content, size)
    for await (const slice of slices(content, SLICE)) {
      for (let off = 0; off < slice.byteLength; off += WRITE) {
        throwIfAborted(signal)
        const part = slice.subarray(off, Math.min(off + WRITE, slice.byteLength))
        await out(call(() => packer.write(part)))
        state.bytesRead += part.byteLength
      }
      progress()
    }
  }

  try {
    if (src.kind === 'file') {
      call(() => packer.beginFile(src.name ?? '', undefined, options.preserveMtime ? src.mtime : undefined))
      await write(src.content)
    } else {
      for await (const e of src.entries) {
        throwIfAborted(signal)
        if (!packer.includes(e.path)) continue
        const mode = options.preserveMode ? e.mode : undefined
        const mtime = options.preserveMtime ? e.mtime : undefined
        if (e.type === 'directory') {
          call(() => packer.addDir(e.path, mode, mtime))
        } else if (e.type === 'symlink') {
          call(() => packer.addSymlink(e.path, e.target, mode, mtime))
        } else {
          call(() => packer.beginFile(e.path, mode, mtime))
          await write(e.content)
          call(() => packer.endFile())
        }
        await out(call(() => packer.take()))
      }
    }
    throwIfAborted(signal)
    const root = call(() => packer.finish())
    await out(call(() => packer.take()))
    progress()
    await help(state.previous)
    // `pool`: the largest Wasm heap a pool worker reported (0 without a pool).
    return { root, blocks: packer.blocks(), bytesRead: state.bytesRead, shards: state.shards, wasmHeap: { start: heapStart, end: wasm.heapSize(), pool: pool?.heap ?? 0 } }
  } finally {
    signal?.removeEventListener('abort', closePool)
    closePool()
    packer.free()
  }
}

/** The options the Wasm packer reads; it names its keys itself (`packOptionKeys`). */
function wasmOptions (wasm, o) {
  const out = {}
  for (const k of wasm.packOptionKeys()) if (o[k] !== undefined) out[k] = o[k]
  return out
}

/** What `pack` hands out for a shard: its Blob and CID (and piece), and where it sits. */
function shardOf (end, blob) {
  if (blob.size !== end.size) throw new CarportError(`shard ${end.index} is ${blob.size} bytes, expected ${end.size}`, { code: 'Internal' })
  return { index: end.index, blob, size: end.size, cid: '', roots: end.roots, blocks: end.blocks, last: end.last }
}

/** `parts` through a Wasm hasher (`wasm.Piece`, `wasm.CarCid`) a slice at a time, so the heap
 * stays flat; the hasher is freed. */
function hashParts (hasher, parts) {
  try {
    for (const p of parts) {
      for (let off = 0; off < p.byteLength; off += WRITE) hasher.update(p.subarray(off, off + WRITE))
    }
    return hasher.finish()
  } finally {
    hasher.free()
  }
}

/**
 * A shard gathered into one buffer (`bytes`, reused for the next shard once this returns a
 * promise): crypto.subtle copies it before it returns. The Blob is made of `parts` (the small CAR
 * bytes and slices of the input File) when they are all there, else of the buffer.
 */
async function finishGathered (wasm, end, bytes, parts, options) {
  const shard = shardOf(end, new Blob(parts ? [end.header, ...parts, end.trailer] : [bytes], { type: CAR_TYPE }))
  if (options.piece) shard.piece = hashParts(new wasm.Piece(), [bytes])
  const digest = subtle.digest('SHA-256', bytes)
  shard.cid = wasm.carCidFromDigest(new Uint8Array(await digest))
  return shard
}

/** A shard from its parts in memory: hashed by the platform's streaming SHA-256 (`sha256`,
 * Node's node:crypto), or by Wasm slice by slice when crypto.subtle cannot take it in one. */
async function finishShard (wasm, end, parts, options, sha256) {
  const all = [end.header, ...parts, end.trailer]
  const shard = shardOf(end, new Blob(all, { type: CAR_TYPE }))
  if (options.piece) shard.piece = hashParts(new wasm.Piece(), all)
  shard.cid = sha256 ? wasm.carCidFromDigest(await sha256(all)) : hashParts(new wasm.CarCid(), all)
  return shard
}

/**
 * A shard hashed with the pool: its piece as runs (subtrees of the piece tree) spread over the
 * workers and joined here; its CAR CID by the platform's SHA-256 here, as without a pool
 * (crypto.subtle, node:crypto), while the workers hash the runs.
 */
async function finishPooled (wasm, pool, workers, end, gathered, parts, options, sha256) {
  let cid
  let shard
  if (gathered) {
    // The gathered buffer is gathered into again once this returns: crypto.subtle copies it
    // before it returns, and the runs are copied out of it below.
    shard = shardOf(end, new Blob(parts ? [end.header, ...parts, end.trailer] : [gathered], { type: CAR_TYPE }))
    const digest = subtle.digest('SHA-256', gathered)
    cid = digest.then((d) => wasm.carCidFromDigest(new Uint8Array(d)))
    parts = [gathered]
  } else {
    const all = [end.header, ...parts, end.trailer]
    shard = shardOf(end, new Blob(all, { type: CAR_TYPE }))
    cid = sha256 ? Promise.resolve(sha256(all)).then((d) => wasm.carCidFromDigest(d)) : Promise.resolve(hashParts(new wasm.CarCid(), all))
    parts = all
  }
  const piece = options.piece ? pieceOfRuns(wasm, pool, workers, end.size, parts) : null
  piece?.catch(() => {})
  shard.cid = await cid
  if (piece) shard.piece = await piece
  return shard
}

/** The runs a shard of `size` bytes is cut into for `workers`: `[start, end)` pairs. */
export function runsOf (size, workers) {
  let log2 = RUN_LOG2
  while (log2 > RUN_LOG2_MIN && size < 2 * workers * (127 * 2 ** log2)) log2--
  const len = 127 * 2 ** log2
  const runs = []
  for (let at = 0; at < size; at += len) runs.push([at, Math.min(at + len, size)])
  return runs
}

/** A shard's piece from the roots of its runs, each copied out of `parts` (the shard's bytes in
 * memory), transferred to the pool, hashed there (or here, see `helpWhile`), and joined here. */
async function pieceOfRuns (wasm, pool, workers, size, parts) {
  const runs = runsOf(size, workers)
  const cut = copyRuns(parts, runs)
  const roots = await Promise.all(cut.map((bytes) => pool.run({ op: 'run', bytes }, [bytes.buffer])))
  pool.heap = Math.max(pool.heap ?? 0, ...roots.map((r) => r.heap ?? 0))
  const all = new Uint8Array(32 * roots.length)
  roots.forEach((r, i) => all.set(r.root, 32 * i))
  try {
    return wasm.pieceJoin(all, Uint8Array.from(roots, (r) => r.height), Float64Array.from(roots, (r) => r.payload))
  } catch (e) {
    throw fromWasm(e)
  }
}

/** `parts` (a shard's bytes in order) copied into one buffer per run. */
function copyRuns (parts, runs) {
  const out = runs.map(([start, end]) => new Uint8Array(end - start))
  let run = 0
  let filled = 0
  for (const p of parts) {
    let at = 0
    while (at < p.byteLength) {
      const n = Math.min(out[run].byteLength - filled, p.byteLength - at)
      out[run].set(p.subarray(at, at + n), filled)
      filled += n
      at += n
      if (filled === out[run].byteLength) {
        run++
        filled = 0
      }
    }
  }
  return out
}

async function carCidSubtle (wasm, blob) {
  const digest = await subtle.digest('SHA-256', await blob.arrayBuffer())
  return wasm.carCidFromDigest(new Uint8Array(digest))
}

/** The CID of a CAR held in a Blob: crypto.subtle (native SHA-256) when the CAR fits one buffer
 * comfortably, else Wasm SHA-256 over slices. */
export async function carCid (wasm, blob) {
  if (subtle && blob.size <= SUBTLE_MAX) return carCidSubtle(wasm, blob)
  const h = new wasm.CarCid()
  try {
    for await (const s of slices(blob)) h.update(s)
    return h.finish()
  } finally {
    h.free()
  }
}

/**
 * Verifies a CAR, or a set of CAR shards of one DAG given as an array (checked together: each
 * block hashes to its CID, every block reachable from the roots is in one of them).
 */
export async function verify (wasm, input, options = {}, signal) {
  const cars = carList(input)
  const v = construct(() => new wasm.CarVerifier(options.root))
  let i = 0
  try {
    for (; i < cars.length; i++) {
      if (i > 0) call(() => v.nextCar(), { shard: i - 1 })
      for await (const s of slices(cars[i], SLICE)) {
        throwIfAborted(signal)
        call(() => v.push(s), cars.length > 1 ? { shard: i } : {})
      }
    }
    return call(() => v.finish(), cars.length > 1 ? { shard: cars.length - 1 } : {})
  } finally {
    v.free()
  }
}

/** Reads CARs into a map of blocks (each checked against its CID); returns it and the roots. */
async function load (wasm, input, signal) {
  const blocks = new Map()
  let roots = []
  const cars = carList(input)
  for (let i = 0; i < cars.length; i++) {
    const r = new wasm.CarBlocks()
    const extra = cars.length > 1 ? { shard: i } : {}
    try {
      const take = (pairs) => { for (const [cid, bytes] of pairs) blocks.set(cid, bytes) }
      for await (const s of slices(cars[i], SLICE)) {
        throwIfAborted(signal)
        take(call(() => r.push(s), extra))
      }
      take(call(() => r.close(), extra))
      const declared = r.roots()
      if (declared.length) roots = declared
    } finally {
      r.free()
    }
  }
  return { blocks, roots }
}

function rootOf (roots, options) {
  const root = options.root ?? roots[0]
  if (!root) throw new CarportError('the CAR declares no roots; pass { root }', { code: 'NoRoots' })
  return root
}

/** Lists the UnixFS tree of a CAR (or shard set): `[{ path, cid, type, size?, target?, mode? }]`. */
export async function ls (wasm, input, options = {}, signal) {
  const { blocks, roots } = await load(wasm, input, signal)
  const root = rootOf(roots, options)
  return call(() => wasm.list(root, (cid) => blocks.get(cid), options.maxEntries))
}

/** Unpacks a CAR (or shard set) into entries; files carry their bytes as a Blob `content`. */
export async function unpack (wasm, input, options = {}, signal, each) {
  const { blocks, roots } = await load(wasm, input, signal)
  const root = rootOf(roots, options)
  const get = (cid) => blocks.get(cid)
  const entries = call(() => wasm.list(root, get, options.maxEntries))
  const out = []
  for (const e of entries) {
    throwIfAborted(signal)
    if (e.type === 'file') {
      const parts = []
      call(() => wasm.readFile(e.cid, get, (bytes) => { parts.push(bytes) }))
      e.content = new Blob(parts)
    }
    if (each) await each(e)
    else out.push(e)
  }
  return out
}

/** A Filecoin piece CID over any bytes (a CAR, a Blob). */
export async function piece (wasm, input, signal) {
  const h = new wasm.Piece()
  try {
    for await (const s of slices(input, SLICE)) {
      throwIfAborted(signal)
      h.update(s)
    }
    return h.finish()
  } finally {
    h.free()
  }
}

function call (f, extra) {
  try {
    return f()
  } catch (e) {
    throw fromWasm(e, extra)
  }
}

function construct (f) {
  return call(f)
}
