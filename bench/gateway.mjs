// Gateway benchmark driver (not a test), run by bench/gateway.sh: starts the local upstream and the
// worker on workerd, then runs `wrk` (a second process) against verified and unverified URLs and
// prints requests/s, MB/s and the verified/unverified ratio.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import fs from 'node:fs'
import path from 'node:path'
import { createRequire } from 'node:module'
import { Upstream } from '../tests/gateway/lib/upstream.mjs'
import { startWrangler, stopWrangler, testConfig, wranglerEnv, Client } from '../tests/gateway/lib/harness.mjs'

// DEVTOOLS=off starts the worker through wrangler's API with no devtools inspector: `wrangler dev`
// always attaches one, and its per-request work (most of the CPU here) hides what verifying costs.
const devtools = process.env.DEVTOOLS !== 'off'

async function startWorker (port, state, vars) {
  if (devtools) {
    const child = await startWrangler(port, state, vars)
    return () => stopWrangler(child)
  }
  Object.assign(process.env, wranglerEnv())
  const edge = new URL('../edge-worker/', import.meta.url).pathname
  const { unstable_startWorker: start } = await import(createRequire(edge).resolve('wrangler'))
  const cwd = process.cwd()
  process.chdir(edge)
  const w = await start({
    config: testConfig(),
    bindings: Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, { type: 'plain_text', value: v }])),
    dev: { inspector: false, server: { hostname: '127.0.0.1', port }, persist: state, logLevel: 'warn', watch: false }
  })
  await w.ready
  process.chdir(cwd)
  return () => w.dispose()
}

const [work, bigRoot, smallRoot, smallCount, duration, bigSecs] = process.argv.slice(2)
const up = new Upstream('bench')
await up.addCar(fs.readFileSync(path.join(work, 'big.car')))
await up.addCar(fs.readFileSync(path.join(work, 'small.car')))
up.statics.set('big.bin', fs.readFileSync(path.join(work, 'big.bin')))
for (let i = 0; i < Number(smallCount); i++) up.statics.set(`small/f${i}.bin`, fs.readFileSync(path.join(work, 'small', `f${i}.bin`)))
await up.listen()
const port = 8800 + Math.floor(Math.random() * 100)
const state = fs.mkdtempSync(path.join(work, 'state-'))
const stopWorker = await startWorker(port, state, { UPSTREAMS: up.url, UPSTREAM_TIMEOUT_MS: '30000', CACHE_BLOCKS: 'off', BENCH_PROXY: 'on' })
const base = `http://127.0.0.1:${port}`

// Sanity: the verified bytes are the file's bytes.
const c = new Client(port)
const check = await c.get(`/ipfs/${bigRoot}`)
const want = fs.readFileSync(path.join(work, 'big.bin'))
if (check.status !== 200 || !check.body.equals(want)) throw new Error(`verified body differs (status ${check.status})`)
c.agent.destroy()

async function wrk (urlPath, { lua, conns = 4, secs = duration } = {}) {
  const args = [`-t${Math.min(2, conns)}`, `-c${conns}`, `-d${secs}s`, '--latency']
  if (lua) args.push('-s', lua)
  args.push(`${base}${urlPath}`)
  // Asynchronously: the upstream runs in this process and must keep answering.
  const { stdout: out } = await promisify(execFile)('wrk', args, { encoding: 'utf8' })
  if (process.env.BENCH_VERBOSE) console.error(out)
  const rps = Number(out.match(/Requests\/sec:\s+([\d.]+)/)[1])
  const m = out.match(/Transfer\/sec:\s+([\d.]+)([KMG]?B)/)
  const mult = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[m[2]]
  const non2xx = out.match(/Non-2xx or 3xx responses: (\d+)/)
  return { rps, mbps: Number(m[1]) * mult / 1e6, errors: non2xx ? Number(non2xx[1]) : 0 }
}

function rotate (prefix) {
  const f = path.join(work, `${prefix.replace(/\W/g, '_')}.lua`)
  fs.writeFileSync(f, `local i = 0\nrequest = function()\n  i = (i + 1) % ${smallCount}\n  return wrk.format("GET", "${prefix}f" .. i .. ".bin")\nend\n`)
  return f
}

// Verified and unverified runs alternate, ROUNDS of each, and the best of each side is kept: the
// machine is shared and noisy, and a slow moment should not land on one side only.
const ROUNDS = Number(process.env.ROUNDS ?? 3)
async function compare (verified, proxied) {
  const v = []
  const p = []
  for (let i = 0; i < ROUNDS; i++) {
    v.push(await verified())
    if (proxied) p.push(await proxied())
  }
  const best = (xs) => xs.reduce((a, b) => (b.rps > a.rps ? b : a))
  return { verified: best(v), proxied: proxied ? best(p) : null }
}

const rows = []
let bare
try {
  const big = await compare(() => wrk(`/ipfs/${bigRoot}`, { conns: 1, secs: bigSecs }), () => wrk('/_proxy/static/big.bin', { conns: 1, secs: bigSecs }))
  rows.push(['100 MiB file', big, 'mbps'])
  const small = await compare(() => wrk('/', { lua: rotate(`/ipfs/${smallRoot}/`) }), () => wrk('/', { lua: rotate('/_proxy/static/small/') }))
  rows.push([`${smallCount} small files (4 KiB)`, small, 'rps'])
  // The same with no memory of verified folders: every request fetches and hashes the folder too.
  await stopWorker()
  bare = await startWorker(port, state, { UPSTREAMS: up.url, UPSTREAM_TIMEOUT_MS: '30000', CACHE_BLOCKS: 'off', MEMORY_BLOCKS_BYTES: '0', BENCH_PROXY: 'on' })
  const noMemory = await compare(() => wrk('/', { lua: rotate(`/ipfs/${smallRoot}/`) }))
  rows.push([`${smallCount} small files, MEMORY_BLOCKS_BYTES=0`, { verified: noMemory.verified, proxied: small.proxied }, 'rps'])
} finally {
  await (bare ?? stopWorker)()
  await up.close()
}
// The ratio is of MB/s for the large file (the body is all that counts) and of requests/s for
// small files (a verified answer carries more headers, which would flatter it in MB/s).
console.log(`\nworker on workerd, ${devtools ? 'wrangler dev (devtools inspector attached)' : 'no devtools inspector (DEVTOOLS=off)'}`)
console.log(`| case | verified req/s | verified MB/s | unverified req/s | unverified MB/s | ratio |  (best of ${ROUNDS} alternating runs each)`)
console.log('|---|---|---|---|---|---|')
for (const [name, { verified: v, proxied: p }, by] of rows) {
  console.log(`| ${name} | ${v.rps.toFixed(1)} | ${v.mbps.toFixed(1)} | ${p.rps.toFixed(1)} | ${p.mbps.toFixed(1)} | ${(v[by] / p[by]).toFixed(2)}x (${by === 'rps' ? 'req/s' : 'MB/s'}) |`)
  if (v.errors || p.errors) console.log(`  (non-2xx: verified ${v.errors}, unverified ${p.errors})`)
}
