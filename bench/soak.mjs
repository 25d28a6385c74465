// Soak driver (not a test), run by bench/soak.sh: the local upstream holds the site, the worker
// runs on workerd, wrk (a second process) loads it with a mixed request stream.
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { Upstream } from '../tests/gateway/lib/upstream.mjs'
import { Client, freePort, startWrangler, stopWrangler } from '../tests/gateway/lib/harness.mjs'

const [work, root, small, duration, conns] = process.argv.slice(2)
const up = new Upstream('soak')
await up.addCar(fs.readFileSync(path.join(work, 'site.car')))
await up.listen()
const port = await freePort()
const state = fs.mkdtempSync(path.join(work, 'state-'))
const worker = await startWrangler(port, state, { UPSTREAMS: up.url, UPSTREAM_TIMEOUT_MS: '30000' })

/** Resident memory (KiB) of the workerd processes under the wrangler process group. */
function workerdRss () {
  let total = 0
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      if (!cmd.includes('workerd')) continue
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')
      if (Number(stat[4]) !== worker.pid) continue // the process group wrangler leads
      total += Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1])
    } catch {}
  }
  return total
}

// Warm up and check the bytes once.
const c = new Client(port)
const large = await c.get(`/ipfs/${root}/large.bin`)
if (large.status !== 200 || !large.body.equals(fs.readFileSync(path.join(work, 'site', 'large.bin')))) throw new Error(`large file: ${large.status}`)
c.agent.destroy()
const before = workerdRss()

const lua = path.join(work, 'mix.lua')
fs.writeFileSync(lua, `
local i = 0
request = function()
  i = i + 1
  local r = i % 10
  if r == 0 then return wrk.format("GET", "/ipfs/${root}/large.bin") end
  if r < 3 then return wrk.format("GET", "/ipfs/${root}/small/") end
  return wrk.format("GET", "/ipfs/${root}/small/f" .. (i % ${small}) .. ".bin")
end
`)
let out
let after
try {
  ;({ stdout: out } = await promisify(execFile)('wrk', ['-t2', `-c${conns}`, `-d${duration}s`, '--latency', '--timeout', '30s', '-s', lua, `http://127.0.0.1:${port}/`], { encoding: 'utf8', maxBuffer: 1 << 24 }))
} finally {
  after = workerdRss()
  await stopWrangler(worker)
  await up.close()
}
const pick = (re) => out.match(re)?.[1]
const lat = Object.fromEntries([...out.matchAll(/^\s+(50|75|90|99)%\s+([\d.]+\w+)/gm)].map((m) => [m[1], m[2]]))
console.log(`| requests/s | p50 | p90 | p99 | non-2xx | socket errors | workerd RSS before → after |`)
console.log('|---|---|---|---|---|---|---|')
console.log(`| ${pick(/Requests\/sec:\s+([\d.]+)/)} | ${lat['50']} | ${lat['90']} | ${lat['99']} | ${pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0} | ${pick(/Socket errors: (.*)/) ?? 'none'} | ${(before / 1024).toFixed(0)} → ${(after / 1024).toFixed(0)} MiB |`)
console.log(`(${pick(/(\d+) requests in/)} requests, ${pick(/requests in [^,]+, ([\d.]+\w+) read/)} read in ${duration} s, ${conns} connections; mix: 70% 4 KiB files, 20% a ${small}-entry listing, 10% a 16 MiB file)`)
