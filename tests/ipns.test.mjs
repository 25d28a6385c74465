// IPNS: carport's records against the `ipns` package (10.1.6, the one @helia/ipns uses), both
// ways, for the same key file: `carport name publish --out` records pass the package's
// `ipnsValidator`, the package's `createIPNSRecord` records pass `carport name inspect`, and
// the names agree with @libp2p/peer-id's. Then publish/resolve over the HTTP routing API against a
// small router here that checks every PUT with the package's validator.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { after, before, describe, test } from 'node:test'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { createIPNSRecord, createIPNSRecordWithExpiration, marshalIPNSRecord, multihashToIPNSRoutingKey, unmarshalIPNSRecord } from 'ipns'
import { ipnsSelector } from 'ipns/selector'
import { ipnsValidator, validate } from 'ipns/validator'
import { base36 } from 'multiformats/bases/base36'
import { cleanupTmp, tmpDir } from './lib/gen.mjs'
import { CARPORT, run } from './lib/tools.mjs'

after(cleanupTmp)

const tmp = tmpDir('ipns')
const CID1 = 'bafkreigkxd3jitzih26g3wrai46mep6l2yuc5bdwju2ps353z6ao5xfkha'
const CID2 = 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi'
const CONTENT_TYPE = 'application/vnd.ipfs.ipns-record'
let n = 0
const file = (name) => path.join(tmp, `${n++}-${name}`)

async function carport (...args) {
  const r = await run(CARPORT, args)
  if (r.code !== 0) throw new Error(`carport ${args.join(' ')} exited ${r.code}\n${r.stderr}`)
  return r
}

/** `carport name create`: the key file, the JS key read from it, and carport's name for it. */
async function newKey () {
  const keyFile = file('ipns.key')
  const r = await carport('name', 'create', '--key', keyFile)
  const key = privateKeyFromProtobuf(fs.readFileSync(keyFile))
  return { keyFile, key, name: r.stdout.trim() }
}

const nameOf = (key) => peerIdFromPrivateKey(key).toCID().toString(base36)
const routingKeyOf = (key) => multihashToIPNSRoutingKey(key.publicKey.toMultihash())

describe('keys and names', () => {
  test('carport name create writes a key file @libp2p/crypto reads, and the names agree', async () => {
    const { keyFile, key, name } = await newKey()
    assert.equal(key.type, 'Ed25519')
    assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600)
    assert.equal(fs.statSync(keyFile).size, 68)
    assert.match(name, /^k51qzi5uqu5d[a-z0-9]+$/)
    assert.equal(name, nameOf(key))
    assert.deepEqual(privateKeyToProtobuf(key), new Uint8Array(fs.readFileSync(keyFile)))
    const again = await run(CARPORT, ['name', 'create', '--key', keyFile])
    assert.notEqual(again.code, 0, 'an existing key file is never overwritten')
  })

  test('a key file written by @libp2p/crypto signs for the same name in carport', async () => {
    const key = await generateKeyPair('Ed25519')
    const keyFile = file('js.key')
    fs.writeFileSync(keyFile, privateKeyToProtobuf(key))
    const out = file('record')
    const r = await carport('name', 'publish', '--key', keyFile, CID1, '--out', out)
    assert.equal(r.stdout.trim(), nameOf(key))
  })
})

