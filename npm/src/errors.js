// Errors carport throws: one class, with the `code` of core's typed error and, where there is
// one, the `cid` and byte `offset` at fault.

/** A carport error: a bad CAR, a setting that cannot be honoured, a block too large for a shard. */
export class CarportError extends Error {
  /**
   * @param {string} message
   * @param {{ code?: string, cid?: string, offset?: number, shard?: number }} [details]
   */
  constructor (message, details = {}) {
    super(message)
    this.name = 'CarportError'
    /** @type {string} */
    this.code = details.code ?? 'Error'
    if (details.cid !== undefined) this.cid = details.cid
    if (details.offset !== undefined) this.offset = details.offset
    if (details.shard !== undefined) this.shard = details.shard
  }
}

/** Turns what the Wasm module threw (an Error with `code`) into a CarportError. */
export function fromWasm (e, extra = {}) {
  if (e instanceof CarportError) return Object.assign(e, extra)
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.name === 'CarportError') {
    return new CarportError(e.message, { code: e.code, cid: e.cid, offset: e.offset, ...extra })
  }
  return e
}

/** A plain object that crosses postMessage. */
export function serializeError (e) {
  if (e instanceof CarportError) {
    return { kind: 'carport', message: e.message, code: e.code, cid: e.cid, offset: e.offset, shard: e.shard }
  }
  if (e && e.name === 'AbortError') return { kind: 'abort', message: e.message }
  return { kind: 'error', name: e?.name ?? 'Error', message: String(e?.message ?? e), stack: e?.stack }
}

export function deserializeError (o) {
  if (o.kind === 'carport') return new CarportError(o.message, o)
  if (o.kind === 'abort') return abortError(o.message)
  const e = new Error(o.message)
  e.name = o.name
  if (o.stack) e.stack = o.stack
  return e
}

export function abortError (message = 'The operation was aborted') {
  if (typeof DOMException !== 'undefined') return new DOMException(message, 'AbortError')
  const e = new Error(message)
  e.name = 'AbortError'
  return e
}

export function throwIfAborted (signal) {
  if (signal?.aborted) throw signal.reason ?? abortError()
}
