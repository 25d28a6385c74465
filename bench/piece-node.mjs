// Helper of bench/piece.sh: the piece CID of a file with a JS implementation from tests/node_modules,
// best of RUNS. Usage: node bench/piece-node.mjs data-segment|wasm FILE RUNS
// Prints `CID<TAB>SECONDS` (the fastest run: reading the file in 1 MiB chunks and hashing them,
// from opening the file to the CID; Node's start and module loading are not counted).
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const modules = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tests/node_modules')

/** import(`name`) as tests/ would resolve it (the package's "import" export of "."). */
async function load (name) {
  const dir = path.join(modules, name)
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  const entry = pkg.exports?.['.']?.import ?? pkg.main
  return import(pathToFileURL(path.join(dir, entry)).href)
}

const [impl, file, runsArg = '3'] = process.argv.slice(2)
const runs = Number(runsArg)
if (!['data-segment', 'wasm'].includes(impl) || file == null || !(runs >= 1)) {
  console.error('usage: node bench/piece-node.mjs data-segment|wasm FILE [RUNS]')
  process.exit(2)
}

const ds = await load('@web3-storage/data-segment')
let hasherOf
if (impl === 'data-segment') {
  // Piece.fromPayload(bytes) is `fromDigest(Multihash.digest(bytes))`; the streaming hasher is the
  // same code without holding the whole payload.
  const { create } = await import(pathToFileURL(path.join(modules, '@web3-storage/data-segment/src/multihash.js')).href)
  hasherOf = () => {
    const h = create()
    return { write: (b) => h.write(b), cid: () => ds.Piece.fromDigest(h.digest()).toString() }
  }
} else {
  const wasm = await load('fr32-sha2-256-trunc254-padded-binary-tree-multihash')
  hasherOf = () => {
    const h = wasm.create()
    return {
      write: (b) => h.write(b),
      cid: () => {
        const bytes = new Uint8Array(h.multihashByteLength())
        h.digestInto(bytes, 0, true)
        h.free()
        // multihash bytes: varint code 0x1011 (2 bytes), varint length (1 byte), digest
        const digest = { code: wasm.code, size: bytes[2], digest: bytes.subarray(3), bytes }
        return ds.Link.create(0x55, digest).toString()
      }
    }
  }
}

function once () {
  const t0 = process.hrtime.bigint()
  const fd = fs.openSync(file, 'r')
  const buf = Buffer.allocUnsafe(1 << 20)
  const h = hasherOf()
  try {
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0;) h.write(buf.subarray(0, n))
  } finally {
    fs.closeSync(fd)
  }
  const cid = h.cid()
  return { cid, seconds: Number(process.hrtime.bigint() - t0) / 1e9 }
}

let best
for (let i = 0; i < runs; i++) {
  const r = once()
  if (best != null && r.cid !== best.cid) throw new Error(`run ${i} gave ${r.cid}, run 0 ${best.cid}`)
  if (best == null || r.seconds < best.seconds) best = r
}
console.log(`${best.cid}\t${best.seconds}`)
