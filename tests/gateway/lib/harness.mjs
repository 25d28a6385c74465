// Starts the world of the gateway tests: two local trustless gateways (upstreams A and B, each able
// to lie) and the edge worker on workerd (`wrangler dev` on 127.0.0.1) pointed at them; plus an
// HTTP helper that can set the Host header, and fixture helpers that find CIDs by path in a CAR.
import { spawn, execFileSync } from 'node:child_process'
import http from 'node:http'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CarBlockIterator } from '@ipld/car/iterator'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import { Upstream } from './upstream.mjs'
import { freePort, stopGroup, wranglerEnv } from '../../lib/processes.mjs'

export { freePort, stopGroup as stopWrangler, wranglerEnv }

const here = path.dirname(fileURLToPath(import.meta.url))
export const repo = path.resolve(here, '../../..')
export const edgeDir = path.join(repo, 'edge-worker')
export const fixturesDir = path.resolve(repo, '../shared/fixtures/gateway-conformance')
export const ADMIN_TOKEN = 'test-admin-token'
export const GW_HOST = 'example.com'
/** The address of the one proxy the test worker trusts: send it as `CF-Connecting-IP`. */
export const TRUSTED_PROXY = '203.0.113.7'

export function fixturePath (name) {
  return path.join(fixturesDir, name)
}

// --- HTTP ------------------------------------------------------------------------------------

export class Client {
  constructor (port) {
    this.port = port
    // No keep-alive: workerd closes idle connections, and a reused dead socket would fail a test.
    this.agent = new http.Agent({ keepAlive: false, maxSockets: 16 })
  }

  // GET (or `method`) `p` with `headers`; resolves {status, headers, body: Buffer} or
  // {error} when the body broke off (a worker that aborts a stream it cannot verify).
  request (p, { method = 'GET', headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, path: p, method, headers, agent: this.agent }, (res) => {
        const chunks = []
        res.on('data', (c) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), complete: res.complete }))
        res.on('error', (error) => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), error }))
        res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), error: new Error('aborted') }))
      })
      req.on('error', reject)
      req.setTimeout(120_000, () => req.destroy(new Error('client timeout')))
      if (body) req.write(body)
      req.end()
    })
  }

  get (p, headers = {}) {
    return this.request(p, { headers })
  }
}

// --- fixtures --------------------------------------------------------------------------------

function unixfsType (node) {
  // UnixFS Data, field 1 (Type) is the first varint; 1 dir, 2 file, 4 symlink, 5 HAMT.
  const d = node.Data
  if (!d || d[0] !== 0x08) return -1
  return d[1]
}

export class Fixture {
  static async open (name) {
    const bytes = fs.readFileSync(fixturePath(name))
    const it = await CarBlockIterator.fromBytes(bytes)
    const roots = await it.getRoots()
    const blocks = new Map()
    const order = []
    for await (const { cid, bytes: b } of it) {
      blocks.set(cid.toString(), b)
      order.push(cid)
    }
    return Object.assign(new Fixture(), { name, bytes, roots, blocks, order })
  }

  block (cid) {
    return this.blocks.get(CID.asCID(cid) ? cid.toString() : CID.parse(String(cid)).toString())
  }

  node (cid) {
    return dagPb.decode(this.block(cid))
  }

  // The HAMT shards walked to find `name` under the HAMT `dir`, and the entry's CID.
  hamtFind (dir, name) {
    const walk = (c) => {
      for (const l of this.node(c).Links) {
        if (l.Name.length === 2) {
          if (!this.block(l.Hash)) continue
          const r = walk(l.Hash)
          if (r) return { shards: [l.Hash, ...r.shards], cid: r.cid }
        } else if (l.Name.slice(2) === name) {
          return { shards: [], cid: l.Hash }
        }
      }
      return null
    }
    return walk(dir)
  }

  // The CID at `segments` under the root (through plain and HAMT folders).
  cid (...segments) {
    let c = this.roots[0]
    for (const s of segments) {
      const n = this.node(c)
      if (unixfsType(n) === 5) {
        c = this.hamtFind(c, s).cid
      } else {
        const l = n.Links.find((x) => x.Name === s)
        if (!l) throw new Error(`${this.name}: no ${s} under ${c}`)
        c = l.Hash
      }
    }
    return c
  }

  // Every block under `cid`, depth-first, itself excluded (MustGetDescendantsCids).
  descendants (cid) {
    const out = []
    const walk = (c) => {
      if (c.code !== dagPb.code) return
      for (const l of this.node(c).Links) {
        out.push(l.Hash)
        walk(l.Hash)
      }
    }
    walk(cid)
    return out
  }

  // Every shard block of a HAMT, depth-first, the root excluded.
  hamtShards (cid) {
    const out = []
    const walk = (c) => {
      for (const l of this.node(c).Links) {
        if (l.Name.length === 2 && this.block(l.Hash)) {
          out.push(l.Hash)
          walk(l.Hash)
        }
      }
    }
    walk(cid)
    return out
  }

