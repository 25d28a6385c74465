// Flat memory: packing a 1 GiB Blob grows the Wasm heap by at most 64 MiB (a process of its own,
// so no earlier test has grown the heap first).
import assert from 'node:assert/strict'
import { randomFillSync } from 'node:crypto'
import { describe, test } from 'node:test'

import { heapSize, pack } from '../src/node.js'

describe('memory', () => {
  test('packing 1 GiB grows the Wasm heap by at most 64 MiB', { skip: process.env.CARPORT_SKIP_LARGE === '1' }, async () => {
    // A Blob of 64 random 16 MiB parts: every block distinct.
    const parts = []
    for (let i = 0; i < 64; i++) parts.push(randomFillSync(new Uint8Array(16 << 20)))
    const blob = new Blob(parts)
    assert.equal(blob.size, 1 << 30)
    const job = pack(blob, { shardSize: 100_000_000 })
    const reader = job.shards.getReader()
    let n = 0
    for (;;) {
      const { done } = await reader.read()
      if (done) break
      n++
    }
    const summary = await job.done
    assert.equal(n, 11)
    const growth = summary.wasmHeap.end - summary.wasmHeap.start
    assert.ok(growth <= 64 << 20, `heap grew by ${growth} bytes`)
    console.log(`# 1 GiB packed into ${n} shards; Wasm heap ${summary.wasmHeap.start} -> ${summary.wasmHeap.end} bytes`)
    assert.ok(await heapSize() >= summary.wasmHeap.end)
  })
})
