// Folder layouts shared by the test files. Each returns a writeTree() entry list.
import { detBytes, kuboDirNames, prng, textBytes } from './gen.mjs'

/**
 * Names whose order differs between JS string comparison (UTF-16 code units, used by
 * files-from-path / ipfs-car to order entries) and byte-wise UTF-8 comparison (dag-pb link
 * order, carport): U+FF5E '～' is EF BD 9E in UTF-8 (< F0 of an emoji) but 0xFF5E in UTF-16
 * (> the 0xD83D surrogate of '😀'). Also precomposed vs decomposed é (must not be normalised).
 */
export const SORT_TRAP_NAMES = ['～', '😀', 'ｆｕｌｌ', '\u{1F697}car', 'é', 'e\u0301', 'Z', 'a', 'a b', 'a-b', 'a.b', 'a_b', '日本', 'Ω']

/** Nested folder with unicode names, text and binary files of assorted sizes (no empty dirs). */
export function unicodeTree (seed, { big = 300_000 } = {}) {
  const r = prng(seed)
  const entries = []
  const file = (p, size) => entries.push({ path: p, content: r.next() < 0.5 ? detBytes(size, seed + p) : textBytes(size, seed + p) })
  file('README.txt', 1234)
  file('café/menu.txt', 0)
  file('café/naïve résumé.md', 4096)
  file('日本/東京/タワー.bin', big)
  file('日本/大阪.txt', 77)
  file('😀 emoji/🚗.bin', 1)
  file('😀 emoji/deep/er/est/leaf.bin', 2048)
  file('Ωmega/α', 10)
  file('Ωmega/β', 20)
  for (const n of SORT_TRAP_NAMES) file('sorts/' + n, 1 + r.int(100))
  for (const n of SORT_TRAP_NAMES) file('sorts/dir ' + n + '/x', 3)
  return entries
}

/** Files plus empty folders at several depths. */
export function emptyDirsTree () {
  return [
    { path: 'empty', dir: true },
    { path: 'a/b/c', dir: true },
    { path: 'a/file.txt', content: 'a file next to an empty chain\n' },
    { path: 'z/only-empty/inner', dir: true },
    { path: 'é/空', dir: true }
  ]
}

/** Hidden files and folders mixed with visible ones. */
export function hiddenTree () {
  return [
    { path: 'visible.txt', content: 'visible\n' },
    { path: '.hidden', content: 'hidden\n' },
    { path: '.config/settings.json', content: '{"a":1}\n' },
    { path: 'sub/.dotfile', content: 'dot\n' },
    { path: 'sub/file', content: detBytes(5000, 'hidden-sub') }
  ]
}

/**
 * kubo's HAMT threshold fixtures (test/cli/cid_profiles_test.go; IPIP-499): every file holds "x".
 * v0 (links-bytes): 4096 x 30-char names = 262144 (basic); 4033 x 31 = 262145 (HAMT).
 * v1 (block-bytes): 4765 x 11 + last 21 -> 262144 (basic); last 22 -> 262145 (HAMT).
 */
export const HAMT_FIXTURES = {
  'unixfs-v0-2015': {
    basic: { args: [4096, 30, 30, 'hamt-unixfs-v0-2015'], cid: 'QmX5GtRk3TSSEHtdrykgqm4eqMEn3n2XhfkFAis5fjyZmN' },
    hamt: { args: [4033, 31, 31, 'hamt-unixfs-v0-2015'], cid: 'QmeMiJzmhpJAUgynAcxTQYek5PPKgdv3qEvFsdV3XpVnvP' }
  },
  'unixfs-v1-2025': {
    basic: { args: [4766, 11, 21, 'hamt-unixfs-v1-2025'], cid: 'bafybeic3h7rwruealwxkacabdy45jivq2crwz6bufb5ljwupn36gicplx4' },
    hamt: { args: [4766, 11, 22, 'hamt-unixfs-v1-2025'], cid: 'bafybeiegvuterwurhdtkikfhbxcldohmxp566vpjdofhzmnhv6o4freidu' }
  }
}

export function kuboHamtTree (numFiles, nameLen, lastNameLen, seed, prefix = '') {
  return kuboDirNames(numFiles, nameLen, lastNameLen, seed).map(n => ({ path: prefix + n, content: 'x' }))
}

/** `n` files named `${prefix}${i}` holding "x" (ipfs-car's 1000-entry rule). */
export function countTree (n, prefix = 'f') {
  const out = []
  for (let i = 0; i < n; i++) out.push({ path: prefix + i, content: 'x' })
  return out
}

/**
 * Files with long multi-byte names (~190 UTF-8 bytes each): 1300 of them exceed 256 KiB under
 * both the links-bytes (v0) and block-bytes (v1) estimates, so the folder is a HAMT.
 */
export function unicodeHamtTree (n = 1300) {
  const tags = ['日本', 'é', '😀', 'Ω', 'ｆ', '～', 'e\u0301', 'a', '-']
  const out = []
  for (let i = 0; i < n; i++) {
    let name = String(i).padStart(4, '0') + '-'
    for (let k = i; Buffer.byteLength(name) < 190; k = (k * 7 + 3) % 1000003) name += tags[k % tags.length]
    out.push({ path: name + '.txt', content: String(i % 10) })
  }
  return out
}
