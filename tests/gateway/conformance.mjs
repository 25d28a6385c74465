// Runs the official IPFS gateway-conformance suite (github.com/ipfs/gateway-conformance, a Go
// program that drives `go test`) against the edge worker on workerd, fed by a local trustless
// gateway serving the suite's own CAR fixtures. Prints pass/fail/skip per top-level test, writes
// every failing and skipped test to conformance-report.txt, and exits 1 on any failure that
// conformance-known-failures.txt does not list (and names listed failures that now pass).
//
//   node conformance.mjs            (npm run conformance)
//
// Needs Go and the built worker (edge-worker/build/index.js). Environment:
//   CONFORMANCE_SPECS  the suite's --specs (default trustless-gateway,path-gateway)
//   CONFORMANCE_RUN    a `go test -run` regex, to run part of the suite
//   GATEWAY_CONFORMANCE_HOME  a checkout of the pinned tag, when the Go module proxy has none
//   CONFORMANCE_KEEP=1 keeps the temp dir (fixtures, suite log, JSON report)
//   GW_DEBUG=1         prints the worker's log at the end
//
// The suite is not a library: its binary runs `go test ./tests` inside its own source tree (the
// module, or GATEWAY_CONFORMANCE_HOME), so the source must be on this machine, not just the binary.
// `go install …@PIN` puts both there (binary in .tools/go-bin, source in the module cache); where
// the proxy does not serve the module, a checkout of the tag at .tools/gateway-conformance-PIN (or
// GATEWAY_CONFORMANCE_HOME) is used and the binary is built from it.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Upstream } from './lib/upstream.mjs'
import { startWrangler, stopWrangler, freePort, repo, edgeDir, GW_HOST, ADMIN_TOKEN } from './lib/harness.mjs'

