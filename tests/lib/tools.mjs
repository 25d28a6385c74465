// Running carport and the reference JS implementations, and reading CARs.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { CarIndexer } from '@ipld/car/indexer'
import * as dagPb from '@ipld/dag-pb'
import { BlackHoleBlockstore } from 'blockstore-core/black-hole'
import * as UnixFS from '@ipld/unixfs'
import { withMaxChunkSize } from '@ipld/unixfs/file/chunker/fixed'
import { withWidth } from '@ipld/unixfs/file/layout/balanced'
import { createFileEncoderStream } from 'ipfs-car'
import { importer } from 'ipfs-unixfs-importer'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'

const testsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const CARPORT = process.env.CARPORT_BIN ?? path.resolve(testsDir, '../target/release/carport')
export const IPFS_CAR = path.join(testsDir, 'node_modules/.bin/ipfs-car')

if (!fs.existsSync(CARPORT)) {
  throw new Error(`carport binary not found at ${CARPORT}: run \`cargo build --release -p carport-cli\` or set CARPORT_BIN`)
}

/** Run a program; resolves to { code, stdout, stderr } (never rejects on a non-zero exit). */
export function run (file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 512 << 20, encoding: 'utf8', ...opts }, (err, stdout, stderr) => {
      if (err != null && typeof err.code !== 'number') return reject(err)
      resolve({ code: err == null ? 0 : err.code, stdout, stderr })
    })
  })
}

async function runOk (file, args) {
  const r = await run(file, args)
  if (r.code !== 0) {
    throw new Error(`${path.basename(file)} ${args.join(' ')} exited ${r.code}\n${r.stderr}${r.stdout}`)
  }
  return r
}

const lastLine = (s) => s.trim().split('\n').pop().trim()

// ---------------------------------------------------------------------------------------------
// carport

/** `carport pack input -o car [...args]`; returns the root CID (last stdout line). */
export async function carportPack (input, car, args = []) {
  const r = await runOk(CARPORT, ['pack', input, '-o', car, ...args])
  return lastLine(r.stdout)
}

/** `carport blocks car` parsed into [{ cid, offset, len }]. */
export async function carportBlocks (car) {
  const r = await runOk(CARPORT, ['blocks', car])
  return r.stdout.split('\n').filter(l => l !== '').map(l => {
    const [cid, offset, len] = l.split('\t')
    return { cid, offset: Number(offset), len: Number(len) }
  })
}

export const carportVerify = (car, args = []) => run(CARPORT, ['verify', car, ...args])
export const carportUnpack = (car, out) => runOk(CARPORT, ['unpack', car, '-o', out])

// ---------------------------------------------------------------------------------------------
// ipfs-car 3 CLI

/** `ipfs-car pack input -o car [--no-wrap] [--hidden]`; returns the CID printed on stdout. */
export async function ipfsCarPack (input, car, { wrap = true, hidden = false } = {}) {
  const args = ['pack', input, '-o', car]
  if (!wrap) args.push('--no-wrap')
  if (hidden) args.push('--hidden')
  const r = await runOk(IPFS_CAR, args)
  return lastLine(r.stdout)
}

export const ipfsCarUnpack = (car, out) => runOk(IPFS_CAR, ['unpack', car, '--output', out])

// ---------------------------------------------------------------------------------------------
// ipfs-unixfs-importer 17

/** A blockstore that records every block put into it (CID string -> bytes). */
class RecordingBlockstore extends BlackHoleBlockstore {
  blocks = new Map()
  put (cid, block, options) {
    this.blocks.set(cid.toString(), block)
    return super.put(cid, block, options)
  }
}

/**
 * CID strings reachable from `root` following dag-pb links; `get(cidString)` returns the bytes
 * (or undefined for a missing block, which is then just not followed).
 */
export function reachable (root, get) {
  const seen = new Set()
  const stack = [root]
  while (stack.length > 0) {
    const c = stack.pop()
    if (seen.has(c)) continue
    seen.add(c)
    const cid = CID.parse(c)
    const bytes = get(c)
    if (cid.code !== dagPb.code || bytes == null) continue
    for (const l of dagPb.decode(bytes).Links) stack.push(l.Hash.toString())
  }
  return seen
}

