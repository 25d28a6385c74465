// A response that cannot be completed must not look complete, read here from a raw socket as any
// HTTP client or cache sees it, with the source of the last block killed mid-response. A body of
// known length (files; CARs up to the worker's CAR buffer) ends short of its Content-Length, or
// never starts: the error comes as a status. workerd ends a chunked body with its terminator even
// when the stream fails, so a longer CAR is marked no-store and its CAR ends short.
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { CarBlockIterator } from '@ipld/car/iterator'
import { pack } from './lying.mjs'

/** GET over a plain socket: the raw bytes until the server closes, split into head and body. */
function rawGet (port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1')
    const chunks = []
    const lines = [`GET ${path} HTTP/1.1`, 'Host: 127.0.0.1', 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', '']
    sock.on('connect', () => sock.write(lines.join('\r\n')))
    sock.on('data', (c) => chunks.push(c))
    sock.on('error', () => {}) // a reset is one of the answers looked for; 'close' follows
    sock.on('close', () => {
      const all = Buffer.concat(chunks)
      const at = all.indexOf('\r\n\r\n')
      if (at < 0) return reject(new Error(`no HTTP head in ${all.length} bytes`))
      const head = all.subarray(0, at).toString('latin1')
      const status = Number(head.split(' ')[1])
      const fields = Object.fromEntries(head.split('\r\n').slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]))
      resolve({ status, headers: fields, body: all.subarray(at + 4) })
    })
    sock.setTimeout(60_000, () => sock.destroy())
  })
}

/** The payload of a chunked body, as far as it goes. */
function dechunk (raw) {
  const parts = []
  let i = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', i)
    const size = eol < 0 ? NaN : parseInt(raw.subarray(i, eol).toString('latin1'), 16)
    if (Number.isNaN(size) || size === 0) return Buffer.concat(parts)
    parts.push(raw.subarray(eol + 2, Math.min(raw.length, eol + 2 + size)))
    i = eol + 2 + size + 2
  }
}

async function blockCids (car) {
  const out = []
  try {
    for await (const { cid } of await CarBlockIterator.fromBytes(car)) out.push(cid.toString())
  } catch {}
  return out
}

export function broken (world) {
  afterEach(() => {
    world.a.mode = { mode: 'honest' }
    world.b.mode = { mode: 'honest' }
  })

  describe('a response that cannot be completed never looks complete', () => {
    // A file whose last leaf only upstream A has, and A dies where it would send it; B is down.
    const setUp = async (size, chunk) => {
      const { root, car, data } = pack(size, chunk)
      await world.a.addCar(car)
      const cids = await blockCids(car)
      const leaves = []
      for await (const { cid } of await CarBlockIterator.fromBytes(car)) if (cid.code === 0x55) leaves.push(cid.toString())
      world.a.mode = { mode: 'die', cid: leaves[leaves.length - 1] }
      world.b.mode = { mode: 'down' }
      return { root, car, data, cids, last: leaves[leaves.length - 1] }
    }
    // The test world's CAR buffer is 2 MiB (CAR_BUFFER_BYTES): these CARs are under it and over it.
    const small = () => setUp(1024 * 1024 + 5000, 256 * 1024)
    const large = () => setUp(3 * 1024 * 1024 + 5000, 1024 * 1024)

    test('a whole CAR within the buffer: a Content-Length, immutable, every block', async () => {
      const { root, cids } = await small()
      world.a.mode = { mode: 'honest' }
      const r = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['transfer-encoding'], undefined)
      assert.equal(Number(r.headers['content-length']), r.body.length)
      assert.match(r.headers['cache-control'], /immutable/)
      assert.deepEqual((await blockCids(r.body)).sort(), [...cids].sort())
    })

    test('a CAR within the buffer whose last block is gone: no 200 at all, a 502 naming the block', async () => {
      const { root, last } = await small()
      const r = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`, { Accept: 'application/vnd.ipld.car' })
      assert.equal(r.status, 502)
      assert.match(r.body.toString(), new RegExp(last))
      assert.doesNotMatch(r.headers['cache-control'] ?? '', /immutable/)
    })

    test('a longer CAR whose last block is gone: 200 streamed chunked, never cacheable, its CAR short of the last block', async () => {
      const { root, cids, last } = await large()
      const r = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`, { Accept: 'application/vnd.ipld.car' })
      assert.equal(r.status, 200)
      assert.equal(r.headers['transfer-encoding'], 'chunked')
      assert.equal(r.headers['cache-control'], 'no-store')
      const payload = dechunk(r.body)
      const got = await blockCids(payload)
      assert.ok(got.length < cids.length, `${got.length} of ${cids.length} blocks`)
      assert.ok(!got.includes(last))
    })

    test('a file whose last block is gone: fewer bytes than its Content-Length, then the connection closes', async () => {
      const { root, data } = await large()
      const r = await rawGet(world.port, `/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['content-length'], String(data.length))
      assert.ok(r.body.length < data.length, `${r.body.length} of ${data.length} bytes`)
      assert.ok(r.body.equals(data.subarray(0, r.body.length)), 'what came is the file, byte for byte')
    })

    test('nothing of a broken response is kept: asked again with every source down, it is not served whole', async () => {
      const { root, cids, last } = await large()
      const first = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`)
      assert.ok((await blockCids(dechunk(first.body))).length < cids.length)
      world.a.mode = { mode: 'down' }
      await new Promise((resolve) => setTimeout(resolve, 500))
      const again = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`)
      assert.ok((await blockCids(dechunk(again.body))).length < cids.length)
      const leaf = await rawGet(world.port, `/ipfs/${last}?format=raw`)
      assert.equal(leaf.status, 502, 'the missing leaf was never cached')
    })
  })
}
