// carport pack --profile ipfs-car  vs  ipfs-car 3.1.0 (`ipfs-car pack`), comparing the root CID
// and the set of block CIDs (ipfs-car writes repeated blocks more than once; carport writes each
// once, so sets are compared). ipfs-car's CARs are read with @ipld/car and every block is hashed.
//
// ipfs-car's rules (see /work/notes/profiles.md §4): files only (empty folders vanish, symlinks
// inside folders are skipped), hidden names excluded unless -H, the root is the common parent of
// all files (single-child folder chains collapse), --no-wrap only matters with exactly one file,
// folders with more than 1000 entries are HAMTs.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, describe, test } from 'node:test'
import { cleanupTmp, detBytes, textBytes, tmpDir, writeDetFile, writeTree } from './lib/gen.mjs'
import { assertSameBlocks, carportPack, checkCarportCar, ipfsCarLibFile, ipfsCarPack, readCar } from './lib/tools.mjs'
import { countTree, emptyDirsTree, hiddenTree, SORT_TRAP_NAMES, unicodeTree } from './lib/trees.mjs'

after(cleanupTmp)

const MiB = 1024 * 1024
const tmp = tmpDir('ipfs-car')
let n = 0

/** Pack `input` with both tools; compare roots and block sets. Returns the two CAR paths. */
async function compare (input, { wrap = true, hidden = false, args = [], keep = false } = {}) {
  const base = path.join(tmp, `cmp-${n++}`)
  const refCar = base + '.ipfs-car.car'
  const myCar = base + '.carport.car'
  const myArgs = ['--profile', 'ipfs-car', ...args, ...(hidden ? ['--hidden'] : [])]
  const [refRoot, got] = await Promise.all([ipfsCarPack(input, refCar, { wrap, hidden }), carportPack(input, myCar, myArgs)])
  const ref = await readCar(refCar)
  assert.deepEqual(ref.roots, [refRoot], 'ipfs-car CAR header root (test setup)')
  assert.equal(got, refRoot, `root CID: carport pack ${path.basename(input)} ${myArgs.join(' ')} vs ipfs-car pack${wrap ? '' : ' --no-wrap'}${hidden ? ' --hidden' : ''}`)
  assertSameBlocks(await checkCarportCar(myCar, got), new Set(ref.blocks.map(b => b.cid)), path.basename(input))
  if (!keep) {
    fs.rmSync(refCar)
    fs.rmSync(myCar)
  }
  return { refCar, myCar }
}