/**
 * Run ipfs-unixfs-importer over `entries` ([{ path?, content? }]); returns
 * { root, blocks: Set<string>, stray: number } where blocks are the blocks reachable from the root
 * (the importer sometimes persists blocks its final DAG does not use, e.g. the empty leaf of an
 * empty trickle file) and stray counts the others. `rootPath` selects the entry whose CID is the
 * root (default: the last entry emitted).
 */
export async function importEntries (entries, options, rootPath) {
  const bs = new RecordingBlockstore()
  let root
  let last
  for await (const e of importer(entries, bs, options)) {
    last = e
    if (rootPath != null && e.path === rootPath) root = e
  }
  root ??= (rootPath == null ? last : undefined)
  assert.ok(root != null, `importer emitted no entry for ${rootPath}`)
  const rootStr = root.cid.toString()
  const blocks = reachable(rootStr, c => bs.blocks.get(c))
  for (const c of blocks) assert.ok(bs.blocks.has(c), `importer DAG of ${rootStr} lacks ${c} (test setup)`)
  return { root: rootStr, blocks, stray: bs.blocks.size - blocks.size }
}

const lazyFile = (p) => (async function * () { yield * fs.createReadStream(p, { highWaterMark: 1 << 20 }) })()

/**
 * Import one file from disk: root = the file, as `carport pack FILE`; with `wrap`, root = a folder
 * holding the file under its own name, as `carport pack FILE --wrap`.
 */
export function importFile (file, options, { wrap = false } = {}) {
  if (wrap) return importEntries([{ path: path.basename(file), content: lazyFile(file) }], { ...options, wrapWithDirectory: true }, '')
  return importEntries([{ content: lazyFile(file) }], options)
}

/**
 * Import a folder from disk so the root is the folder's own node (as `carport pack DIR`):
 * entries are `root/<rel>`, directories (so empty ones survive) are given without content.
 * Hidden entries (name starts with '.') are skipped unless `hidden`.
 */
export function importDir (dir, options, { hidden = false, wrap = false } = {}) {
  // `carport pack DIR --wrap`: a folder holding DIR under its own name
  const top = wrap ? path.basename(dir) : 'root'
  // Only *empty* directories are given as entries: the importer persists a directory candidate
  // as a finished (empty) directory block right away, which would add a stray block otherwise.
  const entries = []
  const walk = (rel) => {
    const abs = rel === '' ? dir : path.join(dir, rel)
    const children = fs.readdirSync(abs, { withFileTypes: true }).filter(d => hidden || !d.name.startsWith('.'))
    if (children.length === 0) entries.push({ path: rel === '' ? top : top + '/' + rel })
    for (const d of children) {
      const r = rel === '' ? d.name : rel + '/' + d.name
      if (d.isDirectory()) {
        walk(r)
      } else if (d.isFile()) {
        const p = path.join(dir, r)
        // small files are read now (cheaper than thousands of streams), big ones streamed
        entries.push({ path: top + '/' + r, content: fs.statSync(p).size <= (1 << 20) ? fs.readFileSync(p) : lazyFile(p) })
      } else {
        throw new Error(`importDir: unsupported entry ${r}`)
      }
    }
  }
  walk('')
  return wrap ? importEntries(entries, { ...options, wrapWithDirectory: true }, '') : importEntries(entries, options, 'root')
}

// ---------------------------------------------------------------------------------------------
// CAR reading (independent of carport)

const HASHES = { 0x12: 'sha256' }

/**
 * Read a CARv1 with @ipld/car: { roots, blocks: [{ cid, offset, dataOffset, len, bytes }] } where
 * offset is the section start (the varint), dataOffset where the block data starts and len its
 * length. Every block's multihash is recomputed (sha2-256; identity checked byte-for-byte) and
 * must match its CID.
 */
