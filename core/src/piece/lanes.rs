//! Four node hashes at once in WebAssembly's 128-bit SIMD (simd128), one message per lane.
//!
//! Wasm has no SHA instructions, and SHA-256 compiled to Wasm runs one message's dependent chain
//! of rounds with scalar instructions. The piece tree's node hashes come in independent groups
//! (see `pair`), so here four 64-byte messages are hashed side by side: word `i` of all four sits
//! in one `v128`, and each round is the same instructions over the four lanes. Rotations cost two
//! shifts and an or (simd128 has no rotate), `Ch` and `Maj` are one `bitselect` each. The second
//! block, the constant padding, takes its `W + K` words from `pair::PAD_WK` and needs no message
//! schedule.

use core::arch::wasm32::*;

use super::node::{Node, IV};
use super::pair::PAD_WK;
use super::zero::K;

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

/// The sixteen message words of four messages, word `i` of message `j` in lane `j` of `w[i]`.
#[inline(always)]
fn load(m: &[[u8; 64]; 4]) -> [v128; 16] {
    let word = |j: usize, i: usize| u32::from_be_bytes([m[j][4 * i], m[j][4 * i + 1], m[j][4 * i + 2], m[j][4 * i + 3]]);
    core::array::from_fn(|i| u32x4(word(0, i), word(1, i), word(2, i), word(3, i)))
}

/// One round: `wk` is `W[i] + K[i]` in every lane.
#[inline(always)]
fn round(s: &mut [v128; 8], wk: v128) {
    let [a, b, c, d, e, f, g, h] = *s;
    let s1 = xor3(rotr(e, 6), rotr(e, 11), rotr(e, 25));
    let ch = v128_bitselect(f, g, e);
    let t1 = add(add(h, s1), add(ch, wk));
    let s0 = xor3(rotr(a, 2), rotr(a, 13), rotr(a, 22));
    let maj = v128_bitselect(c, a, v128_xor(a, b));
    *s = [add(t1, add(s0, maj)), a, b, c, add(d, t1), e, f, g];
}

/// Compresses the four message blocks into `s`, scheduling the message as it goes.
#[inline(always)]
fn compress_message(s: &mut [v128; 8], mut w: [v128; 16]) {
    for i in 0..64 {
        if i >= 16 {
            let (w15, w2) = (w[(i + 1) % 16], w[(i + 14) % 16]);
            let s0 = xor3(rotr(w15, 7), rotr(w15, 18), u32x4_shr(w15, 3));
            let s1 = xor3(rotr(w2, 17), rotr(w2, 19), u32x4_shr(w2, 10));
            w[i % 16] = add(add(w[i % 16], s0), add(w[(i + 9) % 16], s1));
        }
        round(s, add(w[i % 16], u32x4_splat(K[i])));
    }
}

/// `(trunc(sha256(m[0])), …, trunc(sha256(m[3])))`.
pub(super) fn hash_four(m: &[[u8; 64]; 4]) -> [Node; 4] {
    let iv: [v128; 8] = IV.map(|x| u32x4_splat(x));
    let mut s = iv;
    compress_message(&mut s, load(m));
    let mid: [v128; 8] = core::array::from_fn(|i| add(s[i], iv[i]));
    s = mid;
    for i in 0..64 {
        round(&mut s, u32x4_splat(PAD_WK[i / 4][i % 4]));
    }
    let state: [v128; 8] = core::array::from_fn(|i| add(s[i], mid[i]));
    let mut out = [[0u8; 32]; 4];
    for (i, word) in state.iter().enumerate() {
        let lanes = [u32x4_extract_lane::<0>(*word), u32x4_extract_lane::<1>(*word), u32x4_extract_lane::<2>(*word), u32x4_extract_lane::<3>(*word)];
        for (node, lane) in out.iter_mut().zip(lanes) {
            node[4 * i..4 * i + 4].copy_from_slice(&lane.to_be_bytes());
        }
    }
    for node in &mut out {
        node[31] &= 0x3f;
    }
    out
}
