// The upload door and Filecoin archiving, end to end on workerd: the edge worker (wrangler dev,
// local R2, KV and Durable Objects in a temporary folder) with the local deal broker
// (carport-broker, mk20 API, fast clock). Sites are packed into CAR shards by the npm package, as
// a browser would, uploaded, served by the gateway from the store at once, aggregated, dealt and
// proven; then the bad cases.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { carportBin } from './lib/harness.mjs'
import { body, brokerDeals, brokerFaults, newToken, objects, startArchiveWorld, upload, waitFor } from './lib/archive.mjs'
import { pack, pieceCid, verifyArchive } from '../../npm/src/node.js'

const world = {}
let token

before(async () => {
  Object.assign(world, await startArchiveWorld())
  token = await newToken(world.client)
}, { timeout: 300_000 })

after(async () => {
  await world.stop?.()
})

/** A small site: a page, a SPA rule, an image (3 MiB unless said), a sub-page; `salt` makes it unique. */
function site (salt, imageSize = 3 * 1024 * 1024) {
  const image = crypto.randomBytes(imageSize)
  return {
    image,
    entries: [
      { path: 'index.html', content: new TextEncoder().encode(`<!doctype html><title>site ${salt}</title><img src="img.bin">`) },
      { path: '_redirects', content: new TextEncoder().encode('/app/* /index.html 200\n') },
      { path: 'img.bin', content: image },
      { path: 'about/index.html', content: new TextEncoder().encode(`<p>about ${salt}</p>`) }
    ]
  }
}

/** Packs entries into CAR shards with piece CIDs: `{ root, shards: [{ bytes, piece, cid }] }`. */
async function packSite (entries, shardSize = 1_500_000) {
  const { root, shards } = await pack(entries, { shardSize, piece: true }).collect()
  const out = []
  for (const s of shards) out.push({ bytes: Buffer.from(await s.blob.arrayBuffer()), piece: s.piece.cid, cid: s.cid, roots: s.roots })
  return { root, shards: out }
}

/** Uploads every shard in order, the root-declaring one last; the last answer. */
async function uploadAll (packed, tok = token) {
  let last
  for (const s of packed.shards) {
    last = await upload(world.client, tok, s.bytes, { 'X-Carport-Root': packed.root, 'X-Carport-Piece': s.piece })
    assert.ok(last.status === 201 || last.status === 200, `shard ${s.cid}: ${last.status} ${last.body}`)
  }
  return last
}

const complete = (r) => r.complete && r.stage === 'complete'