describe('carport records validate with the ipns package', () => {
  for (const [label, extra, v1] of [['V1+V2 (default)', [], true], ['--v2-only', ['--v2-only'], false]]) {
    test(label, async () => {
      const { keyFile, key, name } = await newKey()
      const out = file('record')
      await carport('name', 'publish', '--key', keyFile, CID1, '--out', out, '--sequence', '41',
        '--ttl', '1h', '--validity', '24h', ...extra)
      const bytes = new Uint8Array(fs.readFileSync(out))
      await ipnsValidator(routingKeyOf(key), bytes)
      await validate(key.publicKey, bytes)
      const record = unmarshalIPNSRecord(bytes)
      assert.equal(record.value, `/ipfs/${CID1}`)
      assert.equal(record.sequence, 41n)
      assert.equal(record.ttl, 3600n * 10n ** 9n)
      assert.equal('signatureV1' in record, v1)
      const hoursLeft = (Date.parse(record.validity) - Date.now()) / 3.6e6
      assert.ok(hoursLeft > 23.9 && hoursLeft <= 24, `validity ${record.validity}`)
      // The record's name is the key's, and no other key's.
      const other = await generateKeyPair('Ed25519')
      await assert.rejects(ipnsValidator(routingKeyOf(other), bytes))
      assert.equal(peerIdFromString(name).toString(), peerIdFromPrivateKey(key).toString())
    })
  }

  test('a CIDv0 value is written as its CIDv1 path, as the package normalises it', async () => {
    const { keyFile, key } = await newKey()
    const out = file('record')
    await carport('name', 'publish', '--key', keyFile, 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH', '--out', out)
    const bytes = new Uint8Array(fs.readFileSync(out))
    await ipnsValidator(routingKeyOf(key), bytes)
    const js = await createIPNSRecord(key, 'QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH', 0, 60_000)
    assert.equal(unmarshalIPNSRecord(bytes).value, js.value)
  })

  test('the package\'s selector and carport agree on which record is newer', async () => {
    const { keyFile, key } = await newKey()
    const records = []
    for (const [seq, validity] of [['3', '1h'], ['4', '1h'], ['4', '2h']]) {
      const out = file('record')
      await carport('name', 'publish', '--key', keyFile, CID1, '--out', out, '--sequence', seq, '--validity', validity)
      records.push(new Uint8Array(fs.readFileSync(out)))
    }
    assert.equal(ipnsSelector(routingKeyOf(key), records), 2)
    assert.equal(ipnsSelector(routingKeyOf(key), records.slice(0, 2)), 1)
  })

  test('a carport record with a flipped bit fails in the package too', async () => {
    const { keyFile, key } = await newKey()
    const out = file('record')
    await carport('name', 'publish', '--key', keyFile, CID1, '--out', out, '--v2-only')
    const bytes = new Uint8Array(fs.readFileSync(out))
    bytes[10] ^= 1 // inside signatureV2
    await assert.rejects(ipnsValidator(routingKeyOf(key), bytes), /signature/i)
    const bad = file('bad')
    fs.writeFileSync(bad, bytes)
    const r = await run(CARPORT, ['name', 'inspect', bad, '--name', nameOf(key)])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /IpnsBadSignature/)
  })
})

describe('ipns package records validate with carport name inspect', () => {
  const cases = [
    ['V1+V2 (the default)', undefined],
    ['V2 only', { v1Compatible: false }],
    ['V1+V2, ttl 1h', { v1Compatible: true, ttlNs: 3600n * 10n ** 9n }]
  ]
  for (const [label, options] of cases) {
    test(label, async () => {
      const { key, name } = await newKey()
      const record = await createIPNSRecord(key, `/ipfs/${CID2}`, 1234567, 3_600_000, options)
      const f = file('js-record')
      fs.writeFileSync(f, marshalIPNSRecord(record))
      const r = await carport('name', 'inspect', f, '--name', name)
      assert.match(r.stdout, new RegExp(`^value +/ipfs/${CID2}$`, 'm'))
      assert.match(r.stdout, /^sequence +1234567$/m)
      assert.match(r.stdout, new RegExp(`^ttl +${options?.ttlNs != null ? '1h' : '5m'}$`, 'm'))
      assert.match(r.stdout, new RegExp(`\\(${options?.v1Compatible === false ? 'V2 only' : 'V1\\+V2'}\\)`))
      // The same record under the base32 name and the peer ID.
      const peer = peerIdFromPrivateKey(key)
      await carport('name', 'inspect', f, '--name', peer.toCID().toString())
      await carport('name', 'inspect', f, '--name', peer.toString())
    })
  }

  test('a secp256k1 record (its name inlines the key) validates too', async () => {
    const key = await generateKeyPair('secp256k1')
    const f = file('secp-record')
    fs.writeFileSync(f, marshalIPNSRecord(await createIPNSRecord(key, `/ipfs/${CID1}`, 2, 60_000)))
    const r = await carport('name', 'inspect', f, '--name', nameOf(key))
    assert.match(r.stdout, /^sequence +2$/m)
  })

  for (const [label, code, make] of [
    ['signed by another key', 'IpnsBadSignature', async () => createIPNSRecord(await generateKeyPair('Ed25519'), `/ipfs/${CID1}`, 0, 60_000)],
    ['expired', 'IpnsExpired', async (key) => createIPNSRecordWithExpiration(key, `/ipfs/${CID1}`, 0, new Date(Date.now() - 1000).toISOString())],
    ['an RSA key', 'IpnsUnsupportedKey', async () => createIPNSRecord(await generateKeyPair('RSA', 1024), `/ipfs/${CID1}`, 0, 60_000)]
  ]) {
    test(`refused: ${label} (${code})`, async () => {
      const { key, name } = await newKey()
      const record = await make(key)
      const f = file('refused')
      fs.writeFileSync(f, marshalIPNSRecord(record))
      // An RSA record carries its key: inspect it under its own name.
      const as = record.pubKey != null ? [] : ['--name', name]
      const r = await run(CARPORT, ['name', 'inspect', f, ...as])
      assert.notEqual(r.code, 0, r.stdout)
      assert.match(r.stderr, new RegExp(code))
    })
  }

  test('refused: an 11 KiB record, and garbage', async () => {
    const { key, name } = await newKey()
    const big = marshalIPNSRecord(await createIPNSRecord(key, `/ipfs/${CID1}/${'a'.repeat(11 * 1024)}`, 0, 60_000, { v1Compatible: false }))
    await assert.rejects(ipnsValidator(routingKeyOf(key), big), /too large/i)
    for (const [bytes, code] of [[big, 'IpnsTooLarge'], [Buffer.from('not a record'), 'IpnsMalformed']]) {
      const f = file('refused')
      fs.writeFileSync(f, bytes)
      const r = await run(CARPORT, ['name', 'inspect', f, '--name', name])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, new RegExp(code))
    }
  })
})

