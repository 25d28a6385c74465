// carport pack --profile unixfs-v0-2015|unixfs-v1-2025  vs  ipfs-unixfs-importer 17.1.1 { profile }.
// Compares the root CID and the complete set of block CIDs (carport `blocks` vs the CIDs the
// importer put into its blockstore). Where IPIP-499 publishes a fixture CID for the exact input
// (kubo's deterministic generator and seeds), the root must also equal it.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { fixedSize, rabin } from 'ipfs-unixfs-importer/chunker'
import { balanced, trickle } from 'ipfs-unixfs-importer/layout'
import { cleanupTmp, detBytes, textBytes, tmpDir, writeDetFile, writeTree } from './lib/gen.mjs'
import { assertSameBlocks, carportPack, checkCarportCar, importDir, importFile } from './lib/tools.mjs'
import { emptyDirsTree, HAMT_FIXTURES, hiddenTree, kuboHamtTree, unicodeHamtTree, unicodeTree } from './lib/trees.mjs'

after(cleanupTmp)

const KiB = 1024
const MiB = 1024 * KiB

const PROFILES = {
  'unixfs-v0-2015': {
    chunk: 256 * KiB,
    maxLinks: 174,
    hello: 'Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD',
    emptyDir: 'QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn',
    // [size, seed, IPIP-499 fixture CID or undefined]
    files: [
      [0, 'empty'],
      [1, 'one'],
      [256 * KiB - 1, 'chunk-v0-seed'],
      [256 * KiB, 'chunk-v0-seed', 'QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE'],
      [256 * KiB + 1, 'chunk-v0-seed', 'QmYyLxtzZyW22zpoVAtKANLRHpDjZtNeDjQdJrcQNWoRkJ'],
      [174 * 256 * KiB, 'v0-seed', 'QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2'],
      [174 * 256 * KiB + 1, 'v0-seed', 'QmV81WL765sC8DXsRhE5fJv2rwhS4icHRaf3J9Zk5FdRnW']
    ]
  },
  'unixfs-v1-2025': {
    chunk: MiB,
    maxLinks: 1024,
    hello: 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e',
    emptyDir: 'bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354',
    files: [
      [0, 'empty'],
      [1, 'one'],
      [MiB - 1, 'chunk-v1-seed'],
      [MiB, 'chunk-v1-seed', 'bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta'],
      [MiB + 1, 'chunk-v1-seed', 'bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64'],
      [5 * MiB + 3, 'v1-multi']
      // chunk*maxLinks (1 GiB) and +1 are not run here: far too slow for CI. The same boundaries are
      // covered below with --chunker size-1024 --max-links 4 (and size-1000/3), which builds the
      // identical balanced layout; the 1 GiB IPIP vectors belong to the Rust test suite.
    ]
  }
}

/** Small settings that give deep trees cheaply: [chunk, maxLinks, sizes]. */
const SMALL = [
  [1024, 4, [0, 1, 1023, 1024, 1025, 4 * 1024 - 1, 4 * 1024, 4 * 1024 + 1, 16 * 1024, 16 * 1024 + 1, 64 * 1024, 64 * 1024 + 1, 100_003]],
  [1000, 3, [2999, 3000, 3001, 9000, 9001, 27_000, 27_001, 81_001]]
]

/** Profile overrides: [carport args, importer options]. */
const OVERRIDES = {
  'unixfs-v0-2015': [
    [['--cid-version', '1'], { cidVersion: 1 }],
    [['--cid-version', '1', '--raw-leaves', 'true'], { cidVersion: 1, rawLeaves: true }]
  ],
  'unixfs-v1-2025': [
    [['--raw-leaves', 'false'], { rawLeaves: false }],
    [['--cid-version', '0', '--raw-leaves', 'false'], { cidVersion: 0, rawLeaves: false }]
  ]
}

async function compareFile (file, profile, { args = [], opts = {}, fixture, wrap = false } = {}) {
  const car = file + '.' + profile + '.car'
  const [ref, got] = await Promise.all([
    importFile(file, { profile, ...opts }, { wrap }),
    carportPack(file, car, ['--profile', profile, ...args, ...(wrap ? ['--wrap'] : [])])
  ])
  if (fixture != null) assert.equal(ref.root, fixture, 'ipfs-unixfs-importer vs IPIP-499 fixture (test setup)')
  assert.equal(got, ref.root, `root CID of ${path.basename(file)} (${profile} ${args.join(' ')})`)
  assertSameBlocks(await checkCarportCar(car, got), ref.blocks, `${path.basename(file)} ${profile} ${args.join(' ')}`)
  fs.rmSync(car)
}