const PIN = 'v0.13.2'
const MODULE = 'github.com/ipfs/gateway-conformance'
const here = path.dirname(fileURLToPath(import.meta.url))
const binDir = path.join(repo, '.tools', 'go-bin')
const bin = path.join(binDir, 'gateway-conformance')
const stamp = `${bin}.version`
const localCheckout = path.join(repo, '.tools', `gateway-conformance-${PIN}`)
const reportFile = path.join(here, 'conformance-report.txt')
const knownFile = path.join(here, 'conformance-known-failures.txt')
const specs = process.env.CONFORMANCE_SPECS || 'trustless-gateway,path-gateway'
const t0 = Date.now()
const secs = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`

function die (msg, code = 2) {
  console.error(`conformance: ${msg}`)
  process.exit(code)
}

// Builds run under `nice`: the machine may be busy with other builds.
const nice = spawnSync('nice', ['true']).status === 0
function go (args, opts = {}) {
  return spawnSync(nice ? 'nice' : 'go', nice ? ['-n', '10', 'go', ...args] : args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
}

const isHome = (d) => d && fs.existsSync(path.join(d, 'tests')) && fs.existsSync(path.join(d, 'go.mod')) && fs.existsSync(path.join(d, 'fixtures'))

// The suite's source tree: GATEWAY_CONFORMANCE_HOME, the local checkout, or the module cache.
function findHome () {
  const env = process.env.GATEWAY_CONFORMANCE_HOME
  if (env) {
    if (!isHome(env)) die(`GATEWAY_CONFORMANCE_HOME=${env} is not a gateway-conformance source tree`)
    return env
  }
  if (isHome(localCheckout)) return localCheckout
  const r = go(['mod', 'download', '-json', `${MODULE}@${PIN}`], { cwd: os.tmpdir() })
  try {
    const dir = JSON.parse(r.stdout).Dir
    if (isHome(dir)) return dir
  } catch {}
  return null
}

// .tools/go-bin/gateway-conformance at PIN: `go install`, or built from the source tree.
function ensureBinary () {
  if (fs.existsSync(bin) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === PIN) return
  fs.mkdirSync(binDir, { recursive: true })
  console.log(`installing gateway-conformance ${PIN} into ${path.relative(repo, binDir)}`)
  const r = go(['install', `${MODULE}/cmd/gateway-conformance@${PIN}`], { cwd: os.tmpdir(), env: { ...process.env, GOBIN: binDir } })
  if (r.status !== 0) {
    const home = findHome()
    if (!home) {
      die(`go install ${MODULE}/cmd/gateway-conformance@${PIN} failed:\n${r.stderr.trim()}\n` +
        `and no source tree of ${PIN} was found: put a checkout of tag ${PIN} at ${localCheckout} or set GATEWAY_CONFORMANCE_HOME.`)
    }
    console.log(`  go install failed (${r.stderr.trim().split('\n').pop()}); building from ${home}`)
    const b = go(['build', `-ldflags=-X ${MODULE}/tooling.Version=${PIN}`, '-o', bin, './cmd/gateway-conformance'], { cwd: home })
    if (b.status !== 0) die(`go build in ${home} failed:\n${b.stderr}`)
  }
  fs.writeFileSync(stamp, `${PIN}\n`)
}

async function waitForWorker () {
  const built = path.join(edgeDir, 'build', 'index.js')
  const deadline = Date.now() + 40 * 60_000
  while (!fs.existsSync(built)) {
    if (Date.now() > deadline) die(`${built} did not appear in 40 minutes (build the worker with edge-worker/build.sh)`)
    console.log(`waiting for ${path.relative(repo, built)} …`)
    await new Promise((resolve) => setTimeout(resolve, 30_000))
  }
}

function run (cmd, args, opts, logFile) {
  return new Promise((resolve, reject) => {
    const out = fs.openSync(logFile, 'a')
    const child = spawn(cmd, args, { stdio: ['ignore', out, out], ...opts })
    child.on('error', reject)
    child.on('exit', (code, signal) => { fs.closeSync(out); resolve({ code, signal }) })
  })
}

// --- the report --------------------------------------------------------------------------------

// test2json events → {name → {status, output[]}}, plus each top-level test's META group.
function parseEvents (file) {
  const tests = new Map()
  const groups = new Map()
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue
    let ev
    try { ev = JSON.parse(line) } catch { continue }
    if (!ev.Test) continue
    let t = tests.get(ev.Test)
    if (!t) tests.set(ev.Test, (t = { status: 'run', output: [] }))
    if (ev.Action === 'output') {
      t.output.push(ev.Output)
      const m = ev.Output.match(/--- META: (\{.*\})/)
      if (m) {
        try {
          const meta = JSON.parse(m[1])
          if (meta.group) groups.set(ev.Test.split('/')[0], meta.group)
        } catch {}
      }
    } else if (['pass', 'fail', 'skip'].includes(ev.Action)) {
      t.status = ev.Action
    }
  }
  return { tests, groups }
}

// Leaves: tests with no subtests; plus failed tests none of whose subtests failed (a check that
// failed in the parent itself), and tests that never finished (the run broke off).
function outcomes (tests) {
  const names = [...tests.keys()]
  const hasChild = new Set()
  const hasFailedChild = new Set()
  for (const n of names) {
    for (let i = n.indexOf('/'); i !== -1; i = n.indexOf('/', i + 1)) {
      const parent = n.slice(0, i)
      hasChild.add(parent)
      if (tests.get(n).status === 'fail') hasFailedChild.add(parent)
    }
  }
  const out = []
  for (const [n, t] of tests) {
    if (t.status === 'fail' && !hasFailedChild.has(n)) out.push({ name: n, status: 'fail', t })
    else if (t.status === 'run' && !hasChild.has(n)) out.push({ name: n, status: 'fail', t, unfinished: true })
    else if (!hasChild.has(n) && t.status !== 'fail') out.push({ name: n, status: t.status, t })
  }
  return out
}

// Known failures: a test name per line (`#` starts a comment; a name ending in `*` is a prefix).
function readKnown () {
  if (!fs.existsSync(knownFile)) return []
  const out = []
  for (const raw of fs.readFileSync(knownFile, 'utf8').split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim()
    if (line) out.push(line)
  }
  return out
}

const matches = (pattern, name) => pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : pattern === name

