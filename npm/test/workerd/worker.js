// A Cloudflare Worker that uses the package as an application would (`import from 'carport'`,
// resolved through the `workerd` export condition by wrangler's bundler), for
// ../workerd.test.mjs: each route runs one call of the API on the request's body.

import { CarportError, carCid, ls, pack, pieceCid, unpack, verifyCar } from 'carport'

const json = (value, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } })

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')

async function shardSummary (s) {
  return { index: s.index, size: s.size, cid: s.cid, roots: s.roots, blocks: s.blocks, last: s.last, blobCid: await carCid(s.blob), piece: s.piece?.cid }
}

const routes = {
  // The body streamed into pack (a ReadableStream), options from the query.
  async pack (request, q) {
    const options = { profile: q.get('profile') ?? undefined, shardSize: q.has('shardSize') ? Number(q.get('shardSize')) : undefined, piece: q.has('piece') }
    const job = pack(request.body, options)
    const shards = []
    for await (const s of job.shards) shards.push(await shardSummary(s))
    const done = await job.done
    return { root: await job.root, shards, bytesRead: done.bytesRead, blocks: done.blocks }
  },
  // A folder as an async iterable of { path, content }; the body is JSON { path: hex }.
  async folder (request) {
    const files = await request.json()
    async function * entries () {
      for (const [path, h] of Object.entries(files)) {
        yield { path, content: Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16)) }
      }
    }
    const { root, shards } = await pack(entries()).collect()
    return { root, shards: await Promise.all(shards.map(shardSummary)) }
  },
  async verify (request, q) {
    return verifyCar(request.body, { root: q.get('root') ?? undefined })
  },
  async ls (request) {
    return ls(new Uint8Array(await request.arrayBuffer()))
  },
  async unpack (request) {
    const entries = await unpack(new Uint8Array(await request.arrayBuffer()))
    return Promise.all(entries.map(async ({ content, ...e }) => ({ ...e, content: content ? hex(new Uint8Array(await content.arrayBuffer())) : undefined })))
  },
  async piece (request) {
    return pieceCid(request.body)
  },
  async abort (request) {
    const ctl = new AbortController()
    const job = pack(request.body, { signal: ctl.signal, onProgress: ({ bytesRead }) => bytesRead > 0 && ctl.abort() })
    try {
      await job.root
      return { aborted: false }
    } catch (e) {
      return { aborted: e.name === 'AbortError', name: e.name }
    }
  }
}

export default {
  async fetch (request) {
    const url = new URL(request.url)
    const route = routes[url.pathname.slice(1)]
    if (!route || request.method !== 'POST') return json({ error: 'no such route' }, 404)
    try {
      return json(await route(request, url.searchParams))
    } catch (e) {
      const error = e instanceof CarportError ? { name: e.name, code: e.code, cid: e.cid, offset: e.offset, message: e.message } : { name: e.name, message: String(e.message ?? e), stack: e.stack }
      return json({ error }, 422)
    }
  }
}