async function compareDir (dir, profile, { args = [], hidden = false, wrap = false, fixture } = {}) {
  const car = dir + '.' + profile + (hidden ? '.hidden' : '') + (wrap ? '.wrap' : '') + '.car'
  const [ref, got] = await Promise.all([
    importDir(dir, { profile }, { hidden, wrap }),
    carportPack(dir, car, ['--profile', profile, ...args, ...(hidden ? ['--hidden'] : []), ...(wrap ? ['--wrap'] : [])])
  ])
  if (fixture != null) assert.equal(ref.root, fixture, 'ipfs-unixfs-importer vs IPIP-499 fixture (test setup)')
  assert.equal(got, ref.root, `root CID of ${path.basename(dir)}/ (${profile})`)
  assertSameBlocks(await checkCarportCar(car, got), ref.blocks, `${path.basename(dir)}/ ${profile}`)
  fs.rmSync(car)
}

for (const [profile, P] of Object.entries(PROFILES)) {
  describe(`${profile}: carport vs ipfs-unixfs-importer 17`, () => {
    const tmp = tmpDir(profile)

    test('"hello world"', async () => {
      const f = path.join(tmp, 'hello.txt')
      fs.writeFileSync(f, 'hello world')
      await compareFile(f, profile, { fixture: P.hello })
    })

    for (const [size, seed, fixture] of P.files) {
      test(`file of ${size} bytes (seed ${seed})${fixture ? ' = IPIP-499 fixture' : ''}`, async () => {
        const f = path.join(tmp, `f-${size}`)
        writeDetFile(f, size, seed)
        try {
          await compareFile(f, profile, { fixture })
        } finally {
          fs.rmSync(f)
        }
      })
    }

    test('text file, 2.5 MiB', async () => {
      const f = path.join(tmp, 'text.txt')
      fs.writeFileSync(f, textBytes(2.5 * MiB, 'text'))
      await compareFile(f, profile)
    })

    for (const [chunk, maxLinks, sizes] of SMALL) {
      test(`--chunker size-${chunk} --max-links ${maxLinks}: sizes ${sizes.join(', ')}`, async () => {
        const args = ['--chunker', `size-${chunk}`, '--max-links', String(maxLinks)]
        for (const size of sizes) {
          const f = path.join(tmp, `small-${chunk}-${maxLinks}-${size}`)
          fs.writeFileSync(f, size % 2 === 0 ? detBytes(size, `small-${size}`) : textBytes(size, `small-${size}`))
          await compareFile(f, profile, { args, opts: { chunker: fixedSize({ chunkSize: chunk }), layout: balanced({ maxChildrenPerNode: maxLinks }) } })
        }
      })
    }

    // kubo --trickle = boxo's trickle layout: dag-pb leaves are typed Raw (0), and the root is a
    // file node even over a single chunk. The importer equivalent: leafType 'raw',
    // reduceSingleLeafToSelf false, trickle({ layerRepeat: 4 }).
    const trickleOpts = (chunkSize, maxChildrenPerNode) => ({
      leafType: 'raw', reduceSingleLeafToSelf: false, chunker: fixedSize({ chunkSize }), layout: trickle({ maxChildrenPerNode, layerRepeat: 4 })
    })
    test('--layout trickle --chunker size-1024 --max-links 4: sizes 0 .. 300000', async () => {
      for (const size of [0, 1, 1024, 1025, 4096, 4097, 5000, 20_000, 20_481, 100_000, 300_000]) {
        const f = path.join(tmp, `trickle-${size}`)
        fs.writeFileSync(f, detBytes(size, `trickle-${size}`))
        await compareFile(f, profile, { args: ['--layout', 'trickle', '--chunker', 'size-1024', '--max-links', '4'], opts: trickleOpts(1024, 4) })
      }
    })
    if (profile === 'unixfs-v0-2015') {
      test('--layout trickle: 45 MiB, seed "trickle-test" = kubo dag_layout_test vector', async () => {
        const f = path.join(tmp, 'trickle-45MiB')
        writeDetFile(f, 45 * MiB, 'trickle-test')
        try {
          await compareFile(f, profile, { args: ['--layout', 'trickle'], opts: trickleOpts(256 * KiB, 174), fixture: 'QmbqR6g7YCpndLcCZZXkGyj13uMcSrwDYUvZ47vJqBVjUH' })
        } finally {
          fs.rmSync(f)
        }
      })
    }

    for (const [args, opts] of OVERRIDES[profile]) {
      test(`overrides ${args.join(' ')} (default chunker, 3 files)`, async () => {
        for (const size of [1, P.chunk, 3 * P.chunk + 5]) {
          const f = path.join(tmp, `ovr-${args.join('')}-${size}`)
          writeDetFile(f, size, `ovr-${size}`)
          await compareFile(f, profile, { args, opts })
          fs.rmSync(f)
        }
        // and a deep small-chunk tree
        const f = path.join(tmp, `ovr-small-${args.join('')}`)
        fs.writeFileSync(f, detBytes(70_000, 'ovr-small'))
        await compareFile(f, profile, {
          args: [...args, '--chunker', 'size-1024', '--max-links', '4'],
          opts: { ...opts, chunker: fixedSize({ chunkSize: 1024 }), layout: balanced({ maxChildrenPerNode: 4 }) }
        })
      })
    }

    test('nested folders with unicode names (é vs e+U+0301, 日本, emoji, ～/😀 sort trap)', async () => {
      const d = writeTree(path.join(tmp, 'unicode'), unicodeTree('unicode-' + profile))
      await compareDir(d, profile)
    })

    test('empty folders (nested, unicode) are kept', async () => {
      const d = writeTree(path.join(tmp, 'emptydirs'), emptyDirsTree())
      await compareDir(d, profile)
    })

    test('--wrap: a file and a folder wrapped in a folder naming them (importer wrapWithDirectory)', async () => {
      const f = path.join(tmp, 'wrapped 日本.txt')
      fs.writeFileSync(f, textBytes(300_000, 'wrapped'))
      await compareFile(f, profile, { wrap: true })
      const d = writeTree(path.join(tmp, 'wrapdir é'), [{ path: 'a.txt', content: 'a' }, { path: 'sub/b.txt', content: 'b' }, { path: 'empty', dir: true }])
      await compareDir(d, profile, { wrap: true })
    })

    test('an empty folder as the root = IPIP-499 empty directory', async () => {
      const d = path.join(tmp, 'emptyroot')
      fs.mkdirSync(d)
      await compareDir(d, profile, { fixture: P.emptyDir })
    })

    test('hidden entries: excluded by default, included with --hidden', async () => {
      const d = writeTree(path.join(tmp, 'hidden'), hiddenTree())
      await compareDir(d, profile)
      await compareDir(d, profile, { hidden: true })
    })

    for (const kind of ['basic', 'hamt']) {
      const fx = HAMT_FIXTURES[profile][kind]
      test(`HAMT threshold: ${fx.args[0]} files, names ${fx.args[1]}/${fx.args[2]} chars -> ${kind} (IPIP-499 fixture)`, async () => {
        const d = writeTree(path.join(tmp, 'hamt-' + kind), kuboHamtTree(...fx.args))
        await compareDir(d, profile, { fixture: fx.cid })
      })
    }

    test('HAMT with long multi-byte names (1300 files)', async () => {
      const d = writeTree(path.join(tmp, 'hamt-unicode'), unicodeHamtTree())
      await compareDir(d, profile)
    })

    test('HAMT folder (with a subfolder inside it) nested in a plain folder', async () => {
      // Over the threshold from its files alone, so sharded whether or not the subfolder's link is
      // counted (ipfs-unixfs-importer counts unfinished subdirectories as 0 bytes, boxo does not).
      const d = writeTree(path.join(tmp, 'hamt-nested'), [
        ...unicodeHamtTree().map(e => ({ ...e, path: 'big/' + e.path })),
        { path: 'big/zz-sub/inner.txt', content: 'inner' },
        { path: 'small.txt', content: 'small' },
        { path: 'other/x', content: 'x' }
      ])
      await compareDir(d, profile)
    })
  })
}

// Rabin / buzhash: ipfs-unixfs-importer 17's rabin chunker is rabin-wasm (LBFS-style, its own
// polynomial and window of 16), not go-ipfs-chunker's restic-style Rabin (polynomial
// 17437180132763653, window 64), and it has no buzhash at all. Measured: 2 MiB of ChaCha20 data,
// `--chunker rabin-16384-65536-131072` vs rabin({16384, 65536, 131072}) share 0 of ~30 blocks.
// So there is no JS reference: carport's rabin/buzhash are checked against Go-generated vectors
// in the Rust tests, and here only for round-tripping (roundtrip.test.mjs).
test('rabin/buzhash vs ipfs-unixfs-importer', { skip: 'no go-compatible rabin/buzhash chunker in ipfs-unixfs-importer (see comment)' }, async () => {
  void rabin
})
