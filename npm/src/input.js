// Turning what people pass to `pack` into one file or a tree of entries, and any content into an
// async iterable of Uint8Array slices that never holds a whole file: Blobs are read as streams a
// slice at a time, so files of 4 GiB and more work.

import { CarportError } from './errors.js'

/** Bytes handed on at a time (one slice in flight while the previous one is packed). */
export const SLICE = 4 << 20
/** Stream chunks are gathered up to this size before they are handed on. */
const GATHER = 1 << 20

/** The chunks of a byte stream, small ones gathered to about GATHER bytes, none over max. */
async function * coalesce (stream, max) {
  const reader = stream.getReader()
  let buf = null
  let len = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      const chunk = toU8(value)
      if (len === 0 && chunk.byteLength >= GATHER) {
        yield * split(chunk, max)
        continue
      }
      buf ??= new Uint8Array(GATHER)
      let at = 0
      while (at < chunk.byteLength) {
        const n = Math.min(GATHER - len, chunk.byteLength - at)
        buf.set(chunk.subarray(at, at + n), len)
        len += n
        at += n
        if (len === GATHER) {
          yield buf
          buf = new Uint8Array(GATHER)
          len = 0
        }
      }
    }
    if (len > 0) yield buf.subarray(0, len)
  } finally {
    reader.releaseLock()
  }
}

const isBlob = (x) => typeof Blob !== 'undefined' && x instanceof Blob
const isStream = (x) => typeof ReadableStream !== 'undefined' && x instanceof ReadableStream
const isBytes = (x) => x instanceof Uint8Array || x instanceof ArrayBuffer || ArrayBuffer.isView(x)
const isFileList = (x) => typeof FileList !== 'undefined' && x instanceof FileList
const isIterable = (x) => x != null && typeof x !== 'string' && (typeof x[Symbol.asyncIterator] === 'function' || typeof x[Symbol.iterator] === 'function')

function toU8 (x) {
  if (x instanceof Uint8Array) return x
  if (x instanceof ArrayBuffer) return new Uint8Array(x)
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength)
}

/**
 * @typedef {{ type: 'file', path: string, content: any, size?: number, mode?: number, mtime?: number }
 *   | { type: 'directory', path: string, mode?: number, mtime?: number }
 *   | { type: 'symlink', path: string, target: string, mode?: number, mtime?: number }} Entry
 * @typedef {{ kind: 'file', content: any, size?: number, name?: string, mtime?: number }
 *   | { kind: 'tree', entries: Iterable<Entry> | AsyncIterable<Entry>, size?: number }} Source
 */

/** Classifies `input`. */
export function source (input, options = {}) {
  if (isBlob(input) || isBytes(input) || isStream(input) || typeof input === 'string') {
    const size = isBlob(input) ? input.size : isBytes(input) ? input.byteLength : typeof input === 'string' ? undefined : undefined
    const name = options.name ?? (typeof input?.name === 'string' && input.name ? input.name : 'blob')
    const mtime = typeof input?.lastModified === 'number' ? input.lastModified : undefined
    if (options.wrap) {
      return { kind: 'tree', entries: [{ type: 'file', path: name, content: input, size, mtime }], size }
    }
    return { kind: 'file', content: input, size, name, mtime }
  }
  if (isFileList(input) || (Array.isArray(input) && input.every(isBlob))) {
    return fileListSource(Array.from(input), options)
  }
  if (isIterable(input)) {
    return { kind: 'tree', entries: entriesOf(input) }
  }
  throw new TypeError('carport: pack() takes a File, Blob, FileList, File[], ReadableStream<Uint8Array>, Uint8Array or an (async) iterable of { path, content }')
}

/** Files from `<input type=file multiple>` or `<input webkitdirectory>`, or an array of Files. */
function fileListSource (files, options) {
  const paths = files.map((f) => (f.webkitRelativePath || f.name || 'blob').replace(/^\/+/, ''))
  // A folder picked with webkitdirectory: every path starts with the folder's name. Like
  // `ipfs add -r folder` and `carport pack folder`, its contents are the root unless `wrap`.
  const first = paths.length > 0 && files.every((f) => f.webkitRelativePath) ? paths[0].split('/')[0] : null
  const strip = !options.wrap && first !== null && paths.every((p) => p.startsWith(first + '/'))
  const entries = files.map((f, i) => ({
    type: 'file',
    path: strip ? paths[i].slice(first.length + 1) : paths[i],
    content: f,
    size: f.size,
    mtime: typeof f.lastModified === 'number' ? f.lastModified : undefined
  }))
  entries.sort((a, b) => comparePaths(a.path, b.path))
  return { kind: 'tree', entries, size: entries.reduce((n, e) => n + e.size, 0) }
}

