// A minimal trustless gateway (raw blocks only) serving the blocks of CAR files from memory:
// `GET /ipfs/{cid}?format=raw` or `Accept: application/vnd.ipld.raw`. It knows nothing of
// paths, roots or uploads; it separates problems of an IPFS client's setup from the worker's.
import http from 'node:http'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CID } from 'multiformats/cid'

export class BlockServer {
  constructor () {
    this.blocks = new Map()
    this.requests = []
  }

  /** Adds every block of a CAR (bytes). */
  async addCar (bytes) {
    const it = await CarBlockIterator.fromBytes(bytes)
    for await (const { cid, bytes: b } of it) this.blocks.set(cid.toV1().toString(), b)
  }

  listen () {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url, 'http://x')
      this.requests.push(`${req.method} ${req.url}`)
      const m = url.pathname.match(/^\/ipfs\/([^/]+)\/?$/)
      const raw = url.searchParams.get('format') === 'raw' || (req.headers.accept ?? '').includes('application/vnd.ipld.raw')
      let cid
      try { cid = m && CID.parse(m[1]).toV1().toString() } catch {}
      const block = cid && this.blocks.get(cid)
      if (!m || !raw) { res.writeHead(400).end('raw blocks only'); return }
      if (!block) { res.writeHead(404).end(`no block ${m[1]}`); return }
      res.writeHead(200, { 'Content-Type': 'application/vnd.ipld.raw', 'Content-Length': block.length })
      res.end(req.method === 'HEAD' ? undefined : block)
    })
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => {
      this.url = `http://127.0.0.1:${this.server.address().port}`
      resolve(this)
    }))
  }

  close () {
    this.server.closeAllConnections?.()
    return new Promise((resolve) => this.server.close(resolve))
  }
}
