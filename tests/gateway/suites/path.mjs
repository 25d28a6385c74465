// Path gateway: UnixFS files and folders by path, index.html, listings, 301s, headers, ranges.
// Ports TestUnixFSDirectoryListing, TestGatewaySymlink, TestGatewayUnixFSFileRanges, TestGatewayCache
// (without only-if-cached), TestCors and TestPathGatewayMiscellaneous.
import { describe, test, before } from 'node:test'
import assert from 'node:assert/strict'
import { Fixture } from '../lib/harness.mjs'

const IMMUTABLE = 'public, max-age=29030400, immutable'

export function pathGateway (world) {
  const get = (p, h) => world.client.get(p, h)

  describe('TestUnixFSDirectoryListing', () => {
    let f, root, file
    before(async () => {
      f = await Fixture.open('dir_listing/fixtures.car')
      root = f.roots[0].toString()
      file = f.cid('ą', 'ę', 'file-źł.txt').toString()
    })
    test('backlink on root CID is hidden', async () => {
      const r = await get(`/ipfs/${root}/`)
      assert.equal(r.status, 200)
      assert.match(r.body.toString(), /Index of/)
      assert.ok(!r.body.toString().includes(`<a href="/ipfs/${root}/">..</a>`))
    })
    test('redirect dir listing to URL with trailing slash', async () => {
      const r = await get(`/ipfs/${root}/%C4%85/%C4%99`)
      assert.equal(r.status, 301)
      assert.equal(r.headers.location, `/ipfs/${root}/%C4%85/%C4%99/`)
    })
    test('dir listing HTML response', async () => {
      const r = await get(`/ipfs/${root}/%C4%85/%C4%99/`)
      assert.equal(r.status, 200)
      assert.match(r.headers.etag, /"DirIndex-/)
      const html = r.body.toString()
      for (const want of [
        'Index of',
        `/ipfs/<a href="/ipfs/${root}">${root}</a>/<a href="/ipfs/${root}/%C4%85">ą</a>/<a href="/ipfs/${root}/%C4%85/%C4%99">ę</a>`,
        `<a href="/ipfs/${root}/%C4%85/%C4%99/..">..</a>`,
        `<a href="/ipfs/${root}/%C4%85/%C4%99/file-%C5%BA%C5%82.txt">file-źł.txt</a>`,
        `<a class="ipfs-hash" translate="no" href="/ipfs/${file}?filename=file-%25C5%25BA%25C5%2582.txt">`
      ]) assert.ok(html.includes(want), want)
    })
    test('GET for a file that does not exist returns 404', async () => {
      assert.equal((await get(`/ipfs/${root}/i-do-not-exist`)).status, 404)
    })
  })

  describe('TestGatewaySymlink', () => {
    let f, root
    before(async () => {
      f = await Fixture.open('path_gateway_unixfs/symlink.car')
      root = f.roots[0].toString()
    })
    test('the directory listing', async () => {
      const html = (await get(`/ipfs/${root}/`)).body.toString()
      assert.ok(html.includes('>foo<') && html.includes('>bar<'))
    })
    test('the directory raw query', async () => {
      const r = await get(`/ipfs/${root}?format=raw`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, Buffer.from(f.block(f.roots[0])))
    })
    test('the symlink', async () => {
      const r = await get(`/ipfs/${root}/bar`)
      assert.equal(r.status, 200)
      assert.equal(r.body.toString(), 'foo')
    })
  })

  describe('TestGatewayUnixFSFileRanges', () => {
    let f, root, ascii, missing
    before(async () => {
      f = await Fixture.open('path_gateway_unixfs/dir-with-files.car')
      root = f.roots[0].toString()
      ascii = f.file(f.cid('ascii.txt'))
      missing = await Fixture.open('trustless_gateway_car/file-3k-and-3-blocks-missing-block.car')
    })
    test('GET for a file includes Accept-Ranges', async () => {
      const r = await get(`/ipfs/${root}/ascii.txt`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['accept-ranges'], 'bytes')
      assert.deepEqual(r.body, ascii)
    })
    test('single range request includes correct bytes', async () => {
      const r = await get(`/ipfs/${root}/ascii.txt`, { Range: 'bytes=6-16' })
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-range'], 'bytes 6-16/31')
      assert.deepEqual(r.body, ascii.subarray(6, 17))
    })
    test('suffix range request returns the tail', async () => {
      const r = await get(`/ipfs/${root}/ascii.txt`, { Range: 'bytes=-3' })
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-range'], 'bytes 28-30/31')
      assert.deepEqual(r.body, ascii.subarray(28, 31))
    })
    test('multiple ranges: the first one is served', async () => {
      const r = await get(`/ipfs/${root}/ascii.txt`, { Range: 'bytes=6-16,0-4' })
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-range'], 'bytes 6-16/31')
      assert.deepEqual(r.body, ascii.subarray(6, 17))
    })
    test('range succeeds although a block AFTER it is missing', async () => {
      const r = await get(`/ipfs/${missing.roots[0]}`, { Range: 'bytes=997-1000' })
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-range'], 'bytes 997-1000/3072')
      assert.equal(r.body.length, 4)
    })
    test('range succeeds although a block BEFORE it is missing', async () => {
      const r = await get(`/ipfs/${missing.roots[0]}`, { Range: 'bytes=2200-2201' })
      assert.equal(r.status, 206)
      assert.equal(r.headers['content-range'], 'bytes 2200-2201/3072')
      assert.equal(r.body.length, 2)
    })
    test('unsatisfiable range is a 416', async () => {
      const r = await get(`/ipfs/${root}/ascii.txt`, { Range: 'bytes=100-200' })
      assert.equal(r.status, 416)
    })
  })

  describe('TestPathGatewayMiscellaneous', () => {
    test('a file whose name holds percent-encoded characters', async () => {
      const f = await Fixture.open('path_gateway_unixfs/dir-with-percent-encoded-filename.car')
      const r = await get(`/ipfs/${f.roots[0]}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, f.file(f.cid('Portugal%2C+España=Peninsula Ibérica.txt')))
    })
  })

  describe('TestGatewayCache', () => {
    let f, root, c2, c3, c4, idx
    before(async () => {
      f = await Fixture.open('gateway-cache/fixtures.car')
      root = f.roots[0].toString()
      c2 = f.cid('root2').toString()
      c3 = f.cid('root2', 'root3').toString()
      c4 = f.cid('root2', 'root3', 'root4').toString()
      idx = f.cid('root2', 'root3', 'root4', 'index.html').toString()
    })
    test('unixfs dir listing', async () => {
      const r = await get(`/ipfs/${root}/root2/root3/`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['x-ipfs-path'], `/ipfs/${root}/root2/root3/`)
      assert.equal(r.headers['x-ipfs-roots'], `${root},${c2},${c3}`)
      assert.match(r.headers.etag, new RegExp(`DirIndex-.*_CID-${c3}`))
      assert.equal(r.headers['cache-control'], 'public, max-age=604800, stale-while-revalidate=2678400')
    })
    test('unixfs dir with index.html', async () => {
      const r = await get(`/ipfs/${root}/root2/root3/root4/`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['cache-control'], IMMUTABLE)
      assert.equal(r.headers['x-ipfs-path'], `/ipfs/${root}/root2/root3/root4/`)
      assert.equal(r.headers['x-ipfs-roots'], `${root},${c2},${c3},${c4}`)
      assert.equal(r.headers.etag, `"${c4}"`)
      assert.match(r.headers['content-type'], /text\/html/)
    })
    test('unixfs file', async () => {
      const r = await get(`/ipfs/${root}/root2/root3/root4/index.html`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['cache-control'], IMMUTABLE)
      assert.equal(r.headers['x-ipfs-path'], `/ipfs/${root}/root2/root3/root4/index.html`)
      assert.equal(r.headers['x-ipfs-roots'], `${root},${c2},${c3},${c4},${idx}`)
      assert.equal(r.headers.etag, `"${idx}"`)
    })
    test('unixfs dir as raw block', async () => {
      const r = await get(`/ipfs/${root}/root2/root3/root4/?format=raw`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['cache-control'], IMMUTABLE)
      assert.deepEqual(r.body, Buffer.from([
        0x12, 0x34, 0x0a, 0x24, 0x01, 0x55, 0x12, 0x20, 0x58, 0x91, 0xb5, 0xb5,
        0x22, 0xd5, 0xdf, 0x08, 0x6d, 0x0f, 0xf0, 0xb1, 0x10, 0xfb, 0xd9, 0xd2,
        0x1b, 0xb4, 0xfc, 0x71, 0x63, 0xaf, 0x34, 0xd0, 0x82, 0x86, 0xa2, 0xe8,
        0x46, 0xf6, 0xbe, 0x03, 0x12, 0x0a, 0x69, 0x6e, 0x64, 0x65, 0x78, 0x2e,
        0x68, 0x74, 0x6d, 0x6c, 0x18, 0x06, 0x0a, 0x02, 0x08, 0x01
      ]))
    })
    for (const [name, inm] of [
      ['matching Etag', (c) => `"${c}"`],
      ['matching third Etag', (c) => `"fakeEtag1", "fakeEtag2", "${c}"`],
      ['matching weak Etag', (c) => `W/"${c}"`],
      ['wildcard Etag', () => '*']
    ]) {
      test(`file with ${name} in If-None-Match returns 304`, async () => {
        const r = await get(`/ipfs/${root}/root2/root3/root4/index.html`, { 'If-None-Match': inm(idx) })
        assert.equal(r.status, 304)
        assert.equal(r.body.length, 0)
      })
    }
    test('dir with index.html and matching Etag returns 304', async () => {
      assert.equal((await get(`/ipfs/${root}/root2/root3/root4/`, { 'If-None-Match': `"${c4}"` })).status, 304)
    })
    test('dir listing with matching strong and weak Etag returns 304', async () => {
      const etag = (await get(`/ipfs/${root}/root2/root3/`)).headers.etag
      assert.ok(etag)
      assert.equal((await get(`/ipfs/${root}/root2/root3/`, { 'If-None-Match': etag })).status, 304)
      assert.equal((await get(`/ipfs/${root}/root2/root3/`, { 'If-None-Match': `W/${etag}` })).status, 304)
    })
  })

  describe('TestCors', () => {
    const check = (r) => {
      assert.equal(r.headers['access-control-allow-origin'], '*')
      for (const m of ['GET', 'HEAD', 'OPTIONS']) assert.ok(r.headers['access-control-allow-methods'].includes(m))
      for (const h of ['Content-Type', 'Range', 'User-Agent', 'X-Requested-With']) assert.ok(r.headers['access-control-allow-headers'].includes(h))
      for (const h of ['Content-Range', 'Content-Length', 'X-Ipfs-Path', 'X-Ipfs-Roots', 'X-Chunked-Output', 'X-Stream-Output']) assert.ok(r.headers['access-control-expose-headers'].includes(h), h)
    }
    test('GET responses carry CORS headers', async () => {
      const r = await get('/ipfs/bafkqabtimvwgy3yk/')
      assert.equal(r.status, 200)
      assert.equal(r.body.toString(), 'hello\n')
      check(r)
    })
    test('OPTIONS succeeds', async () => {
      const r = await world.client.request('/ipfs/bafkqabtimvwgy3yk/', { method: 'OPTIONS' })
      assert.ok(r.status < 300)
      check(r)
    })
  })

  describe('path gateway basics', () => {
    test('a HAMT-sharded folder: files by name, and a listing of every entry', async () => {
      const f = await Fixture.open('trustless_gateway_car/single-layer-hamt-with-multi-block-files.car')
      const root = f.roots[0].toString()
      const r = await get(`/ipfs/${root}/685.txt`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, f.file(f.cid('685.txt')))
      assert.match(r.headers['content-type'], /text\/plain/)
      const list = await get(`/ipfs/${root}/`)
      assert.equal(list.status, 200)
      assert.ok(list.body.toString().includes('>685.txt<'))
      assert.ok(list.body.toString().includes('>1.txt<'))
    })
    test('HEAD gives the headers without a body', async () => {
      const f = await Fixture.open('path_gateway_unixfs/dir-with-files.car')
      const r = await world.client.request(`/ipfs/${f.roots[0]}/ascii.txt`, { method: 'HEAD' })
      assert.equal(r.status, 200)
      assert.equal(r.body.length, 0)
      assert.equal(r.headers.etag, `"${f.cid('ascii.txt')}"`)
    })
    test('content type from the first bytes when the name says nothing', async () => {
      const f = await Fixture.open('path_gateway_unixfs/dir-with-files.car')
      const r = await get(`/ipfs/${f.cid('ascii.txt')}`)
      assert.match(r.headers['content-type'], /text\/plain/)
    })
    test('an invalid CID is a 400 naming the path', async () => {
      const r = await get('/ipfs/QmInvalidCID')
      assert.equal(r.status, 400)
      assert.match(r.body.toString(), /invalid path "\/ipfs\/QmInvalidCID"/)
    })
  })
}
