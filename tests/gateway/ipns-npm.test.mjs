// The npm package's IPNS API (npm/src/ipns.js over the Wasm module) against the worker on
// workerd: createName (WebCrypto's Ed25519 here, Node 20+), exportName/importName, publish
// (sequence from the endpoint's record when not given) and resolve (validated before it is
// returned); a record it signs resolves in @helia/verified-fetch, which checks it independently.
import './lib/node20.mjs'
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { Fixture, startWorld } from './lib/harness.mjs'
import { createNamedFetch } from './lib/ipns-clients.mjs'
import * as ipns from '../../npm/src/node.js'
import { init } from '../../npm/src/node.js'
import * as wasm from '../../npm/gen/carport_wasm.js'
// A lying endpoint is an IPNS API over another fetch, which only the module's factory takes.
import { createIpns } from '../../npm/src/ipns.js'
const world = {}
let endpoint, site, spa

before(async () => {
  Object.assign(world, await startWorld())
  endpoint = `http://127.0.0.1:${world.port}`
  const f = await Fixture.open('redirects_file/redirects.car')
  site = { f, root: f.cid('examples').toString() }
  const g = await Fixture.open('redirects_file/redirects-spa.car')
  spa = { f: g, root: g.roots[0].toString() }
}, { timeout: 300_000 })

after(async () => {
  await world.stop?.()
})

test('createName, publish, resolve, republish; the exported key publishes again', async () => {
  const n = await ipns.createName()
  assert.match(n.name, /^k51/)
  assert.equal(n.madeBy, 'webcrypto')
  assert.equal(await ipns.resolve(n.name, { endpoint }), null)
  const p = await ipns.publish(n, site.root, { endpoint, ttl: 30_000 })
  assert.equal(p.sequence, 0)
  const r = await ipns.resolve(n.name, { endpoint })
  assert.equal(r.cid, site.root)
  assert.equal(r.value, `/ipfs/${site.root}`)
  assert.equal(r.sequence, 0)
  assert.equal(r.ttlMs, 30_000)
  assert.ok(r.validityMs > Date.now() + 47 * 3_600_000)

  // Kept as JSON, imported again: the same name, and it publishes the next sequence.
  const kept = JSON.parse(JSON.stringify(ipns.exportName(n)))
  const again = await ipns.importName(kept)
  assert.equal(again.name, n.name)
  assert.equal((await ipns.publish(again, spa.root, { endpoint })).sequence, 1)
  assert.equal((await ipns.resolve(n.name, { endpoint })).cid, spa.root)
  // An explicit older sequence is refused by the worker, with its code.
  await assert.rejects(ipns.publish(n, site.root, { endpoint, sequence: 0 }), { name: 'CarportError', code: 'IpnsSequenceRollback' })
  // A seed claiming another name is refused on import.
  const other = await ipns.createName()
  await assert.rejects(ipns.importName({ ...kept, name: other.name }), { code: 'IpnsWrongName' })
})

test('resolve refuses a record that does not validate for the name', async () => {
  const a = await ipns.createName()
  const b = await ipns.createName()
  await ipns.publish(a, site.root, { endpoint })
  // An endpoint that answers a's record for b: resolve checks it against b and refuses it.
  const lying = createIpns({
    wasm: () => init().then(() => wasm),
    fetch: (u, o) => fetch(String(u).replace(b.name, a.name), o)
  })
  await assert.rejects(lying.resolve(b.name, { endpoint }), { name: 'CarportError', code: /^Ipns(BadSignature|WrongName)$/ })
})

test('a name published with the npm package resolves in verified-fetch', async () => {
  const n = await ipns.createName()
  await ipns.publish(n, site.root, { endpoint })
  const c = await createNamedFetch(endpoint)
  try {
    const res = await c.verifiedFetch(`ipns://${n.name}/index.html`, { signal: AbortSignal.timeout(60_000) })
    assert.equal(res.status, 200)
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), site.f.file(site.f.cid('examples', 'index.html')))
  } finally {
    await c.stop()
  }
})