describe('publish and resolve over the routing API', () => {
  /** name → record bytes; what the router serves instead, for the hostile cases. */
  const store = new Map()
  const puts = []
  let server
  let url

  before(async () => {
    server = http.createServer((req, res) => {
      const m = /^\/routing\/v1\/ipns\/([^/?]+)$/.exec(req.url)
      if (m == null) return res.writeHead(404).end()
      const name = m[1]
      if (req.method === 'GET') {
        if (req.headers.accept !== CONTENT_TYPE) return res.writeHead(406).end('Accept: application/vnd.ipfs.ipns-record')
        if (!store.has(name)) return res.writeHead(404).end()
        return res.writeHead(200, { 'content-type': CONTENT_TYPE }).end(store.get(name))
      }
      if (req.method === 'PUT') {
        const chunks = []
        req.on('data', (c) => chunks.push(c))
        req.on('end', async () => {
          if (req.headers['content-type'] !== CONTENT_TYPE) return res.writeHead(406).end()
          const body = new Uint8Array(Buffer.concat(chunks))
          try {
            // The reference validator decides, as a delegated router would.
            const routingKey = multihashToIPNSRoutingKey(peerIdFromString(name).toMultihash())
            await ipnsValidator(routingKey, body)
          } catch (err) {
            return res.writeHead(400).end(String(err))
          }
          puts.push({ name, record: unmarshalIPNSRecord(body) })
          store.set(name, body)
          res.writeHead(200).end()
        })
        return
      }
      res.writeHead(405).end()
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${server.address().port}`
  })

  after(() => server?.close())

  test('publish counts the sequence up from the router\'s record, resolve prints the path', async () => {
    const { keyFile, name } = await newKey()
    const r = await run(CARPORT, ['name', 'resolve', name, '--from', url])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /no record found/)
    await carport('name', 'publish', '--key', keyFile, CID1, '--to', url)
    await carport('name', 'publish', '--key', keyFile, CID2, '--to', url)
    assert.deepEqual(puts.filter(p => p.name === name).map(p => [p.record.sequence, p.record.value]),
      [[0n, `/ipfs/${CID1}`], [1n, `/ipfs/${CID2}`]])
    const res = await carport('name', 'resolve', name, '--from', url)
    assert.equal(res.stdout.trim(), `/ipfs/${CID2}`)
    assert.match(res.stderr, /^sequence +1$/m)
    await carport('name', 'publish', '--key', keyFile, `/ipns/${name}`, '--to', url, '--sequence', '10')
    assert.equal((await carport('name', 'resolve', name, '--from', url)).stdout.trim(), `/ipns/${name}`)
  })

  test('resolve takes a record the ipns package made', async () => {
    const { key, name } = await newKey()
    store.set(name, marshalIPNSRecord(await createIPNSRecord(key, `/ipfs/${CID2}`, 5, 60_000)))
    const r = await carport('name', 'resolve', peerIdFromPrivateKey(key).toString(), '--from', url)
    assert.equal(r.stdout.trim(), `/ipfs/${CID2}`)
    assert.match(r.stderr, /^sequence +5$/m)
  })

  test('resolve refuses a lying router: another name\'s record, an expired one', async () => {
    const a = await newKey()
    const b = await newKey()
    await carport('name', 'publish', '--key', b.keyFile, CID1, '--to', url)
    store.set(a.name, store.get(b.name))
    let r = await run(CARPORT, ['name', 'resolve', a.name, '--from', url])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /does not validate.*IpnsBadSignature/)
    store.set(a.name, marshalIPNSRecord(await createIPNSRecordWithExpiration(a.key, `/ipfs/${CID1}`, 0, '2001-01-01T00:00:00.000000000Z')))
    r = await run(CARPORT, ['name', 'resolve', a.name, '--from', url])
    assert.notEqual(r.code, 0)
    assert.match(r.stderr, /IpnsExpired/)
    // An expired record still holds its sequence: the next publish goes past it.
    store.set(a.name, marshalIPNSRecord(await createIPNSRecordWithExpiration(a.key, `/ipfs/${CID1}`, 77, '2001-01-01T00:00:00.000000000Z')))
    await carport('name', 'publish', '--key', a.keyFile, CID2, '--to', url)
    assert.equal(puts.at(-1).record.sequence, 78n)
  })
})