  // The bytes of the UnixFS file at `cid` (dag-pb with raw or dag-pb leaves, or a raw block).
  file (cid) {
    if (cid.code === 0x55) return Buffer.from(this.block(cid))
    const n = this.node(cid)
    const parts = []
    const data = unixfsData(n.Data)
    if (data) parts.push(data)
    for (const l of n.Links) parts.push(this.file(l.Hash))
    return Buffer.concat(parts)
  }
}

// UnixFS Data field 2 (the bytes in the node).
function unixfsData (d) {
  let i = 0
  const varint = () => {
    let v = 0; let s = 0
    for (;;) {
      const b = d[i++]
      v += (b & 0x7f) * 2 ** s
      s += 7
      if (b < 0x80) return v
    }
  }
  while (i < d.length) {
    const k = varint()
    const f = k >> 3; const w = k & 7
    if (w === 0) varint()
    else if (w === 2) {
      const len = varint()
      if (f === 2) return Buffer.from(d.subarray(i, i + len))
      i += len
    } else if (w === 5) i += 4
    else if (w === 1) i += 8
  }
  return null
}

// Parses a CAR body into its block CIDs (strings) in order; throws on a broken CAR.
export async function carBlocks (bytes) {
  const it = await CarBlockIterator.fromBytes(bytes)
  const out = []
  for await (const { cid } of it) out.push(cid.toString())
  return out
}

// --- the world -------------------------------------------------------------------------------

export async function startWorld ({ timeoutMs = 2000, cache = 'on', vars: extra = {} } = {}) {
  const a = await new Upstream('A').listen()
  const b = await new Upstream('B').listen()
  for (const u of [a, b]) await u.addCarsUnder(fixturesDir)
  const port = await freePort()
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-edge-'))
  const vars = {
    UPSTREAMS: `${a.url},${b.url}`,
    UPSTREAM_TIMEOUT_MS: String(timeoutMs),
    SUBDOMAIN_HOSTS: GW_HOST,
    DOH_URL: `${a.url}/dns-query`,
    DNSLINK_TTL: '1',
    CACHE_BLOCKS: cache,
    // Small, so that the tests see CARs made whole before their headers and CARs streamed.
    CAR_BUFFER_BYTES: String(2 * 1024 * 1024),
    // The proxy whose forwarding headers the worker believes (as Cloudflare names its address).
    TRUSTED_PROXIES: TRUSTED_PROXY,
    // Small, so that a DAG bomb hits it in a test's time.
    REQUEST_BLOCK_BUDGET: '5000',
    ADMIN_TOKEN,
    ...extra
  }
  const worker = await startWrangler(port, state, vars)
  const client = new Client(port)
  return {
    a,
    b,
    client,
    port,
    state,
    log: () => worker.log.join(''),
    async setMode (up, mode) {
      up.mode = mode
    },
    async stop () {
      if (process.env.GW_DEBUG) console.error(worker.log.join(''))
      client.agent.destroy()
      await stopGroup(worker)
      await a.close()
      await b.close()
      fs.rmSync(state, { recursive: true, force: true })
    }
  }
}

// wrangler.toml without its [build] section: the tests and the benchmark run the worker that
// edge-worker/build.sh built, instead of wrangler rebuilding it (and its watcher rebuilding again).
export function testConfig () {
  const toml = fs.readFileSync(path.join(edgeDir, 'wrangler.toml'), 'utf8')
  const noBuild = toml.replace(/^\[build\]\n(?:[^[\n].*\n|\n)*/m, '')
  const file = path.join(edgeDir, '.wrangler-test.toml')
  // Written only when it changes: a running `wrangler dev` restarts when its config is touched.
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== noBuild) fs.writeFileSync(file, noBuild)
  return file
}

export async function startWrangler (port, state, vars) {
  const args = ['wrangler', 'dev', '--config', testConfig(), '--port', String(port), '--ip', '127.0.0.1', '--persist-to', state, '--log-level', 'warn', '--show-interactive-dev-session=false']
  for (const [k, v] of Object.entries(vars)) args.push('--var', `${k}:${v}`)
  const log = []
  const child = spawn('npx', args, { cwd: edgeDir, env: wranglerEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout.on('data', (d) => log.push(d.toString()))
  child.stderr.on('data', (d) => log.push(d.toString()))
  child.log = log
  const deadline = Date.now() + 240_000
  const c = new Client(port)
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited ${child.exitCode}:\n${log.join('')}`)
    try {
      const r = await c.get('/')
      if (r.status === 404 && r.body.toString().includes('carport-edge')) break
    } catch {}
    if (Date.now() > deadline) {
      await stopGroup(child)
      throw new Error(`wrangler dev did not answer in time:\n${log.join('')}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  c.agent.destroy()
  return child
}


// `wrangler r2 object put` into the local store of a running test world.
export function r2Put (state, key, file) {
  execFileSync('npx', ['wrangler', 'r2', 'object', 'put', `carport-store/${key}`, '--config', testConfig(), '--file', file, '--local', '--persist-to', state], { cwd: edgeDir, env: wranglerEnv(), stdio: 'pipe' })
}

export function carportBin () {
  return process.env.CARPORT_BIN ?? path.join(repo, 'target/release/carport')
}