// The gist of the suite's message for a failed check: its error, the request as sent (less the
// headers every request has) and the response's status line and Content-Type.
function why (t) {
  const lines = t.output.join('').split('\n').map((l) => l.trim())
  const out = []
  let section = ''
  let first = false
  for (const l of lines) {
    if (/^(Error:|Actual Request:|Actual Response:|Expected Request:|Expected Response:|Name:|Hint:)/.test(l)) {
      section = l.split(':')[0]
      first = true
      if (section === 'Error') out.push(l)
      continue
    }
    if (!l) { if (section === 'Error') section = ''; continue }
    if (section === 'Error') out.push(l)
    else if (section === 'Actual Request' && !/^(Host|User-Agent|Accept-Encoding):/i.test(l)) out.push(`> ${l}`)
    else if (section === 'Actual Response' && (first || /^Content-Type:/i.test(l))) out.push(`< ${l}`)
    first = false
  }
  if (!out.length) out.push(...lines.filter((l) => l && !/^(=== |--- )/.test(l)).slice(0, 6))
  return out.slice(0, 12).map((l) => l.length > 300 ? l.slice(0, 300) + '…' : l)
}

function pad (s, n) {
  s = String(s)
  return s.length >= n ? s : s + ' '.repeat(n - s.length)
}

// --- main --------------------------------------------------------------------------------------

ensureBinary()
const home = findHome()
if (!home) die(`the source tree of gateway-conformance ${PIN} is not on this machine (see the top of ${path.basename(fileURLToPath(import.meta.url))})`)
await waitForWorker()

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-conformance-'))
const suiteEnv = { ...process.env, GATEWAY_CONFORMANCE_HOME: home }
const log = path.join(tmp, 'suite.log')
const fixtures = path.join(tmp, 'fixtures')
let x = spawnSync(bin, ['extract-fixtures', '--dir', fixtures], { env: suiteEnv, encoding: 'utf8' })
if (x.status !== 0) die(`extract-fixtures failed:\n${x.stderr}`)

// The upstream serves the CARs; the IPNS records and DNSLink files are left out (the worker
// answers IPNS with 501, and the path and trustless specs need no DNSLink).
const up = await new Upstream('conformance').listen()
await up.addCarsUnder(fixtures)
const cars = fs.readdirSync(fixtures).filter((f) => f.endsWith('.car')).length
console.log(`[${secs()}] ${cars} CAR fixtures (${up.blocks.size} blocks) on ${up.url}; gateway-conformance ${PIN} from ${home}`)

const port = await freePort()
const state = fs.mkdtempSync(path.join(os.tmpdir(), 'carport-edge-'))
let worker
let result
try {
  worker = await startWrangler(port, state, {
    UPSTREAMS: up.url,
    UPSTREAM_TIMEOUT_MS: '2000',
    SUBDOMAIN_HOSTS: GW_HOST,
    DOH_URL: `${up.url}/dns-query`,
    DNSLINK_TTL: '1',
    CACHE_BLOCKS: 'on',
    ADMIN_TOKEN
  })
  console.log(`[${secs()}] worker on http://127.0.0.1:${port}; running --specs ${specs}`)
  const json = path.join(tmp, 'report.json')
  // The gateway is reached at 127.0.0.1 (a path gateway); example.com is the subdomain host the
  // worker knows, should a subdomain spec be asked for.
  const args = ['test', '--gateway-url', `http://127.0.0.1:${port}`, '--subdomain-url', `http://${GW_HOST}:${port}`, '--specs', specs, '--json', json, '--', '-timeout', '5m']
  if (process.env.CONFORMANCE_RUN) args.push('-run', process.env.CONFORMANCE_RUN)
  result = await run(nice ? 'nice' : bin, nice ? ['-n', '10', bin, ...args] : args, { env: suiteEnv, cwd: tmp }, log)
  if (!fs.existsSync(json)) die(`the suite wrote no report (exit ${result.code}); its log:\n${fs.readFileSync(log, 'utf8').slice(-4000)}`)
  result.parsed = parseEvents(json)
  if (result.parsed.tests.size === 0) die(`the suite ran no test (exit ${result.code}); its log:\n${fs.readFileSync(log, 'utf8').slice(-4000)}`)
} finally {
  if (worker) {
    if (process.env.GW_DEBUG) console.error(worker.log.join(''))
    await stopWrangler(worker)
  }
  await up.close()
  fs.rmSync(state, { recursive: true, force: true })
}

