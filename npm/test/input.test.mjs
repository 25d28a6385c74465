// Reading Blobs (src/input.js): a read of a Blob's stream that never settles is made again from a
// new stream of the rest of the Blob, as Chromium 156 now and then needs.
import assert from 'node:assert/strict'
import { test } from 'node:test'

import { bytes } from '../../tests/browser/pages/bytes.js'
import { slices } from '../src/input.js'

/** A byte stream of `data` whose reads stop settling once `stallAt` bytes have been given. */
function byteStream (data, stallAt = Infinity) {
  let at = 0
  return new ReadableStream({
    type: 'bytes',
    pull (c) {
      if (at >= stallAt) return new Promise(() => {})
      if (at >= data.length) {
        c.close()
        c.byobRequest?.respond(0)
        return
      }
      const view = c.byobRequest.view
      const n = Math.min(view.byteLength, data.length - at, 100_000, stallAt - at)
      view.set(data.subarray(at, at + n))
      at += n
      c.byobRequest.respond(n)
    }
  })
}

/** A Blob whose first stream stalls at `stallAt` bytes, `times` times over (its slices too). */
class StallingBlob extends Blob {
  constructor (data, stallAt, times) {
    super([data])
    this.data = data
    this.stallAt = stallAt
    this.times = times
  }

  stream () {
    return byteStream(this.data, this.times > 0 ? this.stallAt : Infinity)
  }

  slice (start) {
    const rest = this.data.subarray(start)
    return new StallingBlob(rest, this.stallAt, this.times - 1)
  }
}

test('a stalled read is made again from where the slice began, and the bytes are all there once', async () => {
  const data = bytes(3 * 65536 + 1234, 7)
  const got = []
  for await (const s of slices(new StallingBlob(data, 65536 + 500, 1), 65536)) got.push(...s)
  assert.deepEqual(Uint8Array.from(got), data)
})

test('a Blob that keeps stalling is unreadable, with the offset', async () => {
  const data = bytes(65536 * 2, 8)
  await assert.rejects(async () => {
    for await (const s of slices(new StallingBlob(data, 1000, 9), 65536)) s.byteLength
  }, (e) => e.code === 'NotReadable' && /no bytes came at offset 1000 for \d+ ms, 4 times/.test(e.message))
})
