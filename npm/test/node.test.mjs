// The built npm package in Node 20: pack (one file, folders, every input kind, shards), verifyCar,
// ls, unpack, abort, typed errors; CIDs and blocks checked against carport's CLI
// (CARPORT_BIN, default ../target/release/carport).
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'

import { bytes } from '../../tests/browser/pages/bytes.js'
import { CarportError, carCid, ls, pack, pieceCid, unpack, verifyArchive, verifyCar } from '../src/node.js'

const BIN = process.env.CARPORT_BIN ?? new URL('../../target/release/carport', import.meta.url).pathname
const tmp = mkdtempSync(join(process.env.TMPDIR ?? tmpdir(), 'carport-npm-'))
after(() => rmSync(tmp, { recursive: true, force: true }))

const cli = (...args) => execFileSync(BIN, args, { encoding: 'utf8', maxBuffer: 1 << 30 }).trim()
const lastLine = (s) => s.split('\n').at(-1)


/** CIDs of a CAR's blocks, per carport's CLI. */
function cliBlocks (car) {
  const file = join(tmp, `b-${Math.random().toString(36).slice(2)}.car`)
  writeFileSync(file, car)
  try {
    return cli('blocks', file).split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])
  } finally {
    rmSync(file)
  }
}

async function shardBytes (shard) {
  return new Uint8Array(await shard.blob.arrayBuffer())
}

describe('pack one file', () => {
  for (const profile of ['unixfs-v0-2015', 'unixfs-v1-2025', 'ipfs-car']) {
    for (const len of [0, 1, 262144, 1048577, 3 * 1048576 + 5]) {
      test(`${profile}, ${len} bytes: root and blocks equal the CLI's`, async () => {
        const data = bytes(len, len + 7)
        const file = join(tmp, `in-${profile}-${len}`)
        writeFileSync(file, data)
        const out = join(tmp, `cli-${profile}-${len}.car`)
        const want = lastLine(cli('pack', file, '--profile', profile, '-o', out))
        const { root, shards } = await pack(new Blob([data]), { profile }).collect()
        assert.equal(root, want)
        assert.equal(shards.length, 1)
        // One shard under the limit is byte for byte the CLI's CAR.
        assert.deepEqual(await shardBytes(shards[0]), new Uint8Array(readFileSync(out)))
        assert.deepEqual(shards[0].roots, [root])
        assert.equal(shards[0].last, true)
      })
    }
  }

  test('overrides: chunker, layout, max links, raw leaves, CID version, hash, inline limit, CARv2', async () => {
    const data = bytes(600_000, 3)
    const file = join(tmp, 'overrides')
    writeFileSync(file, data)
    const cases = [
      [{ chunker: 'size-4096', maxLinks: 11 }, ['--chunker', 'size-4096', '--max-links', '11']],
      [{ chunker: 'rabin', layout: 'trickle' }, ['--chunker', 'rabin', '--layout', 'trickle']],
      [{ chunker: 'buzhash', rawLeaves: false, cidVersion: 1 }, ['--chunker', 'buzhash', '--raw-leaves', 'false', '--cid-version', '1']],
      [{ hash: 'blake3', chunker: 'size-65536' }, ['--hash', 'blake3', '--chunker', 'size-65536']],
      [{ profile: 'unixfs-v0-2015', inlineLimit: 32, carVersion: 2 }, ['--profile', 'unixfs-v0-2015', '--inline-limit', '32', '--car-version', '2']]
    ]
    for (const [opts, flags] of cases) {
      const out = join(tmp, 'ov.car')
      const want = lastLine(cli('pack', file, ...flags, '-o', out))
      const { root, shards } = await pack(new Blob([data]), opts).collect()
      assert.equal(root, want, JSON.stringify(opts))
      assert.deepEqual(await shardBytes(shards[0]), new Uint8Array(readFileSync(out)), JSON.stringify(opts))
    }
  })

  test('every input kind gives the same root: Blob, Uint8Array, ArrayBuffer, ReadableStream, string', async () => {
    const data = bytes(2_500_000, 9)
    const want = await pack(new Blob([data])).root
    assert.equal(await pack(data).root, want)
    assert.equal(await pack(data.buffer).root, want)
    const stream = new ReadableStream({
      start (c) {
        for (let i = 0; i < data.length; i += 100_003) c.enqueue(data.slice(i, i + 100_003))
        c.close()
      }
    })
    assert.equal(await pack(stream).root, want)
    assert.equal(await pack('hello').root, await pack(new TextEncoder().encode('hello')).root)
  })

  test('wrap puts the file in a folder that names it', async () => {
    const data = bytes(1000, 4)
    const dir = join(tmp, 'wrapdir')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, 'named.bin'), data)
    const want = lastLine(cli('pack', join(dir, 'named.bin'), '--wrap', '-o', join(tmp, 'w.car')))
    const file = new File([data], 'named.bin')
    assert.equal(await pack(file, { wrap: true }).root, want)
  })
})

