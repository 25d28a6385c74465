// The whole system, end to end, in Debian's headless Chromium (playwright-core): `demo/up.mjs`
// starts the local deal broker, the edge worker on workerd and the demo page, as `./dev up` does
// (the builds are `./dev test`'s). The test picks a generated site folder on the demo page, checks
// the CID it shows against `carport pack`, opens the gateway link (page, image bytes, a SPA route
// through `_redirects`), and waits for the archive to reach the deal with the inclusion proof
// verified in the page. Screenshots of each stage go to tests/browser/screenshots/e2e/.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import crypto from 'node:crypto'
import zlib from 'node:zlib'
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import readline from 'node:readline'
import { after, before, test } from 'node:test'
import { chromium } from 'playwright-core'
import { freePort } from '../lib/processes.mjs'

const repo = new URL('../../', import.meta.url).pathname
const BIN = process.env.CARPORT_BIN ?? join(repo, 'target/release/carport')
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
const SHOTS = join(repo, 'tests/browser/screenshots/e2e')

const tmp = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'carport-e2e-'))
const site = join(tmp, 'site')
const image = photo(1024, 1024)
let system, browser, page, demo, workerPort

/** A real PNG of about 3 MiB: a colour gradient with noise, stored uncompressed. */
function photo (width, height) {
  const noise = crypto.randomBytes(width * height)
  const raw = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3
      const n = noise[y * width + x] >> 3
      raw[at] = (x >> 2) ^ n
      raw[at + 1] = (y >> 2) ^ n
      raw[at + 2] = 160 + (n & 63)
    }
  }
  const crc = (buf) => {
    let c = ~0
    for (const b of buf) {
      c ^= b
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1))
    }
    return ~c >>> 0
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const body = Buffer.concat([Buffer.from(type), data])
    const sum = Buffer.alloc(4)
    sum.writeUInt32BE(crc(body))
    return Buffer.concat([len, body, sum])
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', zlib.deflateSync(raw, { level: 0 })), chunk('IEND', Buffer.alloc(0))])
}

