// IPNS records for the tests, made by the `ipns` package (the record code @helia/ipns and
// verified-fetch resolve with), never by carport: the worker must take what another
// implementation signs. Plus a fake upstream delegated router, and the PUT/GET helpers.
import http from 'node:http'
import { generateKeyPair, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIPNSRecord, createIPNSRecordWithExpiration, marshalIPNSRecord, unmarshalIPNSRecord } from 'ipns'
import { base36 } from 'multiformats/bases/base36'

export const RECORD_TYPE = 'application/vnd.ipfs.ipns-record'

/** A new Ed25519 key and its name (`k51…`). */
export async function newName () {
  const key = await generateKeyPair('Ed25519')
  return { key, name: peerIdFromPrivateKey(key).toCID().toString(base36) }
}

/** A serialized record of `key` pointing at `value`, valid `lifetimeMs` from now, TTL `ttlS`. */
export async function record (key, value, seq, { ttlS = 60, lifetimeMs = 3_600_000, v1 = true } = {}) {
  const r = await createIPNSRecord(key, value, seq, lifetimeMs, { ttlNs: BigInt(ttlS) * 1_000_000_000n, v1Compatible: v1 })
  return Buffer.from(marshalIPNSRecord(r))
}

/** A record whose validity ended at `expiration` (RFC 3339). */
export async function recordUntil (key, value, seq, expiration) {
  return Buffer.from(marshalIPNSRecord(await createIPNSRecordWithExpiration(key, value, seq, expiration)))
}

/** `bytes` with the pubKey field set to `publicKey`'s protobuf (the record then names that key). */
export function withPubKey (bytes, publicKey) {
  const r = unmarshalIPNSRecord(bytes)
  return Buffer.from(marshalIPNSRecord({ ...r, pubKey: publicKeyToProtobuf(publicKey) }))
}

/** The sequence of a serialized record. */
export function sequenceOf (bytes) {
  return unmarshalIPNSRecord(bytes).sequence
}

export function publish (client, name, bytes, headers = {}) {
  return client.request(`/routing/v1/ipns/${name}`, {
    method: 'PUT',
    headers: { 'Content-Type': RECORD_TYPE, 'Content-Length': String(bytes.length), ...headers },
    body: bytes
  })
}

export function lookup (client, name, headers = {}) {
  return client.get(`/routing/v1/ipns/${name}`, { Accept: RECORD_TYPE, ...headers })
}

/** A delegated router that answers the records it is given, and counts what it is asked. */
export class FakeRouter {
  constructor () {
    this.records = new Map()
    this.asked = 0
  }

  listen () {
    this.server = http.createServer((req, res) => {
      const m = req.url.match(/^\/routing\/v1\/ipns\/([^/?]+)/)
      if (req.method !== 'GET' || !m) { res.writeHead(404).end(); return }
      this.asked++
      const bytes = this.records.get(m[1])
      if (!bytes) { res.writeHead(404).end(); return }
      res.writeHead(200, { 'content-type': RECORD_TYPE, 'content-length': bytes.length }).end(bytes)
    })
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${this.server.address().port}`
      resolve(this)
    }))
  }

  close () {
    return new Promise((resolve) => this.server.close(resolve))
  }
}
