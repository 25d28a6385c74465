// Filecoin pieces: running `carport piece / aggregate / verify-inclusion` and the reference,
// @web3-storage/data-segment 5.3.0 (FRC-0058 / FRC-0069 in JS).
import { Aggregate, Inclusion, Piece } from '@web3-storage/data-segment'
import * as Link from 'multiformats/link'
import { CARPORT, run } from './tools.mjs'

const lines = (s) => s.split('\n').filter(l => l !== '')

async function runOk (args) {
  const r = await run(CARPORT, args)
  if (r.code !== 0) throw new Error(`carport ${args.join(' ').slice(0, 300)} exited ${r.code}\n${r.stderr}${r.stdout}`)
  return r
}

// ---------------------------------------------------------------------------------------------
// base64url without padding (RFC 4648 section 5), the proof text format of the carport CLI

export const toBase64url = (bytes) => Buffer.from(bytes).toString('base64url')
export function fromBase64url (text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error(`not unpadded base64url: ${text}`)
  return new Uint8Array(Buffer.from(text, 'base64url'))
}

// ---------------------------------------------------------------------------------------------
// carport

/** `carport piece FILE` -> the v2 piece CID (last line). */
export async function carportPiece (file) {
  return lines((await runOk(['piece', file])).stdout).pop()
}

/** `carport piece FILE --v1` -> { v1, size } (size a decimal string). */
export async function carportPieceV1 (file) {
  const [v1, size, ...rest] = lines((await runOk(['piece', file, '--v1'])).stdout).pop().split('\t')
  if (rest.length !== 0 || size == null) throw new Error(`carport piece --v1: unexpected output for ${file}`)
  return { v1, size }
}

export const carportPieceRaw = (file, args = []) => run(CARPORT, ['piece', file, ...args])

/**
 * `carport aggregate --deal-size SIZE CID...` -> { aggregate, entries: [{ cid, proof }] } where
 * proof is the base64url text as printed. `raw` gives the process result instead.
 */
export async function carportAggregate (dealSize, cids) {
  const out = lines((await runOk(['aggregate', '--deal-size', String(dealSize), ...cids])).stdout)
  const aggregate = out.pop()
  const entries = out.map(l => {
    const [cid, proof, ...rest] = l.split('\t')
    if (rest.length !== 0 || proof == null) throw new Error(`carport aggregate: bad line ${l}`)
    return { cid, proof }
  })
  return { aggregate, entries }
}

export const carportAggregateRaw = (dealSize, cids) => run(CARPORT, ['aggregate', '--deal-size', String(dealSize), ...cids])

/** `carport verify-inclusion PIECE AGGREGATE PROOF` -> { code, stdout, stderr }. */
export const carportVerifyInclusion = (piece, aggregate, proof) => run(CARPORT, ['verify-inclusion', piece, aggregate, proof])

// ---------------------------------------------------------------------------------------------
// @web3-storage/data-segment

/** Piece of a payload: { v2, v1, size } (size: padded piece size, decimal string). */
export function dsPiece (bytes) {
  const piece = Piece.fromPayload(bytes)
  const info = piece.toInfo()
  return { v2: piece.toString(), v1: info.link.toString(), size: String(info.size) }
}

/** A v2 piece CID for a root (32 bytes), tree height and padding (bigint). */
export const dsPieceLink = (root, height, padding = 0n) => Piece.toLink({ root, height, padding }).toString()

/** The padded size of a v2 piece CID (bigint). */
export const dsPieceSize = (cid) => Piece.fromString(cid).size

/**
 * `Aggregate.build({ size, pieces })` -> { aggregate, proofs: [Uint8Array] } (one dag-cbor
 * encoded proof per piece, from `resolveProof`).
 */
export function dsAggregate (dealSize, cids) {
  const agg = Aggregate.build({ size: BigInt(dealSize), pieces: cids.map(c => Piece.fromString(c)) })
  const proofs = cids.map(c => {
    const r = agg.resolveProof(Link.parse(c))
    if (r.error) throw r.error
    return Inclusion.encode(r.ok)
  })
  return { aggregate: agg.link.toString(), proofs }
}

/** A data-segment builder, for choosing sets of pieces that fit a deal. */
export const dsBuilder = (dealSize) => Aggregate.createBuilder({ size: BigInt(dealSize) })

/**
 * data-segment's verifier: the aggregate CID the proof (dag-cbor bytes) places `piece` in, or
 * undefined when it cannot decode or resolve it.
 */
export function dsResolveAggregate (proofBytes, piece) {
  try {
    const r = Inclusion.resolveAggregate(Inclusion.decode(proofBytes), Link.parse(piece))
    return r.error ? undefined : r.ok.toString()
  } catch {
    return undefined // not a proof, or not a v2 piece CID
  }
}

// ---------------------------------------------------------------------------------------------
// Layout of an encoded proof, [[offset, [node...]], [offset, [node...]]], to flip chosen bits

const uintLen = (v) => v < 24n ? 1 : v < 0x100n ? 2 : v < 0x10000n ? 3 : v < 0x100000000n ? 5 : 9
const arrLen = (n) => n < 24 ? 1 : n < 0x100 ? 2 : 3

/**
 * Byte positions in the dag-cbor encoding of `proof` (as decoded by data-segment):
 * { subtree: { offset, nodes: [start...] }, index: { offset, nodes: [start...] } } where offset is
 * the position of the offset integer's last byte (its least significant byte, or the head byte
 * for values below 24) and each node start is its first data byte (after the 0x58 0x20 head).
 */
export function proofLayout (bytes) {
  const [[tOff, tPath], [iOff, iPath]] = Inclusion.decode(bytes)
  let pos = 2 // two array heads
  const part = (off, path) => {
    const at = { offset: pos + uintLen(BigInt(off)) - 1, nodes: [] }
    pos += uintLen(BigInt(off)) + arrLen(path.length)
    for (let i = 0; i < path.length; i++) { at.nodes.push(pos + 2); pos += 34 }
    return at
  }
  const subtree = part(tOff, tPath)
  pos += 1 // the index part's array head
  const index = part(iOff, iPath)
  if (pos !== bytes.length) throw new Error(`proofLayout: computed ${pos} bytes, proof has ${bytes.length}`)
  return { subtree, index, tOff: BigInt(tOff), iOff: BigInt(iOff) }
}
