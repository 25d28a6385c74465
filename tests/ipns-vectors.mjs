// Writes core/src/ipns/testdata/js-ipns.json: IPNS records made by the `ipns` package (the one
// @helia/ipns uses) for fixed keys and a fixed expiry, which core's unit tests read back and must
// reproduce byte for byte. Run again only to refresh the vectors: `node ipns-vectors.mjs`.
// (RSA keys cannot come from a seed, so the RSA record differs on every run; core only refuses it.)
import crypto from 'node:crypto'
import fs from 'node:fs'
import { generateKeyPair, generateKeyPairFromSeed, privateKeyFromRaw, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createIPNSRecordWithExpiration, marshalIPNSRecord } from 'ipns'
import { base32 } from 'multiformats/bases/base32'
import { base36 } from 'multiformats/bases/base36'

const hex = (b) => Buffer.from(b).toString('hex')
const value = '/ipfs/bafkreigkxd3jitzih26g3wrai46mep6l2yuc5bdwju2ps353z6ao5xfkha'
const expiration = '2100-01-01T00:00:00.000000000Z'

async function vector (label, key, seq, options) {
  const peer = peerIdFromPrivateKey(key)
  const record = await createIPNSRecordWithExpiration(key, value, seq, expiration, options)
  return {
    label,
    type: key.type,
    private_key: hex(privateKeyToProtobuf(key)),
    public_key: hex(publicKeyToProtobuf(key.publicKey)),
    name_base36: peer.toCID().toString(base36),
    name_base32: peer.toCID().toString(base32),
    peer_id: peer.toString(),
    value,
    validity: record.validity,
    sequence: seq,
    ttl_ns: String(record.ttl),
    v1: 'signatureV1' in record,
    record: hex(marshalIPNSRecord(record))
  }
}

const seed = crypto.createHash('sha256').update('carport ipns test key').digest()
const ed = await generateKeyPairFromSeed('Ed25519', seed)
const secp = privateKeyFromRaw(crypto.createHash('sha256').update('carport ipns secp256k1 test key').digest())
const rsa = await generateKeyPair('RSA', 2048)
const out = {
  generator: 'tests/ipns-vectors.mjs with ipns 10.1.6, @libp2p/crypto 5.1.23',
  seed: hex(seed),
  vectors: [
    await vector('ed25519 v1+v2 (the default)', ed, 7),
    await vector('ed25519 v2 only', ed, 8, { v1Compatible: false }),
    await vector('ed25519, ttl 1h, sequence 2^40: v2 only (options without v1Compatible: true drop V1)', ed, 2 ** 40, { ttlNs: 3600n * 10n ** 9n }),
    await vector('secp256k1 v1+v2', secp, 3),
    await vector('rsa 2048 v1+v2', rsa, 1)
  ]
}
fs.writeFileSync(new URL('../core/src/ipns/testdata/js-ipns.json', import.meta.url), JSON.stringify(out, null, 2) + '\n')
console.log(out.vectors.map(v => `${v.label}: ${v.name_base36} ${v.record.length / 2} bytes`).join('\n'))