export async function readCar (car) {
  const bytes = fs.readFileSync(car)
  const indexer = await CarIndexer.fromBytes(bytes)
  const roots = (await indexer.getRoots()).map(String)
  const blocks = []
  for await (const { cid, offset, blockOffset, blockLength } of indexer) {
    const data = bytes.subarray(blockOffset, blockOffset + blockLength)
    const mh = cid.multihash
    if (mh.code === 0x00) {
      assert.ok(Buffer.from(mh.digest).equals(data), `${car}: identity block ${cid} does not match its data`)
    } else {
      const algo = HASHES[mh.code]
      assert.ok(algo != null, `${car}: unexpected hash 0x${mh.code.toString(16)} in ${cid}`)
      const digest = crypto.createHash(algo).update(data).digest()
      assert.ok(digest.equals(Buffer.from(mh.digest)), `${car}: block ${cid} at ${offset} does not hash to its CID`)
    }
    blocks.push({ cid: cid.toString(), offset, dataOffset: blockOffset, len: blockLength, bytes: data })
  }
  return { roots, blocks }
}

/**
 * Check a carport CAR thoroughly and return its block CID set:
 * header roots = [root]; `carport blocks` = what @ipld/car reads (CIDs, offsets, lengths);
 * every block hashes to its CID; no duplicate blocks; every block is reachable from the root and
 * every reachable block is present; `carport verify` passes.
 */
export async function checkCarportCar (car, root) {
  const [mine, theirs, verify] = await Promise.all([carportBlocks(car), readCar(car), carportVerify(car)])
  assert.deepEqual(theirs.roots, [root], `${car}: CAR header roots`)
  assert.deepEqual(mine, theirs.blocks.map(({ cid, offset, len }) => ({ cid, offset, len })), `${car}: \`carport blocks\` disagrees with @ipld/car`)
  const byCid = new Map(theirs.blocks.map(b => [b.cid, b.bytes]))
  assert.equal(byCid.size, mine.length, `${car}: carport wrote duplicate blocks`)
  assert.equal(verify.code, 0, `${car}: carport verify failed: ${verify.stderr}${verify.stdout}`)
  const reach = reachable(root, c => byCid.get(c))
  const missing = [...reach].filter(c => !byCid.has(c))
  assert.deepEqual(missing, [], `${car}: blocks linked from the root but missing`)
  const unused = [...byCid.keys()].filter(c => !reach.has(c))
  assert.deepEqual(unused, [], `${car}: blocks not reachable from the root`)
  return new Set(byCid.keys())
}

/** Compare two CID sets with a readable message. */
export function assertSameBlocks (got, want, label) {
  const missing = [...want].filter(c => !got.has(c))
  const extra = [...got].filter(c => !want.has(c))
  if (missing.length === 0 && extra.length === 0) return
  assert.fail(`${label}: block sets differ (carport ${got.size}, reference ${want.size}); ` +
    `missing from carport ${missing.length}: ${missing.slice(0, 5).join(' ')}; ` +
    `extra in carport ${extra.length}: ${extra.slice(0, 5).join(' ')}`)
}

// ---------------------------------------------------------------------------------------------
// ipfs-car 3's encoder as a library (same code path as the CLI, but with custom chunk size and
// width so width boundaries can be reached without 1 GiB inputs).

/** Encode one file with ipfs-car's createFileEncoderStream; returns { root, blocks: Set }. */
export async function ipfsCarLibFile (file, { chunk = 1024 * 1024, width = 1024 } = {}) {
  const settings = UnixFS.configure({ fileChunkEncoder: raw, smallFileEncoder: raw, chunker: withMaxChunkSize(chunk), fileLayout: withWidth(width) })
  // the CLI reads with fs.createReadStream (64 KiB pieces); do the same
  const blob = { stream: () => Readable.toWeb(fs.createReadStream(file, { highWaterMark: 64 * 1024 })) }
  const blocks = new Set()
  let last
  await createFileEncoderStream(blob, settings).pipeTo(new WritableStream({
    write (b) { blocks.add(b.cid.toString()); last = b.cid.toString() }
  }))
  return { root: last, blocks }
}
