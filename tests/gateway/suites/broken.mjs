// A response that cannot be completed must not look complete. Once the headers (200, immutable)
// are out, the only way left to say "this failed" is the connection itself: a chunked body must
// end without its `0\r\n\r\n` terminator, a body of known length must end short of it. Read here
// from a raw socket, as any HTTP client or cache sees it, with the source of the last block
// killed mid-response.
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

/** Decodes a chunked body: its payload, and whether the terminating zero-length chunk came. */
function dechunk (raw) {
  const parts = []
  let i = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', i)
    if (eol < 0) return { payload: Buffer.concat(parts), terminated: false }
    const size = parseInt(raw.subarray(i, eol).toString('latin1'), 16)
    if (Number.isNaN(size)) return { payload: Buffer.concat(parts), terminated: false }
    if (size === 0) return { payload: Buffer.concat(parts), terminated: raw.subarray(eol, eol + 4).toString() === '\r\n\r\n' }
    if (raw.length < eol + 2 + size + 2) return { payload: Buffer.concat([...parts, raw.subarray(eol + 2)]), terminated: false }
    parts.push(raw.subarray(eol + 2, eol + 2 + size))
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

  describe('a failure after the headers is visible on the wire', () => {
    // A file of four leaves (three MiB-sized chunks and a short one) whose last leaf only
    // upstream A has, and A dies where it would send it.
    const setUp = async () => {
      const { root, car, data } = pack(3 * 1024 * 1024 + 5000, 1024 * 1024)
      await world.a.addCar(car)
      const cids = await blockCids(car)
      const leaves = []
      for await (const { cid } of await CarBlockIterator.fromBytes(car)) if (cid.code === 0x55) leaves.push(cid.toString())
      world.a.mode = { mode: 'die', cid: leaves[leaves.length - 1] }
      world.b.mode = { mode: 'down' }
      return { root, data, cids, last: leaves[leaves.length - 1] }
    }

    test('a CAR whose last block is gone: 200, then the chunked body ends without its terminator', async () => {
      const { root, cids, last } = await setUp()
      const r = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`, { Accept: 'application/vnd.ipld.car' })
      assert.equal(r.status, 200)
      assert.equal(r.headers['transfer-encoding'], 'chunked')
      const { payload, terminated } = dechunk(r.body)
      assert.equal(terminated, false, 'a broken CAR must not end with the zero-length chunk')
      const got = await blockCids(payload)
      assert.ok(got.length < cids.length, `${got.length} of ${cids.length} blocks`)
      assert.ok(!got.includes(last))
    })

    test('a file whose last block is gone: fewer bytes than its Content-Length, then the connection closes', async () => {
      const { root, data } = await setUp()
      const r = await rawGet(world.port, `/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['content-length'], String(data.length))
      assert.ok(r.body.length < data.length, `${r.body.length} of ${data.length} bytes`)
      assert.ok(r.body.equals(data.subarray(0, r.body.length)), 'what came is the file, byte for byte')
    })

    test('nothing of a broken response is kept: asked again with every source down, it is broken again', async () => {
      const { root, cids, last } = await setUp()
      const first = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`)
      assert.equal(dechunk(first.body).terminated, false)
      world.a.mode = { mode: 'down' }
      await new Promise((resolve) => setTimeout(resolve, 500))
      const again = await rawGet(world.port, `/ipfs/${root}?format=car&dag-scope=entity`)
      assert.equal(again.status, 200)
      const { payload, terminated } = dechunk(again.body)
      assert.equal(terminated, false)
      assert.ok((await blockCids(payload)).length < cids.length)
      const leaf = await rawGet(world.port, `/ipfs/${last}?format=raw`)
      assert.equal(leaf.status, 502, 'the missing leaf was never cached')
    })
  })
}
