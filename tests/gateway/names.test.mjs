// IPNS on the worker (workerd, `wrangler dev`): the Delegated Routing V1 API for IPNS
// (`GET|PUT /routing/v1/ipns/{name}`), each bad record refused with a 4xx naming the reason and
// nothing stored, the compare-and-set on the sequence under concurrent publishes, the rate
// limits, upstream delegated routers (whose records are validated too), and the gateway's
// `/ipns/` path, `{name}.ipns.{host}` subdomain and DNSLink to `/ipns/`. Records are made by the
// `ipns` package (what @helia/ipns resolves with), never by carport.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { base36 } from 'multiformats/bases/base36'
import { Fixture, GW_HOST, startWorld } from './lib/harness.mjs'
import { FakeRouter, RECORD_TYPE, lookup, newName, publish, record, recordUntil, sequenceOf, withPubKey } from './lib/ipns.mjs'

const PER_NAME = 5
const PER_CLIENT = 40
const world = {}
let router
let site, spa // two fixture sites the upstreams serve: the first and the "changed" one

// Each test publishes from an address of its own, so the per-client limit of one never meets
// another's.
let clients = 0
const newClient = () => ({ 'CF-Connecting-IP': `198.51.100.${++clients}` })

before(async () => {
  router = await new FakeRouter().listen()
  Object.assign(world, await startWorld({
    vars: {
      IPNS_ROUTERS: router.url,
      IPNS_ROUTER_TIMEOUT_MS: '2000',
      IPNS_PUBLISH_PER_NAME: String(PER_NAME),
      IPNS_PUBLISH_PER_CLIENT: String(PER_CLIENT)
    }
  }))
  const f = await Fixture.open('redirects_file/redirects.car')
  site = { cid: f.cid('examples').toString(), marker: /my index/ }
  spa = { cid: (await Fixture.open('redirects_file/redirects-spa.car')).roots[0].toString() }
}, { timeout: 300_000 })

after(async () => {
  await world.stop?.()
  await router?.close()
})

const json = (r) => JSON.parse(r.body.toString())
const at = (host, p, h = {}) => world.client.get(p, { Host: host, ...h })

/** Asserts a refusal: the status, the code, and that the kept record is still `kept` (or none). */
async function refused (r, status, code, name, kept) {
  assert.equal(r.status, status, `${r.status} ${r.body}`)
  const b = json(r)
  assert.equal(b.code, code, r.body.toString())
  assert.ok(b.error.length > 10, b.error)
  const now = await lookup(world.client, name)
  if (kept) {
    assert.equal(now.status, 200)
    assert.deepEqual(now.body, kept, 'the kept record is unchanged')
  } else {
    assert.equal(now.status, 404, 'nothing was stored')
  }
}