describe('single files: carport --profile ipfs-car vs ipfs-car pack --no-wrap', () => {
  // [size, seed or 'zero' or 'text', fixture]
  const cases = [
    [0, 'empty', 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku'],
    [1, 'one'],
    [MiB - 1, 'chunk-v1-seed'],
    [MiB, 'chunk-v1-seed', 'bafkreiacndfy443ter6qr2tmbbdhadvxxheowwf75s6zehscklu6ezxmta'],
    [MiB + 1, 'chunk-v1-seed', 'bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64'],
    [3 * MiB, 'zero'], // three identical leaves: ipfs-car writes the leaf 3 times
    [2.5 * MiB, 'text'],
    [64 * MiB + 1, 'big'] // 65 leaves; the largest input in the suite
    // 1024 MiB (+1), the width boundary, is too slow for CI; see the library tests below.
  ]
  for (const [size, seed, fixture] of cases) {
    test(`${size} bytes (${seed})`, async () => {
      const f = path.join(tmp, `file-${size}-${seed}`)
      if (seed === 'zero') fs.writeFileSync(f, Buffer.alloc(size))
      else if (seed === 'text') fs.writeFileSync(f, textBytes(size, 'ipfs-car-text'))
      else writeDetFile(f, size, seed)
      try {
        const { refCar } = await compare(f, { wrap: false, keep: true })
        if (fixture != null) assert.deepEqual((await readCar(refCar)).roots, [fixture], 'ipfs-car vs known CID (test setup)')
      } finally {
        fs.rmSync(f)
      }
    })
  }
})

describe('single files wrapped: carport --profile ipfs-car --wrap vs ipfs-car pack (default --wrap)', () => {
  test('f1m1.bin, 1 MiB + 1', async () => {
    const f = path.join(tmp, 'f1m1.bin')
    writeDetFile(f, MiB + 1, 'chunk-v1-seed')
    await compare(f, { args: ['--wrap'] })
  })
  test('unicode name "café 日本 😀.txt"', async () => {
    const f = path.join(tmp, 'café 日本 😀.txt')
    fs.writeFileSync(f, 'bonjour\n')
    await compare(f, { args: ['--wrap'] })
  })
})

// The width boundary (1024 leaves = 1 GiB) through ipfs-car's own encoder (the code the CLI runs,
// @ipld/unixfs 3.0.0 with raw leaves) with a small chunk size and width, against
// `carport pack --profile ipfs-car --chunker size-C --max-links W`.
describe('ipfs-car encoder with small chunk/width vs carport --chunker/--max-links', () => {
  test('harness check: library with default settings = ipfs-car CLI (1 MiB + 1)', async () => {
    const f = path.join(tmp, 'lib-check')
    writeDetFile(f, MiB + 1, 'chunk-v1-seed')
    const ref = await ipfsCarLibFile(f)
    assert.equal(ref.root, 'bafybeigmix7t42i6jacydtquhet7srwvgpizfg7gjbq7627d35mjomtu64')
  })
  const SMALL = [
    [1024, 4, [0, 1, 1024, 1025, 4 * 1024, 4 * 1024 + 1, 16 * 1024, 16 * 1024 + 1, 64 * 1024, 64 * 1024 + 1, 100_003]],
    [1000, 3, [3000, 3001, 9000, 9001, 27_000, 27_001, 81_001]]
  ]
  for (const [chunk, width, sizes] of SMALL) {
    test(`chunk ${chunk}, width ${width}: sizes ${sizes.join(', ')}`, async () => {
      for (const size of sizes) {
        const f = path.join(tmp, `lib-${chunk}-${width}-${size}`)
        fs.writeFileSync(f, detBytes(size, `lib-${size}`))
        const car = f + '.car'
        const [ref, got] = await Promise.all([
          ipfsCarLibFile(f, { chunk, width }),
          carportPack(f, car, ['--profile', 'ipfs-car', '--chunker', `size-${chunk}`, '--max-links', String(width)])
        ])
        assert.equal(got, ref.root, `root CID, ${size} bytes`)
        assertSameBlocks(await checkCarportCar(car, got), ref.blocks, `${size} bytes`)
      }
    })
  }
})

describe('folders: carport --profile ipfs-car vs ipfs-car pack', () => {
  test('nested folders with unicode names, incl. names whose UTF-16 and UTF-8 orders differ', async () => {
    // JS sorts '😀' (0xD83D..) before '～' (0xFF5E); UTF-8 sorts '～' (EF..) before '😀' (F0..).
    // ipfs-car orders files with JS comparison, but dag-pb links are sorted by bytes.
    const d = writeTree(path.join(tmp, 'unicode'), unicodeTree('ipfs-car-unicode', { big: 2 * MiB + 5 }))
    await compare(d)
  })

  test('flat folder of sort-trap names only', async () => {
    const d = writeTree(path.join(tmp, 'sorttrap'), SORT_TRAP_NAMES.map((nm, i) => ({ path: nm, content: String(i) })))
    await compare(d)
  })

  test('empty folders are dropped', async () => {
    const d = writeTree(path.join(tmp, 'emptydirs'), [...emptyDirsTree(), { path: 'b.txt', content: 'b' }])
    await compare(d)
  })

  test('hidden entries: excluded by default, included with --hidden', async () => {
    const d = writeTree(path.join(tmp, 'hidden'), hiddenTree())
    await compare(d)
    await compare(d, { hidden: true })
  })

  test('symlinks inside the folder are skipped', async () => {
    const d = writeTree(path.join(tmp, 'symlinks'), [
      { path: 'a.txt', content: 'a' },
      { path: 'sub/b.txt', content: 'b' },
      { path: 'link-to-a', symlink: 'a.txt' },
      { path: 'sub/link-to-sub', symlink: '.' },
      { path: 'dangling', symlink: 'does-not-exist' }
    ])
    await compare(d)
  })

  test('identical files (repeated blocks in ipfs-car\'s CAR)', async () => {
    const same = detBytes(1.5 * MiB, 'same')
    const d = writeTree(path.join(tmp, 'dups'), [
      { path: 'a.bin', content: same }, { path: 'b.bin', content: same }, { path: 'c/a.bin', content: same }
    ])
    await compare(d)
  })

  test('single-child folder chain collapses to the common parent of all files', async () => {
    const d = writeTree(path.join(tmp, 'chain'), [
      { path: 'only/deeper/two.txt', content: 'two' },
      { path: 'only/three.txt', content: 'three' }
    ])
    await compare(d)
  })

  test('folder holding exactly one file (nested): wrapped -> folder with just the file', async () => {
    const d = writeTree(path.join(tmp, 'one'), [{ path: 'only/one.txt', content: 'one' }])
    await compare(d)
  })

  test('folder holding exactly one file (not nested) = ipfs-car\'s default --wrap', async () => {
    const d = writeTree(path.join(tmp, 'one-flat'), [{ path: 'one.txt', content: 'one' }])
    await compare(d)
  })

  // `ipfs-car pack DIR --no-wrap` on a folder holding exactly one file gives the bare file
  // (bafkreidwslb22nkaxoadyaqlhlxgntmiq4jdenhkbrxhcq6avxlt75br5u for "one"). carport has no flag
  // for that: without --wrap it gives the folder (= ipfs-car's default), with --wrap it adds a
  // level named after the folder, which ipfs-car never does for a folder argument.
  test('folder holding exactly one file, ipfs-car --no-wrap -> bare file', { skip: 'no carport equivalent (see comment)' }, () => {})

  test('folder with no files at all -> empty directory', async () => {
    const d = writeTree(path.join(tmp, 'nofiles'), [{ path: 'a/b', dir: true }, { path: '.hidden', content: 'h' }])
    await compare(d)
  })

  for (const count of [1000, 1001]) {
    test(`${count} files (HAMT iff > 1000 entries)`, async () => {
      const d = writeTree(path.join(tmp, `count-${count}`), countTree(count))
      await compare(d)
    })
  }

  test('1000 files + 1 subfolder = 1001 entries -> HAMT', async () => {
    const d = writeTree(path.join(tmp, 'count-1000-sub'), [...countTree(1000), { path: 'sub/x', content: 'x' }])
    await compare(d)
  })

  for (const [what, extra] of [
    ['1 empty folder', { path: 'empty', dir: true }],
    ['1 hidden file', { path: '.hidden', content: 'h' }],
    ['1 symlink', { path: 'link', symlink: 'f0' }]
  ]) {
    test(`1000 files + ${what} -> ipfs-car sees 1000 entries: flat`, async () => {
      const d = writeTree(path.join(tmp, 'count-1000-' + what.replace(/ /g, '-')), [...countTree(1000), extra])
      await compare(d)
    })
  }

  test('1001-entry folder nested in a small folder, next to a 1000-entry one', async () => {
    const d = writeTree(path.join(tmp, 'nested-hamt'), [
      ...countTree(1001, 'big/f'), ...countTree(1000, 'flat/f'), { path: 'top.txt', content: 'top' }
    ])
    await compare(d)
  })
})
