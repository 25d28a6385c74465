// index.d.ts is written by hand; these tests hold it to the lists the Wasm module takes from
// carport-core: the pack option keys, the hash names and the default shard size.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'

import * as wasm from '../gen/carport_wasm.js'
import { init } from '../src/node.js'

await init()
const types = readFileSync(new URL('../src/index.d.ts', import.meta.url), 'utf8')

/** The body of `export interface <name> { ... }`. */
function iface (name) {
  const m = types.match(new RegExp(`export interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`))
  assert.ok(m, `index.d.ts declares ${name}`)
  return m[1]
}

/** The string literals of a union type such as `'a' | 'b'`. */
const literals = (union) => [...union.matchAll(/'([^']*)'/g)].map((m) => m[1])

test('PackOptions declares every option the Wasm packer reads', () => {
  const body = iface('PackOptions')
  for (const key of wasm.packOptionKeys()) {
    assert.match(body, new RegExp(`^\\s*${key}\\?:`, 'm'), `PackOptions.${key}`)
  }
})

test('the hash names in the types are core\'s', () => {
  const option = iface('PackOptions').match(/^\s*hash\?: (.*)$/m)
  assert.deepEqual(literals(option[1]), wasm.hashNames())
  const digest = types.match(/export function digest \(alg: ([^,]*),/)
  assert.deepEqual(literals(digest[1]), wasm.hashNames())
})

test('the documented default shard size is core\'s', () => {
  const doc = iface('PackOptions').match(/default ([\d_]+)[^*]*\*\/\s*shardSize\?:/)
  assert.equal(Number(doc[1].replaceAll('_', '')), wasm.defaultShardSize())
})
