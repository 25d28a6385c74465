// The work itself, wherever the Wasm module is: in a Web Worker (the default in browsers), in
// Node, in a Cloudflare Worker, or in a page that asked for no worker. Everything about bytes is
// carport-core's (through ../gen/carport_wasm.js); this file moves bytes between JavaScript's
// Blobs and streams and the Wasm module, a slice at a time.

import { CarportError, fromWasm, throwIfAborted } from './errors.js'
import { SLICE, carList, leaves, slices, source } from './input.js'

/** Bytes handed to the Wasm module per call: bounds the Wasm heap whatever the input. */
const WRITE = 1 << 20
/** Shards kept as one ArrayBuffer to hash with crypto.subtle at most this large; larger ones
 * are hashed in Wasm slice by slice. */
const SUBTLE_MAX = 256 << 20
const CAR_TYPE = 'application/vnd.ipld.car'
/** Leaves being hashed by crypto.subtle at once (it hashes off this thread, on several cores). */
const LEAVES_AHEAD = 8

const subtle = globalThis.crypto?.subtle

/**
 * Packs `input` into CAR shards.
 * @param {any} wasm the initialised wasm-bindgen module
 * @param {any} input
 * @param {object} options pack options (see index.d.ts)
 * @param {{ shard: (s: object) => Promise<void> | void, progress?: (p: object) => void, signal?: AbortSignal,
 *   sha256?: (parts: Uint8Array[]) => Promise<Uint8Array> | Uint8Array }} hooks
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
  const packer = construct(() => new wasm.Packer(wasmOptions(options), src.kind === 'tree'))
  // `gather`: the buffer a shard is gathered into to hash it, kept for the next shard (a fresh
  // 100 MB buffer costs its page faults and zeroing each time).
  const state = { parts: [], bytesRead: 0, shards: 0, previous: Promise.resolve(), gather: { buf: null } }
  const progress = () => hooks.progress?.({ bytesRead: state.bytesRead, bytesTotal: src.size, blocks: packer.blocks() })

  // `leaf`: the bytes a number in the events stands for (a leaf hashed here, kept out of Wasm).
  const out = async (events, leaf) => {
    for (const ev of events) {
      if (ev instanceof Uint8Array) {
        state.parts.push(ev)
      } else if (typeof ev === 'number') {
        state.parts.push(leaf)
      } else {
        // A shard closed. Its CID (and piece) are computed from its final bytes while packing
        // goes on; at most one shard waits for them.
        const parts = state.parts
        state.parts = []
        await state.previous
        throwIfAborted(signal)
        const done = finishShard(wasm, ev, parts, options, hooks.sha256, state.gather).then(hooks.shard)
        done.catch(() => {})
        state.previous = done
        state.shards++
      }
    }
  }
  // Fixed-size raw leaves are hashed with crypto.subtle (native SHA-256, off this thread and in
  // parallel) and never copied into Wasm; core builds the tree from their digests.
  const writeLeaves = async (content, size) => {
    const inflight = []
    let settled = 0
    const settle = async ({ leaf, digest }) => {
      const sha256 = new Uint8Array(await digest)
      throwIfAborted(signal)
      await out(call(() => packer.hashedLeaf(sha256, leaf.byteLength, leaf.byteLength <= 64 ? leaf : undefined)), leaf)
      state.bytesRead += leaf.byteLength
      if (++settled % 4 === 0) progress()
    }
    for await (const leaf of leaves(content, size)) {
      throwIfAborted(signal)
      inflight.push({ leaf, digest: subtle.digest('SHA-256', leaf) })
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
    await state.previous
    return { root, blocks: packer.blocks(), bytesRead: state.bytesRead, shards: state.shards, wasmHeap: { start: heapStart, end: wasm.heapSize() } }
  } finally {
    packer.free()
  }
}

function wasmOptions (o) {
  const keys = ['profile', 'chunker', 'layout', 'maxLinks', 'rawLeaves', 'cidVersion', 'hash', 'inlineLimit', 'carVersion', 'shardSize', 'hidden']
  const out = {}
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k]
  return out
}

/** The shard as a Blob, with the CID of its bytes (and its piece when asked), both computed from
 * the parts still in memory: nothing is read back from the Blob. `gather.buf` is reused: shards
 * are finished one at a time, and both crypto.subtle and Blob copy it before this returns a
 * promise. */
async function finishShard (wasm, end, parts, options, sha256, gather) {
  const all = [end.header, ...parts, end.trailer]
  const shard = { index: end.index, blob: null, size: end.size, cid: '', roots: end.roots, blocks: end.blocks, last: end.last }
  if (options.piece) {
    const piece = new wasm.Piece()
    for (const p of all) piece.update(p)
    shard.piece = piece.finish()
    piece.free()
  }
  if (sha256) {
    // The platform's native streaming SHA-256 (Node): no copy.
    shard.cid = wasm.carCidFromDigest(await sha256(all))
    shard.blob = new Blob(all, { type: CAR_TYPE })
  } else if (subtle && end.size <= SUBTLE_MAX) {
    // crypto.subtle takes one buffer: gather the parts into it (the Blob is made from it too).
    if ((gather.buf?.byteLength ?? 0) < end.size) gather.buf = new Uint8Array(end.size)
    const buf = gather.buf.subarray(0, end.size)
    let at = 0
    for (const p of all) {
      buf.set(p, at)
      at += p.byteLength
    }
    all.length = 0
    parts.length = 0
    const digest = subtle.digest('SHA-256', buf)
    shard.blob = new Blob([buf], { type: CAR_TYPE })
    shard.cid = wasm.carCidFromDigest(new Uint8Array(await digest))
  } else {
    const h = new wasm.CarCid()
    for (const p of all) h.update(p)
    shard.cid = h.finish()
    h.free()
    shard.blob = new Blob(all, { type: CAR_TYPE })
  }
  if (shard.blob.size !== end.size) throw new CarportError(`shard ${end.index} is ${shard.blob.size} bytes, expected ${end.size}`, { code: 'Internal' })
  return shard
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
  return call(() => wasm.list(root, (cid) => blocks.get(cid)))
}

/** Unpacks a CAR (or shard set) into entries; files carry their bytes as a Blob `content`. */
export async function unpack (wasm, input, options = {}, signal, each) {
  const { blocks, roots } = await load(wasm, input, signal)
  const root = rootOf(roots, options)
  const get = (cid) => blocks.get(cid)
  const entries = call(() => wasm.list(root, get))
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
