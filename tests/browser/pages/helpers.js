// Helpers the test pages share: deterministic bytes (bytes.js, which the Node side uses too),
// ipfs-car packing, and reading a CAR's blocks with @ipld/car.
import * as ipfsCar from '/bundle/ipfs-car.js'

export { bytes } from './bytes.js'

/** ipfs-car's CAR of a Blob (createFileEncoderStream) or of entries (createDirectoryEncoderStream). */
export async function ipfsCarPack (input) {
  let root = null
  const chunks = []
  const blocks = Array.isArray(input)
    ? ipfsCar.createDirectoryEncoderStream(input.map((e) => ({ name: e.path, stream: () => e.content.stream() })))
    : ipfsCar.createFileEncoderStream(input)
  await blocks
    .pipeThrough(new TransformStream({ transform (block, c) { root = block.cid; c.enqueue(block) } }))
    .pipeThrough(new ipfsCar.CAREncoderStream([]))
    .pipeTo(new WritableStream({ write (chunk) { chunks.push(chunk) } }))
  return { root: root.toString(), car: new Blob(chunks) }
}

/** The blocks of one or more CARs: Map of CID string → bytes. */
export async function blocksOf (...cars) {
  const map = new Map()
  for (const car of cars) {
    const it = await ipfsCar.CarBlockIterator.fromBytes(new Uint8Array(await car.arrayBuffer()))
    for await (const { cid, bytes } of it) {
      const key = cid.toString()
      if (map.has(key)) throw new Error(`block ${key} is in the CARs twice`)
      map.set(key, bytes)
    }
  }
  return map
}

/** Compares two block maps: same CIDs, same bytes per CID. Returns a summary or throws. */
export function sameBlocks (a, b) {
  const missing = [...b.keys()].filter((k) => !a.has(k))
  const extra = [...a.keys()].filter((k) => !b.has(k))
  if (missing.length || extra.length) throw new Error(`block sets differ: ${missing.length} missing (${missing.slice(0, 3)}), ${extra.length} extra (${extra.slice(0, 3)})`)
  let bytes = 0
  for (const [k, v] of a) {
    const w = b.get(k)
    if (v.length !== w.length || v.some((x, i) => x !== w[i])) throw new Error(`block ${k} differs`)
    bytes += v.length
  }
  return { blocks: a.size, bytes }
}