describe('a multi-shard site', () => {
  const { entries, image } = site('one')
  let packed

  test('uploads shard by shard; the last one completes the upload', async () => {
    packed = await packSite(entries)
    assert.ok(packed.shards.length >= 3, `${packed.shards.length} shards`)
    for (const [n, s] of packed.shards.entries()) {
      const r = await upload(world.client, token, s.bytes, { 'X-Carport-Root': packed.root, 'X-Carport-Piece': s.piece })
      assert.equal(r.status, 201, r.body.toString())
      const b = body(r)
      assert.equal(b.piece, s.piece, 'the worker computed the piece CID the client did')
      assert.equal(b.car, s.cid)
      assert.equal(b.root, packed.root)
      assert.equal(b.complete, n === packed.shards.length - 1)
    }
  })

  test('the gateway serves it from the store at once (no upstream is reachable)', async () => {
    const page = await world.client.get(`/ipfs/${packed.root}/`)
    assert.equal(page.status, 200, page.body.toString())
    assert.match(page.body.toString(), /site one/)
    const img = await world.client.get(`/ipfs/${packed.root}/img.bin`)
    assert.equal(img.status, 200)
    assert.ok(img.body.equals(image), 'the image bytes')
    const about = await world.client.get(`/ipfs/${packed.root}/about/`)
    assert.match(about.body.toString(), /about one/)
  })

  test('it is aggregated, dealt and reaches complete; every proof checks against our own piece CIDs', async () => {
    const record = await waitFor(world.client, packed.root, complete, { what: 'the deal' })
    assert.equal(record.shards.length, packed.shards.length)
    for (const s of record.shards) {
      assert.equal(s.stage, 'complete')
      assert.equal(s.deal.provider, 'f01000')
      assert.match(s.deal.proposal, /^[0-9A-HJKMNP-TV-Z]{26}$/, 'an mk20 ULID')
      assert.ok(s.times.stored <= s.times.aggregated && s.times.aggregated <= s.times.offered && s.times.offered <= s.times.complete)
      assert.ok(s.times.offered <= s.times.pulled && s.times.pulled <= s.times.complete, 'the provider pulled the aggregate before the deal completed')
    }
    const checks = await verifyArchive(record, { pieceCid: packed.shards.map((s) => s.piece) })
    for (const c of checks) assert.equal(c.aggregate, record.shards[0].aggregate)
    // The broker pulled the aggregate from the worker and found its commitment right.
    const deals = await brokerDeals(world)
    const ours = deals.filter((d) => JSON.stringify(d).includes(record.shards[0].aggregate))
    assert.equal(ours.length, 1, JSON.stringify(deals))
  })

  test('carport archive-status checks the proofs against the CAR files', async () => {
    const dir = fs.mkdtempSync(path.join(world.state, 'cars-'))
    const files = packed.shards.map((s, n) => {
      const f = path.join(dir, `${n}.car`)
      fs.writeFileSync(f, s.bytes)
      return f
    })
    const out = execFileSync(carportBin(), ['archive-status', `http://127.0.0.1:${world.port}`, packed.root, ...files], { encoding: 'utf8' })
    assert.equal(out.match(/^proof ok:/gm)?.length, files.length, out)
    assert.match(out, /stage\s+complete/)
    // A CAR that is not part of the upload fails the check.
    const other = path.join(dir, 'other.car')
    fs.writeFileSync(other, Buffer.concat([packed.shards[0].bytes, Buffer.from([0])]))
    assert.throws(() => execFileSync(carportBin(), ['archive-status', `http://127.0.0.1:${world.port}`, packed.root, other], { stdio: 'pipe' }), /not proven/)
  })

  test('every block of every shard, asked for by its own CID from a fresh worker: raw and CAR', async () => {
    // A fresh isolate (after the deal, which a restart would interrupt): nothing can come from
    // memory left by the requests above.
    await world.restartWorker()
    const { CarBlockIterator } = await import('@ipld/car/iterator')
    let n = 0
    for (const s of packed.shards) {
      for await (const { cid, bytes } of await CarBlockIterator.fromBytes(s.bytes)) {
        const r = await world.client.get(`/ipfs/${cid}?format=raw`)
        assert.equal(r.status, 200, `${cid}: ${r.body}`)
        assert.ok(r.body.equals(Buffer.from(bytes)), `${cid}: the stored bytes`)
        const block = await world.client.get(`/ipfs/${cid}?format=car&dag-scope=block`)
        assert.equal(block.status, 200, `${cid}: ${block.body}`)
        n++
      }
    }
    assert.ok(n > packed.shards.length, `${n} blocks`)
    // A path that starts below the upload's root: the image's own file node.
    const { CarBlockIterator: It } = await import('@ipld/car/iterator')
    const rootShard = packed.shards.at(-1)
    const dagPb = await import('@ipld/dag-pb')
    let imgCid
    for await (const { cid, bytes } of await It.fromBytes(rootShard.bytes)) {
      if (cid.toString() === packed.root) imgCid = dagPb.decode(bytes).Links.find((l) => l.Name === 'img.bin').Hash
    }
    const img = await world.client.get(`/ipfs/${imgCid}`)
    assert.equal(img.status, 200)
    assert.ok(img.body.equals(image))
    const car = await world.client.get(`/ipfs/${imgCid}?format=car&dag-scope=entity&entity-bytes=0:99`)
    assert.equal(car.status, 200)
  })

  test('the same upload twice is stored once', async () => {
    const before = await objects(world.client, 'shards/')
    for (const s of packed.shards) {
      const r = await upload(world.client, token, s.bytes, { 'X-Carport-Root': packed.root })
      assert.equal(r.status, 200, r.body.toString())
      assert.equal(body(r).duplicate, true)
    }
    assert.deepEqual(await objects(world.client, 'shards/'), before)
    const r = body(await world.client.get(`/archive/${packed.root}`))
    assert.equal(r.shards.length, packed.shards.length)
  })
})

test('GET /_admin/broker names the broker and the client address a provider must allow', async () => {
  const r = await world.client.get('/_admin/broker', { Authorization: 'Bearer test-admin-token' })
  assert.equal(r.status, 200, r.body.toString())
  const b = body(r)
  assert.equal(b.api, 'mk20')
  assert.equal(b.url, world.broker.url)
  assert.match(b.client, /^f1[a-z2-7]{39}$/)
  const deals = await brokerDeals(world)
  assert.ok(deals.length > 0 && deals.every((d) => d.client === b.client), 'the broker saw that client sign every deal')
})

