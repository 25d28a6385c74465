// Deterministic input generation for the cross-implementation tests.
//
// Everything here is a pure function of its arguments (seeds are strings), so
// every run produces byte-identical inputs and therefore identical CIDs.
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

/**
 * kubo's deterministic data generator (test/cli/testutils/random_deterministic.go):
 * raw ChaCha20 keystream, key = sha256(seed), nonce = 12 zero bytes, counter 0.
 * With kubo's seeds this reproduces the IPIP-499 fixtures.
 */
export function detBytes (size, seed) {
  const key = crypto.createHash('sha256').update(seed).digest()
  // OpenSSL's chacha20 IV = 4-byte LE block counter (0) || 12-byte nonce (0)
  const c = crypto.createCipheriv('chacha20', key, Buffer.alloc(16))
  return Buffer.concat([c.update(Buffer.alloc(size)), c.final()])
}

/** Write `size` deterministic bytes to `file` in 1 MiB pieces (for big inputs). */
export function writeDetFile (file, size, seed) {
  const key = crypto.createHash('sha256').update(seed).digest()
  const c = crypto.createCipheriv('chacha20', key, Buffer.alloc(16))
  const zero = Buffer.alloc(1 << 20)
  const fd = fs.openSync(file, 'w')
  try {
    for (let left = size; left > 0;) {
      const n = Math.min(left, zero.length)
      fs.writeSync(fd, c.update(zero.subarray(0, n)))
      left -= n
    }
  } finally {
    fs.closeSync(fd)
  }
}

/** Small seeded PRNG (mulberry32) for structural choices. */
export function prng (seed) {
  let a = crypto.createHash('sha256').update(String(seed)).digest().readUInt32LE(0)
  const next = () => {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (arr) => arr[Math.floor(next() * arr.length)]
  }
}

const WORDS = ('lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor ' +
  'incididunt ut labore et dolore magna aliqua café naïve 日本語 テキスト 🚗 carport\n').split(' ')

/** Deterministic UTF-8 text of exactly `size` bytes (may end mid-word / mid-codepoint). */
export function textBytes (size, seed) {
  const r = prng(seed)
  const parts = []
  let len = 0
  while (len < size) {
    const w = Buffer.from(r.pick(WORDS) + ' ')
    parts.push(w)
    len += w.length
  }
  return Buffer.concat(parts).subarray(0, size)
}

/**
 * kubo's createDeterministicFiles names (test/cli/add_test.go): consecutive
 * bytes of one ChaCha20 stream mapped onto AlphabetEasy (which has '0' twice).
 */
const ALPHABET_EASY = [...'abcdefghijklmnopqrstuvwxyz01234567890-_']
export function kuboDirNames (numFiles, nameLen, lastNameLen, seed) {
  const stream = detBytes(1 << 20, seed)
  let off = 0
  const out = []
  for (let i = 0; i < numFiles; i++) {
    const n = i === numFiles - 1 ? lastNameLen : nameLen
    const buf = stream.subarray(off, off + n)
    off += n
    out.push([...buf].map(b => ALPHABET_EASY[b % ALPHABET_EASY.length]).join(''))
  }
  return out
}

let tmpBase
/** A fresh directory under os.tmpdir() for one test file; removed by cleanupTmp(). */
export function tmpDir (label) {
  if (tmpBase == null) {
    tmpBase = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-xtest-'))
  }
  const d = path.join(tmpBase, label)
  fs.mkdirSync(d, { recursive: true })
  return d
}

export function cleanupTmp () {
  if (tmpBase != null && process.env.CARPORT_KEEP_TMP == null) {
    fs.rmSync(tmpBase, { recursive: true, force: true })
    tmpBase = undefined
  }
}

/**
 * Materialise a tree. `entries` is a list of
 *   { path: 'a/b.txt', content: Buffer|string }   file
 *   { path: 'a/empty', dir: true }                 (possibly empty) directory
 *   { path: 'a/link', symlink: 'b.txt' }           symlink
 * relative to `root` (created if missing). Returns `root`.
 */
export function writeTree (root, entries) {
  const made = new Set()
  const mkdir = (d) => {
    if (made.has(d)) return
    fs.mkdirSync(d, { recursive: true })
    made.add(d)
  }
  mkdir(root)
  for (const e of entries) {
    const p = path.join(root, e.path)
    if (e.dir) {
      mkdir(p)
      continue
    }
    mkdir(path.dirname(p))
    if (e.symlink != null) {
      fs.symlinkSync(e.symlink, p)
    } else {
      fs.writeFileSync(p, e.content)
    }
  }
  return root
}

/**
 * Read a tree back: Map relPath -> { type: 'file', bytes } | { type: 'dir' } | { type: 'symlink', target }.
 * Root itself is not included. `filter(relPath, dirent)` can drop entries (and their subtrees).
 */
export function readTree (root, filter = () => true) {
  const out = new Map()
  const walk = (rel) => {
    const abs = rel === '' ? root : path.join(root, rel)
    for (const d of fs.readdirSync(abs, { withFileTypes: true })) {
      const r = rel === '' ? d.name : rel + '/' + d.name
      if (!filter(r, d)) continue
      if (d.isSymbolicLink()) out.set(r, { type: 'symlink', target: fs.readlinkSync(path.join(root, r)) })
      else if (d.isDirectory()) { out.set(r, { type: 'dir' }); walk(r) } else if (d.isFile()) out.set(r, { type: 'file', bytes: fs.readFileSync(path.join(root, r)) })
    }
  }
  walk('')
  return out
}

export const notHidden = (rel) => !rel.split('/').some(p => p.startsWith('.'))

/** ipfs-car's view of a tree: files only (empty dirs and symlinks vanish), no hidden entries. */
export function ipfsCarView (tree) {
  const out = new Map()
  for (const [rel, e] of tree) {
    if (!notHidden(rel) || e.type !== 'file') continue
    out.set(rel, e)
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++) out.set(parts.slice(0, i).join('/'), { type: 'dir' })
  }
  return out
}
