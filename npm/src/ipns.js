// IPNS names from JavaScript: a key the user keeps, records published to and resolved from a
// Delegated Routing V1 endpoint (carport's edge worker, or any other). Making and checking
// records is carport-core's (through the Wasm module): a resolved record is validated for the
// name at the current time before anything of it is returned.
//
// The key is an Ed25519 key made with WebCrypto where the runtime has Ed25519 (browsers since
// 2025, Node 20+), else from 32 bytes of `crypto.getRandomValues` with the key derived in Wasm.
// Either way it is its 32-byte seed, which `exportName` hands out (and `importName` takes back)
// so the user can keep it: whoever has it can publish under the name.

import { CarportError, fromWasm } from './errors.js'

const RECORD_TYPE = 'application/vnd.ipfs.ipns-record'
const b64u = {
  encode: (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
  decode: (text) => Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0))
}

/** A seed made by WebCrypto's Ed25519 (extractable, to be exported), or null where it has none. */
async function webCryptoSeed () {
  try {
    const pair = await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])
    const jwk = await globalThis.crypto.subtle.exportKey('jwk', pair.privateKey)
    const seed = b64u.decode(jwk.d)
    return seed.length === 32 ? seed : null
  } catch {
    return null
  }
}

function endpointOf (options) {
  const e = options?.endpoint
  if (!e) throw new CarportError('an endpoint (the delegated router, e.g. the carport worker\'s URL) is needed', { code: 'Settings' })
  return String(e).replace(/\/+$/, '')
}

const call = (wasm, f) => {
  try { return f() } catch (e) { throw fromWasm(e) }
}

/**
 * The IPNS API over a Wasm loader (`() => Promise<wasm module>`, as each entry loads it).
 * @param {{ wasm: () => Promise<any>, fetch?: typeof fetch }} platform
 */
export function createIpns (platform) {
  const doFetch = (...a) => (platform.fetch ?? globalThis.fetch)(...a)

  /** A name object from a seed. */
  async function fromSeed (seed, madeBy) {
    const wasm = await platform.wasm()
    const name = call(wasm, () => wasm.ipnsName(seed))
    return Object.freeze({ name, keyType: 'Ed25519', madeBy, seed: () => seed.slice() })
  }

  /** A new name: an Ed25519 key (WebCrypto where there is one, else Wasm) and its `k51…`. */
  async function createName () {
    const web = await webCryptoSeed()
    if (web) return fromSeed(web, 'webcrypto')
    const seed = new Uint8Array(32)
    globalThis.crypto.getRandomValues(seed)
    return fromSeed(seed, 'wasm')
  }

  /** What to keep to publish under the name again: JSON-safe, secret (it is the key). */
  function exportName (n) {
    return { type: 'carport-ipns-ed25519', name: n.name, seed: b64u.encode(n.seed()) }
  }

  /** A name back from `exportName`'s object; the seed must give the name it claims. */
  async function importName (exported) {
    if (exported?.type !== 'carport-ipns-ed25519' || typeof exported.seed !== 'string') {
      throw new CarportError('not an exported carport IPNS name', { code: 'Settings' })
    }
    const n = await fromSeed(b64u.decode(exported.seed), 'import')
    if (exported.name && exported.name !== n.name) {
      throw new CarportError(`the key is the key of ${n.name}, not of ${exported.name}`, { code: 'IpnsWrongName' })
    }
    return n
  }

  /**
   * The record of `name` from the endpoint, validated now; null when it has none.
   * @returns {Promise<null | { name: string, value: string, cid: string | null, sequence: number,
   *   validity: string, validityMs: number, ttlMs: number, record: Uint8Array }>}
   */
  async function resolve (name, options = {}) {
    const wasm = await platform.wasm()
    const n = typeof name === 'string' ? call(wasm, () => wasm.ipnsParseName(name)) : name.name
    const res = await doFetch(`${endpointOf(options)}/routing/v1/ipns/${n}`, { headers: { Accept: RECORD_TYPE }, signal: options.signal })
    const type = res.headers.get('content-type') ?? ''
    if (res.status === 404 || (res.ok && !type.startsWith(RECORD_TYPE))) return null
    if (!res.ok) throw new CarportError(`resolving ${n}: ${res.status} ${await res.text()}`, { code: 'Resolve' })
    const record = new Uint8Array(await res.arrayBuffer())
    const v = call(wasm, () => wasm.ipnsValidate(n, record, Date.now()))
    const cid = v.value.startsWith('/ipfs/') ? v.value.slice(6).split('/')[0] : null
    return { ...v, cid, record }
  }

  /**
   * Signs a record pointing `name` at `cid` (or a `/ipfs/…` or `/ipns/…` path) and PUTs it.
   * `sequence` defaults to one more than the endpoint's current record (0 when none).
   * @param {{ endpoint: string | URL, ttl?: number, validity?: number, sequence?: number,
   *   signal?: AbortSignal }} options `ttl` and `validity` in milliseconds (5 minutes; 48 hours)
   */
  async function publish (name, cid, options = {}) {
    const wasm = await platform.wasm()
    const endpoint = endpointOf(options)
    const value = String(cid).startsWith('/') ? String(cid) : `/ipfs/${cid}`
    let sequence = options.sequence
    if (sequence === undefined) {
      const current = await resolve(name, options)
      sequence = current ? current.sequence + 1 : 0
    }
    const ttl = options.ttl ?? 5 * 60_000
    const validity = options.validity ?? 48 * 3_600_000
    const record = call(wasm, () => wasm.ipnsCreateRecord(name.seed(), value, sequence, Date.now() + validity, ttl))
    const res = await doFetch(`${endpoint}/routing/v1/ipns/${name.name}`, {
      method: 'PUT',
      headers: { 'Content-Type': RECORD_TYPE },
      body: record,
      signal: options.signal
    })
    if (!res.ok) {
      const text = await res.text()
      let body = {}
      try { body = JSON.parse(text) } catch {}
      throw new CarportError(`publishing ${name.name}: ${res.status} ${body.error ?? text}`, { code: body.code ?? 'Publish' })
    }
    return { name: name.name, value, sequence, record }
  }

  return { createName, exportName, importName, publish, resolve }
}
