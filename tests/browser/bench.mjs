// The Wasm packing benchmark (not a test): pages/bench.html in headless Chromium (Debian's),
// packing a generated random Blob with carport (in its worker; pools of 1, 2 and
// hardwareConcurrency hashing workers; piece CIDs off and on; and in the page thread) and with
// ipfs-car 3.1.0 (bundled by esbuild): its CAR bytes alone, plus the CAR's CID, plus its piece CID
// by @web3-storage/data-segment 5.3.0 (what @filoz/synapse-core 0.5.2 uses for piece CIDs); best
// of RUNS, rows interleaved. Memory: the Wasm heaps (the packing thread's, and the largest pool
// worker's) and the renderer process's resident memory, sampled from /proc every 20 ms during each
// run (the page, the package's worker and the pool workers all live in it). Then crypto.subtle
// SHA-256 on 1 MiB blocks as the ceiling; Wasm and native hashes per block size; the piece CID;
// verifyCar; and the gzipped size of the .wasm. MB = 10^6 bytes. The ratios are printed against
// issue 19's targets.
// PROFILE=1 instead profiles one pack in the page thread (worker: false; piece: true; WORKERS,
// default 2) with Chrome's CPU profiler over CDP and prints where the packing thread's time goes.
//   MIB=256 RUNS=3 node bench.mjs        BIG=1 adds the rows at 1 GiB (BIG_RUNS, default 1; without
//   the data-segment row there, ~5 MB/s: 3.5 minutes a run)
import { readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import * as esbuild from 'esbuild'
import { chromium } from 'playwright-core'

import { build, serve } from './serve.mjs'

const MIB = Number(process.env.MIB ?? 256)
const RUNS = Number(process.env.RUNS ?? 3)
const BIG = process.env.BIG === '1'
const BIG_RUNS = Number(process.env.BIG_RUNS ?? 1)
const PROFILE = process.env.PROFILE === '1'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--enable-precise-memory-info']
const MB = 1e6
const MiB = 2 ** 20

await build()
// The piece CID peer, beside ipfs-car's bundle in .bundle/ (served as /bundle/bench-peers.js).
const here = fileURLToPath(new URL('.', import.meta.url))
await esbuild.build({
  entryPoints: { 'bench-peers': here + 'pages/bench-peers.js' },
  bundle: true, format: 'esm', platform: 'browser', outdir: here + '.bundle', minify: true, logLevel: 'error'
})
const { server, origin } = await serve()
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ARGS, headless: true })

/** The pids of Chromium's renderer processes. */
function renderers () {
  const out = []
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8')
      if (cmd.includes('chromium') && cmd.includes('--type=renderer')) out.push(Number(d))
    } catch {}
  }
  return out
}
function rss (pids) {
  let kb = 0
  for (const p of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0)
    } catch {}
  }
  return kb * 1024
}

/** `f()` with the renderers' resident memory sampled: { r, rss: { start, peak } }. */
async function sampled (f) {
  const pids = renderers()
  const start = rss(pids)
  let peak = start
  const timer = setInterval(() => { peak = Math.max(peak, rss(pids)) }, 20)
  try {
    const r = await f()
    peak = Math.max(peak, rss(pids))
    return { r, rss: { start, peak } }
  } finally {
    clearInterval(timer)
  }
}

const f = (x) => x.toFixed(0).padStart(6)
const mib = (x) => (x / MiB).toFixed(1)
const ratio = (a, b, target) => `${(a / b).toFixed(2)}x (target >= ${target}x: ${a / b >= target ? 'met' : 'NOT met'})`

