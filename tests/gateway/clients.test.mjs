// Real IPFS clients read uploads back with carport's worker as their only gateway: the uploads go
// in through the upload door (CAR shards packed by the npm package, as archive.test.mjs makes
// them), the worker restarts (nothing is left in isolate memory), then @helia/verified-fetch
// (Helia over HTTP only: the trustless-gateway block broker, a router naming only the worker; no
// libp2p, no DHT, no delegated routing) fetches files by path, a range and HAMT entries, and
// Helia's trustless-gateway block broker fetches single blocks by their own CIDs. Such clients
// ask for every block of a DAG by its own CID (`GET /ipfs/{cid}?format=raw`), never by a path
// under a root, so these pass only if the worker serves every stored block by its CID.
import './lib/node20.mjs' // first: Promise.withResolvers for Node 20, before any Helia module runs
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { CarBlockIterator } from '@ipld/car/iterator'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { Fixture } from './lib/harness.mjs'
import { newToken, startArchiveWorld, upload } from './lib/archive.mjs'
import { BlockServer } from './lib/blockserver.mjs'
import { createGatewayBroker, createGatewayFetch } from './lib/clients.mjs'
import { pack } from '../../npm/src/node.js'

const MiB = 1024 * 1024
const SHARD_SIZE = 1_500_000 // below the world's MAX_SHARD_SIZE (2000000): a 1 MiB leaf a shard
const FETCH_TIMEOUT_MS = 60_000
const enc = (s) => new TextEncoder().encode(s)

// 1. A site with unicode names, a multi-shard file in a unicode folder and an empty file.
const photo = crypto.randomBytes(2 * MiB + 600_000)
const siteEntries = [
  { path: 'index.html', content: enc('<!doctype html><title>clients</title><a href="café/ñandú.html">ñandú</a>') },
  { path: 'café/ñandú.html', content: enc('<p>¡Hola, ñandú del café!</p>') },
  { path: 'café/big photo 📷.bin', content: photo },
  { path: '日本語.txt', content: enc('日本語のテキスト\n') },
  { path: 'my notes 🎉 (final).txt', content: enc('spaces, emoji and parentheses 🎉\n') },
  { path: 'Ünïcödé folder/déjà vu/€ 100.txt', content: enc('deep and unicode\n') },
  { path: 'empty.txt', content: new Uint8Array(0) }
]
// 2. A HAMT folder: the ipfs-car profile shards a folder of more than 1000 entries.
const HAMT_ENTRIES = 1101
const hamtName = (i) => `entry-${String(i).padStart(4, '0')}.txt`
const hamtEntries = Array.from({ length: HAMT_ENTRIES }, (_, i) => ({ path: hamtName(i), content: Buffer.concat([Buffer.from(`entry ${i}\n`), crypto.randomBytes(1400)]) }))
// 3. A file of several MiB on its own (its root is the file), one 1 MiB leaf a shard.
const big = crypto.randomBytes(5 * MiB + 12_345)
// 4. An empty file on its own, as a dag-pb node (no raw leaves), so that its CID differs from
// the site's empty.txt (the empty raw block): each is found by its own upload.
const empty = new Uint8Array(0)

const world = {}
const uploads = {}
let gateway // the worker's URL: the clients' only gateway

/** Packs into CAR shards with piece CIDs; every block of the DAG in a Fixture (to walk it). */
async function packUpload (name, input, options = {}) {
  const { root, shards } = await pack(input, { shardSize: SHARD_SIZE, piece: true, ...options }).collect()
  const out = []
  const blocks = new Map()
  for (const s of shards) {
    const bytes = Buffer.from(await s.blob.arrayBuffer())
    out.push({ bytes, piece: s.piece.cid, cid: s.cid, roots: s.roots })
    for await (const { cid, bytes: b } of await CarBlockIterator.fromBytes(bytes)) blocks.set(cid.toString(), b)
  }
  const dag = Object.assign(new Fixture(), { name, roots: [CID.parse(root)], blocks, order: [] })
  return { root, shards: out, dag }
}