describe('shards', () => {
  const data = bytes(9 * 1048576 + 123, 5)
  for (const carVersion of [1, 2]) {
    test(`CARv${carVersion}: each at most shardSize, roots only in the last, together the blocks of one CAR`, async () => {
      const shardSize = 2_500_000
      const { root, shards } = await pack(new Blob([data]), { shardSize, carVersion }).collect()
      const { root: whole, shards: [one] } = await pack(new Blob([data]), { carVersion }).collect()
      assert.equal(root, whole)
      assert.ok(shards.length >= 4, `${shards.length} shards`)
      const union = []
      for (const [i, s] of shards.entries()) {
        const car = await shardBytes(s)
        assert.equal(car.length, s.size)
        assert.ok(s.size <= shardSize, `shard ${i}: ${s.size}`)
        assert.equal(s.index, i)
        assert.equal(s.last, i === shards.length - 1)
        assert.deepEqual(s.roots, s.last ? [root] : [])
        assert.deepEqual(cli('roots', join(tmp, writeShard(car))).split('\n').filter(Boolean), s.roots)
        assert.equal(s.cid, await carCid(s.blob))
        assert.match(s.cid, /^bagbaiera/)
        union.push(...cliBlocks(car))
        if (!s.last) {
          await assert.rejects(verifyCar(s.blob), (e) => e instanceof CarportError && e.code === 'NoRoots')
        }
      }
      assert.deepEqual(union.sort(), cliBlocks(await shardBytes(one)).sort())
      const report = await verifyCar(shards, { root })
      assert.deepEqual(report.roots, [root])
      assert.equal(report.blocks, union.length)
      // Unpacked from the shards, the file comes back.
      const [entry] = await unpack(shards)
      assert.deepEqual(new Uint8Array(await entry.content.arrayBuffer()), data)
    })
  }

  test('a block larger than a shard is a typed error', async () => {
    await assert.rejects(pack(new Blob([bytes(300_000)]), { shardSize: 200_000 }).root,
      (e) => e instanceof CarportError && e.code === 'BlockTooLarge' && /more than the shard size 200000/.test(e.message) && e.cid.startsWith('bafk'))
  })

  test('piece CIDs of the shards equal the CLI\'s', async () => {
    const { shards } = await pack(new Blob([data]), { shardSize: 4_000_000, piece: true }).collect()
    for (const s of shards) {
      const file = join(tmp, writeShard(await shardBytes(s)))
      assert.equal(s.piece.cid, lastLine(cli('piece', file)))
      assert.equal((await pieceCid(s.blob)).cid, s.piece.cid)
    }
  })
})

function writeShard (car) {
  const name = `s-${Math.random().toString(36).slice(2)}.car`
  writeFileSync(join(tmp, name), car)
  return name
}