const { tests, groups } = result.parsed
const leaves = outcomes(tests)
const known = readKnown()
const table = new Map()
for (const l of leaves) {
  const top = l.name.split('/')[0]
  if (!table.has(top)) table.set(top, { pass: 0, fail: 0, skip: 0, known: 0 })
  const row = table.get(top)
  row[l.status]++
  if (l.status === 'fail' && known.some((p) => matches(p, l.name))) row.known++
}

console.log()
console.log(`${pad('test', 46)} ${pad('group', 10)} ${pad('pass', 5)} ${pad('fail', 5)} ${pad('skip', 5)} known`)
const total = { pass: 0, fail: 0, skip: 0, known: 0 }
for (const [top, row] of [...table].sort((a, b) => a[0].localeCompare(b[0]))) {
  console.log(`${pad(top, 46)} ${pad(groups.get(top) ?? '', 10)} ${pad(row.pass, 5)} ${pad(row.fail, 5)} ${pad(row.skip, 5)} ${row.known}`)
  for (const k of Object.keys(total)) total[k] += row[k]
}
console.log(`${pad('total', 46)} ${pad('', 10)} ${pad(total.pass, 5)} ${pad(total.fail, 5)} ${pad(total.skip, 5)} ${total.known}`)

const failed = leaves.filter((l) => l.status === 'fail')
const skipped = leaves.filter((l) => l.status === 'skip')
const unexpected = failed.filter((l) => !known.some((p) => matches(p, l.name)))
// A known failure "now passes" when nothing it names failed and something it names ran and passed.
const fixed = known.filter((p) => !failed.some((l) => matches(p, l.name)) && leaves.some((l) => l.status === 'pass' && matches(p, l.name)))
const absent = known.filter((p) => !leaves.some((l) => matches(p, l.name)))

const report = [
  `gateway-conformance ${PIN}, --specs ${specs}${process.env.CONFORMANCE_RUN ? `, -run ${process.env.CONFORMANCE_RUN}` : ''}, ${new Date().toISOString()}`,
  `${total.pass} passed, ${total.fail} failed (${total.known} known), ${total.skip} skipped`,
  '',
  `## failing (${failed.length}; * = not in ${path.basename(knownFile)})`,
  ...failed.flatMap((l) => [`${known.some((p) => matches(p, l.name)) ? ' ' : '*'} ${l.name}${l.unfinished ? ' (never finished)' : ''}`, ...why(l.t).map((w) => `      ${w}`)]),
  '',
  `## skipped (${skipped.length})`,
  ...skipped.map((l) => `  ${l.name}`),
  ''
]
fs.writeFileSync(reportFile, report.join('\n'))
console.log(`\n[${secs()}] ${failed.length} failing and ${skipped.length} skipped tests, with the suite's messages: ${path.relative(process.cwd(), reportFile)}`)

if (fixed.length) {
  console.log(`\nknown failures that now pass (remove them from ${path.basename(knownFile)}):`)
  for (const p of fixed) console.log(`  ${p}`)
}
if (absent.length && !process.env.CONFORMANCE_RUN) {
  console.log(`\nknown failures the suite did not run (renamed, or another --specs):`)
  for (const p of absent) console.log(`  ${p}`)
}
if (process.env.CONFORMANCE_KEEP) console.log(`kept ${tmp}`)
else fs.rmSync(tmp, { recursive: true, force: true })

console.log(`\nconformance: ${total.pass} passed, ${total.fail} failed (${total.known} expected), ${total.skip} skipped`)
if (unexpected.length) {
  console.log(`\n${unexpected.length} failures not in ${path.basename(knownFile)}:`)
  for (const l of unexpected) console.log(`  ${l.name}`)
  process.exit(1)
}
