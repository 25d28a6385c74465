// Real IPFS clients from npm pointed at one trustless gateway and nothing else: Helia (light: an
// in-memory blockstore, no libp2p) with the trustless-gateway block broker and a static router
// naming only that gateway, and @helia/verified-fetch over it. Import this module before any
// Helia module (it installs what Node 20 lacks).
import './node20.mjs'
import { createHeliaLight } from 'helia'
import { uriToMultiaddr } from '@multiformats/uri-to-multiaddr'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client'
import { createVerifiedFetch } from '@helia/verified-fetch'

// The multicodec of an HTTP gateway transport; a gateway's id is its URL under it (as Helia's
// own gateway routers name gateways).
const TRANSPORT_IPFS_GATEWAY_HTTP = 0x0920

/**
 * A router that answers every CID with one gateway, as `httpGatewayRouting` of @helia/routers
 * did for Helia 6. Not `@helia/fallback-router` (its Helia 7 successor): Helia 7.1.15's routing
 * asks the non-fallback routers first and, when there are none, never finishes that round, so
 * with a fallback router alone every lookup hangs until the request is aborted.
 */
export function gatewayRouter (gatewayUrl) {
  const url = new URL(gatewayUrl).toString()
  const provider = {
    id: CID.createV1(TRANSPORT_IPFS_GATEWAY_HTTP, identity.digest(new TextEncoder().encode(url))),
    multiaddrs: [uriToMultiaddr(url)],
    protocols: ['transport-ipfs-gateway-http'],
    router: 'carport-gateway'
  }
  return {
    name: 'carport-gateway',
    async * findProviders () { yield provider },
    toString () { return `gatewayRouter(${url})` }
  }
}

/**
 * A Helia node whose only block source is the trustless gateway at `gatewayUrl` (`GET
 * /ipfs/{cid}?format=raw`, checked against the CID by Helia) and whose only router answers every
 * CID with that gateway: no DHT, no delegated routing, no bitswap, no public gateway.
 */
export async function createGatewayHelia (gatewayUrl) {
  const helia = createHeliaLight({
    blockBrokers: [
      // A gateway on http://127.0.0.1: both allowances are off by default.
      trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })
    ],
    routers: [
      gatewayRouter(gatewayUrl)
    ]
  })
  return helia.start()
}

/** `verifiedFetch` over a fresh `createGatewayHelia(gatewayUrl)`; `stop()` stops both. */
export async function createGatewayFetch (gatewayUrl) {
  return fetchOver(await createGatewayHelia(gatewayUrl))
}

/** `verifiedFetch` over a started `helia`; `stop()` stops both. */
export async function fetchOver (helia) {
  const verifiedFetch = await createVerifiedFetch(helia)
  return {
    helia,
    verifiedFetch,
    async stop () {
      await verifiedFetch.stop()
      await helia.stop()
    }
  }
}

/**
 * The trustless-gateway block broker alone, as Helia builds it, asking `gatewayUrl` for single
 * blocks: `retrieve(cid)` resolves the block's bytes, or throws (AggregateError of each try).
 */
export function createGatewayBroker (gatewayUrl) {
  const helia = createHeliaLight({ routers: [gatewayRouter(gatewayUrl)] })
  return trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })({ routing: helia.routing, logger: helia.logger })
}
