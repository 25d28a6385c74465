// The Wasm packing benchmark (not a test): pages/bench.html in headless Chromium (Debian's),
// packing a generated random Blob with carport (in its worker, and in the page thread) and with
// ipfs-car 3.1.0 (bundled by esbuild), best of RUNS; the Wasm heap peak; crypto.subtle SHA-256 on
// 1 MiB blocks as the ceiling; Wasm and native hashes per block size; the piece CID; verifyCar;
// and the gzipped size of the .wasm. MB = 10^6 bytes.
//   MIB=256 RUNS=3 node bench.mjs
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { chromium } from 'playwright-core'

import { build, serve } from './serve.mjs'

const MIB = Number(process.env.MIB ?? 256)
const RUNS = Number(process.env.RUNS ?? 3)
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']

await build()
const { server, origin } = await serve()
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ARGS, headless: true })
try {
  const page = await browser.newPage()
  await page.goto(origin + '/pages/bench.html')
  await page.waitForFunction(() => window.ready === true)
  const r = await page.evaluate((o) => window.bench(o), { mib: MIB, runs: RUNS })
  const wasm = readFileSync(new URL('../../npm/gen/carport_wasm_bg.wasm', import.meta.url))
  const gz = gzipSync(wasm, { level: 9 }).length
  const f = (x) => x.toFixed(0).padStart(6)
  const version = browser.version()
  console.log(`input           ${MIB} MiB random Blob, best of ${RUNS} runs, headless Chromium ${version}, profile ipfs-car`)
  console.log(`same root       ${r.sameRoot} (${r.root}), ${r.shards} shards of <= 100 MB`)
  console.log(`carport pack    ${f(r.carport)} MB/s  (Web Worker, the default)`)
  console.log(`carport pack    ${f(r.carportInPage)} MB/s  (worker: false, in the page thread)`)
  console.log(`ipfs-car pack   ${f(r.ipfsCar)} MB/s  (createFileEncoderStream + CAREncoderStream, page thread)`)
  console.log(`ipfs-car pack   ${f(r.ipfsCarSameWork)} MB/s  (the same, plus what carport returns: the CAR as a Blob and its CID by crypto.subtle)`)
  console.log(`sha256 ceiling  ${f(r.ceiling)} MB/s  (crypto.subtle.digest on 1 MiB blocks in memory, one at a time)`)
  console.log(`  from the Blob ${f(r.ceilingFromBlob)} MB/s  (the same, each block read with Blob.slice().arrayBuffer() first)`)
  console.log(`Blob read alone ${f(r.readOnly)} MB/s  (into 1 MiB leaves as carport reads it, page thread, no hashing)`)
  console.log(`  + leaf SHA-256 ${f(r.readHash)} MB/s  (the same, each leaf through crypto.subtle, 8 in flight: one hash pass, no CAR)`)
  console.log(`carport / ipfs-car  ${(r.carport / r.ipfsCar).toFixed(2)}x (target >= 2x)`)
  console.log(`carport / ipfs-car doing the same work  ${(r.carport / r.ipfsCarSameWork).toFixed(2)}x`)
  console.log(`carport / ceiling   ${(r.carport / r.ceiling).toFixed(2)}x (target >= 0.7x)`)
  console.log(`Wasm heap       ${(r.heap.start / 2 ** 20).toFixed(1)} MiB -> ${(r.heap.end / 2 ** 20).toFixed(1)} MiB peak while packing (target: growth <= 64 MiB per GiB)`)
  console.log(`piece CID       ${f(r.piece)} MB/s  (Wasm PieceHasher over the Blob: ${r.pieceCid})`)
  console.log(`verifyCar       ${f(r.verify)} MB/s  (the shards of one pack: 1 MiB leaves, sha2-256 in Wasm four at a time)`)
  console.log(`.wasm           ${wasm.length} bytes, ${gz} gzipped (target <= 200 KB)`)
  console.log('hash MB/s by block size: Wasm sha2-256 | Wasm blake3 (simd128) | crypto.subtle 1 at a time | crypto.subtle 8 in flight')
  for (const h of r.hashes) {
    console.log(`  ${String(h.size).padStart(8)} B   ${f(h.wasmSha)} | ${f(h.wasmBlake)} | ${f(h.subtle)} | ${f(h.subtle8)}`)
  }
} finally {
  await browser.close()
  server.close()
}
