// Gather (src/gather.js): a shard's bytes gathered into one reused buffer, the header put in
// front at the end.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { Gather } from '../src/gather.js'

const bytes = (n, seed) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255)
const concat = (...parts) => Uint8Array.from(parts.flatMap((p) => [...p]))

test('the shard is header + body + trailer, and the next shard reuses the buffer', () => {
  const g = new Gather(64)
  const a = bytes(40, 1)
  const b = bytes(20, 2)
  g.push(a)
  g.push(b)
  const first = g.take(bytes(11, 3), bytes(5, 4))
  assert.deepEqual(first, concat(bytes(11, 3), a, b, bytes(5, 4)))
  const buffer = first.buffer
  g.push(b)
  const second = g.take(bytes(3, 5), new Uint8Array(0))
  assert.equal(second.buffer, buffer)
  assert.deepEqual(second, concat(bytes(3, 5), b))
})

test('a shard larger than expected grows the buffer and keeps what was gathered', () => {
  const g = new Gather(16)
  const parts = [bytes(10, 1), bytes(30, 2), bytes(5000, 3), bytes(1, 4)]
  for (const p of parts) g.push(p)
  assert.deepEqual(g.take(bytes(7, 9), bytes(2, 8)), concat(bytes(7, 9), ...parts, bytes(2, 8)))
})

test('a header larger than the room kept for it is copied in front', () => {
  const g = new Gather(16)
  g.push(bytes(100, 1))
  const header = bytes(5000, 2)
  assert.deepEqual(g.take(header, bytes(3, 3)), concat(header, bytes(100, 1), bytes(3, 3)))
  g.push(bytes(4, 4))
  assert.deepEqual(g.take(bytes(2, 5), new Uint8Array(0)), concat(bytes(2, 5), bytes(4, 4)))
})

test('an empty body', () => {
  const g = new Gather(16)
  assert.deepEqual(g.take(bytes(9, 1), new Uint8Array(0)), bytes(9, 1))
})

test('the first buffer fits the input when its size is known, and never exceeds a shard', () => {
  const size = (shardSize, inputSize) => {
    const g = new Gather(shardSize, inputSize)
    g.push(bytes(1, 1))
    return g.buf.byteLength - 4096
  }
  assert.ok(size(100e6, 5000) < 100 << 10)
  assert.equal(size(100e6, 1 << 30), 100e6)
  assert.equal(size(100e6, undefined), 16 << 20)
  assert.equal(size(1e6, undefined), 1e6)
})