/** Uploads every shard in order as archive.test.mjs does, the root-declaring one last. */
async function uploadAll (token, packed) {
  assert.deepEqual(packed.shards.at(-1).roots.map(String), [packed.root], 'the last shard declares the root')
  for (const [n, s] of packed.shards.entries()) {
    const r = await upload(world.client, token, s.bytes, { 'X-Carport-Root': packed.root, 'X-Carport-Piece': s.piece })
    assert.equal(r.status, 201, `${packed.dag.name}, shard ${n} (${s.cid}): ${r.status} ${r.body}`)
    assert.equal(JSON.parse(r.body.toString()).complete, n === packed.shards.length - 1)
  }
}

before(async () => {
  Object.assign(world, await startArchiveWorld())
  gateway = `http://127.0.0.1:${world.port}`
  const token = await newToken(world.client)
  uploads.site = await packUpload('site', siteEntries)
  uploads.hamt = await packUpload('hamt', hamtEntries, { profile: 'ipfs-car' })
  uploads.big = await packUpload('big', big)
  uploads.empty = await packUpload('empty', empty, { rawLeaves: false })
  assert.notEqual(uploads.empty.root, uploads.site.dag.cid('empty.txt').toString())
  assert.ok(uploads.site.shards.length >= 3, `site: ${uploads.site.shards.length} shards`)
  assert.ok(uploads.hamt.shards.length >= 2, `hamt: ${uploads.hamt.shards.length} shards`)
  assert.ok(uploads.big.shards.length >= 5, `big: ${uploads.big.shards.length} shards`)
  for (const u of Object.values(uploads)) await uploadAll(token, u)
  // Nothing a later request finds may come from what earlier requests left in isolate memory.
  await world.restartWorker()
}, { timeout: 600_000 })

after(async () => {
  await world.stop?.()
})

const leavesOf = (u) => u.dag.node(u.dag.roots[0]).Links
const digestOf = async (bytes) => Buffer.from((await sha256.digest(bytes)).bytes)
const isHamt = (bytes) => { const d = dagPb.decode(bytes).Data; return d?.[0] === 0x08 && d[1] === 5 }
const ipfsUrl = (root, path = '') => `ipfs://${root}${path ? '/' + path.split('/').map(encodeURIComponent).join('/') : ''}`

/**
 * One request through a fresh verified-fetch (a new Helia, empty blockstore: every block from the
 * worker); resolves { status, headers, body: Buffer, missing }. A Helia session may ask a gateway
 * that failed a block again and again until the request is aborted, so a block asked for a third
 * time without being received aborts it; an error answer (verified-fetch's 502 or 504) gets in
 * `missing` the blocks asked for and never received, with what the gateway answers for each.
 */
async function vfetch (url, { gateway: gw = gateway, ...init } = {}) {
  const client = await createGatewayFetch(gw)
  const ctl = new AbortController()
  const timer = setTimeout(() => ctl.abort(new Error(`${url}: no answer in ${FETCH_TIMEOUT_MS} ms`)), FETCH_TIMEOUT_MS)
  const asked = new Map()
  let stuck
  const onProgress = (e) => {
    const cid = e.detail?.cid?.toString()
    if (e.type === 'helia:block-broker:receive-block') asked.delete(cid)
    if (e.type !== 'helia:block-broker:connect') return
    asked.set(cid, (asked.get(cid) ?? 0) + 1)
    if (asked.get(cid) >= 3 && !stuck) {
      stuck = cid
      ctl.abort(new Error(`block ${cid} asked for 3 times`))
    }
  }
  try {
    const res = await client.verifiedFetch(url, { ...init, signal: ctl.signal, onProgress })
    const body = Buffer.from(await res.arrayBuffer())
    if (stuck) throw new Error('aborted')
    // verified-fetch's error answers (a 502 "Unable to stream content") name no block: name the
    // blocks it asked for and never received, with what the gateway answers for each.
    let missing = ''
    if (res.status >= 400) {
      for (const cid of asked.keys()) {
        const r = await fetch(`${gw}/ipfs/${cid}?format=raw`, { headers: { Accept: 'application/vnd.ipld.raw' } })
        missing += `; block ${cid} not received, GET /ipfs/${cid}?format=raw answers ${r.status} ${(await r.text()).slice(0, 200)}`
      }
    }
    return { status: res.status, headers: res.headers, body, missing }
  } catch (err) {
    if (!stuck) throw err
    const r = await fetch(`${gw}/ipfs/${stuck}?format=raw`, { headers: { Accept: 'application/vnd.ipld.raw' } })
    throw new Error(`${url}: verified-fetch asked ${gw} for block ${stuck} 3 times without getting it; GET /ipfs/${stuck}?format=raw answers ${r.status} ${(await r.text()).slice(0, 300)}`, { cause: err })
  } finally {
    clearTimeout(timer)
    await client.stop()
  }
}

