//! Hashing two or four independent nodes at once.
//!
//! A piece tree is hashed level by level in batches, so its hashes come in independent pairs
//! (the two halves of a quad, neighbouring nodes of a level). One SHA-256 compression is a chain
//! of dependent rounds, and on x86 the SHA extension's round instruction has a latency of several
//! cycles but can start a new round every cycle or two, so a single stream leaves the unit idle
//! much of the time. Interleaving the rounds of two messages fills those gaps, close to doubling
//! throughput. Every node message is exactly 64 bytes, so the second block is always the same
//! padding block; its message schedule is constant, so its `W + K` words are precomputed and the
//! second compression runs without any message scheduling.
//!
//! In WebAssembly with simd128 (the npm package and the edge worker), four messages are hashed
//! side by side in SIMD lanes instead (`crate::codec::sha256x4`). Elsewhere, or where the SHA extension is
//! missing, the messages are hashed one after the other with `sha2`, giving the same bytes.

use super::node::{hash_padded, Block, Node, PAD_BYTES};

/// Hashes two 64-byte messages: `(trunc(sha256(a)), trunc(sha256(b)))`.
#[inline]
pub(crate) fn hash_two(a: &[u8; 64], b: &[u8; 64]) -> (Node, Node) {
    #[cfg(target_arch = "x86_64")]
    {
        if x86::available() {
            // SAFETY: the CPU has the features `hash_two` is compiled for (checked just above).
            return unsafe { x86::hash_two(a, b) };
        }
    }
    portable(a, b)
}

/// Hashes four 64-byte messages: `[trunc(sha256(m[0])), …, trunc(sha256(m[3]))]`.
#[inline]
pub(crate) fn hash_four(m: &[[u8; 64]; 4]) -> [Node; 4] {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use crate::codec::sha256x4::lanes;
        let mut s = lanes::iv();
        lanes::compress(&mut s, m.each_ref());
        lanes::compress_known(&mut s, &PAD_WK);
        lanes::digests(&s).map(|mut node| {
            super::node::truncate(&mut node);
            node
        })
    }
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    {
        let (a, b) = hash_two(&m[0], &m[1]);
        let (c, d) = hash_two(&m[2], &m[3]);
        [a, b, c, d]
    }
}

fn portable(a: &[u8; 64], b: &[u8; 64]) -> (Node, Node) {
    let pad = Block::from(PAD_BYTES);
    (hash_padded(&[Block::from(*a), pad]), hash_padded(&[Block::from(*b), pad]))
}

