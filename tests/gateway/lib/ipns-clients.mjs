// verified-fetch resolving IPNS names with carport's worker as its only delegated router: Helia
// (light: no libp2p) whose routers are the worker as a trustless gateway (for blocks) and the
// worker's Delegated Routing V1 API through @helia/delegated-routing-client (for IPNS records,
// which @helia/ipns then validates itself). Import before any other Helia module.
import './node20.mjs'
import { createHeliaLight } from 'helia'
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client'
import { delegatedHTTPRouter } from '@helia/delegated-routing-client'
import { fetchOver, gatewayRouter } from './clients.mjs'

export async function createNamedFetch (workerUrl) {
  const helia = await createHeliaLight({
    blockBrokers: [trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })],
    routers: [gatewayRouter(workerUrl), delegatedHTTPRouter({ url: workerUrl })]
  }).start()
  return fetchOver(helia)
}