before(async () => {
  mkdirSync(join(site, 'assets'), { recursive: true })
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>e2e site</title><h1 id="hello">hello from the e2e site</h1><img src="/assets/photo.png">')
  writeFileSync(join(site, '_redirects'), '/app/* /index.html 200\n')
  writeFileSync(join(site, 'assets/photo.png'), image)
  mkdirSync(SHOTS, { recursive: true })

  workerPort = await freePort()
  const [demoPort, brokerPort] = [await freePort(), await freePort()]
  system = spawn('node', [join(repo, 'demo/up.mjs'), '--state', join(tmp, 'state'), '--worker-port', String(workerPort), '--demo-port', String(demoPort), '--broker-port', String(brokerPort), '--stage-ms', '500'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const log = []
  system.stderr.on('data', (d) => log.push(d.toString()))
  demo = await new Promise((resolve, reject) => {
    readline.createInterface({ input: system.stdout }).on('line', (l) => {
      const m = l.match(/demo page\s+(http:\/\/\S+)/)
      if (m) resolve(m[1])
    })
    system.once('exit', (code) => reject(new Error(`demo/up.mjs exited ${code}: ${log.join('')}`)))
  })
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
  page = await browser.newPage({ viewport: { width: 1000, height: 1100 } })
  page.errors = []
  page.on('pageerror', (e) => page.errors.push(e))
  await page.goto(demo)
  await page.waitForFunction(() => window.demoReady === true, null, { timeout: 30_000 })
}, { timeout: 300_000 })

after(async () => {
  await browser?.close()
  if (system && system.exitCode === null) {
    const done = new Promise((resolve) => system.once('exit', resolve))
    process.kill(-system.pid, 'SIGINT')
    await done
  }
  rmSync(tmp, { recursive: true, force: true })
})

let root, gateway

test('a folder picked on the demo page packs to the CLI\'s CID', async () => {
  const want = execFileSync(BIN, ['pack', site, '-o', join(tmp, 'site.car')], { encoding: 'utf8' }).trim().split('\n').at(-1)
  await page.setInputFiles('#folder', site)
  await page.waitForSelector('#pack-result:not([hidden])', { timeout: 60_000 })
  root = (await page.textContent('#root-cid')).trim()
  assert.equal(root, want)
  assert.ok(Number(await page.textContent('#blocks')) >= 5)
  assert.match(await page.textContent('#shards'), /^1 \(/)
  assert.match(await page.textContent('#piece-cids'), /bafkzcib/)
  await page.screenshot({ path: join(SHOTS, '1-packed.png'), fullPage: true })
})

test('it uploads, and the gateway link serves the page, the image and a SPA route', async () => {
  await page.waitForSelector('#open:not([hidden])', { timeout: 60_000 })
  assert.match(await page.textContent('#upload-status'), /uploaded; every block verified/)
  gateway = await page.getAttribute('#gateway-link', 'href')
  assert.equal(gateway, `http://${root}.ipfs.localhost:${workerPort}/`)
  await page.screenshot({ path: join(SHOTS, '2-uploaded.png'), fullPage: true })

  const site = await browser.newPage()
  const r = await site.goto(gateway)
  assert.equal(r.status(), 200)
  assert.equal(await site.textContent('#hello'), 'hello from the e2e site')
  await site.waitForFunction(() => document.querySelector('img').complete)
  assert.equal(await site.evaluate(() => document.querySelector('img').naturalWidth), 1024, 'the image decodes')
  assert.ok(image.length >= 3 * 1024 * 1024)
  const digest = await site.evaluate(async () => {
    const bytes = await (await fetch('/assets/photo.png')).arrayBuffer()
    return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map((b) => b.toString(16).padStart(2, '0')).join('')
  })
  assert.equal(digest, crypto.createHash('sha256').update(image).digest('hex'), 'the image bytes')
  await site.screenshot({ path: join(SHOTS, '3-gateway.png') })

  const spa = await site.goto(`${gateway}app/settings/profile`)
  assert.equal(spa.status(), 200, 'the _redirects rule rewrites the route to index.html')
  assert.equal(await site.textContent('#hello'), 'hello from the e2e site')
  await site.screenshot({ path: join(SHOTS, '4-spa-route.png') })
  await site.close()
})

test('the archive reaches the deal, and the inclusion proof is verified in the page', async () => {
  await page.waitForSelector('#archive-stage[data-stage="complete"]', { timeout: 120_000 })
  const verdict = await page.textContent('#proof-verdict')
  assert.match(verdict, /^✓ verified in this browser/)
  assert.equal(await page.getAttribute('#proof-verdict', 'class'), 'ok')
  assert.match(await page.textContent('#deal'), /proposal [0-9A-Z]{26} with provider f01000/)
  await page.screenshot({ path: join(SHOTS, '5-archived.png'), fullPage: true })
  assert.deepEqual(page.errors, [])
})

test('errors a person can act on: upload refused, a file changed while read, worker unreachable', async () => {
  const p = await browser.newPage()
  await p.goto(demo)
  await p.waitForFunction(() => window.demoReady === true, null, { timeout: 30_000 })
  const file = join(tmp, 'note.txt')
  writeFileSync(file, `a note ${Date.now()}`)

  await p.route('**/upload', (route) => route.fulfill({
    status: 413,
    headers: { 'Access-Control-Allow-Origin': '*', 'Content-Type': 'application/json' },
    body: JSON.stringify({ error: 'the shard is 200000000 bytes; the limit is 100000000 bytes', cid: null })
  }))
  await p.setInputFiles('#files', file)
  await p.waitForSelector('#error:not([hidden])', { timeout: 60_000 })
  assert.match(await p.textContent('#error'), /^Upload refused \(413\): the shard is 200000000 bytes/)
  await p.screenshot({ path: join(SHOTS, '6-refused.png'), fullPage: true })

  // A file changed on disk after it was picked: reading it fails, and the page says what to do.
  const big = join(tmp, 'changing.bin')
  writeFileSync(big, crypto.randomBytes(64 << 20))
  await p.setInputFiles('#files', big)
  writeFileSync(big, 'changed')
  await p.waitForFunction(() => /changed or went away/.test(document.querySelector('#error').textContent), null, { timeout: 60_000 })
    .catch(async (e) => { throw new Error(`${e.message}; the page says: ${await p.textContent('#error')}`) })

  await p.unroute('**/upload')
  await p.route('**/upload', (route) => route.abort('connectionrefused'))
  const other = join(tmp, 'other.txt')
  writeFileSync(other, `another note ${Date.now()}`)
  await p.setInputFiles('#files', other)
  await p.waitForFunction(() => /unreachable/.test(document.querySelector('#error').textContent), null, { timeout: 60_000 })
    .catch(async (e) => { throw new Error(`${e.message}; the page says: ${await p.textContent('#error')}`) })
  assert.match(await p.textContent('#error'), /The edge worker at http:\/\/127\.0\.0\.1:\d+ is unreachable/)
  await p.close()
})

test('no secret on a command line, and the demo server answers only to this machine\'s names', async () => {
  const secrets = ['admin-token', 'client.key'].map((f) => readFileSync(join(tmp, 'state', f), 'utf8').trim())
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let cmdline
    try { cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8') } catch { continue }
    for (const s of secrets) assert.ok(!cmdline.includes(s), `process ${pid} shows a secret in its command line`)
  }
  // DNS rebinding: a page on another name that resolves to 127.0.0.1 asks for the config.
  const port = new URL(demo).port
  const rebound = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: '/config.json', headers: { Host: `attacker.example:${port}` } }, (res) => {
      let body = ''
      res.on('data', (c) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode, body }))
    }).on('error', reject)
  })
  assert.equal(rebound.status, 421)
  assert.ok(!rebound.body.includes('token'))
  assert.equal((await fetch(new URL('/config.json', demo))).status, 200)
})

