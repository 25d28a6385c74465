// Runs the whole system on this machine: the local deal broker (carport-broker), the edge worker
// on workerd (`wrangler dev`, its R2, KV and Durable Objects kept under the state folder) and the
// demo page, all on 127.0.0.1. Prints the demo's URL; Ctrl-C stops everything. `./dev up` builds
// what it needs first and then runs this.
//
//   node demo/up.mjs [--state DIR] [--worker-port N] [--demo-port N] [--broker-port N] [--stage-ms N]
//
// State (default: .carport/ in the checkout) keeps the worker's storage, the broker's deals, and
// this installation's secrets: the admin token, the mk20 client key and the demo's upload token.
import { spawn } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import readline from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const edge = path.join(repo, 'edge-worker')

const { values: opt } = parseArgs({
  options: {
    state: { type: 'string', default: path.join(repo, '.carport') },
    'worker-port': { type: 'string', default: '8787' },
    'demo-port': { type: 'string', default: '8788' },
    'broker-port': { type: 'string', default: '8790' },
    'stage-ms': { type: 'string', default: '2000' }
  }
})

const children = []
let stopping = false

/** A secret kept in the state folder, made on first use. */
function secret (name, make) {
  const file = path.join(opt.state, name)
  if (!fs.existsSync(file)) fs.writeFileSync(file, make(), { mode: 0o600 })
  return fs.readFileSync(file, 'utf8').trim()
}

function start (name, cmd, args, options = {}) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options })
  child.name = name
  child.log = []
  child.stderr.on('data', (d) => child.log.push(d.toString()))
  child.once('exit', (code) => {
    if (!stopping) {
      console.error(`${name} stopped (exit ${code}):\n${child.log.join('').slice(-4000)}`)
      stop(1)
    }
  })
  children.push(child)
  return child
}

function stop (code = 0) {
  stopping = true
  for (const c of children) {
    try { process.kill(-c.pid, 'SIGTERM') } catch {}
  }
  setTimeout(() => process.exit(code), 300)
}

async function waitFor (what, probe, ms = 240_000) {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      if (await probe()) return
    } catch {}
    if (Date.now() > deadline) throw new Error(`${what} did not start in time`)
    await new Promise((resolve) => setTimeout(resolve, 300))
  }
}

/** wrangler.toml without its [build] step: `./dev up` built the worker already. */
function wranglerConfig () {
  const toml = fs.readFileSync(path.join(edge, 'wrangler.toml'), 'utf8').replace(/^\[build\]\n(?:[^[\n].*\n|\n)*/m, '')
  const file = path.join(edge, '.wrangler-up.toml')
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== toml) fs.writeFileSync(file, toml)
  return file
}

// --- the demo page's server -------------------------------------------------------------------

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.svg': 'image/svg+xml' }

