// The built npm package in real headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core; no browser is downloaded). Same page, same inputs: carport against ipfs-car
// 3.1.0, a folder picked through <input webkitdirectory>, abort mid-way, corrupt CARs, the page
// staying responsive, carport through bundlers (esbuild; Vite building an app that imports it), and
// a 4 GiB+ Blob.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { chromium } from 'playwright-core'

import { bytes } from './pages/bytes.js'
import { build, serve } from './serve.mjs'

const BIN = process.env.CARPORT_BIN ?? new URL('../../target/release/carport', import.meta.url).pathname
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
const cli = (...args) => execFileSync(BIN, args, { encoding: 'utf8', maxBuffer: 1 << 30 }).trim().split('\n').at(-1)

let browser, server, origin, page
const tmp = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'carport-browser-'))

before(async () => {
  await build()
  ;({ server, origin } = await serve())
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
  page = await open('/pages/index.html')
})

after(async () => {
  await browser?.close()
  server?.close()
  rmSync(tmp, { recursive: true, force: true })
})

async function open (path) {
  const p = await browser.newPage()
  const errors = []
  p.on('pageerror', (e) => errors.push(e))
  p.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()) })
  await p.goto(origin + path)
  await p.waitForFunction(() => window.ready === true, null, { timeout: 30_000 })
  p.errors = errors
  return p
}

describe('carport and ipfs-car in the same page', () => {
  for (const len of [0, 1, 1048576, 1048577, 5 * 1048576 + 3, 24 * 1048576 + 11]) {
    test(`a ${len}-byte Blob: same root, same bytes for every block`, async () => {
      const r = await page.evaluate(async (len) => {
        const { bytes, ipfsCarPack, blocksOf, sameBlocks } = await import('/pages/helpers.js')
        const blob = new Blob([bytes(len, len + 1)])
        const theirs = await ipfsCarPack(blob)
        const ours = await carport.pack(blob, { profile: 'ipfs-car', shardSize: 4_000_000 }).collect()
        const compared = sameBlocks(await blocksOf(...ours.shards.map((s) => s.blob)), await blocksOf(theirs.car))
        return { ours: ours.root, theirs: theirs.root, compared, shards: ours.shards.map((s) => ({ size: s.size, roots: s.roots })) }
      }, len)
      assert.equal(r.ours, r.theirs)
      assert.ok(r.compared.blocks >= 1)
      assert.ok(r.shards.every((s) => s.size <= 4_000_000))
      assert.deepEqual(r.shards.at(-1).roots, [r.ours])
    })
  }

  test('a File in shards: same root and blocks as ipfs-car, each shard\'s CID that of its bytes', async () => {
    const r = await page.evaluate(async () => {
      const { bytes, ipfsCarPack, blocksOf, sameBlocks } = await import('/pages/helpers.js')
      const file = new File([bytes(9 * 1048576 + 5, 3)], 'nine.bin')
      const theirs = await ipfsCarPack(file)
      const ours = await carport.pack(file, { profile: 'ipfs-car', shardSize: 2_500_000 }).collect()
      const compared = sameBlocks(await blocksOf(...ours.shards.map((s) => s.blob)), await blocksOf(theirs.car))
      const reread = await Promise.all(ours.shards.map((s) => carport.carCid(s.blob)))
      return { ours: ours.root, theirs: theirs.root, compared, cids: ours.shards.map((s) => s.cid), reread, sizes: ours.shards.map((s) => [s.size, s.blob.size]) }
    })
    assert.equal(r.ours, r.theirs)
    assert.ok(r.compared.blocks >= 10, JSON.stringify(r.compared))
    assert.ok(r.cids.length >= 4)
    assert.deepEqual(r.reread, r.cids)
    assert.ok(r.sizes.every(([size, blob]) => size === blob && size <= 2_500_000), JSON.stringify(r.sizes))
  })

  test('a folder of files: same root, same bytes for every block', async () => {
    const r = await page.evaluate(async () => {
      const { bytes, ipfsCarPack, blocksOf, sameBlocks } = await import('/pages/helpers.js')
      const entries = [
        ['a.txt', 10], ['b/c.bin', 1_500_000], ['b/d/e.txt', 3000], ['b/d/empty', 0], ['z.bin', 70_000]
      ].map(([path, len], i) => ({ path, content: new Blob([bytes(len, i + 1)]) }))
      const theirs = await ipfsCarPack(entries)
      const ours = await carport.pack(entries, { profile: 'ipfs-car' }).collect()
      const compared = sameBlocks(await blocksOf(...ours.shards.map((s) => s.blob)), await blocksOf(theirs.car))
      return { ours: ours.root, theirs: theirs.root, compared }
    })
    assert.equal(r.ours, r.theirs)
    assert.ok(r.compared.blocks >= 8, JSON.stringify(r.compared))
  })
})