/** Name order folder by folder, as carport's CLI walks a tree. */
function comparePaths (a, b) {
  const x = a.split('/')
  const y = b.split('/')
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1
  }
  return x.length - y.length
}

async function * entriesOf (iterable) {
  for await (const e of iterable) {
    if (e == null || typeof e.path !== 'string') throw new TypeError('carport: each entry needs a string `path`')
    if (e.type === 'symlink' || typeof e.target === 'string') {
      yield { type: 'symlink', path: e.path, target: e.target, mode: e.mode, mtime: mtimeOf(e.mtime) }
    } else if (e.type === 'directory' || e.type === 'dir' || e.content === undefined || e.content === null) {
      yield { type: 'directory', path: e.path, mode: e.mode, mtime: mtimeOf(e.mtime) }
    } else {
      const c = e.content
      const size = isBlob(c) ? c.size : isBytes(c) ? c.byteLength : undefined
      yield { type: 'file', path: e.path, content: c, size, mode: e.mode, mtime: mtimeOf(e.mtime ?? c?.lastModified) }
    }
  }
}

function mtimeOf (m) {
  if (m == null) return undefined
  if (m instanceof Date) return m.getTime()
  if (typeof m === 'number') return m
  if (typeof m === 'object' && typeof m.secs === 'number') return m.secs * 1000 + (m.nsecs ?? 0) / 1e6
  return undefined
}

/**
 * The bytes of `content` as Uint8Array slices of at most `max` bytes. Blobs are read slice by
 * slice with the next read started before the current slice is handed out, into buffers taken
 * from `spare` when it has one (ArrayBuffers of `max` bytes the caller is done with: a fresh
 * buffer costs a page fault per 4 KiB).
 */
export async function * slices (content, max = SLICE, spare = []) {
  if (isBlob(content)) {
    try {
      yield * blobSlices(content, max, spare)
    } catch (e) {
      if (e?.name === 'AbortError' || e instanceof CarportError) throw e
      // Chromium fails the read of a File changed or removed on disk since it was picked, and of
      // a Blob in memory it had no room to keep (a private window keeps every Blob in memory, a
      // few hundred MB in all).
      const why = content.name
        ? `"${content.name}": it changed or went away after it was picked`
        : 'the Blob: the browser no longer holds its bytes (Blob storage full, as in a private window?)'
      throw new CarportError(`cannot read ${why} (${e?.message ?? e})`, { code: 'NotReadable' })
    }
    return
  }
  yield * otherSlices(content, max)
}

async function * blobSlices (content, max, spare) {
  if (typeof content.stream === 'function') {
    // Blob.stream(): Chromium reads a Blob's stream several times faster than slice().arrayBuffer()
    // calls, and a BYOB reader of it, which fills whole slices, several times faster again than
    // the default reader, whose small chunks must be gathered (~290, ~650 and 1000–3000 MB/s
    // here).
    const stream = content.stream()
    let reader
    try {
      reader = stream.getReader({ mode: 'byob' })
    } catch {
      yield * coalesce(stream, max)
      return
    }
    yield * filledSlices(content, reader, max, spare)
    return
  }
  let next = content.size > 0 ? content.slice(0, Math.min(max, content.size)).arrayBuffer() : null
  for (let off = 0; off < content.size; off += max) {
    const buf = await next
    const end = off + max
    next = end < content.size ? content.slice(end, Math.min(end + max, content.size)).arrayBuffer() : null
    yield new Uint8Array(buf)
  }
}

/** A read of a Blob's stream that has not settled after this long is given up and made again. */
const STALL_MS = 3000
/** Reads made again for one slice before the Blob is declared unreadable. */
const STALL_RETRIES = 3

/**
 * Slices of exactly `max` bytes (the last shorter), each read into a buffer of its own (taken
 * from `spare` when it has one); the next slice is read while the current one is packed.
 * Chromium 156 now and then never settles a read of a Blob's stream (about one job in twenty
 * while another worker hashed; and a 4.1 GiB test once hung in CI with no CPU used): such a read
 * is abandoned and the slice read again from a new stream of the rest of the Blob.
 */