describe('refusals: a 4xx naming the problem and the CID, and nothing stored', () => {
  async function refused (bytes, headers, status, pattern, tok = token) {
    const before = await objects(world.client, '')
    const r = await upload(world.client, tok, bytes, headers)
    assert.equal(r.status, status, r.body.toString())
    const b = JSON.parse(r.body.toString())
    assert.match(b.error, pattern)
    assert.deepEqual(await objects(world.client, ''), before, 'nothing stored')
    return b
  }

  test('no token, a wrong token, a revoked token', async () => {
    const { shards } = await packSite(site('t', 200_000).entries, 10_000_000)
    await refused(shards[0].bytes, {}, 401, /Bearer/, null)
    await refused(shards[0].bytes, {}, 401, /unknown or revoked/, 'cpt_0000')
    const t = await newToken(world.client)
    const id = crypto.createHash('sha256').update(t).digest('hex')
    const del = await world.client.request(`/_admin/tokens/${id}`, { method: 'DELETE', headers: { Authorization: 'Bearer test-admin-token' } })
    assert.equal(del.status, 200)
    await refused(shards[0].bytes, {}, 401, /unknown or revoked/, t)
  })

  test('a CAR with a corrupted block', async () => {
    const { shards } = await packSite(site('c', 200_000).entries, 10_000_000)
    const bad = Buffer.from(shards[0].bytes)
    bad[bad.length - 100] ^= 1
    const b = await refused(bad, {}, 422, /does not match its CID/)
    assert.ok(b.cid.startsWith('bafy') || b.cid.startsWith('bafk'), b.cid)
  })

  test("another token cannot attach a shard to someone's upload, started or complete", async () => {
    const owner = await newToken(world.client)
    const squatter = await newToken(world.client)
    const packed = await packSite(site('owned').entries)
    // The owner starts the upload; the squatter tries to attach a shard with a dangling link.
    const first = await upload(world.client, owner, packed.shards[0].bytes, { 'X-Carport-Root': packed.root })
    assert.equal(first.status, 201, first.body.toString())
    const junk = await packSite(site('junk', 2_500_000).entries, 1_500_000)
    assert.equal(junk.shards[0].roots.length, 0, 'a shard before the last, with dangling links')
    const b = await refused(junk.shards[0].bytes, { 'X-Carport-Root': packed.root }, 403, /another token/, squatter)
    assert.match(b.error, new RegExp(packed.root))
    // The owner's upload completes as if nothing happened, with its own shards only.
    for (const s of packed.shards.slice(1)) {
      const r = await upload(world.client, owner, s.bytes, { 'X-Carport-Root': packed.root })
      assert.ok(r.status === 201 || r.status === 200, r.body.toString())
    }
    const record = body(await world.client.get(`/archive/${packed.root}`))
    assert.equal(record.shards.length, packed.shards.length)
    // Complete now: not reopened by another token either.
    await refused(packed.shards.at(-1).bytes, { 'X-Carport-Root': packed.root }, 403, /stored and complete by another token/, squatter)
  })

  test('bytes outside the blocks (after a zero-length section) are refused, not stored and dealt', async () => {
    const { shards } = await packSite(site('z', 200_000).entries, 10_000_000)
    const smuggled = Buffer.concat([shards[0].bytes, Buffer.from([0]), Buffer.from('not a block, but it would be archived')])
    await refused(smuggled, {}, 400, /outside its blocks/)
  })

  test('a refused shard leaves nothing in the block index: its good blocks are not found', async () => {
    const packed = await packSite(site('i').entries)
    const last = packed.shards.at(-1)
    await refused(last.bytes, { 'X-Carport-Root': packed.root }, 422, /missing/)
    const { CarBlockIterator } = await import('@ipld/car/iterator')
    for await (const { cid } of await CarBlockIterator.fromBytes(last.bytes)) {
      const r = await world.client.get(`/ipfs/${cid}?format=raw`)
      assert.equal(r.status, 404, `${cid} must not be served from a refused shard`)
    }
  })

  test('a CAR whose root is missing blocks', async () => {
    const packed = await packSite(site('m').entries)
    const last = packed.shards.at(-1)
    const b = await refused(last.bytes, { 'X-Carport-Root': packed.root }, 422, /missing/)
    assert.ok(b.cid, 'names the missing block')
  })

  test('a lying piece CID header', async () => {
    const { shards } = await packSite(site('p', 200_000).entries, 10_000_000)
    const lie = (await pieceCid(new Uint8Array(1000).fill(7))).cid
    const b = await refused(shards[0].bytes, { 'X-Carport-Piece': lie }, 422, /does not match the CAR's piece CID/)
    assert.equal(b.cid, lie)
  })

  test('an oversized body', async () => {
    const { shards } = await packSite(site('o').entries, 10_000_000)
    assert.ok(shards[0].bytes.length > 2_000_000)
    await refused(shards[0].bytes, {}, 413, /limit is 2000000 bytes/)
  })

  test('a truncated CAR', async () => {
    const { shards } = await packSite(site('x', 200_000).entries, 10_000_000)
    await refused(shards[0].bytes.subarray(0, 100_000), {}, 400, /truncated/)
  })

  test('a size quota and a rate limit: 429', async () => {
    const small = await newToken(world.client, { quotaBytes: 1000 })
    const { shards } = await packSite(site('q', 200_000).entries, 10_000_000)
    await refused(shards[0].bytes, {}, 429, /size quota: 0 of 1000 bytes used/, small)
    const slow = await newToken(world.client, { ratePerMinute: 1 })
    const first = await upload(world.client, slow, shards[0].bytes, {})
    assert.equal(first.status, 201, first.body.toString())
    const r = await upload(world.client, slow, shards[0].bytes, {})
    assert.equal(r.status, 429)
    assert.ok(Number(r.headers['retry-after']) >= 1)
  })
})

test('40 uploads at once cannot together pass a 2000-byte quota: bytes are reserved before the body', async () => {
  const tok = await newToken(world.client, { quotaBytes: 2000 })
  const cars = []
  for (let i = 0; i < 40; i++) {
    const { shards } = await packSite([{ path: 'a.txt', content: new TextEncoder().encode(`parallel upload ${i} ${'x'.repeat(200)}`) }], 10_000_000)
    cars.push(shards[0].bytes)
  }
  const answers = await Promise.all(cars.map((c) => upload(world.client, tok, c, {})))
  const stored = answers.filter((r) => r.status === 201)
  const bytes = stored.reduce((n, r) => n + body(r).size, 0)
  assert.ok(bytes <= 2000, `${stored.length} uploads stored ${bytes} bytes`)
  assert.ok(stored.length >= 1, 'the quota still lets uploads in')
  for (const r of answers.filter((r) => r.status !== 201)) assert.equal(r.status, 429, r.body.toString())
})

describe('the broker misbehaves; nothing is lost', () => {
  test('a broker that fails twice, then takes the deal', async () => {
    await brokerFaults(world, { fail_next: 2 })
    const packed = await packSite(site('f').entries)
    await uploadAll(packed)
    const retried = await waitFor(world.client, packed.root, (r) => r.shards.some((s) => /attempt 2/.test(s.note ?? '')), { what: 'the second retry' })
    assert.equal(retried.stage, 'offered')
    const record = await waitFor(world.client, packed.root, complete, { what: 'the deal after retries' })
    await verifyArchive(record, { pieceCid: packed.shards.map((s) => s.piece) })
    const deals = (await brokerDeals(world)).filter((d) => JSON.stringify(d).includes(record.shards[0].aggregate))
    assert.equal(deals.length, 1, 'retries named the same deal')
  })

  test('a broker that rejects the deal: the pieces go into the next aggregate', async () => {
    await brokerFaults(world, { reject_next: 1 })
    const packed = await packSite(site('r').entries)
    await uploadAll(packed)
    const record = await waitFor(world.client, packed.root, complete, { what: 'the deal after a rejection' })
    await verifyArchive(record, { pieceCid: packed.shards.map((s) => s.piece) })
    const state = body(await world.client.get('/_admin/archivist', { Authorization: 'Bearer test-admin-token' }))
    const mine = state.aggregates.filter((a) => a.cid === record.shards[0].aggregate)
    assert.equal(mine.length, 2, 'a failed aggregate, then the next')
    assert.match(mine[0].failed, /rejected/)
    assert.equal(mine[1].stage, 'complete')
  })

  test('a provider that says complete without ever pulling the aggregate: never called archived', async () => {
    await brokerFaults(world, { lie_next: 1 })
    const packed = await packSite(site('lie').entries)
    await uploadAll(packed)
    const sealing = await waitFor(world.client, packed.root, (r) => r.shards.some((s) => /never fetched/.test(s.note ?? '')), { what: 'the unpulled deal noticed' })
    // The broker's own word is "complete".
    const deals = await brokerDeals(world)
    const ours = deals.find((d) => d.piece_cid === sealing.shards[0].aggregate)
    assert.equal(ours.stage, 'complete', JSON.stringify(ours))
    assert.notEqual(sealing.stage, 'complete')
    for (const s of sealing.shards) {
      assert.equal(s.stage, 'sealing')
      assert.equal(s.times.pulled, undefined)
      assert.equal(s.times.complete, undefined)
    }
  })

  test('the worker restarted mid-way: the state survives and the deal completes', async () => {
    const packed = await packSite(site('s').entries)
    await uploadAll(packed)
    await waitFor(world.client, packed.root, (r) => r.stage !== 'stored', { what: 'the aggregate' })
    await world.restartWorker()
    const record = await waitFor(world.client, packed.root, complete, { what: 'the deal after a restart' })
    await verifyArchive(record, { pieceCid: packed.shards.map((s) => s.piece) })
    const page = await world.client.get(`/ipfs/${packed.root}/about/`)
    assert.match(page.body.toString(), /about s/)
  })
})
