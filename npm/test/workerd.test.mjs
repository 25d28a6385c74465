// The built package in a Cloudflare Worker: a worker that imports `carport` (the `workerd` export
// condition, its .wasm bundled by wrangler as a module) runs on workerd under `wrangler dev`, and
// every answer is checked against the package in Node (whose CIDs node.test.mjs checks against
// the CLI): pack from a request's stream (profiles, shards, piece CIDs), a folder, verifyCar on a
// good and a corrupt CAR, ls, unpack, pieceCid, abort. Needs wrangler (../edge-worker, `./dev install`).
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, before, describe, test } from 'node:test'

import { bytes } from '../../tests/browser/pages/bytes.js'
import { freePort, stopGroup, wranglerEnv } from '../../tests/lib/processes.mjs'
import { ls, pack, pieceCid, unpack } from '../src/node.js'

const here = dirname(fileURLToPath(import.meta.url))
const npmDir = join(here, '..')
const wrangler = join(npmDir, '../edge-worker/node_modules/.bin/wrangler')

let child
let base
const log = []
const dir = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'carport-workerd-'))

before(async () => {
  assert.ok(existsSync(wrangler), `wrangler is missing at ${wrangler}: run ./dev install`)
  // An application's tree: its worker, its wrangler.toml, and carport in its node_modules.
  copyFileSync(join(here, 'workerd/worker.js'), join(dir, 'worker.js'))
  writeFileSync(join(dir, 'wrangler.toml'), 'name = "carport-npm-test"\nmain = "worker.js"\ncompatibility_date = "2025-06-01"\n')
  mkdirSync(join(dir, 'node_modules'))
  symlinkSync(npmDir, join(dir, 'node_modules/carport'), 'dir')
  const port = await freePort()
  base = `http://127.0.0.1:${port}`
  child = spawn(wrangler, ['dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', join(dir, 'state'), '--log-level', 'warn', '--show-interactive-dev-session=false'], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: wranglerEnv()
  })
  child.stdout.on('data', (d) => log.push(d.toString()))
  child.stderr.on('data', (d) => log.push(d.toString()))
  const deadline = Date.now() + 120_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited ${child.exitCode}:\n${log.join('')}`)
    const r = await fetch(`${base}/`).catch(() => null)
    if (r?.status === 404) break
    if (Date.now() > deadline) throw new Error(`wrangler dev did not answer in time:\n${log.join('')}`)
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
})

after(async () => {
  if (child) await stopGroup(child)
  rmSync(dir, { recursive: true, force: true })
})

/** POSTs `body` to the worker's `route`; the JSON answer (an `{ error }` from the worker fails). */
async function call (route, body, { ok = true } = {}) {
  const r = await fetch(`${base}/${route}`, { method: 'POST', body, duplex: 'half' })
  const out = await r.json()
  if (ok) assert.equal(r.status, 200, `${route}: ${JSON.stringify(out.error)}\n${log.join('')}`)
  return out
}

const hex = (b) => Buffer.from(b).toString('hex')

async function nodeShards (data, options) {
  const { root, shards } = await pack(new Blob([data]), options).collect()
  // As JSON carries them (a shard without a piece CID has no `piece`).
  return JSON.parse(JSON.stringify({ root, shards: shards.map((s) => ({ index: s.index, size: s.size, cid: s.cid, roots: s.roots, blocks: s.blocks, last: s.last, piece: s.piece?.cid })) }))
}

describe('carport in a Cloudflare Worker (workerd)', () => {
  for (const profile of ['unixfs-v1-2025', 'unixfs-v0-2015', 'ipfs-car']) {
    test(`${profile}: pack of a request's stream gives Node's root and shards`, async () => {
      const data = bytes(3 * 1048576 + 12345, 41)
      const got = await call(`pack?profile=${profile}`, data)
      const want = await nodeShards(data, { profile })
      assert.equal(got.root, want.root)
      assert.equal(got.bytesRead, data.length)
      assert.deepEqual(got.shards.map(({ blobCid, ...s }) => s), want.shards)
      // The shard's Blob holds the bytes its CID names.
      for (const s of got.shards) assert.equal(s.blobCid, s.cid)
    })
  }

  test('shards of 2 MB with piece CIDs, from a 24 MiB stream', async () => {
    const data = bytes(24 << 20, 42)
    const got = await call('pack?shardSize=2000000&piece', data)
    const want = await nodeShards(data, { shardSize: 2_000_000, piece: true })
    assert.equal(got.root, want.root)
    assert.ok(got.shards.length > 10)
    assert.deepEqual(got.shards.map(({ blobCid, ...s }) => s), want.shards)
    for (const s of got.shards) {
      assert.ok(s.size <= 2_000_000)
      assert.equal(s.blobCid, s.cid)
      assert.match(s.piece, /^bafkzcib/)
    }
  })

  test('a folder given as an async iterable of { path, content }', async () => {
    const files = { 'site/index.html': bytes(1000, 1), 'site/a/b.bin': bytes(300_000, 2), 'site/empty': new Uint8Array(0), 'top.txt': bytes(5, 3) }
    const got = await call('folder', JSON.stringify(Object.fromEntries(Object.entries(files).map(([p, c]) => [p, hex(c)]))))
    const want = await pack(Object.entries(files).map(([path, content]) => ({ path, content }))).collect()
    assert.equal(got.root, want.root)
    assert.deepEqual(got.shards.map((s) => s.cid), want.shards.map((s) => s.cid))
  })

  describe('reading CARs', async () => {
    const folder = await pack([{ path: 'd/x.bin', content: bytes(2_000_000, 5) }, { path: 'd/y.txt', content: bytes(10, 6) }]).collect()
    const car = new Uint8Array(await folder.shards[0].blob.arrayBuffer())

    test('verifyCar of a good CAR, with its root', async () => {
      const got = await call(`verify?root=${folder.root}`, car)
      assert.deepEqual(got.roots, [folder.root])
      assert.equal(got.blocks, folder.blocks)
    })

    test('verifyCar of a CAR with one byte changed: HashMismatch naming the block and its offset', async () => {
      const bad = car.slice()
      bad[bad.length - 3] ^= 1
      const { error } = await call('verify', bad, { ok: false })
      assert.equal(error.name, 'CarportError')
      assert.equal(error.code, 'HashMismatch')
      assert.match(error.cid, /^ba/)
      assert.equal(typeof error.offset, 'number')
    })

    test('verifyCar of a CAR cut inside a block: TruncatedBlock', async () => {
      const { error } = await call('verify', car.slice(0, car.length - 100), { ok: false })
      assert.equal(error.code, 'TruncatedBlock')
    })

    test('ls and unpack give what they give in Node', async () => {
      const strip = (entries) => entries.map(({ content, ...e }) => JSON.parse(JSON.stringify(e)))
      assert.deepEqual(await call('ls', car), strip(await ls(car)))
      const got = await call('unpack', car)
      const want = await unpack(car)
      assert.deepEqual(got.map(({ content, ...e }) => e), strip(want))
      for (const [i, e] of want.entries()) {
        if (e.content) assert.equal(got[i].content, hex(new Uint8Array(await e.content.arrayBuffer())))
      }
    })
  })

  test("pieceCid of a request's stream", async () => {
    const data = bytes(5_000_000, 7)
    assert.deepEqual(await call('piece', data), await pieceCid(data))
  })

  test('abort mid-way rejects with AbortError', async () => {
    assert.deepEqual(await call('abort', bytes(8 << 20, 8)), { aborted: true, name: 'AbortError' })
  })
})
