// Damaged CARs: `carport verify` must fail (non-zero exit) and say which block and where.
// The offset carport reports is the block's section offset, as listed by `carport blocks`
// (for a truncation, the offset where the data ran out is accepted too).
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { cleanupTmp, detBytes, tmpDir } from './lib/gen.mjs'
import { CARPORT, carportPack, carportVerify, ipfsCarPack, readCar, run } from './lib/tools.mjs'

after(cleanupTmp)

const tmp = tmpDir('verify')
let n = 0

const hasNumber = (text, num) => new RegExp(`(^|[^0-9])${num}([^0-9]|$)`).test(text)

/** A carport CAR of a 10000-byte file in 1024-byte raw leaves: 10 leaves + 1 dag-pb root. */
async function sample () {
  const f = path.join(tmp, `in-${n}`)
  fs.writeFileSync(f, detBytes(10_000, 'verify'))
  const car = path.join(tmp, `good-${n++}.car`)
  const root = await carportPack(f, car, ['--profile', 'unixfs-v1-2025', '--chunker', 'size-1024'])
  const { blocks } = await readCar(car)
  assert.equal(blocks.length, 11)
  return { car, root, blocks, bytes: fs.readFileSync(car) }
}

function damaged (bytes, edit) {
  const p = path.join(tmp, `bad-${n++}.car`)
  fs.writeFileSync(p, edit(Buffer.from(bytes)))
  return p
}

async function expectFailure (car, { cid, offsets }) {
  const r = await carportVerify(car)
  const msg = r.stderr + r.stdout
  assert.notEqual(r.code, 0, `carport verify exited 0 on a damaged CAR: ${msg}`)
  if (cid != null) assert.ok(msg.includes(cid), `message should name the CID ${cid}: ${msg.trim()}`)
  if (offsets != null) assert.ok(offsets.some(o => hasNumber(msg, o)), `message should give the byte offset (${offsets.join(' or ')}): ${msg.trim()}`)
  return msg
}

describe('carport verify on damaged CARs', () => {
  test('the undamaged sample passes', async () => {
    const { car } = await sample()
    const r = await carportVerify(car)
    assert.equal(r.code, 0, r.stderr)
  })

  test('flipped byte inside a leaf\'s data', async () => {
    const { blocks, bytes } = await sample()
    const b = blocks[3]
    const bad = damaged(bytes, buf => { buf[b.dataOffset + (b.len >> 1)] ^= 0x01; return buf })
    await expectFailure(bad, { cid: b.cid, offsets: [b.offset] })
  })

  test('flipped byte inside the root (dag-pb) block', async () => {
    const { blocks, bytes, root } = await sample()
    const b = blocks.find(x => x.cid === root)
    const bad = damaged(bytes, buf => { buf[b.dataOffset + b.len - 3] ^= 0x80; return buf })
    await expectFailure(bad, { cid: b.cid, offsets: [b.offset] })
  })

  test('flipped byte in the second copy of a block ipfs-car wrote twice', async () => {
    const f = path.join(tmp, 'zeros')
    fs.writeFileSync(f, Buffer.alloc(3 * 1024 * 1024))
    const car = path.join(tmp, 'zeros.car')
    await ipfsCarPack(f, car, { wrap: false })
    const { blocks } = await readCar(car)
    const copies = blocks.filter(b => b.cid === blocks[0].cid)
    assert.equal(copies.length, 3, 'ipfs-car repeats the zero leaf (test setup)')
    const b = copies[1]
    const bad = damaged(fs.readFileSync(car), buf => { buf[b.dataOffset + 12345] ^= 0xff; return buf })
    await expectFailure(bad, { cid: b.cid, offsets: [b.offset] })
  })

  test('truncated inside the last block\'s data', async () => {
    const { blocks, bytes } = await sample()
    const b = blocks[blocks.length - 1]
    const cut = b.dataOffset + (b.len >> 1)
    const bad = damaged(bytes, buf => buf.subarray(0, cut))
    // the section header and CID are intact, so the block can be named
    await expectFailure(bad, { cid: b.cid, offsets: [b.offset, cut] })
  })

  test('truncated inside a block\'s CID', async () => {
    const { blocks, bytes } = await sample()
    const b = blocks[5]
    const cut = b.offset + 10
    const bad = damaged(bytes, buf => buf.subarray(0, cut))
    await expectFailure(bad, { offsets: [b.offset, cut] })
  })

  test('truncated inside the header', async () => {
    const { bytes } = await sample()
    const bad = damaged(bytes, buf => buf.subarray(0, 20))
    await expectFailure(bad, { offsets: [0, 20] })
  })

  test('a block section removed: the missing CID is named', async () => {
    const { blocks, bytes } = await sample()
    const b = blocks[4]
    const next = blocks[5]
    const bad = damaged(bytes, buf => Buffer.concat([buf.subarray(0, b.offset), buf.subarray(next.offset)]))
    await expectFailure(bad, { cid: b.cid })
  })

  test('carport unpack refuses a CAR with a corrupt block (does not write wrong bytes)', async () => {
    const { blocks, bytes } = await sample()
    const b = blocks[3]
    const bad = damaged(bytes, buf => { buf[b.dataOffset + 7] ^= 0x01; return buf })
    const out = path.join(tmp, `unpack-bad-${n++}`)
    const r = await run(CARPORT, ['unpack', bad, '-o', out])
    assert.notEqual(r.code, 0, `carport unpack exited 0 on a corrupt CAR (and wrote ${fs.existsSync(out) ? fs.statSync(out).size + ' bytes' : 'nothing'})`)
  })
})