test('publish to my name: the stable {name}.ipns.localhost link serves the site, and moves to a changed site', async () => {
  await page.waitForSelector('#name:not([hidden])', { timeout: 60_000 })
  await page.click('#publish-name')
  await page.waitForSelector('#name-open:not([hidden])', { timeout: 60_000 })
  const link = await page.getAttribute('#name-link', 'href')
  const m = link.match(/^http:\/\/(k51[0-9a-z]+)\.ipns\.localhost:(\d+)\/$/)
  assert.ok(m, link)
  assert.equal(Number(m[2]), workerPort)
  assert.match(await page.textContent('#name-status'), new RegExp(`→ /ipfs/${root} \\(sequence 0; key made by webcrypto\\)`))
  await page.screenshot({ path: join(SHOTS, '7-named.png'), fullPage: true })
  const named = await browser.newPage()
  const r = await named.goto(link)
  assert.equal(r.status(), 200)
  assert.equal(await named.textContent('#hello'), 'hello from the e2e site')
  assert.doesNotMatch(r.headers()['cache-control'], /immutable/)
  assert.equal(r.headers()['x-ipfs-path'], `/ipns/${m[1]}/`)

  // Redeploy: a changed site, uploaded and published again with the key kept in the browser.
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>e2e site</title><h1 id="hello">hello again, changed</h1>')
  await page.setInputFiles('#folder', site)
  await page.waitForFunction((old) => document.querySelector('#root-cid').textContent.trim() !== old && !document.querySelector('#name').hidden, root, { timeout: 120_000 })
  const second = (await page.textContent('#root-cid')).trim()
  await page.click('#publish-name')
  await page.waitForFunction((r2) => document.querySelector('#name-status').textContent.includes(`/ipfs/${r2} (sequence 1; key made by this browser earlier)`), second, { timeout: 60_000 })
    .catch(async (e) => { throw new Error(`${e.message}; the page says: ${await page.textContent('#name-status')} ${await page.textContent('#error')}`) })
  assert.equal(await page.getAttribute('#name-link', 'href'), link, 'the same stable link')
  // The old answer may be cached for its record TTL (5 s): ask until the link shows the change.
  let text
  for (let i = 0; i < 30 && text !== 'hello again, changed'; i++) {
    if (i) await new Promise((resolve) => setTimeout(resolve, 1000))
    await named.goto(link)
    text = await named.textContent('#hello')
  }
  assert.equal(text, 'hello again, changed')
  await named.screenshot({ path: join(SHOTS, '8-named-moved.png') })
  await named.close()
  assert.deepEqual(page.errors, [])
})
