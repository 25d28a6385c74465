// Cross-reading: carport's CARs unpacked by ipfs-car 3 (`ipfs-car unpack`, which uses
// ipfs-unixfs-exporter and validates every block), and ipfs-car's CARs unpacked and verified by
// carport. The unpacked bytes must equal the input.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { cleanupTmp, detBytes, ipfsCarView, notHidden, readTree, textBytes, tmpDir, writeDetFile, writeTree } from './lib/gen.mjs'
import { carportPack, carportUnpack, carportVerify, checkCarportCar, ipfsCarPack, ipfsCarUnpack, run, CARPORT } from './lib/tools.mjs'
import { countTree, emptyDirsTree, hiddenTree, unicodeHamtTree, unicodeTree } from './lib/trees.mjs'

after(cleanupTmp)

const MiB = 1024 * 1024
const tmp = tmpDir('roundtrip')
let n = 0

/** Assert that two readTree() maps are equal, with a short message on the first difference. */
function assertSameTree (got, want, label) {
  const g = [...got.keys()].sort()
  const w = [...want.keys()].sort()
  assert.deepEqual(g, w, `${label}: paths differ`)
  for (const k of w) {
    const a = got.get(k)
    const b = want.get(k)
    assert.equal(a.type, b.type, `${label}: ${k} type`)
    if (b.type === 'file') assert.ok(a.bytes.equals(b.bytes), `${label}: ${k} content differs (${a.bytes.length} vs ${b.bytes.length} bytes)`)
    if (b.type === 'symlink') assert.equal(a.target, b.target, `${label}: ${k} target`)
  }
}

// A tree with everything the unixfs profiles keep: unicode names, empty folders, a multi-chunk file.
// (No symlinks: `ipfs-car unpack` writes a symlink as an empty regular file, and
// no hidden files in the expectation: carport excludes them by default.)
const richTree = () => [
  ...unicodeTree('roundtrip', { big: 3 * MiB + 17 }),
  ...emptyDirsTree().map(e => ({ ...e, path: 'empties/' + e.path })),
  ...hiddenTree().map(e => ({ ...e, path: 'hid/' + e.path }))
]

describe('carport pack -> ipfs-car unpack', () => {
  const input = writeTree(path.join(tmp, 'rich'), richTree())
  const fileIn = path.join(tmp, 'file.bin')
  writeDetFile(fileIn, 5 * MiB + 3, 'rt-file')
  const smallIn = path.join(tmp, 'small.bin') // for the tiny-chunk settings
  fs.writeFileSync(smallIn, detBytes(MiB + 3, 'rt-small'))

  async function packUnpack (src, args) {
    const car = path.join(tmp, `c-${n}.car`)
    const out = path.join(tmp, `out-${n++}`)
    const root = await carportPack(src, car, args)
    await checkCarportCar(car, root)
    await ipfsCarUnpack(car, out)
    return out
  }

  for (const profile of ['unixfs-v0-2015', 'unixfs-v1-2025']) {
    test(`folder, --profile ${profile} (empty folders kept, hidden dropped)`, async () => {
      const out = await packUnpack(input, ['--profile', profile])
      assertSameTree(readTree(out), readTree(input, notHidden), profile)
    })
  }

  test('folder, --profile ipfs-car (empty folders and hidden dropped)', async () => {
    const out = await packUnpack(input, ['--profile', 'ipfs-car'])
    assertSameTree(readTree(out), ipfsCarView(readTree(input)), 'ipfs-car')
  })

  test('folder with --hidden', async () => {
    const out = await packUnpack(input, ['--profile', 'unixfs-v1-2025', '--hidden'])
    assertSameTree(readTree(out), readTree(input), 'hidden')
  })

  test('HAMT folder (1300 long unicode names) under all three profiles', async () => {
    // 1300 entries with ~190-byte names: over 256 KiB for v0 and v1, and over 1000 entries for ipfs-car
    const h = writeTree(path.join(tmp, 'hamt'), unicodeHamtTree())
    for (const profile of ['unixfs-v0-2015', 'unixfs-v1-2025', 'ipfs-car']) {
      const out = await packUnpack(h, ['--profile', profile])
      assertSameTree(readTree(out), readTree(h), profile)
    }
  })

  const fileCases = [
    ['unixfs-v0-2015'],
    ['unixfs-v1-2025'],
    ['ipfs-car'],
    ['unixfs-v0-2015', '--chunker', 'size-1000', '--max-links', '3'],
    ['unixfs-v1-2025', '--chunker', 'size-1024', '--max-links', '2', '--raw-leaves', 'false'],
    ['unixfs-v0-2015', '--layout', 'trickle', '--chunker', 'size-4096', '--max-links', '4'],
    ['unixfs-v1-2025', '--layout', 'trickle', '--chunker', 'size-2048', '--max-links', '3'],
    // rabin and buzhash have no JS reference for CIDs (see unixfs.test.mjs); the DAGs must still read
    ['unixfs-v0-2015', '--chunker', 'rabin'],
    ['unixfs-v1-2025', '--chunker', 'rabin-16384-65536-131072'],
    ['unixfs-v1-2025', '--chunker', 'buzhash'],
    ['unixfs-v0-2015', '--chunker', 'buzhash', '--layout', 'trickle']
  ]
  for (const [profile, ...args] of fileCases) {
    const src = args.some(a => /^size-\d{4}$/.test(a)) ? smallIn : fileIn
    test(`${src === fileIn ? '5 MiB' : '1 MiB'} file, --profile ${profile} ${args.join(' ')}`, async () => {
      const out = await packUnpack(src, ['--profile', profile, ...args])
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(src)), 'unpacked bytes differ')
    })
  }

  test('empty file and wrapped file', async () => {
    const e = path.join(tmp, 'empty.bin')
    fs.writeFileSync(e, '')
    const out = await packUnpack(e, ['--profile', 'unixfs-v0-2015'])
    assert.equal(fs.readFileSync(out).length, 0)
    const w = path.join(tmp, 'wrapped é.txt')
    fs.writeFileSync(w, textBytes(10_000, 'wrapped'))
    const out2 = await packUnpack(w, ['--profile', 'unixfs-v1-2025', '--wrap'])
    assertSameTree(readTree(out2), new Map([['wrapped é.txt', { type: 'file', bytes: fs.readFileSync(w) }]]), 'wrap')
  })

  // Not covered: --inline-limit (identity CIDs). ipfs-car unpack rejects identity multihashes
  // ("UnsupportedHashError: multihash code 0 is not supported" from @web3-storage/car-block-validator),
  // which is an ipfs-car limitation, not a carport one.
})

