// Integration tests of the carport edge worker, running on workerd (`wrangler dev`), against two
// local trustless gateways that can lie. The conformance groups are ports of ipfs/gateway-conformance
// (tests/*.go) with its fixtures (../shared/fixtures/gateway-conformance).
import { before, after, test } from 'node:test'
import assert from 'node:assert/strict'
import { startWorld } from './lib/harness.mjs'
import { pathGateway } from './suites/path.mjs'
import { trustless } from './suites/trustless.mjs'
import { lying } from './suites/lying.mjs'
import { web } from './suites/web.mjs'
import { store } from './suites/store.mjs'
import { broken } from './suites/broken.mjs'
import { hardening } from './suites/hardening.mjs'

const world = {}

before(async () => {
  Object.assign(world, await startWorld())
}, { timeout: 300_000 })

after(async () => {
  await world.stop?.()
})

test('the worker answers on workerd', async () => {
  const r = await world.client.get('/')
  assert.equal(r.status, 404)
  assert.match(r.body.toString(), /carport-edge/)
})

pathGateway(world)
trustless(world)
lying(world)
web(world)
store(world)
broken(world)
hardening(world)

