// The world of the upload and archive tests: the local deal broker (carport-broker) and the edge
// worker on workerd pointed at it, with fast clocks; plus helpers to pack a site into CAR shards
// with the npm package (as a browser would) and to upload them.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { ADMIN_TOKEN, Client, freePort, repo, startWrangler, stopWrangler } from './harness.mjs'

// A fixed client key for the tests (never a real one): the worker signs its mk20 requests with it.
export const CLIENT_KEY = '4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318'
export const PROVIDER = 'f01000'

export function brokerBin () {
  return process.env.CARPORT_BROKER_BIN ?? path.join(repo, 'target/release/carport-broker')
}

/** Starts carport-broker on a free port; resolves once it prints where it listens. */
export async function startBroker (dir, { stageMs = 300 } = {}) {
  const child = spawn(brokerBin(), ['--listen', '127.0.0.1:0', '--data', dir, '--stage-ms', String(stageMs), '--provider', PROVIDER], { stdio: ['ignore', 'pipe', 'pipe'] })
  const log = []
  child.stderr.on('data', (d) => log.push(d.toString()))
  const url = await new Promise((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout })
    lines.on('line', (l) => {
      log.push(l + '\n')
      const m = l.match(/listening on (http:\/\/\S+)/)
      if (m) resolve(m[1])
    })
    child.once('exit', (code) => reject(new Error(`carport-broker exited ${code}: ${log.join('')}`)))
  })
  return { child, url, log }
}

export async function stopBroker (b) {
  if (b.child.exitCode !== null) return
  const done = new Promise((resolve) => b.child.once('exit', resolve))
  b.child.kill('SIGTERM')
  await done
}

export async function startArchiveWorld () {
  const state = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-archive-'))
  const brokerDir = path.join(state, 'broker')
  fs.mkdirSync(brokerDir)
  const broker = await startBroker(brokerDir)
  const port = await freePort()
  const vars = {
    ADMIN_TOKEN,
    // Every block must come from the store: the only upstream is a closed port.
    UPSTREAMS: 'http://127.0.0.1:9',
    UPSTREAM_TIMEOUT_MS: '1000',
    CACHE_BLOCKS: 'off',
    MAX_SHARD_SIZE: '2000000',
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    AGGREGATE_MIN_BYTES: '1',
    AGGREGATE_MAX_AGE_MS: '1000',
    MIN_DEAL_SIZE: '1048576',
    DEAL_POLL_MS: '300',
    RETRY_BASE_MS: '300',
    RETRY_MAX_MS: '1500',
    BROKER_URL: broker.url,
    MK20_CLIENT_KEY: CLIENT_KEY,
    MK20_PROVIDER: PROVIDER
  }
  const world = {
    state,
    port,
    vars,
    broker,
    client: new Client(port),
    worker: await startWrangler(port, state, vars),
    log () { return this.worker.log.join('') + this.broker.log.join('') },
    /** Stops the worker and starts it again on the same persistence folder. */
    async restartWorker () {
      await stopWrangler(this.worker)
      this.worker = await startWrangler(port, state, vars)
    },
    async stop () {
      if (process.env.GW_DEBUG) console.error(this.log())
      this.client.agent.destroy()
      await stopWrangler(this.worker)
      await stopBroker(this.broker)
      fs.rmSync(state, { recursive: true, force: true })
    }
  }
  return world
}

/** JSON of a response body. */
export function body (r) {
  return JSON.parse(r.body.toString())
}

/** A new upload token (through the admin route). */
export async function newToken (client, limits = {}) {
  const r = await client.request('/_admin/tokens', { method: 'POST', headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'test', ...limits }) })
  if (r.status !== 201) throw new Error(`token: ${r.status} ${r.body}`)
  return body(r).token
}

/** POSTs one CAR shard. */
export function upload (client, token, bytes, headers = {}) {
  return client.request('/upload', {
    method: 'POST',
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), 'Content-Type': 'application/vnd.ipld.car', 'Content-Length': String(bytes.length), ...headers },
    body: bytes
  })
}

/** The store's object names under a prefix. */
export async function objects (client, prefix) {
  const r = await client.get(`/_admin/objects?prefix=${encodeURIComponent(prefix)}`, { Authorization: `Bearer ${ADMIN_TOKEN}` })
  return body(r).keys
}

/** Polls the archive record until `done(record)` or the deadline. */
export async function waitFor (client, root, done, { timeoutMs = 90_000, what = 'the archive record' } = {}) {
  const deadline = Date.now() + timeoutMs
  let last
  for (;;) {
    const r = await client.get(`/archive/${root}`)
    last = r.status === 200 ? body(r) : { status: r.status, body: r.body.toString() }
    if (r.status === 200 && done(last)) return last
    if (Date.now() > deadline) throw new Error(`${what} did not get there in time; last: ${JSON.stringify(last, null, 1)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

export async function brokerDeals (world) {
  const r = await fetch(`${world.broker.url}/_broker/deals`)
  return r.json()
}

export async function brokerFaults (world, faults) {
  const r = await fetch(`${world.broker.url}/_broker/faults`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(faults) })
  if (!r.ok) throw new Error(`faults: ${r.status} ${await r.text()}`)
}