async function * filledSlices (blob, reader, max, spare) {
  let start = 0
  const fill = async () => {
    for (let attempt = 0; ; attempt++) {
      let buf = spare.pop() ?? new ArrayBuffer(max)
      let filled = 0
      try {
        while (filled < max) {
          const { done, value } = await settledWithin(reader.read(new Uint8Array(buf, filled, max - filled)), STALL_MS)
          if (value) buf = value.buffer
          if (done) break
          filled += value.byteLength
        }
        start += filled
        return new Uint8Array(buf, 0, filled)
      } catch (e) {
        if (e !== STALLED) throw e
        if (attempt === STALL_RETRIES) throw new CarportError(`cannot read the Blob: no bytes came at offset ${start + filled} for ${STALL_MS} ms, ${STALL_RETRIES + 1} times`, { code: 'NotReadable' })
        reader.cancel().catch(() => {})
        reader = blob.slice(start).stream().getReader({ mode: 'byob' })
      }
    }
  }
  let next = fill()
  try {
    for (;;) {
      const slice = await next
      next = slice.byteLength === max ? fill() : null
      if (slice.byteLength > 0) yield slice
      if (!next) return
    }
  } finally {
    if (next) {
      next.catch(() => {})
      await reader.cancel().catch(() => {})
    } else {
      reader.releaseLock()
    }
  }
}

const STALLED = Symbol('stalled')

/** `promise`, or a rejection with STALLED if it has not settled within `ms`. */
function settledWithin (promise, ms) {
  let timer
  const stall = new Promise((resolve, reject) => { timer = setTimeout(() => reject(STALLED), ms) })
  return Promise.race([promise, stall]).finally(() => clearTimeout(timer))
}

async function * otherSlices (content, max) {
  if (typeof content === 'string') {
    yield * split(new TextEncoder().encode(content), max)
    return
  }
  if (isBytes(content)) {
    yield * split(toU8(content), max)
    return
  }
  if (isStream(content)) {
    const reader = content.getReader()
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        yield * split(toU8(value), max)
      }
    } finally {
      reader.releaseLock()
    }
  }
  if (isIterable(content)) {
    for await (const chunk of content) {
      if (typeof chunk === 'string') yield * split(new TextEncoder().encode(chunk), max)
      else yield * split(toU8(chunk), max)
    }
    return
  }
  throw new TypeError('carport: file content must be a Blob, Uint8Array, ArrayBuffer, string, ReadableStream or (async) iterable of Uint8Array')
}

/**
 * The bytes of `content` cut into leaves of exactly `size` bytes (the last one shorter, none
 * empty). Slices that hold whole leaves are cut without copying; `spare` is passed to `slices`.
 */
export async function * leaves (content, size, spare) {
  let buf = null
  let len = 0
  for await (const s of slices(content, Math.max(SLICE, size), spare)) {
    let at = 0
    if (len === 0) {
      for (; s.byteLength - at >= size; at += size) yield s.subarray(at, at + size)
    }
    while (at < s.byteLength) {
      buf ??= new Uint8Array(size)
      const n = Math.min(size - len, s.byteLength - at)
      buf.set(s.subarray(at, at + n), len)
      len += n
      at += n
      if (len === size) {
        yield buf
        buf = null
        len = 0
        for (; s.byteLength - at >= size; at += size) yield s.subarray(at, at + size)
      }
    }
  }
  if (len > 0) yield buf.subarray(0, len)
}

/**
 * Puts the buffer of a leaf from `leaves(content, size, spare)` back into `spare`, to be read
 * into again, when the leaf ends its slice. Call it once the leaf and every leaf before it are
 * done with (copied or hashed): the slice's other leaves share the buffer.
 */
export function reuseSlice (spare, leaf, size) {
  const slice = Math.max(SLICE, size)
  if (leaf.byteOffset + leaf.byteLength === slice && leaf.buffer.byteLength === slice && spare.length < 2) spare.push(leaf.buffer)
}

function * split (u8, max) {
  for (let off = 0; off < u8.byteLength; off += max) yield u8.subarray(off, Math.min(off + max, u8.byteLength))
}

/** CAR input for verify/ls/unpack: one CAR, or an array of CARs (shards of one DAG). */
export function carList (input) {
  if (Array.isArray(input) || (typeof FileList !== 'undefined' && input instanceof FileList)) {
    return Array.from(input, (x) => (x && typeof x === 'object' && 'blob' in x && isBlob(x.blob) ? x.blob : x))
  }
  return [input]
}
