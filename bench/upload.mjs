// Drives bench/upload.sh: starts the worker on workerd, then alternates door uploads and plain R2
// puts of ~100 MB CARs, timing each from the first byte sent to the answer.
import fs from 'node:fs'
import path from 'node:path'
import os from 'node:os'
import { ADMIN_TOKEN, Client, freePort, startWrangler, stopWrangler } from '../tests/gateway/lib/harness.mjs'
import { newToken, upload } from '../tests/gateway/lib/archive.mjs'

const [dir, runs] = [process.argv[2], Number(process.argv[3])]
const port = await freePort()
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-bench-upload-'))
const worker = await startWrangler(port, state, { ADMIN_TOKEN, BENCH_PROXY: 'on', MAX_SHARD_SIZE: '100000000', UPSTREAMS: '' })
const client = new Client(port)
try {
  const token = await newToken(client)
  const door = []
  const plain = []
  const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000)
  for (let i = 1; i <= runs; i++) {
    const car = fs.readFileSync(path.join(dir, `${i}.car`))
    let t = performance.now()
    const r = await upload(client, token, car)
    if (r.status !== 201) throw new Error(`door: ${r.status} ${r.body}`)
    door.push(mbps(car.length, performance.now() - t))
    t = performance.now()
    const p = await client.request('/_bench/put', { method: 'POST', headers: { 'Content-Length': String(car.length) }, body: car })
    if (p.status !== 201) throw new Error(`plain put: ${p.status} ${p.body}`)
    plain.push(mbps(car.length, performance.now() - t))
    console.error(`run ${i}: door ${door.at(-1).toFixed(1)} MB/s, plain R2 put ${plain.at(-1).toFixed(1)} MB/s`)
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
  const d = median(door)
  const p = median(plain)
  console.log(`upload door (verify + piece CID + store): ${d.toFixed(1)} MB/s (median of ${runs})`)
  console.log(`plain R2 put through the same worker:    ${p.toFixed(1)} MB/s`)
  console.log(`ratio: ${(d / p).toFixed(2)}x (target >= 0.5x)`)
} finally {
  client.agent.destroy()
  await stopWrangler(worker)
  fs.rmSync(state, { recursive: true, force: true })
}
