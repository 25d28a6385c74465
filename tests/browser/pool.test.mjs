// The hashing pool (npm/src/pool.js) in headless Chromium: pools of 1, 2 and 4 give the same
// root, shard CIDs (so the same bytes) and piece CIDs as the sequential path, in the package's
// worker and in the page thread, with ipfs-car's root; a pool worker that crashes mid-job fails
// the job with a clear error; abort mid-job ends every worker.
import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { chromium } from 'playwright-core'

import { build, serve } from './serve.mjs'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']

let browser, server, origin, page

before(async () => {
  await build()
  ;({ server, origin } = await serve())
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
  page = await browser.newPage()
  await page.goto(origin + '/pages/index.html')
  await page.waitForFunction(() => window.ready === true, null, { timeout: 30_000 })
})

after(async () => {
  await browser?.close()
  server?.close()
})

for (const [name, len, options] of [
  ['40 MiB Blob, 5 MB shards, piece CIDs', (40 << 20) + 12345, { shardSize: 5_000_000, piece: true }],
  ['40 MiB Blob, one shard, CARv2', (40 << 20) + 7, { carVersion: 2, piece: true }],
  ['24 MiB Blob, 2 MB shards, no piece', (24 << 20) + 1, { shardSize: 2_000_000 }]
]) {
  test(`pool: ${name}: pools of 1, 2 and 4 (worker and page thread) equal the sequential path and ipfs-car's root`, async () => {
    const r = await page.evaluate(async ({ len, options }) => {
      const { bytes, ipfsCarPack } = await import('/pages/helpers.js')
      const blob = new Blob([bytes(len, 3)])
      const theirs = await ipfsCarPack(blob)
      const runs = {}
      for (const worker of [undefined, false]) {
        for (const workers of [1, 2, 4]) {
          const ours = await carport.pack(blob, { ...options, profile: 'ipfs-car', workers, worker }).collect()
          const cids = []
          for (const s of ours.shards) {
            cids.push({ cid: s.cid, ofBytes: await carport.carCid(s.blob), piece: s.piece?.cid, size: s.size })
          }
          runs[`${worker === false ? 'page' : 'worker'} ${workers}`] = { root: ours.root, cids }
        }
      }
      return { theirs: theirs.root, runs }
    }, { len, options })
    const want = r.runs['worker 1']
    assert.equal(want.root, r.theirs)
    assert.ok(want.cids.every((c) => c.cid === c.ofBytes))
    if (options.piece) assert.ok(want.cids.every((c) => c.piece))
    for (const [k, got] of Object.entries(r.runs)) assert.deepEqual(got, want, k)
  })
}

test('pool: a pool worker that crashes mid-job fails the job with a clear error', async () => {
  const r = await page.evaluate(async () => {
    const { bytes } = await import('/pages/helpers.js')
    const blob = new Blob([bytes(40 << 20, 5)])
    const out = {}
    for (const worker of [undefined, false]) {
      try {
        await carport.pack(blob, { shardSize: 5_000_000, piece: true, workers: 2, worker, poolWorker: new URL('/pages/pool-crash-worker.js', location.href) }).collect()
        out[String(worker)] = 'no error'
      } catch (e) {
        out[String(worker)] = `${e.name} ${e.code} ${e.message}`
      }
    }
    const { liveWorkers } = await import('/npm/src/pool.js')
    out.live = liveWorkers()
    return out
  })
  for (const k of ['undefined', 'false']) assert.match(r[k], /^CarportError Worker a carport pool worker crashed/, k)
  assert.equal(r.live, 0)
})

test('pool: abort mid-job rejects at once and ends every worker', async () => {
  const r = await page.evaluate(async () => {
    const { bytes } = await import('/pages/helpers.js')
    const { liveWorkers } = await import('/npm/src/pool.js')
    const blob = new Blob([bytes(64 << 20, 9)])
    const ac = new AbortController()
    let peak = 0
    const job = carport.pack(blob, {
      shardSize: 5_000_000,
      piece: true,
      workers: 4,
      worker: false,
      signal: ac.signal,
      onProgress: (p) => {
        peak = Math.max(peak, liveWorkers())
        if (p.bytesRead > 20 << 20) ac.abort()
      }
    })
    const t = performance.now()
    const e = await job.collect().then(() => null, (e) => e)
    return { name: e?.name, ms: performance.now() - t, peak, live: liveWorkers() }
  })
  assert.equal(r.name, 'AbortError')
  assert.equal(r.peak, 4)
  assert.equal(r.live, 0)
})