describe('verifyArchive', () => {
  // A record as the edge worker writes it, with the aggregate and proofs made by the CLI.
  async function archived () {
    const { root, shards } = await pack(new Blob([bytes(3_000_000, 7)]), { shardSize: 1_100_000, piece: true }).collect()
    const pieces = shards.map((s) => s.piece.cid)
    const lines = cli('aggregate', '--deal-size', '8MiB', ...pieces).split('\n')
    const aggregate = lines.at(-1)
    const record = {
      root,
      complete: true,
      stage: 'sealing',
      shards: shards.map((s, n) => ({
        car: s.cid,
        size: s.size,
        piece: s.piece.cid,
        stage: 'sealing',
        aggregate,
        inclusionProof: lines[n].split('\t')[1],
        deal: { proposal: '01JTEST' },
        times: { stored: 1, aggregated: 2, updated: 3 }
      }))
    }
    return { record, pieces, aggregate }
  }

  test("each shard's own piece CID is proven in the aggregate", async () => {
    const { record, pieces, aggregate } = await archived()
    assert.ok(pieces.length >= 3)
    const checks = await verifyArchive(record, { pieceCid: pieces })
    for (const [n, c] of checks.entries()) {
      assert.deepEqual(c, { piece: pieces[n], aggregate, stage: 'sealing', deal: { proposal: '01JTEST' } })
    }
  })

  test('a record that lies is a typed error', async () => {
    const { record, pieces } = await archived()
    const other = (await pieceCid(bytes(5000, 9))).cid
    await assert.rejects(verifyArchive(record, { pieceCid: other }), (e) => e instanceof CarportError && e.code === 'NoSuchPiece' && e.cid === other)
    const swapped = structuredClone(record)
    swapped.shards[0].inclusionProof = record.shards[1].inclusionProof
    await assert.rejects(verifyArchive(swapped, { pieceCid: pieces[0] }), (e) => e.code === 'NotIncluded' && e.cid === pieces[0])
    const waiting = structuredClone(record)
    delete waiting.shards[1].aggregate
    waiting.shards[1].stage = 'stored'
    await assert.rejects(verifyArchive(waiting, { pieceCid: pieces[1] }), (e) => e.code === 'NotAggregated')
    await assert.rejects(verifyArchive({ root: 'x' }, { pieceCid: pieces[1] }), (e) => e.code === 'ArchiveRecord')
  })
})

describe('folders', () => {
  const tree = {
    'a.txt': bytes(10, 1),
    'sub/b.bin': bytes(1_300_000, 2),
    'sub/deeper/c.txt': bytes(5000, 3),
    'sub/deeper/empty.txt': new Uint8Array(0),
    'z/y/x.bin': bytes(70_000, 4),
    '.hidden/secret': bytes(10, 5)
  }
  const dir = join(tmp, 'tree')
  for (const [p, d] of Object.entries(tree)) {
    mkdirSync(join(dir, p, '..'), { recursive: true })
    writeFileSync(join(dir, p), d)
  }
  mkdirSync(join(dir, 'empty-dir'), { recursive: true })
  const entries = () => [
    ...Object.entries(tree).map(([path, d]) => ({ path, content: new Blob([d]) })),
    { path: 'empty-dir' }
  ]

  for (const profile of ['unixfs-v0-2015', 'unixfs-v1-2025', 'ipfs-car']) {
    test(`${profile}: an iterable of { path, content } equals \`carport pack DIR\``, async () => {
      const out = join(tmp, `dir-${profile}.car`)
      const want = lastLine(cli('pack', dir, '--profile', profile, '-o', out))
      const { root, shards } = await pack(entries(), { profile }).collect()
      assert.equal(root, want)
      assert.deepEqual((await Promise.all(shards.map(async (s) => cliBlocks(await shardBytes(s))))).flat().sort(), cliBlocks(readFileSync(out)).sort())
    })
  }

  test('hidden files are left out unless asked, as the CLI', async () => {
    const want = lastLine(cli('pack', dir, '--hidden', '-o', join(tmp, 'hidden.car')))
    assert.equal(await pack(entries(), { hidden: true }).root, want)
  })

  test('async iterable with streamed contents; Files with webkitRelativePath-less names', async () => {
    async function * gen () {
      for (const e of entries()) {
        if (!e.content) { yield e; continue }
        const bytes = new Uint8Array(await e.content.arrayBuffer())
        yield { path: e.path, content: (async function * () { yield bytes.subarray(0, 7); yield bytes.subarray(7) })() }
      }
    }
    assert.equal(await pack(gen()).root, await pack(entries()).root)
    const files = [new File([tree['a.txt']], 'a.txt'), new File([tree['sub/b.bin']], 'b.bin')]
    const d2 = join(tmp, 'flat')
    mkdirSync(d2, { recursive: true })
    writeFileSync(join(d2, 'a.txt'), tree['a.txt'])
    writeFileSync(join(d2, 'b.bin'), tree['sub/b.bin'])
    assert.equal(await pack(files).root, lastLine(cli('pack', d2, '-o', join(tmp, 'flat.car'))))
  })

  test('ls and unpack give the tree back', async () => {
    const { root, shards } = await pack(entries(), { shardSize: 1_100_000 }).collect()
    assert.equal(shards.length, 2)
    const listed = await ls(shards)
    assert.equal(listed[0].path, '')
    assert.equal(listed[0].cid, root)
    assert.deepEqual(listed.map((e) => e.path), ['', 'a.txt', 'empty-dir', 'sub', 'sub/b.bin', 'sub/deeper', 'sub/deeper/c.txt', 'sub/deeper/empty.txt', 'z', 'z/y', 'z/y/x.bin'])
    const out = await unpack(shards)
    for (const e of out.filter((e) => e.type === 'file')) {
      assert.deepEqual(new Uint8Array(await e.content.arrayBuffer()), tree[e.path], e.path)
      assert.equal(e.size, tree[e.path].length)
    }
    // The CLI's CAR unpacks too.
    const car = readFileSync(join(tmp, 'dir-unixfs-v1-2025.car'))
    assert.deepEqual((await ls(car)).map((e) => e.path), listed.map((e) => e.path))
  })
})

