// A small trustless gateway for the tests: it serves raw blocks (?format=raw) and entity CARs
// (?format=car&dag-scope=entity, blocks in DFS order) from CAR files, plus a DNS-over-HTTPS JSON
// endpoint for DNSLink. It can lie on purpose, so the tests can prove the worker catches it:
//   honest    – serves what it has
//   corrupt   – wrong bytes for a block (all blocks, or only `cid`)
//   truncate  – CAR responses stop in the middle of a block; raw blocks lose their last byte
//   slow      – answers after `delayMs`
//   down      – 500 for everything
//   die       – the connection is destroyed where `cid` would be sent (raw, or inside a CAR)
// Control: POST /_control/mode {mode, cid?, delayMs?, only?: "raw"|"car"}, POST /_control/car
// (a CAR body: its blocks are added), POST /_control/dns {name, txt}, GET /_control/stats.
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'
import { CarBlockIterator } from '@ipld/car/iterator'
import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'

const key = (cid) => Buffer.from(cid.multihash.bytes).toString('hex')

function varint (n) {
  const out = []
  while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128) }
  out.push(n)
  return Buffer.from(out)
}

// The CARv1 header {roots: [root], version: 1} in DAG-CBOR, length-prefixed.
function carHeader (root) {
  const cid = Buffer.concat([Buffer.from([0]), root.bytes])
  const head = (major, n) => n < 24 ? Buffer.from([major << 5 | n]) : n < 256 ? Buffer.from([major << 5 | 24, n]) : Buffer.from([major << 5 | 25, n >> 8, n & 0xff])
  const body = Buffer.concat([Buffer.from([0xa2]), head(3, 5), Buffer.from('roots'), head(4, 1), Buffer.from([0xd8, 42]), head(2, cid.length), cid, head(3, 7), Buffer.from('version'), Buffer.from([1])])
  return Buffer.concat([varint(body.length), body])
}

export class Upstream {
  constructor (name) {
    this.name = name
    this.blocks = new Map() // multihash hex → {cid, bytes}
    this.mode = { mode: 'honest' }
    this.dns = new Map()
    this.stats = { raw: 0, car: 0, dns: 0, connections: 0 }
    this.carRequests = [] // path and query of each CAR request, in order
    this.statics = new Map()
    this.decoded = new Map() // multihash hex → decoded dag-pb node (the benchmark asks often)
    this.answers = new Map() // honest CAR answers already built, by root, path and scope
  }

  node (cid) {
    const k = key(cid)
    let n = this.decoded.get(k)
    if (!n) {
      n = dagPb.decode(this.get(cid).bytes)
      this.decoded.set(k, n)
    }
    return n
  }

  async addCar (bytes) {
    const roots = []
    const it = await CarBlockIterator.fromBytes(bytes)
    for (const r of await it.getRoots()) roots.push(r)
    for await (const { cid, bytes: b } of it) this.blocks.set(key(cid), { cid, bytes: b })
    this.answers.clear()
    return roots
  }