describe('routing v1: PUT and GET /routing/v1/ipns/{name}', () => {
  test('a record put is the record got, with the spec\'s headers', async () => {
    const { key, name } = await newName()
    const bytes = await record(key, `/ipfs/${site.cid}`, 1, { ttlS: 42 })
    const put = await publish(world.client, name, bytes, newClient())
    assert.equal(put.status, 200, put.body.toString())
    assert.equal(json(put).sequence, 1)
    assert.equal(json(put).value, `/ipfs/${site.cid}`)
    const r = await lookup(world.client, name)
    assert.equal(r.status, 200)
    assert.deepEqual(r.body, bytes)
    assert.equal(r.headers['content-type'], RECORD_TYPE)
    assert.match(r.headers['cache-control'], /^public, max-age=42, stale-while-revalidate=\d+, stale-if-error=\d+$/)
    assert.ok(r.headers.etag)
    assert.ok(r.headers.expires && r.headers['last-modified'])
    assert.equal(r.headers.vary, 'Accept')
    assert.equal(r.headers['access-control-allow-origin'], '*')
    // The same name as a base32 CID and as a peer ID is the same record.
    const cid = CID.parse(name, base36)
    assert.deepEqual((await lookup(world.client, cid.toString())).body, bytes)
    assert.deepEqual((await lookup(world.client, peerIdFromPrivateKey(key).toString())).body, bytes)
    // Without an Accept naming a record: 406, as the spec says.
    assert.equal((await world.client.get(`/routing/v1/ipns/${name}`, { Accept: 'text/html' })).status, 406)
    // A republish of the same bytes is taken and changes nothing.
    const again = await publish(world.client, name, bytes, newClient())
    assert.equal(again.status, 200)
    assert.equal(json(again).changed, false)
    // A higher sequence replaces it.
    const next = await record(key, `/ipfs/${spa.cid}`, 2)
    assert.equal((await publish(world.client, name, next, newClient())).status, 200)
    assert.deepEqual((await lookup(world.client, name)).body, next)
  })

  test('a name nobody published: 404', async () => {
    const { name } = await newName()
    const r = await lookup(world.client, name)
    assert.equal(r.status, 404)
    assert.equal(json(r).code, 'NotFound')
  })

  describe('bad input: a 4xx naming the reason, and nothing stored', () => {
    let key, name, good
    before(async () => {
      ({ key, name } = await newName())
      good = await record(key, `/ipfs/${site.cid}`, 10)
      assert.equal((await publish(world.client, name, good, newClient())).status, 200)
    })

    test('a forged signature', async () => {
      const forged = await record(key, `/ipfs/${spa.cid}`, 11)
      // Flip a byte of signatureV2 (field 8): find it after its tag and length.
      const i = forged.indexOf(Buffer.from([0x42, 0x40]))
      assert.ok(i >= 0)
      forged[i + 10] ^= 1
      await refused(await publish(world.client, name, forged, newClient()), 400, 'IpnsBadSignature', name, good)
    })

    test('a record for another name', async () => {
      const other = await newName()
      const theirs = await record(other.key, `/ipfs/${spa.cid}`, 11)
      // Carrying its key: the record names the other key.
      await refused(await publish(world.client, name, withPubKey(theirs, other.key.publicKey), newClient()), 400, 'IpnsWrongName', name, good)
      // Without it, the name's own key is the one it is checked with, and the signature fails.
      await refused(await publish(world.client, name, theirs, newClient()), 400, 'IpnsBadSignature', name, good)
    })

    test('a sequence rollback', async () => {
      const older = await record(key, `/ipfs/${spa.cid}`, 9)
      await refused(await publish(world.client, name, older, newClient()), 409, 'IpnsSequenceRollback', name, good)
    })

    test('an expired record', async () => {
      const expired = await recordUntil(key, `/ipfs/${spa.cid}`, 11, '2020-01-01T00:00:00.000000000Z')
      await refused(await publish(world.client, name, expired, newClient()), 400, 'IpnsExpired', name, good)
    })

    test('an 11 KiB record', async () => {
      const big = Buffer.concat([await record(key, `/ipfs/${spa.cid}`, 11), Buffer.alloc(11 * 1024 - 300, 0)])
      await refused(await publish(world.client, name, big, newClient()), 413, 'IpnsTooLarge', name, good)
    })

    test('an 11 KiB record sent without Content-Length (chunked)', async () => {
      const big = Buffer.alloc(11 * 1024, 7)
      const r = await world.client.request(`/routing/v1/ipns/${name}`, { method: 'PUT', headers: { 'Content-Type': RECORD_TYPE, 'Transfer-Encoding': 'chunked', ...newClient() }, body: big })
      await refused(r, 413, 'IpnsTooLarge', name, good)
    })

    test('a garbage body', async () => {
      await refused(await publish(world.client, name, Buffer.from('this is not a protobuf \xff\xff\xff'), newClient()), 400, 'IpnsMalformed', name, good)
      await refused(await publish(world.client, name, Buffer.alloc(0), newClient()), 400, 'IpnsMalformed', name, good)
    })

    test('an unknown key type', async () => {
      // A name inlining a key protobuf of type 9 (no such libp2p key type).
      const proto = Buffer.concat([Buffer.from([0x08, 0x09, 0x12, 0x20]), Buffer.alloc(32, 1)])
      const odd = CID.createV1(0x72, identity.digest(proto)).toString(base36)
      const bytes = await record(key, `/ipfs/${spa.cid}`, 1)
      const r = await publish(world.client, odd, bytes, newClient())
      assert.equal(r.status, 400, r.body.toString())
      assert.match(json(r).code, /^Ipns(UnsupportedKey|BadName|BadKey)$/)
      assert.equal((await lookup(world.client, odd)).status, 404)
      // An RSA-signed record (a hashed name, the key in pubKey): carport does not verify RSA.
      const rsa = await generateKeyPair('RSA', 2048)
      const rsaName = peerIdFromPrivateKey(rsa).toCID().toString(base36)
      await refused(await publish(world.client, rsaName, await record(rsa, `/ipfs/${spa.cid}`, 1), newClient()), 400, 'IpnsUnsupportedKey', rsaName, null)
    })

    test('not a name, a wrong content type, a wrong method', async () => {
      const r = await publish(world.client, 'bafkqaaa', good, newClient())
      assert.equal(r.status, 400)
      assert.equal(json(r).code, 'IpnsBadName')
      await refused(await publish(world.client, name, good, { 'Content-Type': 'application/octet-stream', ...newClient() }), 406, 'NotAcceptable', name, good)
      const del = await world.client.request(`/routing/v1/ipns/${name}`, { method: 'DELETE' })
      assert.equal(del.status, 405)
    })
  })

  test('concurrent publishes of two sequences keep the higher one', async () => {
    for (let round = 0; round < 4; round++) {
      const { key, name } = await newName()
      const low = await record(key, `/ipfs/${site.cid}`, 5)
      const high = await record(key, `/ipfs/${spa.cid}`, 6)
      const order = round % 2 ? [low, high] : [high, low]
      const answers = await Promise.all(order.map((b) => publish(world.client, name, b, newClient())))
      for (const a of answers) assert.ok([200, 409].includes(a.status), `${a.status} ${a.body}`)
      const kept = await lookup(world.client, name)
      assert.equal(kept.status, 200)
      assert.equal(sequenceOf(kept.body), 6n, `round ${round}`)
      assert.deepEqual(kept.body, high)
    }
  })

  describe('rate limits', () => {
    test('per client: every attempt counts, valid or not', async () => {
      const ip = newClient()
      const { name } = await newName()
      let last
      for (let i = 0; i <= PER_CLIENT; i++) last = await publish(world.client, name, Buffer.from('garbage'), ip)
      assert.equal(last.status, 429, last.body.toString())
      assert.equal(json(last).code, 'RateLimited')
      assert.ok(Number(last.headers['retry-after']) >= 1)
      // Another client is not held back.
      assert.equal((await publish(world.client, name, Buffer.from('garbage'), newClient())).status, 400)
    })

    test('per name: only records that change it count, so forgeries cannot lock the owner out', async () => {
      const { key, name } = await newName()
      const first = await record(key, `/ipfs/${site.cid}`, 1)
      assert.equal((await publish(world.client, name, first, newClient())).status, 200)
      // A stranger replays the current record and sends forgeries: none of it counts.
      for (let i = 0; i < PER_NAME + 2; i++) {
        assert.equal((await publish(world.client, name, first, newClient())).status, 200)
        assert.equal((await publish(world.client, name, Buffer.from('forged'), newClient())).status, 400)
      }
      for (let seq = 2; seq <= PER_NAME; seq++) {
        const r = await publish(world.client, name, await record(key, `/ipfs/${site.cid}`, seq), newClient())
        assert.equal(r.status, 200, `seq ${seq}: ${r.body}`)
      }
      const over = await publish(world.client, name, await record(key, `/ipfs/${spa.cid}`, PER_NAME + 1), newClient())
      assert.equal(over.status, 429, over.body.toString())
      assert.ok(Number(over.headers['retry-after']) >= 1)
      assert.equal(sequenceOf((await lookup(world.client, name)).body), BigInt(PER_NAME), 'the refused record was not kept')
    })
  })

  describe('upstream delegated routers', () => {
    test('a name only an upstream router has resolves, and is kept', async () => {
      const { key, name } = await newName()
      const bytes = await record(key, `/ipfs/${site.cid}`, 3)
      router.records.set(name, bytes)
      const r = await lookup(world.client, name)
      assert.equal(r.status, 200)
      assert.deepEqual(r.body, bytes)
      // Kept by the name's object: a lower sequence is now a rollback.
      router.records.delete(name)
      let kept
      for (let i = 0; i < 20 && kept?.status !== 200; i++) kept = await lookup(world.client, name)
      assert.deepEqual(kept.body, bytes)
      const older = await publish(world.client, name, await record(key, `/ipfs/${spa.cid}`, 2), newClient())
      assert.equal(older.status, 409)
    })

    test('an upstream\'s invalid or older record is never taken', async () => {
      const { key, name } = await newName()
      const other = await newName()
      router.records.set(name, withPubKey(await record(other.key, `/ipfs/${spa.cid}`, 99), other.key.publicKey))
      assert.equal((await lookup(world.client, name)).status, 404)
      // A TTL of 0: the kept record is never fresh, so the router is asked every time.
      const mine = await record(key, `/ipfs/${site.cid}`, 7, { ttlS: 0 })
      assert.equal((await publish(world.client, name, mine, newClient())).status, 200)
      router.records.set(name, await record(key, `/ipfs/${spa.cid}`, 6))
      const asked = router.asked
      assert.deepEqual((await lookup(world.client, name)).body, mine)
      assert.equal(router.asked, asked + 1)
      const expired = await recordUntil(key, `/ipfs/${spa.cid}`, 50, '2020-01-01T00:00:00.000000000Z')
      router.records.set(name, expired)
      assert.deepEqual((await lookup(world.client, name)).body, mine)
      router.records.delete(name)
    })

    test('a kept record younger than its TTL is answered without asking the routers', async () => {
      const { key, name } = await newName()
      const bytes = await record(key, `/ipfs/${site.cid}`, 1, { ttlS: 300 })
      assert.equal((await publish(world.client, name, bytes, newClient())).status, 200)
      router.records.set(name, await record(key, `/ipfs/${spa.cid}`, 2))
      const asked = router.asked
      assert.deepEqual((await lookup(world.client, name)).body, bytes)
      assert.equal((await world.client.get(`/ipns/${name}/`)).status, 200)
      assert.equal(router.asked, asked, 'no router was asked')
      router.records.delete(name)
    })
  })
})