// Hostile CARs, made by hand: dag-pb folders whose link names a producer chose to make unsafe.
const varint = (n) => {
  const out = []
  for (; n >= 0x80; n >>>= 7) out.push((n & 0x7f) | 0x80)
  return [...out, n]
}
const field = (tag, bytes) => [tag, ...varint(bytes.length), ...bytes]
const cidOf = (codec, block) => [1, codec, 0x12, 0x20, ...createHash('sha256').update(Uint8Array.from(block)).digest()]
/** A dag-pb node: links (field 2: hash, name, tsize 0), then the UnixFS data (field 1). */
const pbNode = (links, data) => [...links.flatMap(([name, cid]) => field(0x12, [...field(0x0a, cid), ...field(0x12, [...Buffer.from(name)]), 0x18, 0])), ...field(0x0a, data)]
/** A CARv1 of `blocks` (`[codec, bytes]`), rooted at the last. */
function hostileCar (blocks) {
  const cids = blocks.map(([codec, b]) => cidOf(codec, b))
  const header = [0xa2, 0x65, ...Buffer.from('roots'), 0x81, 0xd8, 0x2a, 0x58, 0x25, 0, ...cids.at(-1), 0x67, ...Buffer.from('version'), 1]
  return Uint8Array.from([...varint(header.length), ...header, ...blocks.flatMap(([, b], i) => [...varint(cids[i].length + b.length), ...cids[i], ...b])])
}

describe('hostile CARs: ls and unpack refuse unsafe names (core\'s rule, as `carport unpack` does)', () => {
  const symlink = pbNode([], [0x08, 0x04, ...field(0x12, [...Buffer.from('/etc')])])
  const file = [...Buffer.from('pwned')]
  const cases = [['s/x', 'BadName', /"s\/x", which contains `\/`/], ['s', 'DuplicateName', /two entries named "s"/]]
  for (const [name, code, message] of cases) {
    test(`a symlink s, then an entry ${name}: ${code}, naming the folder`, async () => {
      const folder = pbNode([['s', cidOf(0x70, symlink)], [name, cidOf(0x55, file)]], [0x08, 0x01])
      const car = hostileCar([[0x70, symlink], [0x55, file], [0x70, folder]])
      const path = join(tmp, `hostile-${code}.car`)
      writeFileSync(path, car)
      const root = cli('roots', path)
      await verifyCar(car) // intact: verifyCar checks the blocks, not what a tree's names mean
      for (const op of [ls, unpack]) {
        await assert.rejects(op(car), (e) => e instanceof CarportError && e.code === code && e.cid === root && message.test(e.message))
      }
    })
  }
})

describe('hostile CARs: a folder bomb stops at maxEntries (core\'s Walker, as `carport ls --max-entries`)', () => {
  // Ten folders, each linking the one below eight times: eight blocks that name 8^10 entries.
  const levels = [pbNode([], [0x08, 0x01])]
  for (let i = 0; i < 10; i++) levels.push(pbNode([...'abcdefgh'].map((n) => [n, cidOf(0x70, levels[i])]), [0x08, 0x01]))
  const bomb = hostileCar(levels.map((b) => [0x70, b]))

  test('ls and unpack refuse the bomb past the limit, naming the entry', async () => {
    for (const op of [ls, unpack]) {
      await assert.rejects(op(bomb, { maxEntries: 1000 }), (e) => e instanceof CarportError && e.code === 'TooManyEntries' && typeof e.cid === 'string')
    }
  })

  test('a tree of exactly maxEntries entries lists; one fewer is refused', async () => {
    const small = hostileCar(levels.slice(0, 2).map((b) => [0x70, b]))
    assert.equal((await ls(small, { maxEntries: 9 })).length, 9)
    await assert.rejects(ls(small, { maxEntries: 8 }), (e) => e.code === 'TooManyEntries')
  })
})

