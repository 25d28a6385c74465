// A static server for the browser tests and the benchmark (127.0.0.1, a free port), and the
// bundles they load: ipfs-car for the page (esbuild), and carport itself bundled by esbuild and,
// as an application importing it from npm, by Vite (to show bundlers handle its worker and .wasm).
import { createServer } from 'node:http'
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as esbuild from 'esbuild'
import { build as viteBuild } from 'vite'

const here = fileURLToPath(new URL('.', import.meta.url))
const npm = join(here, '../../npm')
const bundle = join(here, '.bundle')

const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.html': 'text/html', '.wasm': 'application/wasm', '.json': 'application/json', '.car': 'application/vnd.ipld.car' }

/** Builds the bundles (ipfs-car + @ipld/car for the page; carport and its worker with esbuild). */
export async function build () {
  mkdirSync(bundle, { recursive: true })
  await esbuild.build({
    entryPoints: { 'ipfs-car': join(here, 'pages/ipfs-car-entry.js') },
    bundle: true, format: 'esm', platform: 'browser', outdir: bundle, minify: true, logLevel: 'error'
  })
  // carport through a bundler: the page bundle and the worker bundle side by side, with the
  // .wasm beside them (where `new URL('carport_wasm_bg.wasm', import.meta.url)` points).
  await esbuild.build({
    entryPoints: { carport: join(npm, 'src/browser.js'), worker: join(npm, 'src/worker.js') },
    bundle: true, format: 'esm', platform: 'browser', outdir: bundle, logLevel: 'error'
  })
  copyFileSync(join(npm, 'gen/carport_wasm_bg.wasm'), join(bundle, 'carport_wasm_bg.wasm'))
  // vite-app/ imports 'carport' (this package's dependency on ../../npm), served under /vite/.
  await viteBuild({ root: join(here, 'vite-app'), base: '/vite/', logLevel: 'error', configFile: false, build: { outDir: join(bundle, 'vite'), emptyOutDir: true } })
}

/** Serves /npm/ (the package as built), /bundle/, /vite/ and /pages/. */
export function serve () {
  const roots = { npm, bundle, vite: join(bundle, 'vite'), pages: join(here, 'pages') }
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x')
    const [, top, ...rest] = url.pathname.split('/')
    const base = roots[top]
    const file = base && normalize(join(base, ...rest))
    if (!file || !file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found')
      return
    }
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' })
    res.end(readFileSync(file))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${server.address().port}` })))
}