async function assertFile (url, expected, init) {
  const r = await vfetch(url, init)
  assert.equal(r.status, 200, `${url}: ${r.status} ${r.body.subarray(0, 300)}${r.missing}`)
  assert.equal(r.body.length, expected.length, `${url}: length`)
  assert.ok(r.body.equals(Buffer.from(expected)), `${url}: the bytes`)
}

// The clients' setup, apart from the worker: the same uploads from a minimal in-process trustless
// gateway that serves raw blocks by CID. If this fails, the fault is in the setup, not the worker.
test('control: the same clients read the same uploads from a minimal in-process block server', async () => {
  const server = await new BlockServer().listen()
  try {
    for (const u of Object.values(uploads)) for (const s of u.shards) await server.addCar(s.bytes)
    const gw = { gateway: server.url }
    await assertFile(ipfsUrl(uploads.site.root, 'café/ñandú.html'), siteEntries[1].content, gw)
    await assertFile(ipfsUrl(uploads.big.root), big, gw)
    const r = await vfetch(ipfsUrl(uploads.big.root), { ...gw, headers: { Range: 'bytes=100-200' } })
    assert.equal(r.status, 206)
    assert.ok(r.body.equals(big.subarray(100, 201)))
    await assertFile(ipfsUrl(uploads.hamt.root, hamtName(HAMT_ENTRIES - 1)), hamtEntries.at(-1).content, gw)
    await assertFile(ipfsUrl(uploads.empty.root), empty, gw)
    const leaf = leavesOf(uploads.big)[2].Hash
    assert.ok(Buffer.from(await createGatewayBroker(server.url).retrieve(leaf)).equals(Buffer.from(uploads.big.dag.block(leaf))))
  } finally {
    await server.close()
  }
})

describe('@helia/verified-fetch with the worker as its only gateway', () => {
  test('every file of the unicode site by path (café/ñandú.html, 日本語.txt, spaces and emoji, a 2.6 MiB file), byte for byte', async () => {
    for (const e of siteEntries) await assertFile(ipfsUrl(uploads.site.root, e.path), e.content)
  })

  test('the multi-shard file (5 MiB, five shards) by its root', async () => {
    await assertFile(ipfsUrl(uploads.big.root), big)
  })

  test('a Range inside the multi-shard file, across two leaves, gives 206 and those bytes', async () => {
    const start = 2 * MiB - 1000
    const end = 3 * MiB + 5000 // inclusive
    const url = ipfsUrl(uploads.big.root)
    const r = await vfetch(url, { headers: { Range: `bytes=${start}-${end}` } })
    assert.equal(r.status, 206, `${r.status} ${r.body.subarray(0, 300)}${r.missing}`)
    assert.equal(r.headers.get('content-range'), `bytes ${start}-${end}/${big.length}`)
    assert.ok(r.body.equals(big.subarray(start, end + 1)), `the range's bytes (${r.body.length} of ${end + 1 - start})`)
  })

  test('a Range in the unicode folder\'s 2.6 MiB file (its last 1000 bytes)', async () => {
    const url = ipfsUrl(uploads.site.root, 'café/big photo 📷.bin')
    const r = await vfetch(url, { headers: { Range: 'bytes=-1000' } })
    assert.equal(r.status, 206, `${r.status} ${r.body.subarray(0, 300)}${r.missing}`)
    assert.ok(r.body.equals(photo.subarray(photo.length - 1000)), 'the last 1000 bytes')
  })

  test('the empty file: an upload of its own, and empty.txt in the site', async () => {
    await assertFile(ipfsUrl(uploads.empty.root), empty)
    await assertFile(ipfsUrl(uploads.site.root, 'empty.txt'), empty)
  })

  test(`entries of the HAMT folder (${HAMT_ENTRIES} entries): the first, the last and some between`, async () => {
    assert.ok(isHamt(uploads.hamt.dag.block(uploads.hamt.root)), 'the folder is a HAMT')
    for (const i of [0, 1, 137, 500, 999, 1000, HAMT_ENTRIES - 1]) {
      await assertFile(ipfsUrl(uploads.hamt.root, hamtName(i)), hamtEntries[i].content)
    }
  })

  test('a name not in the HAMT folder is a 404', async () => {
    const r = await vfetch(ipfsUrl(uploads.hamt.root, 'no-such-entry.txt'))
    assert.equal(r.status, 404, `${r.status} ${r.body.subarray(0, 300)}${r.missing}`)
  })
})