describe('a folder through <input webkitdirectory>', () => {
  const dir = join(tmp, 'picked')
  const files = { 'a.txt': 10, 'sub/b.bin': 1_300_000, 'sub/deeper/c.txt': 5000, 'sub/deeper/empty.txt': 0, 'z/y/x.bin': 70_000, '.hidden': 5 }
  before(() => {
    for (const [i, [p, len]] of Object.entries(files).entries()) {
      mkdirSync(join(dir, p, '..'), { recursive: true })
      writeFileSync(join(dir, p), bytes(len, i + 100))
    }
  })

  for (const profile of ['unixfs-v1-2025', 'unixfs-v0-2015', 'ipfs-car']) {
    test(`${profile}: the picked folder packs to the CLI's root`, async () => {
      const want = cli('pack', dir, '--profile', profile, '-o', join(tmp, 'picked.car'))
      await page.setInputFiles('#folder', dir)
      const r = await page.evaluate(async (profile) => {
        const input = document.querySelector('#folder')
        const paths = [...input.files].map((f) => f.webkitRelativePath).sort()
        const job = carport.pack(input.files, { profile })
        const { root, shards } = await job.collect()
        const listed = await carport.ls(shards)
        // The shards take slices of the picked Files, not copies: each shard's bytes, read back,
        // hash to the CID it was given.
        const reread = await Promise.all(shards.map((s) => carport.carCid(s.blob)))
        return { root, paths, listed: listed.map((e) => e.path), cids: shards.map((s) => s.cid), reread }
      }, profile)
      assert.deepEqual(r.reread, r.cids)
      assert.ok(r.paths.includes('picked/sub/deeper/c.txt'), r.paths.join())
      assert.equal(r.root, want)
      assert.ok(r.listed.includes('sub/deeper/c.txt'))
      assert.ok(!r.listed.includes('.hidden'))
    })
  }
})

describe('working off the main thread', () => {
  test('abort mid-way: the job rejects with the AbortError at once', async () => {
    const r = await page.evaluate(async () => {
      const { bytes } = await import('/pages/helpers.js')
      const mib = new Blob([bytes(1 << 20, 7)])
      const big = new Blob(Array.from({ length: 512 }, (_, i) => (i % 2 ? mib : new Blob([mib, String(i)]))))
      const ac = new AbortController()
      let progress = null
      const t0 = performance.now()
      const job = carport.pack(big, {
        signal: ac.signal,
        onProgress: (p) => {
          progress = p
          if (p.bytesRead > 8 << 20) ac.abort()
        }
      })
      let error = null
      try {
        await job.collect()
      } catch (e) {
        error = { name: e.name, message: e.message }
      }
      let rootError = null
      try { await job.root } catch (e) { rootError = e.name }
      return { error, rootError, progress, ms: performance.now() - t0 }
    })
    assert.equal(r.error?.name, 'AbortError')
    assert.equal(r.rootError, 'AbortError')
    assert.ok(r.progress.bytesRead < r.progress.bytesTotal, JSON.stringify(r.progress))
    assert.ok(r.progress.bytesTotal > 512 << 20)
  })

  test('the page stays responsive while a worker packs 64 MiB', async () => {
    const r = await page.evaluate(async () => {
      const blob = new Blob(Array.from({ length: 64 }, () => crypto.getRandomValues(new Uint8Array(65536))).flatMap((b) => Array(16).fill(b)).map((b, i) => new Blob([b, String(i)])))
      let worst = 0
      let last = performance.now()
      const timer = setInterval(() => {
        const now = performance.now()
        worst = Math.max(worst, now - last)
        last = now
      }, 10)
      const t0 = performance.now()
      const { root } = await carport.pack(blob).collect()
      clearInterval(timer)
      return { root, worst, ms: performance.now() - t0 }
    })
    assert.match(r.root, /^bafy/)
    // The main thread only moves messages; a 10 ms timer never waits long.
    assert.ok(r.worst < 150, `the main thread stalled for ${r.worst.toFixed(0)} ms`)
  })

  test('worker: false packs in the page thread with the same result', async () => {
    const r = await page.evaluate(async () => {
      const { bytes } = await import('/pages/helpers.js')
      const blob = new Blob([bytes(3_000_000, 5)])
      const a = await carport.pack(blob).collect()
      const b = await carport.pack(blob, { worker: false }).collect()
      return { a: a.root, b: b.root, ca: a.shards[0].cid, cb: b.shards[0].cid }
    })
    assert.equal(r.a, r.b)
    assert.equal(r.ca, r.cb)
  })
})

