// The hashing pool (src/pool.js) in Node (worker_threads): every CID, CAR byte and piece CID
// equals the sequential path's with pools of 1, 2 and 4; a worker killed mid-job fails the job
// with a clear error; abort mid-job ends every worker.

import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'

import { pack } from '../src/node.js'
import { liveWorkers } from '../src/pool.js'
import { runsOf } from '../src/engine.js'

async function packed (input, options) {
  const r = await pack(input, options).collect()
  const shards = []
  for (const s of r.shards) shards.push({ cid: s.cid, piece: s.piece, size: s.size, bytes: Buffer.from(await s.blob.arrayBuffer()) })
  return { root: r.root, shards }
}

const data = randomBytes((40 << 20) + 12345)

for (const [name, input, options] of [
  ['one file, 5 MB shards, piece CIDs', data, { shardSize: 5_000_000, piece: true }],
  ['one file, default shards, piece CIDs', data, { piece: true }],
  ['one file, CARv2, ipfs-car profile', data, { shardSize: 7_000_000, carVersion: 2, profile: 'ipfs-car', piece: true }],
  ['a folder, 3 MB shards', () => [
    { path: 'a/one.bin', content: data.subarray(0, 9 << 20) },
    { path: 'a/two.bin', content: data.subarray(9 << 20, 30 << 20) },
    { path: 'b.txt', content: 'hello' },
    { path: 'c/d/e.bin', content: data.subarray(30 << 20) }
  ], { shardSize: 3_000_000, piece: true, chunker: 'size-262144' }]
]) {
  test(`pool: ${name}: pools of 1, 2 and 4 give the sequential path's CIDs, bytes and pieces`, async () => {
    const fresh = () => (typeof input === 'function' ? input() : input)
    const want = await packed(fresh(), { ...options, workers: 1 })
    assert.ok(want.shards.length >= 1)
    for (const workers of [2, 4]) {
      const got = await packed(fresh(), { ...options, workers })
      assert.equal(got.root, want.root, `workers ${workers}`)
      assert.equal(got.shards.length, want.shards.length)
      got.shards.forEach((s, i) => {
        assert.equal(s.cid, want.shards[i].cid, `shard ${i}, workers ${workers}`)
        assert.deepEqual(s.piece, want.shards[i].piece, `piece of shard ${i}, workers ${workers}`)
        assert.ok(s.bytes.equals(want.shards[i].bytes), `bytes of shard ${i}, workers ${workers}`)
      })
    }
    assert.equal(liveWorkers(), 0)
  })
}

test('pool: runs are whole subtrees (127·2^k bytes) and cover the shard', () => {
  for (const [size, workers] of [[100_000_000, 2], [5_000_000, 4], [1000, 8], [130_048 * 3 + 1, 2]]) {
    const runs = runsOf(size, workers)
    assert.equal(runs[0][0], 0)
    assert.equal(runs.at(-1)[1], size)
    const len = runs.length > 1 ? runs[0][1] - runs[0][0] : 127 * 1024
    assert.ok(len % 127 === 0 && Number.isInteger(Math.log2(len / 127)), `run of ${len}`)
    for (let i = 1; i < runs.length; i++) assert.equal(runs[i][0], runs[i - 1][1])
    for (const [a, b] of runs.slice(0, -1)) assert.equal(b - a, len)
    assert.ok(runs.at(-1)[1] - runs.at(-1)[0] <= len)
  }
})

test('pool: a worker killed mid-job fails the job with a clear error', async () => {
  const job = pack(data, { shardSize: 5_000_000, piece: true, workers: 2, poolWorker: new URL('./fixtures/pool-crash-worker.mjs', import.meta.url) })
  await assert.rejects(job.collect(), (e) => e.name === 'CarportError' && e.code === 'Worker' && /pool worker crashed/.test(e.message))
  assert.equal(liveWorkers(), 0)
})

test('pool: abort mid-job ends every worker', async () => {
  const ac = new AbortController()
  let seen = false
  const job = pack(data, {
    shardSize: 5_000_000,
    piece: true,
    workers: 4,
    signal: ac.signal,
    onProgress: (p) => { if (!seen && p.bytesRead > 12 << 20) { seen = true; ac.abort() } }
  })
  await assert.rejects(job.collect(), (e) => e.name === 'AbortError')
  assert.ok(seen)
  assert.equal(liveWorkers(), 0)
})