// The blocks asked for by CID: [what, (uploads) → [upload, cid], a check that it is that block].
const blockCases = [
  ['a raw leaf in the middle of the multi-shard file', ({ big: u }) => [u, leavesOf(u)[Math.floor(leavesOf(u).length / 2)].Hash], (c) => c.code === 0x55],
  ["the multi-shard file's root node", ({ big: u }) => [u, u.dag.roots[0]], (c, b) => c.code === dagPb.code && dagPb.decode(b).Links.length >= 5],
  ["a HAMT shard block below the HAMT folder's root", ({ hamt: u }) => { const s = u.dag.hamtShards(u.dag.roots[0]); return [u, s[Math.floor(s.length / 2)]] }, (c, b) => isHamt(b)],
  ["the HAMT folder's root", ({ hamt: u }) => [u, u.dag.roots[0]], (c, b) => isHamt(b)],
  ['a sub-folder of the site (café/)', ({ site: u }) => [u, u.dag.cid('café')], (c, b) => c.code === dagPb.code && dagPb.decode(b).Links.length === 2],
  ['a nested unicode sub-folder (Ünïcödé folder/déjà vu/)', ({ site: u }) => [u, u.dag.cid('Ünïcödé folder', 'déjà vu')], (c, b) => c.code === dagPb.code && dagPb.decode(b).Links[0].Name === '€ 100.txt'],
  ['a file of the site (日本語.txt)', ({ site: u }) => [u, u.dag.cid('日本語.txt')], (c) => c.code === 0x55],
  ["the site's root", ({ site: u }) => [u, u.dag.roots[0]], (c) => c.code === dagPb.code],
  ['the empty file (an upload of its own: a dag-pb node without links)', ({ empty: u }) => [u, u.dag.roots[0]], (c, b) => c.code === dagPb.code && dagPb.decode(b).Links.length === 0],
  ["the site's empty.txt (the empty raw block: zero bytes)", ({ site: u }) => [u, u.dag.cid('empty.txt')], (c, b) => c.code === 0x55 && b.length === 0]
]

describe("Helia's trustless-gateway block broker with the worker as its only gateway: single blocks by their own CID", () => {
  test('the blocks asked for are the ones meant (the fixtures hold them)', () => {
    for (const [what, pick, check] of blockCases) {
      const [u, cid] = pick(uploads)
      assert.ok(check(cid, u.dag.block(cid)), `${what}: ${cid}`)
    }
  })

  for (const [what, pick] of blockCases) {
    test(`${what}: its bytes, hashing to its CID`, async () => {
      const [u, cid] = pick(uploads)
      const broker = createGatewayBroker(gateway)
      let got
      try {
        got = Buffer.from(await broker.retrieve(cid, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }))
      } catch (err) {
        // An AggregateError of each gateway's failure: name them (node:test shows the message).
        throw new Error(`${cid}: ${err.message}${err.errors ? ': ' + err.errors.map((e) => e.message).join('; ') : ''}`, { cause: err })
      }
      assert.ok((await digestOf(got)).equals(Buffer.from(cid.multihash.bytes)), `${cid}: the bytes hash to the CID`)
      assert.ok(got.equals(Buffer.from(u.dag.block(cid))), `${cid}: the uploaded block's bytes`)
    })
  }
})
