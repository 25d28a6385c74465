// Trustless responses: raw blocks and CARs (dag-scope, entity-bytes, pathing), with the headers the
// trustless gateway spec asks for. Ports TestTrustlessRaw, TestTrustlessRawRanges, TestGatewayBlock,
// TestTrustlessCarPathing, TestTrustlessCarDagScope{Block,Entity,All}, TestTrustlessCarEntityBytes.
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { Fixture, carBlocks } from '../lib/harness.mjs'

function cacheControlOk (v) {
  const d = Object.fromEntries(v.replace(/ /g, '').split(',').map((x) => x.split('=')))
  return 'public' in d && 'immutable' in d && Number(d['max-age']) >= 29030400
}

export function trustless (world) {
  const get = (p, h) => world.client.get(p, h)

  describe('TestTrustlessRaw', () => {
    let f
    before(async () => { f = await Fixture.open('gateway-raw-block.car') })
    test('format=raw returns a raw block', async () => {
      const r = await get(`/ipfs/${f.cid('dir')}?format=raw`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, Buffer.from(f.block(f.cid('dir'))))
    })
    test('Accept: application/vnd.ipld.raw returns a raw block', async () => {
      const r = await get(`/ipfs/${f.cid('dir')}`, { Accept: 'application/vnd.ipld.raw' })
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, Buffer.from(f.block(f.cid('dir'))))
    })
    test('raw response headers', async () => {
      const c = f.cid('dir', 'ascii.txt')
      const r = await get(`/ipfs/${c}`, { Accept: 'application/vnd.ipld.raw' })
      assert.equal(r.status, 200)
      assert.equal(r.headers['content-type'], 'application/vnd.ipld.raw')
      assert.equal(r.headers['content-length'], String(f.block(c).length))
      assert.match(r.headers['content-disposition'], /attachment;/)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
      assert.deepEqual(r.body, Buffer.from(f.block(c)))
    })
    test('filename param gives a custom Content-Disposition', async () => {
      const r = await get(`/ipfs/${f.cid('dir', 'ascii.txt')}?filename=foobar.bin`, { Accept: 'application/vnd.ipld.raw' })
      assert.match(r.headers['content-disposition'], /attachment;/)
      assert.match(r.headers['content-disposition'], /filename="foobar.bin/)
    })
    test('caching headers', async () => {
      const c = f.cid('dir', 'ascii.txt')
      const r = await get(`/ipfs/${c}`, { Accept: 'application/vnd.ipld.raw' })
      assert.ok(r.headers.etag)
      assert.equal(r.headers['x-ipfs-path'], `/ipfs/${c}`)
      assert.ok(r.headers['x-ipfs-roots'].includes(c.toString()))
      assert.ok(cacheControlOk(r.headers['cache-control']))
    })
  })

  describe('TestTrustlessRawRanges', () => {
    test('a range of a raw block includes the right bytes', async () => {
      const f = await Fixture.open('gateway-raw-block.car')
      const c = f.cid('dir', 'ascii.txt')
      const data = Buffer.from(f.block(c))
      for (const [a, b] of [[0, 0], [3, 9], [data.length - 5, data.length - 1]]) {
        const r = await get(`/ipfs/${c}`, { Accept: 'application/vnd.ipld.raw', Range: `bytes=${a}-${b}` })
        if (r.status === 206) {
          assert.equal(r.headers['content-range'], `bytes ${a}-${b}/${data.length}`)
          assert.deepEqual(r.body, data.subarray(a, b + 1))
        } else {
          assert.equal(r.status, 200)
          assert.deepEqual(r.body, data)
        }
      }
    })
  })

  describe('TestGatewayBlock', () => {
    let f, root
    before(async () => {
      f = await Fixture.open('gateway-raw-block.car')
      root = f.roots[0].toString()
    })
    test('format=raw on a path', async () => {
      const r = await get(`/ipfs/${root}/dir?format=raw`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, Buffer.from(f.block(f.cid('dir'))))
    })
    test('Accept raw on a path', async () => {
      const r = await get(`/ipfs/${root}/dir`, { Accept: 'application/vnd.ipld.raw' })
      assert.deepEqual(r.body, Buffer.from(f.block(f.cid('dir'))))
    })
    test('single range of a raw block', async () => {
      const r = await get(`/ipfs/${root}/dir`, { Accept: 'application/vnd.ipld.raw', Range: 'bytes=6-16' })
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-type'], 'application/vnd.ipld.raw')
      assert.equal(r.headers['content-range'], 'bytes 6-16/57')
      assert.deepEqual(r.body, Buffer.from(f.block(f.cid('dir'))).subarray(6, 17))
    })
    test('headers of a raw block on a path', async () => {
      const c = f.cid('dir', 'ascii.txt')
      const r = await get(`/ipfs/${root}/dir/ascii.txt`, { Accept: 'application/vnd.ipld.raw' })
      assert.equal(r.headers['content-type'], 'application/vnd.ipld.raw')
      assert.equal(r.headers['content-length'], String(f.block(c).length))
      assert.match(r.headers['content-disposition'], /attachment;/)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
      assert.equal(r.headers['x-ipfs-path'], `/ipfs/${root}/dir/ascii.txt`)
      assert.ok(r.headers['x-ipfs-roots'].includes(root))
      assert.ok(cacheControlOk(r.headers['cache-control']))
      const named = await get(`/ipfs/${root}/dir/ascii.txt?filename=foobar.bin`, { Accept: 'application/vnd.ipld.raw' })
      assert.match(named.headers['content-disposition'], /filename="foobar.bin/)
    })
  })

  // Each CAR case runs twice, as the conformance suite does: with format=car and with Accept.
  async function car (path, query, expect) {
    for (const mode of ['format', 'accept']) {
      const q = new URLSearchParams(query)
      const headers = {}
      if (mode === 'format') q.set('format', 'car')
      else headers.Accept = 'application/vnd.ipld.car'
      const r = await get(`${path}?${q}`, headers)
      if (expect.status && r.status === expect.status && expect.status !== 200) continue
      assert.equal(r.status, 200, `${mode}: ${r.body}`)
      assert.equal(r.headers['x-content-type-options'], 'nosniff')
      assert.equal(r.headers['accept-ranges'], 'none')
      assert.match(r.headers['content-type'], /application\/vnd\.ipld\.car/)
      assert.match(r.headers['content-type'], /version=1/)
      assert.match(r.headers['content-disposition'], /attachment; filename=".*\.car"/)
      assert.ok(r.headers.etag)
      const got = await carBlocks(r.body)
      const want = expect.blocks.map(String)
      if (expect.anyOrder) assert.deepEqual([...got].sort(), [...want].sort(), mode)
      else assert.deepEqual(got, want, mode)
    }
  }

  describe('TestTrustlessCarPathing', () => {
    let two, hamt, cbor
    before(async () => {
      two = await Fixture.open('trustless_gateway_car/subdir-with-two-single-block-files.car')
      hamt = await Fixture.open('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car')
      cbor = await Fixture.open('trustless_gateway_car/dir-with-dag-cbor-with-links.car')
    })
    test('pathing through a UnixFS folder', () => car(`/ipfs/${two.roots[0]}/subdir/ascii.txt`, {}, {
      blocks: [two.roots[0], two.cid('subdir'), two.cid('subdir', 'ascii.txt')]
    }))
    test('a file on a path with a HAMT-sharded folder', () => {
      const { shards, cid } = hamt.hamtFind(hamt.roots[0], '685.txt')
      return car(`/ipfs/${hamt.roots[0]}/685.txt`, {}, { blocks: [hamt.roots[0], ...shards, cid, ...hamt.descendants(cid)] })
    })
    test('a file on a path with DAG-CBOR as root', async () => {
      const doc = cbor.cid('document')
      const single = cbor.order.find((c) => c.code !== 0x71 && c.code !== 0x70 && cbor.block(c) && c.toString() !== doc.toString())
      const r = await get(`/ipfs/${doc}/files/single?format=car`)
      assert.equal(r.status, 200)
      const got = await carBlocks(r.body)
      assert.equal(got[0], doc.toString())
      assert.equal(got.length, 2)
      assert.ok(single)
    })
    test('a file that does not exist: 404', () => car(`/ipfs/${two.roots[0]}/subdir/i-do-not-exist`, {}, { status: 404, blocks: [] }))
  })

  describe('TestTrustlessCarDagScopeBlock', () => {
    let two, hamt
    before(async () => {
      two = await Fixture.open('trustless_gateway_car/subdir-with-two-single-block-files.car')
      hamt = await Fixture.open('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car')
    })
    test('dag-scope=block of a folder on a path', () => car(`/ipfs/${two.roots[0]}/subdir`, { 'dag-scope': 'block' }, { blocks: [two.roots[0], two.cid('subdir')] }))
    test('dag-scope=block of a file on a path', () => car(`/ipfs/${two.roots[0]}/subdir/ascii.txt`, { 'dag-scope': 'block' }, { blocks: [two.roots[0], two.cid('subdir'), two.cid('subdir', 'ascii.txt')] }))
    test('dag-scope=block through a sharded folder', () => {
      const { shards, cid } = hamt.hamtFind(hamt.roots[0], '1.txt')
      return car(`/ipfs/${hamt.roots[0]}/1.txt`, { 'dag-scope': 'block' }, { blocks: [hamt.roots[0], ...shards, cid] })
    })
  })

  describe('TestTrustlessCarDagScopeEntity', () => {
    let two, hamt, mixed, cbor
    before(async () => {
      two = await Fixture.open('trustless_gateway_car/subdir-with-two-single-block-files.car')
      hamt = await Fixture.open('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car')
      mixed = await Fixture.open('trustless_gateway_car/subdir-with-mixed-block-files.car')
      cbor = await Fixture.open('trustless_gateway_car/dir-with-dag-cbor-with-links.car')
    })
    test('a UnixFS folder', () => car(`/ipfs/${two.roots[0]}`, { 'dag-scope': 'entity' }, { blocks: [two.roots[0]] }))
    test('a sharded folder: every shard, nothing below', () => car(`/ipfs/${hamt.roots[0]}`, { 'dag-scope': 'entity' }, { blocks: [hamt.roots[0], ...hamt.hamtShards(hamt.roots[0])] }))
    test('a UnixFS file', () => car(`/ipfs/${mixed.roots[0]}/subdir/ascii.txt`, { 'dag-scope': 'entity' }, { blocks: [mixed.roots[0], mixed.cid('subdir'), mixed.cid('subdir', 'ascii.txt')] }))
    test('a chunked UnixFS file', () => {
      const m = mixed.cid('subdir', 'multiblock.txt')
      return car(`/ipfs/${mixed.roots[0]}/subdir/multiblock.txt`, { 'dag-scope': 'entity' }, { blocks: [mixed.roots[0], mixed.cid('subdir'), m, ...mixed.descendants(m)] })
    })
    test('DAG-CBOR with links: the document, not the linked content', () => car(`/ipfs/${cbor.roots[0]}/document`, { 'dag-scope': 'entity' }, { blocks: [cbor.roots[0], cbor.cid('document')] }))
  })

  describe('TestTrustlessCarDagScopeAll', () => {
    let mixed
    before(async () => { mixed = await Fixture.open('trustless_gateway_car/subdir-with-mixed-block-files.car') })
    test('a folder with several files', () => car(`/ipfs/${mixed.roots[0]}/subdir`, { 'dag-scope': 'all' }, { blocks: [mixed.roots[0], mixed.cid('subdir'), ...mixed.descendants(mixed.cid('subdir'))] }))
    test('a chunked file', () => {
      const m = mixed.cid('subdir', 'multiblock.txt')
      return car(`/ipfs/${mixed.roots[0]}/subdir/multiblock.txt`, { 'dag-scope': 'all' }, { blocks: [mixed.roots[0], mixed.cid('subdir'), m, ...mixed.descendants(m)] })
    })
  })

  describe('TestTrustlessCarEntityBytes', () => {
    let hamt, mixed, missing, m, leaves
    before(async () => {
      hamt = await Fixture.open('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car')
      mixed = await Fixture.open('trustless_gateway_car/subdir-with-mixed-block-files.car')
      missing = await Fixture.open('trustless_gateway_car/file-3k-and-3-blocks-missing-block.car')
      m = mixed.cid('subdir', 'multiblock.txt')
      leaves = mixed.descendants(m)
    })
    test('a block missing after the range does not matter', () => car(`/ipfs/${missing.roots[0]}`, { 'dag-scope': 'entity', 'entity-bytes': '0:1000' }, { anyOrder: true, blocks: [missing.roots[0], 'QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF'] }))
    test('a block missing before the range does not matter', () => car(`/ipfs/${missing.roots[0]}`, { 'dag-scope': 'entity', 'entity-bytes': '2200:*' }, { anyOrder: true, blocks: [missing.roots[0], 'QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV'] }))
    test('0:* of a file on a path', () => car(`/ipfs/${mixed.roots[0]}/subdir/multiblock.txt`, { 'dag-scope': 'entity', 'entity-bytes': '0:*' }, { blocks: [mixed.roots[0], mixed.cid('subdir'), m, ...leaves] }))
    test('entity-bytes of a folder is ignored', () => car(`/ipfs/${hamt.roots[0]}`, { 'dag-scope': 'entity', 'entity-bytes': '0:*' }, { blocks: [hamt.roots[0], ...hamt.hamtShards(hamt.roots[0])] }))
    const cases = [
      ['512:*', (l) => l.slice(2)],
      ['512:1023', (l) => l.slice(2, 4)],
      ['512:-256', (l) => l.slice(2, 4)],
      ['-5:*', (l) => l.slice(3)],
      ['-9999:*', (l) => l],
      ['-9999:-3', (l) => l.slice(0, 4)],
      ['0:0', (l) => l.slice(0, 1)]
    ]
    for (const [bytes, pick] of cases) {
      test(`entity-bytes=${bytes}`, () => car(`/ipfs/${m}`, { 'dag-scope': 'entity', 'entity-bytes': bytes }, { blocks: [m, ...pick(leaves)] }))
    }
    test('the leaves are the ones the spec names', () => {
      assert.deepEqual(leaves.map(String), [
        'bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm',
        'bafkreih4ephajybraj6wnxsbwjwa77fukurtpl7oj7t7pfq545duhot7cq',
        'bafkreigu7buvm3cfunb35766dn7tmqyh2um62zcio63en2btvxuybgcpue',
        'bafkreicll3huefkc3qnrzeony7zcfo7cr3nbx64hnxrqzsixpceg332fhe',
        'bafkreifst3pqztuvj57lycamoi7z34b4emf7gawxs74nwrc2c7jncmpaqm'
      ])
    })
  })

  describe('CAR responses are whole and verified', () => {
    test('dups=y repeats blocks, dups=n does not', async () => {
      const d = await Fixture.open('trustless_gateway_car/dir-with-duplicate-files.car')
      const y = await carBlocks((await get(`/ipfs/${d.roots[0]}?format=car&car-dups=y`)).body)
      const n = await carBlocks((await get(`/ipfs/${d.roots[0]}?format=car`)).body)
      assert.equal(new Set(n).size, n.length)
      assert.ok(y.length > n.length)
      const r = await get(`/ipfs/${d.roots[0]}?format=car`)
      assert.match(r.headers['content-type'], /dups=n/)
      assert.match(r.headers['content-type'], /order=dfs/)
    })
  })

  // What the current spec adds: 404 for a root nobody has, `dups` always stated, identity blocks
  // left out of CARs, the probe CID, IPIP-0523's precedence of `format=`, IPIP-0524's 406, the
  // 2 MiB block limit and `only-if-cached`.
  describe('trustless gateway spec, 2026 additions', () => {
    const MISSING = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

    test('a root nobody has: 404 for raw, for a CAR, and for HEAD', async () => {
      for (const q of ['format=raw', 'format=car', 'format=car&dag-scope=entity']) {
        assert.equal((await get(`/ipfs/${MISSING}?${q}`)).status, 404, q)
      }
      assert.equal((await world.client.request(`/ipfs/${MISSING}?format=raw`, { method: 'HEAD' })).status, 404)
    })

    test('the probe CID bafkqaaa: GET and HEAD answer 200, raw and CAR', async () => {
      const raw = await get('/ipfs/bafkqaaa?format=raw')
      assert.equal(raw.status, 200)
      assert.equal(raw.body.length, 0)
      const head = await world.client.request('/ipfs/bafkqaaa', { method: 'HEAD', headers: { Accept: 'application/vnd.ipld.raw' } })
      assert.equal(head.status, 200)
      const car = await get('/ipfs/bafkqaaa?format=car')
      assert.equal(car.status, 200)
      const { CarReader } = await import('@ipld/car/reader')
      const reader = await CarReader.fromBytes(car.body)
      assert.deepEqual((await reader.getRoots()).map(String), ['bafkqaaa'])
    })

    test('dups is stated in every CAR Content-Type, asked for or not', async () => {
      const d = await Fixture.open('trustless_gateway_car/dir-with-duplicate-files.car')
      for (const [q, h, dups] of [['format=car', {}, 'n'], ['format=car&car-dups=y', {}, 'y'], ['', { Accept: 'application/vnd.ipld.car' }, 'n'], ['', { Accept: 'application/vnd.ipld.car; dups=y' }, 'y']]) {
        const r = await get(`/ipfs/${d.roots[0]}?${q}`, h)
        assert.match(r.headers['content-type'], new RegExp(`dups=${dups}`), `${q} ${JSON.stringify(h)}`)
      }
    })

    test('identity blocks are never in a CAR', async () => {
      // A folder linking an identity CID (a tiny inlined file), made here with dag-pb.
      const dagPb = await import('@ipld/dag-pb')
      const { CID } = await import('multiformats/cid')
      const { identity } = await import('multiformats/hashes/identity')
      const { sha256 } = await import('multiformats/hashes/sha2')
      const { CarWriter } = await import('@ipld/car/writer')
      const inline = CID.createV1(0x55, identity.digest(Buffer.from('hi')))
      const dir = dagPb.encode({ Data: Uint8Array.from([0x08, 0x01]), Links: [{ Name: 'hi.txt', Hash: inline, Tsize: 2 }] })
      const root = CID.createV1(dagPb.code, await sha256.digest(dir))
      const { writer, out } = CarWriter.create([root])
      const parts = []
      const collected = (async () => { for await (const c of out) parts.push(c) })()
      await writer.put({ cid: root, bytes: dir })
      await writer.close()
      await collected
      await world.a.addCar(Buffer.concat(parts))
      const blocks = await carBlocks((await get(`/ipfs/${root}?format=car`)).body)
      assert.deepEqual(blocks, [root.toString()])
      const file = await get(`/ipfs/${root}/hi.txt`)
      assert.equal(file.body.toString(), 'hi')
    })

    test('format= wins over a specific Accept (IPIP-0523)', async () => {
      const f = await Fixture.open('gateway-raw-block.car')
      const root = f.roots[0]
      const raw = await get(`/ipfs/${root}?format=raw`, { Accept: 'application/vnd.ipld.car' })
      assert.equal(raw.headers['content-type'], 'application/vnd.ipld.raw')
      const car = await get(`/ipfs/${root}?format=car`, { Accept: 'application/vnd.ipld.raw' })
      assert.match(car.headers['content-type'], /application\/vnd\.ipld\.car/)
    })

    test('a codec that is not the block\'s: 406, never a conversion (IPIP-0524)', async () => {
      const f = await Fixture.open('gateway-raw-block.car')
      for (const fmt of ['dag-json', 'dag-cbor', 'cbor']) {
        const r = await get(`/ipfs/${f.roots[0]}?format=${fmt}`)
        assert.equal(r.status, 406, fmt)
        assert.match(r.body.toString(), /format=raw/)
      }
    })

    test('a block over 2 MiB from an upstream is refused, even when it hashes right', async () => {
      const { CID } = await import('multiformats/cid')
      const { sha256 } = await import('multiformats/hashes/sha2')
      const big = Buffer.alloc(2 * 1024 * 1024 + 1, 7)
      const cid = CID.createV1(0x55, await sha256.digest(big))
      const { CarWriter } = await import('@ipld/car/writer')
      const { writer, out } = CarWriter.create([cid])
      const parts = []
      const collected = (async () => { for await (const c of out) parts.push(c) })()
      await writer.put({ cid, bytes: big })
      await writer.close()
      await collected
      await world.a.addCar(Buffer.concat(parts))
      const r = await get(`/ipfs/${cid}?format=raw`)
      assert.equal(r.status, 502)
      assert.match(r.body.toString(), /over the 2097152-byte limit/)
    })

    test('Cache-Control: only-if-cached: 412 for a root not held here', async () => {
      const r = await get(`/ipfs/${MISSING}?format=raw`, { 'Cache-Control': 'only-if-cached' })
      assert.equal(r.status, 412)
    })
  })
}