describe('verifyCar', () => {
  const data = bytes(1_500_000, 11)
  const good = async () => {
    const { root, shards } = await pack(new Blob([data])).collect()
    return { root, car: await shardBytes(shards[0]) }
  }

  test('a good CAR (bytes, Blob, stream) verifies', async () => {
    const { root, car } = await good()
    for (const input of [car, new Blob([car]), new Blob([car]).stream()]) {
      const r = await verifyCar(input, { root })
      assert.deepEqual(r.roots, [root])
      assert.equal(r.version, 1)
      assert.equal(r.blocks, 3)
    }
  })

  test('a flipped byte names the block and its offset', async () => {
    const { car } = await good()
    const lines = cli('blocks', join(tmp, writeShard(car))).split('\n')
    const [cid, offset, length] = lines[1].split(/\s+/)
    const bad = car.slice()
    bad[Number(offset) + Number(length) - 1] ^= 1
    await assert.rejects(verifyCar(bad), (e) => {
      assert.ok(e instanceof CarportError)
      assert.equal(e.code, 'HashMismatch')
      assert.equal(e.cid, cid)
      assert.equal(e.offset, Number(offset))
      assert.match(e.message, new RegExp(`block ${cid} at byte ${offset} does not match its CID`))
      return true
    })
  })

  test('truncation, a missing block, a wrong root, garbage', async () => {
    const { root, car } = await good()
    await assert.rejects(verifyCar(car.subarray(0, car.length - 10)), (e) => e.code === 'TruncatedBlock' && typeof e.cid === 'string')
    await assert.rejects(verifyCar(car, { root: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku' }), (e) => e.code === 'WrongRoot')
    await assert.rejects(verifyCar(new Uint8Array([1, 2, 3])), (e) => e.code === 'CarHeader')
    const { shards } = await pack(new Blob([data]), { shardSize: 1_100_000 }).collect()
    assert.equal(shards.length, 2)
    await assert.rejects(verifyCar(shards[1].blob, { root }), (e) => e.code === 'MissingBlock' && typeof e.cid === 'string')
  })
})

describe('abort and errors', () => {
  test('an AbortSignal stops packing; root and shards reject with its reason', async () => {
    const ac = new AbortController()
    let seen = 0
    const job = pack(new Blob([bytes(20 << 20, 2)]), {
      signal: ac.signal,
      onProgress: (p) => {
        seen = p.bytesRead
        if (p.bytesRead >= 4 << 20) ac.abort()
      }
    })
    await assert.rejects(job.root, (e) => e.name === 'AbortError')
    await assert.rejects(job.collect(), (e) => e.name === 'AbortError')
    assert.ok(seen < 20 << 20)
  })

  test('bad options are CarportErrors with code Settings', async () => {
    await assert.rejects(pack(new Blob(['x']), { profile: 'nope' }).root, (e) => e.code === 'Settings' && /unknown profile/.test(e.message))
    await assert.rejects(pack(new Blob(['x']), { chunker: 'size-0' }).root, (e) => e.code === 'Settings')
    await assert.rejects(pack(new Blob(['x']), { cidVersion: 0, hash: 'blake3' }).root, (e) => e.code === 'Settings')
    await assert.rejects(pack(new Blob(['x']), { cidVersion: 2 }).root, (e) => e.code === 'Settings')
  })

  test('progress reports bytesRead, bytesTotal and blocks', async () => {
    const seen = []
    await pack(new Blob([bytes(5 << 20)]), { onProgress: (p) => seen.push(p) }).root
    const last = seen.at(-1)
    assert.equal(last.bytesRead, 5 << 20)
    assert.equal(last.bytesTotal, 5 << 20)
    assert.ok(last.blocks >= 6)
  })
})
