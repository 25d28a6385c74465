// An uploaded service worker must not take over the path gateway. On a path gateway every CID
// shares one origin: a script served from `/ipfs/{cid}?filename=sw.js` (JavaScript by its name)
// registered with scope `/ipfs/` would answer, unverified, for every other CID in this browser.
// In real headless Chromium, against the worker on workerd: the registration fails on the path
// gateway, and succeeds on the CID's own subdomain origin (so the test can tell the difference).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { chromium } from 'playwright-core'

import { carportBin, startWorld } from '../gateway/lib/harness.mjs'

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']

let world, browser, root
const tmp = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'carport-sw-'))

before(async () => {
  // `localhost` as a subdomain gateway too: {cid}.ipfs.localhost is a secure context in Chromium.
  world = await startWorld({ vars: { SUBDOMAIN_HOSTS: 'example.com,localhost' } })
  const site = join(tmp, 'site')
  mkdirSync(site)
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>sw test</title>')
  writeFileSync(join(site, 'sw.js'), "self.addEventListener('fetch', (e) => e.respondWith(new Response('owned by the attacker')))")
  const car = join(tmp, 'site.car')
  root = execFileSync(carportBin(), ['pack', site, '-o', car, '--cid-version', '1'], { encoding: 'utf8' }).trim().split('\n').at(-1)
  await world.a.addCar(readFileSync(car))
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true })
}, { timeout: 300_000 })

after(async () => {
  await browser?.close()
  await world?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

/** Opens `url` and tries to register `script` with `scope`; the outcome as a string. */
async function register (url, script, scope) {
  const page = await browser.newPage()
  try {
    await page.goto(url)
    return await page.evaluate(async ([script, scope]) => {
      try {
        const reg = await navigator.serviceWorker.register(script, scope ? { scope } : {})
        return `registered ${reg.scope}`
      } catch (e) {
        return `refused: ${e.name}: ${e.message}`
      }
    }, [script, scope])
  } finally {
    await page.close()
  }
}

test('on the path gateway a service worker cannot be registered, whatever its name or scope', async () => {
  const page = `http://127.0.0.1:${world.port}/ipfs/${root}/index.html`
  for (const [script, scope] of [[`/ipfs/${root}?filename=sw.js`, '/ipfs/'], [`/ipfs/${root}/sw.js`, undefined], [`/ipfs/${root}/sw.js`, `/ipfs/${root}/`]]) {
    const outcome = await register(page, script, scope)
    assert.match(outcome, /^refused: .*400/, `${script} (scope ${scope}): ${outcome}`)
  }
})

test("on the CID's own origin (subdomain gateway) its service worker registers, confined to that origin", async () => {
  const outcome = await register(`http://${root}.ipfs.localhost:${world.port}/index.html`, '/sw.js')
  assert.equal(outcome, `registered http://${root}.ipfs.localhost:${world.port}/`)
})