describe('gateway: /ipns/{name}, {name}.ipns.{host}, DNSLink to /ipns/', () => {
  let key, name, first
  before(async () => {
    ({ key, name } = await newName())
    first = await record(key, `/ipfs/${site.cid}`, 1, { ttlS: 30 })
    assert.equal((await publish(world.client, name, first, newClient())).status, 200)
  })

  test('the path gateway serves /ipns/{name}/ through the record, cached by its TTL', async () => {
    const r = await world.client.get(`/ipns/${name}/`)
    assert.equal(r.status, 200, r.body.toString())
    assert.match(r.body.toString(), site.marker)
    assert.equal(r.headers['x-ipfs-path'], `/ipns/${name}/`)
    assert.ok(r.headers['x-ipfs-roots'].startsWith(site.cid), r.headers['x-ipfs-roots'])
    assert.equal(r.headers['cache-control'], 'public, max-age=30')
    const file = await world.client.get(`/ipns/${name}/index.html`)
    assert.equal(file.status, 200)
    assert.equal(file.headers['x-ipfs-path'], `/ipns/${name}/index.html`)
    assert.doesNotMatch(file.headers['cache-control'], /immutable/)
    // The folder without its slash: redirected, under /ipns/.
    const bare = await world.client.get(`/ipns/${name}`)
    assert.equal(bare.status, 301)
    assert.equal(bare.headers.location, `/ipns/${name}/`)
  })

  test('?format=ipns-record and its Accept type answer the record', async () => {
    for (const r of [
      await world.client.get(`/ipns/${name}?format=ipns-record`),
      await world.client.get(`/ipns/${name}`, { Accept: RECORD_TYPE })
    ]) {
      assert.equal(r.status, 200)
      assert.equal(r.headers['content-type'], RECORD_TYPE)
      assert.deepEqual(r.body, first)
      assert.doesNotMatch(r.headers['cache-control'], /immutable/)
    }
  })

  test('a name without a record, and a name that is not one', async () => {
    const none = await newName()
    assert.equal((await world.client.get(`/ipns/${none.name}/`)).status, 404)
    assert.equal((await world.client.get('/ipns/not_a-name!/')).status, 400)
  })

  test('the subdomain gateway: {name}.ipns.{host} serves it; {host}/ipns/{name} redirects there', async () => {
    const r = await at(`${name}.ipns.${GW_HOST}`, '/')
    assert.equal(r.status, 200, r.body.toString())
    assert.match(r.body.toString(), site.marker)
    assert.equal(r.headers['x-ipfs-path'], `/ipns/${name}/`)
    assert.equal(r.headers['cache-control'], 'public, max-age=30')
    const red = await at(GW_HOST, `/ipns/${name}/index.html`)
    assert.equal(red.status, 301)
    assert.equal(red.headers.location, `http://${name}.ipns.${GW_HOST}/index.html`)
    // A name in another form is redirected to its base36 label.
    const cid = CID.parse(name, base36).toString()
    const other = await at(GW_HOST, `/ipns/${cid}/`)
    assert.equal(other.status, 301)
    assert.equal(other.headers.location, `http://${name}.ipns.${GW_HOST}/`)
  })

  test('DNSLink to /ipns/{name} resolves through the name; /ipns/{dnslink-domain}/ on the path gateway', async () => {
    world.a.dns.set('_dnslink.named.example.org', `dnslink=/ipns/${name}`)
    const r = await at('named.example.org', '/')
    assert.equal(r.status, 200, r.body.toString())
    assert.match(r.body.toString(), site.marker)
    world.a.dns.set('_dnslink.plain.example.org', `dnslink=/ipfs/${spa.cid}`)
    const p = await world.client.get('/ipns/plain.example.org/')
    assert.equal(p.status, 200, p.body.toString())
    assert.equal(p.headers['x-ipfs-path'], '/ipns/plain.example.org/')
    assert.doesNotMatch(p.headers['cache-control'], /immutable/)
    const viaName = await world.client.get('/ipns/named.example.org/')
    assert.equal(viaName.status, 200)
    assert.match(viaName.body.toString(), site.marker)
  })

  test('publish, serve, republish a new CID: the subdomain link serves the new site', async () => {
    const host = `${name}.ipns.${GW_HOST}`
    const before = await at(host, '/')
    assert.match(before.body.toString(), site.marker)
    const next = await record(key, `/ipfs/${spa.cid}`, 2, { ttlS: 30 })
    assert.equal((await publish(world.client, name, next, newClient())).status, 200)
    const after = await at(host, '/')
    assert.equal(after.status, 200)
    assert.doesNotMatch(after.body.toString(), site.marker)
    const spaIndex = await world.client.get(`/ipfs/${spa.cid}/`)
    assert.deepEqual(after.body, spaIndex.body)
    assert.ok(after.headers['x-ipfs-roots'].startsWith(spa.cid))
  })
})