/** Serves demo/ at /, the npm package at /carport/, and /config.json. */
function serveDemo (port, config) {
  const roots = [['/carport/', path.join(repo, 'npm')], ['/', path.join(repo, 'demo')]]
  // Only this machine's own names: a page on another name that resolves here (DNS rebinding)
  // must not be handed the upload token.
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`])
  const server = http.createServer((req, res) => {
    if (!hosts.has(String(req.headers.host ?? '').toLowerCase())) {
      res.writeHead(421, { 'Content-Type': 'text/plain' })
      return res.end(`this demo server answers only to ${[...hosts].join(', ')}\n`)
    }
    const url = new URL(req.url, 'http://x')
    if (url.pathname === '/config.json') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
      return res.end(JSON.stringify(config))
    }
    for (const [prefix, dir] of roots) {
      if (!url.pathname.startsWith(prefix)) continue
      const rel = decodeURIComponent(url.pathname.slice(prefix.length)) || 'index.html'
      const file = path.join(dir, rel)
      if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) break
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' })
      return fs.createReadStream(file).pipe(res)
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' })
    res.end('not found\n')
  })
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)))
}

// --- up ------------------------------------------------------------------------------------------

fs.mkdirSync(path.join(opt.state, 'broker'), { recursive: true })
const adminToken = secret('admin-token', () => crypto.randomBytes(24).toString('hex'))
const clientKey = secret('client.key', () => crypto.randomBytes(32).toString('hex'))
const workerPort = Number(opt['worker-port'])
const workerUrl = `http://127.0.0.1:${workerPort}`

process.on('SIGINT', () => { console.log('\nstopping'); stop(0) })
process.on('SIGTERM', () => stop(0))

const broker = start('carport-broker', path.join(repo, 'target/release/carport-broker'), ['--listen', `127.0.0.1:${opt['broker-port']}`, '--data', path.join(opt.state, 'broker'), '--stage-ms', opt['stage-ms']])
const brokerUrl = await new Promise((resolve) => {
  readline.createInterface({ input: broker.stdout }).on('line', (l) => {
    const m = l.match(/listening on (http:\/\/\S+)/)
    if (m) resolve(m[1])
  })
})

// Secrets go to wrangler in a file only this user can read, never on its command line (where
// `ps` shows them to every user of the machine).
const secretsFile = path.join(opt.state, 'worker.env')
fs.writeFileSync(secretsFile, `ADMIN_TOKEN=${adminToken}\nMK20_CLIENT_KEY=${clientKey}\n`, { mode: 0o600 })
const vars = {
  PUBLIC_URL: workerUrl,
  SUBDOMAIN_HOSTS: 'localhost',
  BROKER_URL: brokerUrl,
  // A demo aggregates at once and follows its deal closely.
  AGGREGATE_MIN_BYTES: '1',
  AGGREGATE_MAX_AGE_MS: '5000',
  DEAL_POLL_MS: '1000',
  RETRY_BASE_MS: '1000',
  RETRY_MAX_MS: '10000'
}
const args = ['dev', '--config', wranglerConfig(), '--ip', '127.0.0.1', '--port', String(workerPort), '--persist-to', path.join(opt.state, 'worker'), '--env-file', secretsFile, '--log-level', 'warn', '--show-interactive-dev-session=false']
for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`)
start('wrangler dev', path.join(edge, 'node_modules/.bin/wrangler'), args, {
  cwd: edge,
  env: { ...process.env, WRANGLER_SEND_METRICS: 'false', WRANGLER_SEND_ERROR_REPORTS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', NO_COLOR: '1' }
})
await waitFor('the edge worker', async () => (await fetch(`${workerUrl}/`)).status === 404)

// The demo's upload token, made once through the admin route (KV keeps it across runs).
let uploadToken = fs.existsSync(path.join(opt.state, 'upload-token')) ? fs.readFileSync(path.join(opt.state, 'upload-token'), 'utf8').trim() : null
const known = uploadToken && (await fetch(`${workerUrl}/_admin/tokens/${crypto.createHash('sha256').update(uploadToken).digest('hex')}`, { headers: { Authorization: `Bearer ${adminToken}` } })).ok
if (!known) {
  const r = await fetch(`${workerUrl}/_admin/tokens`, { method: 'POST', headers: { Authorization: `Bearer ${adminToken}` }, body: JSON.stringify({ name: 'demo' }) })
  if (r.status !== 201) throw new Error(`could not make an upload token: ${r.status} ${await r.text()}`)
  uploadToken = (await r.json()).token
  fs.writeFileSync(path.join(opt.state, 'upload-token'), uploadToken, { mode: 0o600 })
}

const demoPort = Number(opt['demo-port'])
await serveDemo(demoPort, { worker: workerUrl, gateway: `http://localhost:${workerPort}`, token: uploadToken })
console.log(`carport is up:
  demo page       http://127.0.0.1:${demoPort}/
  edge worker     ${workerUrl}  (gateway, POST /upload, GET /archive/{root})
  deal broker     ${brokerUrl}  (local mk20 broker; the chain is simulated)
  state           ${opt.state}
Ctrl-C stops everything.`)
