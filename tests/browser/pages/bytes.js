// Deterministic test bytes (xorshift32), different per seed: one generator for the test pages,
// the Node side that writes the same files for the CLI, and the npm package's Node tests.
export function bytes (len, seed = 1) {
  const out = new Uint8Array(len)
  let x = Math.imul(seed, 2654435761) >>> 0 || 1
  for (let i = 0; i < len; i++) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    out[i] = x & 255
  }
  return out
}