async function rows (page, size, runs, cores, { peerPiece = true } = {}) {
  const pools = [...new Set([1, 2, cores])]
  const list = []
  for (const piece of [false, true]) {
    for (const workers of pools) list.push({ key: `carport ${piece ? 'piece' : 'car'} ${workers}`, kind: 'carport', options: { piece, workers }, what: `carport, pool of ${workers}${workers === cores ? ' (default)' : ''}, piece: ${piece}` })
  }
  list.push({ key: 'carport page', kind: 'carport', options: { worker: false }, what: 'carport in the page thread (worker: false), piece: false' })
  list.push({ key: 'ipfs-car', kind: 'ipfs-car', options: {}, what: 'ipfs-car: CAR bytes only' })
  list.push({ key: 'ipfs-car cid', kind: 'ipfs-car', options: { sameWork: true }, what: 'ipfs-car + CAR as a Blob + CAR CID (crypto.subtle)' })
  if (peerPiece) list.push({ key: 'ipfs-car piece', kind: 'ipfs-car', options: { sameWork: true, piece: true }, what: 'the same + piece CID (data-segment)' })
  const got = {}
  for (let i = 0; i < runs; i++) {
    for (const row of list) {
      const { r, rss } = await sampled(() => page.evaluate(({ kind, options }) => window.row(kind, options), row))
      const g = (got[row.key] ??= { ...row, s: [], rssGrowth: 0, heap: null, root: r.root, shards: r.shards })
      g.s.push(r.s)
      g.rssGrowth = Math.max(g.rssGrowth, rss.peak - rss.start)
      if (r.heap) g.heap = { start: r.heap.start, end: Math.max(g.heap?.end ?? 0, r.heap.end), pool: Math.max(g.heap?.pool ?? 0, r.heap.pool ?? 0) }
      if (r.root !== g.root) throw new Error(`${row.key}: root ${r.root} then ${g.root}`)
    }
  }
  for (const g of Object.values(got)) g.mbs = size / MB / Math.min(...g.s)
  return { got, pools }
}

function report (label, size, runs, cores, { got, pools }) {
  console.log(`\n${label}: ${size / MiB} MiB random Blob, best of ${runs}, ${cores} cores (navigator.hardwareConcurrency), profile ipfs-car, 100 MB shards`)
  console.log('  MB/s    row                                                        Wasm heap: packing thread / largest pool worker   renderer RSS peak growth')
  for (const g of Object.values(got)) {
    const heap = g.heap ? `${mib(g.heap.start)} -> ${mib(g.heap.end)} MiB / ${g.heap.pool ? mib(g.heap.pool) + ' MiB' : '-'}` : '-'
    console.log(`  ${f(g.mbs)}  ${g.what.padEnd(60)} ${heap.padEnd(48)} ${mib(g.rssGrowth).padStart(7)} MiB`)
  }
  const roots = new Set(Object.values(got).map((g) => g.root))
  console.log(`  same root everywhere: ${roots.size === 1} (${[...roots].join(', ')})`)
  const c = (piece, w) => got[`carport ${piece ? 'piece' : 'car'} ${w}`].mbs
  console.log('  ratios (issue 19 targets):')
  console.log(`    pool 2 / pool 1, piece false        ${ratio(c(false, 2), c(false, 1), 1.7)}  (only piece runs go to the pool: without piece there is no pool)`)
  console.log(`    pool 2 / pool 1, piece true         ${ratio(c(true, 2), c(true, 1), 1.7)}`)
  const d = pools.at(-1)
  console.log(`    piece false (default pool ${d}) / ipfs-car CAR bytes only   ${ratio(c(false, d), got['ipfs-car'].mbs, 1.5)}`)
  console.log(`    piece false (default pool ${d}) / ipfs-car + CAR CID         ${ratio(c(false, d), got['ipfs-car cid'].mbs, 2)}`)
  if (got['ipfs-car piece']) console.log(`    piece true (default pool ${d}) / ipfs-car + CAR CID + piece  ${ratio(c(true, d), got['ipfs-car piece'].mbs, 5)}`)
  return got
}

