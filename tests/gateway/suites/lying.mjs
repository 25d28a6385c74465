// Upstreams that lie: wrong bytes, truncated CARs, slow answers. The worker must never put a wrong
// byte in front of a user: it drops what does not hash to its CID and tries the next source, and
// when none is left answers 502 naming the CID (or, once streaming, breaks the body off).
import { describe, test, afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { carportBin } from '../lib/harness.mjs'

// Packs `size` random bytes with carport (chunks of `chunk`), returns {root, car, data}.
export function pack (size, chunk = 1024) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-lie-'))
  const file = path.join(dir, 'data.bin')
  const data = crypto.randomBytes(size)
  fs.writeFileSync(file, data)
  const out = path.join(dir, 'data.car')
  const stdout = execFileSync(carportBin(), ['pack', file, '-o', out, '--chunker', `size-${chunk}`], { encoding: 'utf8' })
  const root = stdout.trim().split('\n').pop().trim()
  const car = fs.readFileSync(out)
  fs.rmSync(dir, { recursive: true, force: true })
  return { root, car, data }
}

export function lying (world) {
  const get = (p, h) => world.client.get(p, h)
  afterEach(() => {
    world.a.mode = { mode: 'honest' }
    world.b.mode = { mode: 'honest' }
  })

  describe('lying upstreams', () => {
    test('upstream connections are kept and reused, not opened per request', async () => {
      const roots = []
      for (let i = 0; i < 20; i++) {
        const { root, car } = pack(3000 + i)
        await world.a.addCar(car)
        roots.push(root)
      }
      const before = { ...world.a.stats }
      for (const root of roots) assert.equal((await get(`/ipfs/${root}`)).status, 200)
      const asked = world.a.stats.car + world.a.stats.raw - before.car - before.raw
      const opened = world.a.stats.connections - before.connections
      assert.ok(asked >= 20, `upstream asked ${asked} times`)
      assert.ok(opened <= 4, `${opened} connections opened for ${asked} upstream requests`)
    })

    test('wrong bytes from the only upstream that has the block: 502 naming the CID', async () => {
      const { root, car } = pack(3000)
      await world.a.addCar(car)
      world.a.mode = { mode: 'corrupt' }
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 502)
      assert.ok(r.body.toString().includes(root), r.body.toString())
      assert.match(r.body.toString(), /does not match its CID/)
    })

    test('wrong bytes from one upstream, right ones from the other: the right ones win', async () => {
      const { root, car, data } = pack(5000)
      await world.a.addCar(car)
      await world.b.addCar(car)
      world.a.mode = { mode: 'corrupt' }
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, data)
      const raw = await get(`/ipfs/${root}?format=raw`)
      assert.equal(raw.status, 200)
    })

    test('a wrong leaf in the CAR stream is dropped and fetched again as a raw block', async () => {
      const { root, car, data } = pack(8000)
      await world.a.addCar(car)
      const leaves = []
      // Corrupt the third leaf in A's CARs only; its raw blocks stay honest.
      const { CarBlockIterator } = await import('@ipld/car/iterator')
      for await (const { cid } of await CarBlockIterator.fromBytes(car)) if (cid.code === 0x55) leaves.push(cid.toString())
      world.a.mode = { mode: 'corrupt', cid: leaves[2], only: 'car' }
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, data)
    })

    test('a wrong leaf with no honest source breaks the body off, never serves it', async () => {
      const { root, car, data } = pack(8000)
      await world.a.addCar(car)
      const { CarBlockIterator } = await import('@ipld/car/iterator')
      const leaves = []
      for await (const { cid } of await CarBlockIterator.fromBytes(car)) if (cid.code === 0x55) leaves.push(cid.toString())
      world.a.mode = { mode: 'corrupt', cid: leaves[3] }
      const r = await get(`/ipfs/${root}`)
      // Headers went out with the first verified bytes; the body must stop before the lie.
      assert.equal(r.status, 200)
      assert.ok(r.error || r.body.length < data.length, 'the body must not complete')
      assert.ok(r.body.length <= 3 * 1024, `got ${r.body.length} bytes`)
      assert.deepEqual(r.body, data.subarray(0, r.body.length))
    })

    test('a truncated CAR: the worker notices and fetches the rest as raw blocks', async () => {
      const { root, car, data } = pack(6000)
      await world.a.addCar(car)
      world.a.mode = { mode: 'truncate', only: 'car' }
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, data)
    })

    test('truncated raw blocks too, and nowhere else to go: 502 naming the CID', async () => {
      const { root, car } = pack(3000)
      await world.a.addCar(car)
      world.a.mode = { mode: 'truncate' }
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 502)
      // The CAR is cut inside the first leaf, whose raw copy is short too: that leaf is named.
      const { CarBlockIterator } = await import('@ipld/car/iterator')
      const leaves = []
      for await (const { cid } of await CarBlockIterator.fromBytes(car)) if (cid.code === 0x55) leaves.push(cid.toString())
      assert.ok(r.body.toString().includes(leaves[0]), r.body.toString())
      assert.match(r.body.toString(), /does not match its CID/)
    })

    test('a slow upstream does not hold the answer up: the fast valid one wins', async () => {
      const { root, car, data } = pack(4000)
      await world.a.addCar(car)
      await world.b.addCar(car)
      world.a.mode = { mode: 'slow', delayMs: 6000 }
      const t0 = Date.now()
      const r = await get(`/ipfs/${root}`)
      const took = Date.now() - t0
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, data)
      assert.ok(took < 4000, `took ${took} ms`)
    })

    test('only a slow upstream: gives up after the timeout with a 504', async () => {
      const { root, car } = pack(700)
      await world.a.addCar(car)
      world.a.mode = { mode: 'slow', delayMs: 6000 }
      const t0 = Date.now()
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 504)
      assert.ok(r.body.toString().includes(root))
      assert.match(r.body.toString(), /timed out/)
      assert.ok(Date.now() - t0 < 5500)
    })

    test('verified blocks are cached: served again with every upstream down', async () => {
      const { root, car, data } = pack(3000)
      await world.b.addCar(car)
      assert.deepEqual((await get(`/ipfs/${root}`)).body, data)
      world.a.mode = { mode: 'down' }
      world.b.mode = { mode: 'down' }
      // Cache puts happen after the response (waitUntil): give them a moment.
      await new Promise((resolve) => setTimeout(resolve, 500))
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, data)
    })

    test('a folder is fetched and hashed once: later files under it are asked for from the file on', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-memory-'))
      const files = [0, 1, 2].map((i) => crypto.randomBytes(2000 + i))
      files.forEach((b, i) => fs.writeFileSync(path.join(dir, `f${i}.bin`), b))
      const stdout = execFileSync(carportBin(), ['pack', dir, '-o', path.join(dir, 'site.car')], { encoding: 'utf8' })
      const root = stdout.trim().split('\n').pop().trim()
      await world.b.addCar(fs.readFileSync(path.join(dir, 'site.car')))
      fs.rmSync(dir, { recursive: true, force: true })
      const first = await get(`/ipfs/${root}/f0.bin`)
      assert.deepEqual(first.body, files[0])
      assert.match(world.b.carRequests.at(-1), new RegExp(`^/ipfs/${root}/f0\\.bin\\?`))
      // The folder is in the isolate's memory now: the next file's CAR starts at the file.
      const second = await get(`/ipfs/${root}/f1.bin`)
      assert.deepEqual(second.body, files[1])
      const file = second.headers['x-ipfs-roots'].split(',').at(-1)
      assert.notEqual(file, root)
      assert.match(world.b.carRequests.at(-1), new RegExp(`^/ipfs/${file}\\?format=car`))
    })

    test('a 24 MiB file of 1 MiB blocks streams through, every block verified', async () => {
      const { root, car, data } = pack(24 << 20, 1 << 20)
      await world.b.addCar(car)
      const r = await get(`/ipfs/${root}`)
      assert.equal(r.status, 200)
      assert.equal(r.headers['content-length'], String(data.length))
      assert.ok(r.body.equals(data))
      const part = await get(`/ipfs/${root}`, { Range: 'bytes=5000000-13000000' })
      assert.equal(part.status, 206)
      assert.ok(part.body.equals(data.subarray(5000000, 13000001)))
    })

    test('a CID nobody has: 404 naming it', async () => {
      const r = await get('/ipfs/bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')
      assert.equal(r.status, 404)
      assert.match(r.body.toString(), /bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy/)
    })
  })
}
