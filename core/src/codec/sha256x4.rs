//! SHA-256 of four messages at once, for WebAssembly, where there is no SHA instruction.
//!
//! SHA-256 compiled to Wasm runs one message's chain of dependent rounds with scalar
//! instructions (~340 MB/s in V8 here). Many of carport's hashes are independent and of one
//! length: the nodes of a piece tree (64 bytes each), the fixed-size leaves of a CAR being
//! verified. With simd128 four of them are hashed side by side, word `i` of all four messages in
//! one `v128`, each round the same instructions over the four lanes. Elsewhere (native code,
//! where `sha2` uses SHA-NI) the messages are hashed one after the other. SHA-256's constants
//! live here too, for every hand-written compression in the crate (these lanes, the piece
//! tree's SHA-NI pairs and its compile-time zero table).

use sha2::{Digest, Sha256};

/// SHA-256's initial state (FIPS 180-4), for the hand-written compressions here and in `piece`.
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// SHA-256's round constants (FIPS 180-4).
pub(crate) const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 of four messages: lanes when the messages are of one length and simd128 is on, else
/// one after the other.
pub fn sha256_four(m: [&[u8]; 4]) -> [[u8; 32]; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if m.iter().all(|x| x.len() == m[0].len()) {
        return lanes::sha256_same_length(m);
    }
    m.map(|x| Sha256::digest(x).into())
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub(crate) mod lanes {
    use core::arch::wasm32::*;

    use super::{IV, K};

    /// Four SHA-256 states: `s[i]` holds word `i` of each.
    pub(crate) type State = [v128; 8];

    pub(crate) fn iv() -> State {
        IV.map(|x| u32x4_splat(x))
    }

    #[inline(always)]
    fn rotr(x: v128, n: u32) -> v128 {
        v128_or(u32x4_shr(x, n), u32x4_shl(x, 32 - n))
    }

    #[inline(always)]
    fn add(a: v128, b: v128) -> v128 {
        i32x4_add(a, b)
    }

    #[inline(always)]
    fn xor3(a: v128, b: v128, c: v128) -> v128 {
        v128_xor(v128_xor(a, b), c)
    }

    /// The sixteen message words of one 64-byte block of each message, lane `j` from `blocks[j]`.
    #[inline(always)]
    fn load(blocks: [&[u8; 64]; 4]) -> [v128; 16] {
        let word = |j: usize, i: usize| {
            u32::from_be_bytes([
                blocks[j][4 * i],
                blocks[j][4 * i + 1],
                blocks[j][4 * i + 2],
                blocks[j][4 * i + 3],
            ])
        };
        core::array::from_fn(|i| u32x4(word(0, i), word(1, i), word(2, i), word(3, i)))
    }

    /// One round: `wk` is `W[i] + K[i]`.
    #[inline(always)]
    fn round(s: &mut State, wk: v128) {
        let [a, b, c, d, e, f, g, h] = *s;
        let s1 = xor3(rotr(e, 6), rotr(e, 11), rotr(e, 25));
        let ch = v128_bitselect(f, g, e);
        let t1 = add(add(h, s1), add(ch, wk));
        let s0 = xor3(rotr(a, 2), rotr(a, 13), rotr(a, 22));
        let maj = v128_bitselect(c, a, v128_xor(a, b));
        *s = [add(t1, add(s0, maj)), a, b, c, add(d, t1), e, f, g];
    }

    /// Compresses one 64-byte block of each message into `s`.
    #[inline(always)]
    pub(crate) fn compress(s: &mut State, blocks: [&[u8; 64]; 4]) {
        let start = *s;
        let mut w = load(blocks);
        for i in 0..64 {
            if i >= 16 {
                let (w15, w2) = (w[(i + 1) % 16], w[(i + 14) % 16]);
                let s0 = xor3(rotr(w15, 7), rotr(w15, 18), u32x4_shr(w15, 3));
                let s1 = xor3(rotr(w2, 17), rotr(w2, 19), u32x4_shr(w2, 10));
                w[i % 16] = add(add(w[i % 16], s0), add(w[(i + 9) % 16], s1));
            }
            round(s, add(w[i % 16], u32x4_splat(K[i])));
        }
        *s = core::array::from_fn(|i| add(s[i], start[i]));
    }

    /// Compresses a block that is the same in every lane and whose `W + K` words are known
    /// (`wk[i / 4][i % 4]` for round `i`): no message schedule.
    #[inline(always)]
    pub(crate) fn compress_known(s: &mut State, wk: &[[u32; 4]; 16]) {
        let start = *s;
        for i in 0..64 {
            round(s, u32x4_splat(wk[i / 4][i % 4]));
        }
        *s = core::array::from_fn(|i| add(s[i], start[i]));
    }

    /// The four digests.
    pub(crate) fn digests(s: &State) -> [[u8; 32]; 4] {
        let mut out = [[0u8; 32]; 4];
        for (i, word) in s.iter().enumerate() {
            let lanes = [
                u32x4_extract_lane::<0>(*word),
                u32x4_extract_lane::<1>(*word),
                u32x4_extract_lane::<2>(*word),
                u32x4_extract_lane::<3>(*word),
            ];
            for (digest, lane) in out.iter_mut().zip(lanes) {
                digest[4 * i..4 * i + 4].copy_from_slice(&lane.to_be_bytes());
            }
        }
        out
    }

    /// SHA-256 of four messages of one length.
    pub(super) fn sha256_same_length(m: [&[u8]; 4]) -> [[u8; 32]; 4] {
        let len = m[0].len();
        let split = m.map(|x| x.as_chunks::<64>());
        let mut s = iv();
        for b in 0..split[0].0.len() {
            compress(&mut s, split.map(|(blocks, _)| &blocks[b]));
        }
        // The padding: the last bytes, 0x80, zeros, the length in bits; one block or two.
        let rest = split[0].1.len();
        let tail_len = if rest < 56 { 64 } else { 128 };
        let mut tails = [[0u8; 128]; 4];
        for (tail, (_, last)) in tails.iter_mut().zip(split) {
            tail[..rest].copy_from_slice(last);
            tail[rest] = 0x80;
            tail[tail_len - 8..tail_len].copy_from_slice(&(len as u64 * 8).to_be_bytes());
        }
        let tails = tails.each_ref().map(|t| t.as_chunks::<64>().0);
        for b in 0..tail_len / 64 {
            compress(&mut s, tails.map(|t| &t[b]));
        }
        digests(&s)
    }
}