describe('ipfs-car pack -> carport verify + carport unpack', () => {
  const input = writeTree(path.join(tmp, 'ic-rich'), richTree())

  async function check (src, opts = {}) {
    const car = path.join(tmp, `ic-${n}.car`)
    const out = path.join(tmp, `ic-out-${n++}`)
    const root = await ipfsCarPack(src, car, opts)
    const v = await carportVerify(car)
    assert.equal(v.code, 0, `carport verify failed on ipfs-car's CAR: ${v.stderr}${v.stdout}`)
    const v2 = await carportVerify(car, ['--root', root])
    assert.equal(v2.code, 0, `carport verify --root failed: ${v2.stderr}`)
    const ls = await run(CARPORT, ['ls', car])
    assert.equal(ls.code, 0, `carport ls failed: ${ls.stderr}`)
    await carportUnpack(car, out)
    return out
  }

  test('folder with unicode names, empty folders and hidden files', async () => {
    const out = await check(input)
    assertSameTree(readTree(out), ipfsCarView(readTree(input)), 'ipfs-car folder')
  })

  test('folder with --hidden', async () => {
    const out = await check(input, { hidden: true })
    const want = new Map([...readTree(input)].filter(([, e]) => e.type === 'file'))
    for (const k of [...want.keys()]) {
      const parts = k.split('/')
      for (let i = 1; i < parts.length; i++) want.set(parts.slice(0, i).join('/'), { type: 'dir' })
    }
    assertSameTree(readTree(out), want, 'ipfs-car --hidden')
  })

  test('HAMT folder (1001 entries) with repeated blocks', async () => {
    const h = writeTree(path.join(tmp, 'ic-hamt'), [...countTree(1001), { path: 'sub/same1', content: detBytes(2 * MiB, 's') }, { path: 'sub/same2', content: detBytes(2 * MiB, 's') }])
    const out = await check(h)
    assertSameTree(readTree(out), readTree(h), 'ipfs-car HAMT')
  })

  test('single files: 3 MiB of zeros (one leaf written 3 times), 64 MiB + 1, empty', async () => {
    const cases = [['zeros', Buffer.alloc(3 * MiB)], ['empty', Buffer.alloc(0)]]
    for (const [name, bytes] of cases) {
      const f = path.join(tmp, `ic-${name}`)
      fs.writeFileSync(f, bytes)
      const out = await check(f, { wrap: false })
      assert.ok(fs.readFileSync(out).equals(bytes), `${name}: unpacked bytes differ`)
    }
    const big = path.join(tmp, 'ic-big')
    writeDetFile(big, 64 * MiB + 1, 'ic-big')
    const out = await check(big, { wrap: false })
    assert.ok(fs.readFileSync(out).equals(fs.readFileSync(big)), 'big: unpacked bytes differ')
    fs.rmSync(big)
    fs.rmSync(out)
  })

  test('wrapped single file', async () => {
    const f = path.join(tmp, 'ic 日本.txt')
    fs.writeFileSync(f, textBytes(3 * MiB, 'ic-wrapped'))
    const out = await check(f)
    assertSameTree(readTree(out), new Map([['ic 日本.txt', { type: 'file', bytes: fs.readFileSync(f) }]]), 'wrapped')
  })
})
