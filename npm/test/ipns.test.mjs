// The package's IPNS entry points in Node (the worker round trip is tests/gateway/ipns-npm.test.mjs):
// a made name survives export and import, and a call without an endpoint says what it needs.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { CarportError, createName, exportName, importName, publish, resolve } from '../src/node.js'

test('a name exported and imported again is the same name', async () => {
  const n = await createName()
  assert.match(n.name, /^k51[0-9a-z]+$/)
  const kept = JSON.parse(JSON.stringify(exportName(n)))
  assert.equal((await importName(kept)).name, n.name)
  assert.notEqual((await createName()).name, n.name)
})

test('publish and resolve without an endpoint are refused with a clear error', async () => {
  const n = await createName()
  const needsEndpoint = (e) => e instanceof CarportError && e.code === 'Settings' && /endpoint/.test(e.message)
  await assert.rejects(publish(n, 'bafkqaaa', {}), needsEndpoint)
  await assert.rejects(resolve(n.name, {}), needsEndpoint)
})