  async addCarsUnder (dir) {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) await this.addCarsUnder(p)
      else if (e.name.endsWith('.car')) await this.addCar(fs.readFileSync(p))
    }
  }

  get (cid) {
    return this.blocks.get(key(cid))
  }

  lies (cid, kind) {
    const m = this.mode
    if (m.only && m.only !== kind) return false
    return !m.cid || m.cid === cid.toString() || key(CID.parse(m.cid)) === key(cid)
  }

  async handle (req, res) {
    const url = new URL(req.url, 'http://x')
    if (url.pathname.startsWith('/_control/')) return this.control(req, res, url)
    if (url.pathname === '/dns-query') return this.doh(res, url)
    if (url.pathname.startsWith('/static/')) {
      const body = this.statics.get(url.pathname.slice(8))
      if (!body) return this.send(res, 404, 'no such static file')
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      return res.end(body)
    }
    const m = this.mode
    if (m.mode === 'down') return this.send(res, 500, 'down')
    if (m.mode === 'slow') await new Promise((resolve) => setTimeout(resolve, m.delayMs ?? 5000))
    const match = url.pathname.match(/^\/ipfs\/([^/?]+)((?:\/[^/]+)*)\/?$/)
    if (!match) return this.send(res, 400, 'this test gateway serves /ipfs/{cid}[/path] only')
    let cid
    try { cid = CID.parse(match[1]) } catch { return this.send(res, 400, 'bad cid') }
    const segments = match[2].split('/').filter(Boolean).map(decodeURIComponent)
    const accept = req.headers.accept ?? ''
    const format = url.searchParams.get('format') ?? (accept.includes('vnd.ipld.car') ? 'car' : accept.includes('vnd.ipld.raw') ? 'raw' : '')
    if (format === 'raw' && segments.length === 0) return this.raw(res, cid)
    if (format === 'car') this.carRequests.push(url.pathname + url.search)
    if (format === 'car') return this.car(res, cid, segments, url.searchParams.get('dag-scope') ?? 'all')
    return this.send(res, 400, 'trustless requests only')
  }

  send (res, status, text) {
    res.writeHead(status, { 'content-type': 'text/plain' })
    res.end(text)
  }

  raw (res, cid) {
    this.stats.raw++
    const b = this.get(cid)
    if (!b) return this.send(res, 404, `block ${cid} not found`)
    let bytes = b.bytes
    if (this.mode.mode === 'die' && this.lies(cid, 'raw')) return res.destroy()
    if (this.mode.mode === 'corrupt' && this.lies(cid, 'raw')) {
      bytes = Buffer.from(bytes)
      bytes[0] ^= 0xff
      if (bytes.length === 0) bytes = Buffer.from('lie')
    }
    if (this.mode.mode === 'truncate' && this.lies(cid, 'raw')) bytes = bytes.subarray(0, Math.max(0, bytes.length - 1))
    res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': bytes.length })
    res.end(bytes)
  }

  // UnixFS type of a dag-pb node (1 dir, 2 file, 5 HAMT), or -1.
  type (cid) {
    if (cid.code !== dagPb.code) return -1
    const d = this.node(cid).Data
    return d && d[0] === 0x08 ? d[1] : -1
  }

  // The blocks walked to resolve `segments` under `root` (plain and HAMT folders) and the end,
  // or null when a block is missing or a name does not exist.
  resolve (root, segments) {
    const path = []
    let c = root
    for (const seg of segments) {
      if (!this.get(c) || c.code !== dagPb.code) return null
      path.push(c)
      const links = this.node(c).Links
      if (this.type(c) === 5) {
        const find = (shard) => {
          for (const l of this.node(shard).Links) {
            if (l.Name.length === 2) {
              if (!this.get(l.Hash)) continue
              const r = find(l.Hash)
              if (r) return { shards: [l.Hash, ...r.shards], cid: r.cid }
            } else if (l.Name.slice(2) === seg) return { shards: [], cid: l.Hash }
          }
          return null
        }
        const r = find(c)
        if (!r) return null
        path.push(...r.shards)
        c = r.cid
      } else {
        const l = links.find((x) => x.Name === seg)
        if (!l) return null
        c = l.Hash
      }
    }
    return this.get(c) ? { path, end: c } : null
  }

  async car (res, root, segments, scope) {
    this.stats.car++
    const resolved = this.resolve(root, segments)
    if (!resolved) return this.send(res, 404, `${root}/${segments.join('/')} not found`)
    const type = { 'content-type': 'application/vnd.ipld.car; version=1; order=dfs; dups=n' }
    // An honest answer is built once and then sent in one write, as a file server sends a file:
    // the benchmark compares the worker's verified path with its unverified one, and this server,
    // on the same machine, should cost the same behind both.
    const honest = this.mode.mode === 'honest'
    const memo = `${root}/${segments.join('/')}?${scope}`
    const kept = honest && this.answers.get(memo)
    if (kept) {
      res.writeHead(200, type)
      return res.end(kept)
    }
    const whole = honest ? [] : null
    if (!honest) res.writeHead(200, type)
    // Sections are written by hand (varint length, CID, bytes): the benchmark should measure the
    // worker, not an async CAR writer here.
    const pending = [carHeader(root)]
    let size = pending[0].length
    const writer = {
      async put ({ cid, bytes }) {
        pending.push(varint(cid.bytes.length + bytes.length), cid.bytes, bytes)
        size += bytes.length
        if (size >= 256 * 1024) await flush()
      },
      async close () { await flush() }
    }
    const flush = async () => {
      if (whole) {
        whole.push(...pending)
        pending.length = 0
        return
      }
      if (res.destroyed) return
      const ok = res.write(Buffer.concat(pending))
      pending.length = 0
      size = 0
      if (!ok) await new Promise((resolve) => res.once('drain', resolve))
    }
    const seen = new Set()
    const lying = this.mode.mode
    let written = 0
    const put = async (cid) => {
      let bytes = this.get(cid).bytes
      if (lying === 'corrupt' && this.lies(cid, 'car')) {
        bytes = Buffer.from(bytes)
        bytes[0] ^= 0xff
      }
      if (lying === 'truncate' && this.lies(cid, 'car') && written > 0) return false
      if (lying === 'die' && this.lies(cid, 'car')) {
        await flush()
        res.destroy()
        return false
      }
      await writer.put({ cid, bytes })
      written++
      return true
    }
    // Depth-first; `entity` follows the links of files and the shards of HAMTs only.
    const walk = async (cid) => {
      if (seen.has(key(cid))) return true
      seen.add(key(cid))
      if (!this.get(cid)) return 'missing' // a missing block ends the CAR
      if (!await put(cid)) return 'cut'
      if (scope === 'block' || cid.code !== dagPb.code) return true
      const t = this.type(cid)
      for (const l of this.node(cid).Links) {
        if (scope === 'entity' && !(t === 2 || (t === 5 && l.Name.length === 2))) continue
        const r = await walk(l.Hash)
        if (r !== true) return r
      }
      return true
    }
    let r = true
    for (const c of resolved.path) {
      if (!seen.has(key(c))) {
        seen.add(key(c))
        if (!await put(c)) { r = 'cut'; break }
      }
    }
    if (r === true) r = await walk(resolved.end)
    await writer.close()
    if (whole) {
      const body = Buffer.concat(whole)
      this.answers.set(memo, body)
      res.writeHead(200, type)
      return res.end(body)
    }
    if (r === 'cut') {
      // Half a section: a length that promises more bytes than follow.
      res.write(Buffer.from([0x80, 0x08, 0x01, 0x55, 0x12, 0x20, 1, 2, 3]))
    }
    res.end()
  }

  doh (res, url) {
    this.stats.dns++
    const name = (url.searchParams.get('name') ?? '').replace(/\.$/, '')
    const txt = this.dns.get(name)
    const body = txt
      ? { Status: 0, Answer: [{ name, type: 16, TTL: 60, data: JSON.stringify(txt) }] }
      : { Status: 3, Answer: [] }
    res.writeHead(200, { 'content-type': 'application/dns-json' })
    res.end(JSON.stringify(body))
  }

  async control (req, res, url) {
    const chunks = []
    for await (const c of req) chunks.push(c)
    const body = Buffer.concat(chunks)
    switch (url.pathname) {
      case '/_control/mode':
        this.mode = JSON.parse(body.toString() || '{"mode":"honest"}')
        return this.send(res, 200, 'ok')
      case '/_control/car': {
        const roots = await this.addCar(body)
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify(roots.map(String)))
      }
      case '/_control/dns': {
        const { name, txt } = JSON.parse(body.toString())
        if (txt) this.dns.set(name, txt)
        else this.dns.delete(name)
        return this.send(res, 200, 'ok')
      }
      case '/_control/stats':
        res.writeHead(200, { 'content-type': 'application/json' })
        return res.end(JSON.stringify({ ...this.stats, lastCar: this.carRequests.at(-1) }))
      default:
        return this.send(res, 404, 'unknown control')
    }
  }

  listen (port = 0) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e) => {
        try { this.send(res, 500, String(e)) } catch {}
      })
    })
    this.server.keepAliveTimeout = 60_000
    this.server.on('connection', () => { this.stats.connections++ })
    return new Promise((resolve) => this.server.listen(port, '127.0.0.1', () => {
      this.port = this.server.address().port
      this.url = `http://127.0.0.1:${this.port}`
      resolve(this)
    }))
  }

  close () {
    this.server.closeAllConnections?.()
    return new Promise((resolve) => this.server.close(resolve))
  }
}

// Run on its own: `node lib/upstream.mjs PORT [CAR...]` (the benchmark uses this).
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const port = Number(process.argv[2] ?? 8790)
  const up = new Upstream('cli')
  for (const f of process.argv.slice(3)) {
    if (f.startsWith('static:')) {
      const [, name, file] = f.split(':')
      up.statics.set(name, fs.readFileSync(file))
    } else {
      await up.addCar(fs.readFileSync(f))
    }
  }
  await up.listen(port)
  console.log(`upstream listening on ${up.url}`)
}
