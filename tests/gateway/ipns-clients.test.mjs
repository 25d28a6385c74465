// A name published through the worker (PUT /routing/v1/ipns/{name}, a record made by the `ipns`
// package) resolves in @helia/verified-fetch with the worker as its delegated router and its
// gateway: `ipns://{name}/…` gives the site's bytes, and after a republish the new site's.
import './lib/node20.mjs' // first: Promise.withResolvers for Node 20, before any Helia module runs
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Fixture, startWorld } from './lib/harness.mjs'
import { newName, publish, record } from './lib/ipns.mjs'
import { createNamedFetch } from './lib/ipns-clients.mjs'

const world = {}
let site, spa, url

before(async () => {
  Object.assign(world, await startWorld())
  url = `http://127.0.0.1:${world.port}`
  const f = await Fixture.open('redirects_file/redirects.car')
  site = { f, root: f.cid('examples') }
  const g = await Fixture.open('redirects_file/redirects-spa.car')
  spa = { f: g, root: g.roots[0] }
}, { timeout: 300_000 })

after(async () => {
  await world.stop?.()
})

/** `url` through a fresh verified-fetch (empty blockstore, no cached record). */
async function vfetch (u) {
  const c = await createNamedFetch(url)
  try {
    const res = await c.verifiedFetch(u, { signal: AbortSignal.timeout(60_000) })
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) }
  } finally {
    await c.stop()
  }
}

test('ipns://{name}/ resolves through the worker as delegated router, bytes compared', async () => {
  const { key, name } = await newName()
  const bytes = await record(key, `/ipfs/${site.root}`, 1, { ttlS: 1 })
  const put = await publish(world.client, name, bytes)
  assert.equal(put.status, 200, put.body.toString())

  const want = site.f.file(site.f.cid('examples', 'index.html'))
  const index = await vfetch(`ipns://${name}/index.html`)
  assert.equal(index.status, 200)
  assert.deepEqual(index.body, want)
  const one = await vfetch(`ipns://${name}/one.html`)
  assert.equal(one.status, 200)
  assert.deepEqual(one.body, site.f.file(site.f.cid('examples', 'one.html')))
  const root = await vfetch(`ipns://${name}/`)
  assert.equal(root.status, 200)
  assert.deepEqual(root.body, want)

  // Republished to another site: a fresh client follows the new record.
  assert.equal((await publish(world.client, name, await record(key, `/ipfs/${spa.root}`, 2, { ttlS: 1 }))).status, 200)
  const moved = await vfetch(`ipns://${name}/index.html`)
  assert.equal(moved.status, 200)
  assert.deepEqual(moved.body, spa.f.file(spa.f.cid('index.html')))
})

test('a name the worker has no record of: verified-fetch gets no record', async () => {
  const { name } = await newName()
  const r = await vfetch(`ipns://${name}/`)
  assert.ok(r.status >= 400, `${r.status}`)
})
