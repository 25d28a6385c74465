// A shard's bytes gathered into one buffer while they are made, because crypto.subtle hashes one
// buffer and has no streaming form. Gathering as the bytes come (rather than when the shard
// closes) lets the read slices be read into again at once, and the buffer is kept for the next
// shard: a fresh 100 MB buffer costs 25,000 page faults.

/** Bytes kept free before the body for the shard's header, which is known only at the end. */
const HEADER_ROOM = 4096
/** The first buffer when the input's size is unknown (a stream): it doubles as needed. */
const UNKNOWN_START = 16 << 20

export class Gather {
  /**
   * `shardSize`: the largest shard; `inputSize`: the input's bytes, when known. The first buffer
   * holds the smaller of a shard and the input with its CAR framing: a browser maps it lazily, but
   * a Cloudflare Worker counts all of it against its 128 MB, so a small input gets a small buffer.
   */
  constructor (shardSize, inputSize) {
    const expected = inputSize === undefined ? UNKNOWN_START : inputSize + Math.ceil(inputSize / 64) + (64 << 10)
    this.first = HEADER_ROOM + Math.min(shardSize, expected)
    this.buf = null
    this.end = HEADER_ROOM
  }

  push (bytes) {
    const need = this.end + bytes.byteLength
    if (!this.buf || this.buf.byteLength < need) this.grow(need)
    this.buf.set(bytes, this.end)
    this.end = need
  }

  grow (need) {
    let size = Math.max(this.first, this.buf?.byteLength ?? 0)
    while (size < need) size *= 2
    const next = new Uint8Array(size)
    if (this.buf) next.set(this.buf.subarray(HEADER_ROOM, this.end), HEADER_ROOM)
    this.buf = next
  }

  /**
   * The whole shard, `header` + the body gathered + `trailer`, as a view into the buffer that the
   * next shard is gathered into: hash or copy it before pushing again.
   */
  take (header, trailer) {
    this.push(trailer)
    const body = this.buf.subarray(HEADER_ROOM, this.end)
    this.end = HEADER_ROOM
    if (header.byteLength > HEADER_ROOM) {
      const shard = new Uint8Array(header.byteLength + body.byteLength)
      shard.set(header)
      shard.set(body, header.byteLength)
      return shard
    }
    const start = HEADER_ROOM - header.byteLength
    this.buf.set(header, start)
    return this.buf.subarray(start, HEADER_ROOM + body.byteLength)
  }
}