/** Self time by function (and script) of one page-thread pack, from Chrome's CPU profiler. */
async function profile (page, workers) {
  const options = { piece: true, workers, worker: false }
  await page.evaluate((o) => window.row('carport', o), options)
  const cdp = await page.context().newCDPSession(page)
  await cdp.send('Profiler.enable')
  await cdp.send('Profiler.setSamplingInterval', { interval: 200 })
  await cdp.send('Profiler.start')
  const r = await page.evaluate((o) => window.row('carport', o), options)
  const { profile: p } = await cdp.send('Profiler.stop')
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const self = new Map()
  let total = 0
  p.samples.forEach((id, i) => {
    const { functionName, url } = byId.get(id).callFrame
    const key = `${functionName || '(anonymous)'} ${url ? url.replace(/^.*\//, '') : ''}`.trim()
    const dt = p.timeDeltas[i] ?? 0
    total += dt
    self.set(key, (self.get(key) ?? 0) + dt)
  })
  console.log(`profile: ${MIB} MiB, piece: true, pool of ${workers}, packing in the page thread: ${(MIB * MiB / MB / r.s).toFixed(0)} MB/s, ${r.s.toFixed(2)} s; packing thread self time:`)
  for (const [k, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${(us / 1000).toFixed(0).padStart(6)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${k}`)
  }
}

try {
  const page = await browser.newPage()
  await page.goto(origin + '/pages/bench.html')
  await page.waitForFunction(() => window.ready === true)
  const { cores } = await page.evaluate((o) => window.setup(o), { mib: MIB })
  if (PROFILE) {
    await profile(page, Number(process.env.WORKERS ?? 2))
    process.exit(0)
  }
  const check = await page.evaluate(() => window.checkPeer())
  console.log(`headless Chromium ${browser.version()}; data-segment's piece CID of a carport shard equals carport's: ${check.same} (${check.ours})`)
  const small = report('pack', MIB << 20, RUNS, cores, await rows(page, MIB << 20, RUNS, cores))

  const r = await page.evaluate((o) => window.extras(o), { runs: RUNS })
  const wasm = readFileSync(new URL('../../npm/gen/carport_wasm_bg.wasm', import.meta.url))
  const gz = gzipSync(wasm, { level: 9 }).length
  console.log(`\nsha256 ceiling  ${f(r.ceiling)} MB/s  (crypto.subtle.digest on 1 MiB blocks in memory, one at a time)`)
  console.log(`  from the Blob ${f(r.ceilingFromBlob)} MB/s  (the same, each block read with Blob.slice().arrayBuffer() first)`)
  console.log(`Blob read alone ${f(r.readOnly)} MB/s  (into 1 MiB leaves as carport reads it, page thread, no hashing)`)
  console.log(`  + leaf SHA-256 ${f(r.readHash)} MB/s  (the same, each leaf through crypto.subtle, 8 in flight: one hash pass, no CAR)`)
  console.log(`carport (default, piece false) / ceiling   ${((small[`carport car ${cores}`].mbs) / r.ceiling).toFixed(2)}x (target >= 0.7x)`)
  console.log(`piece CID       ${f(r.piece)} MB/s  (Wasm PieceHasher over the Blob, one thread: ${r.pieceCid})`)
  console.log(`verifyCar       ${f(r.verify)} MB/s  (the shards of one pack: 1 MiB leaves, sha2-256 in Wasm four at a time)`)
  console.log(`.wasm           ${wasm.length} bytes, ${gz} gzipped (target <= 200 KB)`)
  console.log('hash MB/s by block size: Wasm sha2-256 | Wasm blake3 (simd128) | crypto.subtle 1 at a time | crypto.subtle 8 in flight')
  for (const h of r.hashes) {
    console.log(`  ${String(h.size).padStart(8)} B   ${f(h.wasmSha)} | ${f(h.wasmBlake)} | ${f(h.subtle)} | ${f(h.subtle8)}`)
  }

  // Last: the 1 GiB Blob and its shards can fill Chromium's Blob storage for what follows.
  if (BIG) {
    await page.evaluate((o) => window.setup(o), { mib: 1024 })
    const big = report('pack at 1 GiB', 1 << 30, BIG_RUNS, cores, await rows(page, 1 << 30, BIG_RUNS, cores, { peerPiece: false }))
    console.log('  memory from 256 MiB to 1 GiB (target: growth <= 64 MiB per worker; RSS peaks move with GC, +-100 MiB):')
    for (const [k, g] of Object.entries(big)) {
      if (!k.startsWith('carport ')) continue
      const s = small[k]
      const w = g.options.workers ?? 1
      const heap = (g.heap.end - s.heap.end) + Math.max(0, (g.heap.pool - s.heap.pool)) * (w > 1 && g.options.piece ? w : 0)
      const rssGrowth = g.rssGrowth - s.rssGrowth
      console.log(`    ${g.what.padEnd(60)} Wasm heaps ${mib(heap).padStart(6)} MiB, renderer RSS peak ${mib(rssGrowth).padStart(7)} MiB more (${mib(rssGrowth / w).padStart(7)} MiB per worker)`)
    }
  }
} finally {
  await browser.close()
  server.close()
}