describe('verifyCar in the browser', () => {
  test('a corrupt CAR gives the typed error naming the block and offset', async () => {
    const r = await page.evaluate(async () => {
      const { bytes, blocksOf } = await import('/pages/helpers.js')
      const { root, shards } = await carport.pack(new Blob([bytes(2_500_000, 3)])).collect()
      const car = new Uint8Array(await shards[0].blob.arrayBuffer())
      const ok = await carport.verifyCar(shards[0].blob, { root })
      // Flip the last byte of the CAR: the root node's data.
      const bad = car.slice()
      bad[bad.length - 1] ^= 0xff
      const out = {}
      for (const [name, input, opts] of [['flipped', bad, {}], ['truncated', car.subarray(0, car.length - 5), {}], ['wrongRoot', car, { root: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' }], ['inPage', bad, { worker: false }]]) {
        try {
          await carport.verifyCar(input, opts)
          out[name] = null
        } catch (e) {
          out[name] = { isCarportError: e instanceof carport.CarportError, code: e.code, cid: e.cid, offset: e.offset, message: e.message }
        }
      }
      const blocks = [...(await blocksOf(new Blob([car]))).keys()]
      return { ok, out, root, blocks, length: car.length }
    })
    assert.deepEqual(r.ok.roots, [r.root])
    for (const name of ['flipped', 'inPage']) {
      const e = r.out[name]
      assert.ok(e.isCarportError, name)
      assert.equal(e.code, 'HashMismatch')
      assert.equal(e.cid, r.root)
      assert.ok(Number.isInteger(e.offset) && e.offset > 0 && e.offset < r.length)
      assert.match(e.message, new RegExp(`block ${r.root} at byte ${e.offset} does not match its CID`))
    }
    assert.equal(r.out.truncated.code, 'TruncatedBlock')
    assert.equal(r.out.truncated.cid, r.root)
    assert.equal(r.out.wrongRoot.code, 'WrongRoot')
  })
})

describe('bundled', () => {
  // esbuild given the page and worker entries; Vite building an application that imports 'carport'.
  for (const [bundler, path] of [['esbuild', '/pages/bundled.html'], ['Vite', '/vite/index.html']]) {
    test(`by ${bundler}: the bundle (page + worker + .wasm) packs like the plain module`, async () => {
      const bundled = await open(path)
      const workers = []
      bundled.on('worker', (w) => workers.push(w.url()))
      const make = async (p) => p.evaluate(async () => {
        const blob = new Blob([new Uint8Array(3 << 20).map((_, i) => (i * 31) % 251)])
        const { root, shards } = await carport.pack(blob, { shardSize: 1_500_000 }).collect()
        return { root, cids: shards.map((s) => s.cid) }
      })
      const a = await make(bundled)
      const b = await make(page)
      assert.deepEqual(a, b)
      // The job ran in the bundle's own worker script.
      assert.equal(workers.length, 1)
      assert.match(workers[0], bundler === 'Vite' ? /\/vite\/assets\/worker-.*\.js$/ : /\/bundle\/worker\.js$/)
      assert.deepEqual(bundled.errors, [])
      await bundled.close()
    })
  }
})

describe('large input', { skip: process.env.CARPORT_SKIP_LARGE === '1' }, () => {
  test('a 4.1 GiB Blob: read in slices, the CLI\'s root, the Wasm heap flat', async () => {
    const n = 4200 // MiB: past 2^32 bytes
    const one = bytes(1 << 20, 42)
    // On disk, not tmpfs: 4.4 GB of input and as much CAR.
    const big = mkdtempSync(join(process.env.CARPORT_LARGE_TMPDIR ?? '/var/tmp', 'carport-large-'))
    const file = join(big, 'large.bin')
    const fd = openSync(file, 'w')
    for (let i = 0; i < n; i++) {
      one[0] = i & 255
      one[1] = i >> 8
      writeSync(fd, one)
    }
    closeSync(fd)
    const want = cli('pack', file, '-o', join(big, 'large.car'))
    rmSync(big, { recursive: true, force: true })
    // A persistent profile, as a person's browser has: Chromium keeps large Blobs on disk there
    // (an off-the-record context keeps them all in memory).
    const profile = mkdtempSync(join(process.env.CARPORT_LARGE_TMPDIR ?? '/var/tmp', 'carport-profile-'))
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true })
    const p = await context.newPage()
    await p.goto(origin + '/pages/index.html')
    await p.waitForFunction(() => window.ready === true)
    const r = await p.evaluate(async (n) => {
      const { bytes } = await import('/pages/helpers.js')
      const one = bytes(1 << 20, 42)
      // 4200 distinct 1 MiB leaves, without 4 GiB in memory: each part is a small header
      // Blob plus one shared 1 MiB tail.
      const tail = new Blob([one.subarray(2)])
      const parts = Array.from({ length: n }, (_, i) => new Blob([new Uint8Array([i & 255, i >> 8]), tail]))
      const blob = new Blob(parts)
      const t0 = performance.now()
      const job = carport.pack(blob)
      const reader = job.shards.getReader()
      let shards = 0
      let bytesOut = 0
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        shards++
        bytesOut += value.size
      }
      const summary = await job.done
      return { root: summary.root, size: blob.size, shards, bytesOut, heap: summary.wasmHeap, ms: performance.now() - t0 }
    }, n)
    await context.close()
    rmSync(profile, { recursive: true, force: true })
    assert.equal(r.size, n * 1048576)
    assert.ok(r.size > 2 ** 32)
    assert.equal(r.root, want)
    assert.ok(r.shards >= Math.ceil(r.bytesOut / 100_000_000))
    assert.ok(r.heap.end - r.heap.start <= 64 << 20, JSON.stringify(r.heap))
    console.log(`# 4.1 GiB in the browser: ${(r.size / 1e6 / (r.ms / 1000)).toFixed(0)} MB/s, ${r.shards} shards, Wasm heap ${r.heap.start} -> ${r.heap.end}`)
  })
})