/// `W[i] + K[i]` of the constant padding block, four words per round group.
#[cfg_attr(
    not(any(target_arch = "x86_64", all(target_arch = "wasm32", target_feature = "simd128"))),
    allow(dead_code)
)]
pub(super) const PAD_WK: [[u32; 4]; 16] = {
    use crate::codec::sha256x4::K;
    let mut w = [0u32; 64];
    let mut i = 0;
    while i < 16 {
        w[i] = u32::from_be_bytes([
            PAD_BYTES[4 * i],
            PAD_BYTES[4 * i + 1],
            PAD_BYTES[4 * i + 2],
            PAD_BYTES[4 * i + 3],
        ]);
        i += 1;
    }
    while i < 64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        i += 1;
    }
    let mut out = [[0u32; 4]; 16];
    i = 0;
    while i < 64 {
        out[i / 4][i % 4] = w[i].wrapping_add(K[i]);
        i += 1;
    }
    out
};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use core::arch::x86_64::*;

    use super::PAD_WK;
    use crate::codec::sha256x4::{IV, K};
    use crate::piece::node::Node;

    /// The round constants four at a time (lane 0 first).
    const K4: [[u32; 4]; 16] = {
        let mut out = [[0u32; 4]; 16];
        let mut i = 0;
        while i < 64 {
            out[i / 4][i % 4] = K[i];
            i += 1;
        }
        out
    };

    /// Whether this CPU has the SHA extension and the SSE levels the code uses. `std` caches
    /// the CPUID answer, so this is a couple of loads.
    #[inline]
    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1")
    }

    /// Byte shuffle that turns four little-endian-loaded words big-endian (and back).
    #[inline]
    #[target_feature(enable = "sse2")]
    unsafe fn bswap_mask() -> __m128i {
        _mm_set_epi64x(0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203)
    }

    /// Loads 16 bytes at `offset` of a block as four big-endian message words.
    #[inline]
    #[target_feature(enable = "sse2,ssse3")]
    unsafe fn load_words(block: &[u8; 64], offset: usize) -> __m128i {
        debug_assert!(offset <= 48);
        // SAFETY: offset <= 48, so the 16 bytes read are inside the 64-byte block.
        _mm_shuffle_epi8(_mm_loadu_si128(block.as_ptr().add(offset).cast()), bswap_mask())
    }

    /// Loads four u32s (lane 0 = first).
    #[inline]
    #[target_feature(enable = "sse2")]
    unsafe fn load_u32x4(words: &[u32; 4]) -> __m128i {
        // SAFETY: exactly 16 readable bytes.
        _mm_loadu_si128(words.as_ptr().cast())
    }

    /// The next four message words from the previous sixteen.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3")]
    unsafe fn schedule(w0: __m128i, w1: __m128i, w2: __m128i, w3: __m128i) -> __m128i {
        let t = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
        _mm_sha256msg2_epu32(t, w3)
    }

    /// Four rounds on each of two states, interleaved; `ta`/`tb` hold `W + K` for the rounds.
    #[inline]
    #[target_feature(enable = "sha,sse2")]
    unsafe fn rounds4(abef: &mut [__m128i; 2], cdgh: &mut [__m128i; 2], ta: __m128i, tb: __m128i) {
        cdgh[0] = _mm_sha256rnds2_epu32(cdgh[0], abef[0], ta);
        cdgh[1] = _mm_sha256rnds2_epu32(cdgh[1], abef[1], tb);
        abef[0] = _mm_sha256rnds2_epu32(abef[0], cdgh[0], _mm_shuffle_epi32(ta, 0x0e));
        abef[1] = _mm_sha256rnds2_epu32(abef[1], cdgh[1], _mm_shuffle_epi32(tb, 0x0e));
    }

    /// The truncated node of a state in the instructions' ABEF/CDGH layout.
    #[inline]
    #[target_feature(enable = "sse2,ssse3,sse4.1")]
    unsafe fn to_node(abef: __m128i, cdgh: __m128i) -> Node {
        let feba = _mm_shuffle_epi32(abef, 0x1b);
        let dchg = _mm_shuffle_epi32(cdgh, 0xb1);
        let dcba = _mm_blend_epi16(feba, dchg, 0xf0);
        let hgef = _mm_alignr_epi8(dchg, feba, 8);
        let mut out = [0u8; 32];
        // SAFETY: two 16-byte stores into a 32-byte array.
        _mm_storeu_si128(out.as_mut_ptr().cast(), _mm_shuffle_epi8(dcba, bswap_mask()));
        _mm_storeu_si128(out.as_mut_ptr().add(16).cast(), _mm_shuffle_epi8(hgef, bswap_mask()));
        out[31] &= 0x3f;
        out
    }

    /// SHA-256 of two 64-byte messages, truncated to nodes.
    ///
    /// # Safety
    /// The CPU must support SHA, SSE2, SSSE3 and SSE4.1 ([`available`]).
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    pub(super) unsafe fn hash_two(a: &[u8; 64], b: &[u8; 64]) -> (Node, Node) {
        // The initial state, rearranged into the instructions' ABEF / CDGH registers.
        let abcd = load_u32x4(&[IV[0], IV[1], IV[2], IV[3]]);
        let efgh = load_u32x4(&[IV[4], IV[5], IV[6], IV[7]]);
        let cdab = _mm_shuffle_epi32(abcd, 0xb1);
        let hgfe = _mm_shuffle_epi32(efgh, 0x1b);
        let abef0 = _mm_alignr_epi8(cdab, hgfe, 8);
        let cdgh0 = _mm_blend_epi16(hgfe, cdab, 0xf0);
        let mut abef = [abef0, abef0];
        let mut cdgh = [cdgh0, cdgh0];

        // Block 1: the message itself. Fully unrolled so the sixteen words stay in registers:
        // `step!(i, w0, w1, w2, w3)` computes words 4i..4i+4 into `w0` (the oldest four) and
        // runs rounds 4i..4i+4 on both messages.
        let (mut a0, mut a1, mut a2, mut a3) =
            (load_words(a, 0), load_words(a, 16), load_words(a, 32), load_words(a, 48));
        let (mut b0, mut b1, mut b2, mut b3) =
            (load_words(b, 0), load_words(b, 16), load_words(b, 32), load_words(b, 48));
        macro_rules! first {
            ($i:expr, $wa:ident, $wb:ident) => {{
                let k = load_u32x4(&K4[$i]);
                rounds4(&mut abef, &mut cdgh, _mm_add_epi32($wa, k), _mm_add_epi32($wb, k));
            }};
        }
        macro_rules! step {
            ($i:expr, $a0:ident, $a1:ident, $a2:ident, $a3:ident, $b0:ident, $b1:ident, $b2:ident, $b3:ident) => {{
                $a0 = schedule($a0, $a1, $a2, $a3);
                $b0 = schedule($b0, $b1, $b2, $b3);
                first!($i, $a0, $b0);
            }};
        }
        first!(0, a0, b0);
        first!(1, a1, b1);
        first!(2, a2, b2);
        first!(3, a3, b3);
        step!(4, a0, a1, a2, a3, b0, b1, b2, b3);
        step!(5, a1, a2, a3, a0, b1, b2, b3, b0);
        step!(6, a2, a3, a0, a1, b2, b3, b0, b1);
        step!(7, a3, a0, a1, a2, b3, b0, b1, b2);
        step!(8, a0, a1, a2, a3, b0, b1, b2, b3);
        step!(9, a1, a2, a3, a0, b1, b2, b3, b0);
        step!(10, a2, a3, a0, a1, b2, b3, b0, b1);
        step!(11, a3, a0, a1, a2, b3, b0, b1, b2);
        step!(12, a0, a1, a2, a3, b0, b1, b2, b3);
        step!(13, a1, a2, a3, a0, b1, b2, b3, b0);
        step!(14, a2, a3, a0, a1, b2, b3, b0, b1);
        step!(15, a3, a0, a1, a2, b3, b0, b1, b2);
        for lane in 0..2 {
            abef[lane] = _mm_add_epi32(abef[lane], abef0);
            cdgh[lane] = _mm_add_epi32(cdgh[lane], cdgh0);
        }

        // Block 2: the constant padding block, W + K precomputed.
        let (abef1, cdgh1) = (abef, cdgh);
        macro_rules! pad {
            ($($i:expr),*) => {$({
                let t = load_u32x4(&PAD_WK[$i]);
                rounds4(&mut abef, &mut cdgh, t, t);
            })*};
        }
        pad!(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for lane in 0..2 {
            abef[lane] = _mm_add_epi32(abef[lane], abef1[lane]);
            cdgh[lane] = _mm_add_epi32(cdgh[lane], cdgh1[lane]);
        }
        (to_node(abef[0], cdgh[0]), to_node(abef[1], cdgh[1]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn matches_portable(a in proptest::collection::vec(any::<u8>(), 64), b in proptest::collection::vec(any::<u8>(), 64)) {
            let a: [u8; 64] = a.try_into().unwrap();
            let b: [u8; 64] = b.try_into().unwrap();
            prop_assert_eq!(hash_two(&a, &b), portable(&a, &b));
        }

        #[test]
        fn four_match_portable(m in proptest::collection::vec(any::<u8>(), 256)) {
            let m: [[u8; 64]; 4] = core::array::from_fn(|j| m[64 * j..64 * (j + 1)].try_into().unwrap());
            let (a, b) = portable(&m[0], &m[1]);
            let (c, d) = portable(&m[2], &m[3]);
            prop_assert_eq!(hash_four(&m), [a, b, c, d]);
        }
    }

    #[test]
    fn reports_which_path_ran() {
        #[cfg(target_arch = "x86_64")]
        println!("SHA extension available: {}", x86::available());
        assert_eq!(hash_two(&[0; 64], &[1; 64]), portable(&[0; 64], &[1; 64]));
    }
}
