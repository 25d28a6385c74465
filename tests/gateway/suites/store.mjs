// The carport store: a CARv2 in R2 (written by the upload door), `roots/{cid}` naming it. The
// worker reads each block with one ranged get by the CARv2 index, verifies it, and needs no upstream.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { carportBin, r2Put } from '../lib/harness.mjs'

export function store (world) {
  describe('R2 store with a CARv2 index', () => {
    test('a site stored as CARv2 is served with every upstream down', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-store-'))
      const site = path.join(dir, 'site')
      fs.mkdirSync(path.join(site, 'assets'), { recursive: true })
      fs.writeFileSync(path.join(site, 'index.html'), '<!doctype html><p>stored</p>')
      const big = crypto.randomBytes(3 * 1024 * 1024 + 17)
      fs.writeFileSync(path.join(site, 'assets', 'big.bin'), big)
      const car = path.join(dir, 'site.car')
      const out = execFileSync(carportBin(), ['pack', site, '-o', car, '--car-version', '2'], { encoding: 'utf8' })
      const root = out.trim().split('\n').pop().trim()
      r2Put(world.state, `cars/${root}.car`, car)
      const name = path.join(dir, 'name')
      fs.writeFileSync(name, `cars/${root}.car`)
      r2Put(world.state, `roots/${root}`, name)
      world.a.mode = { mode: 'down' }
      world.b.mode = { mode: 'down' }
      try {
        const r = await world.client.get(`/ipfs/${root}/`)
        assert.equal(r.status, 200, r.body.toString())
        assert.match(r.body.toString(), /stored/)
        const b = await world.client.get(`/ipfs/${root}/assets/big.bin`)
        assert.equal(b.status, 200)
        assert.ok(b.body.equals(big))
        const part = await world.client.get(`/ipfs/${root}/assets/big.bin`, { Range: 'bytes=2000000-2000099' })
        assert.equal(part.status, 206)
        assert.ok(part.body.equals(big.subarray(2000000, 2000100)))
      } finally {
        world.a.mode = { mode: 'honest' }
        world.b.mode = { mode: 'honest' }
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  })
}
