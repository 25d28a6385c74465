//! Roots of all-zero subtrees, one per level, computed at compile time.
//!
//! Every piece is zero-padded up to a power of two and every aggregate is mostly empty space, so
//! the hashers need "the root of 2^k zero leaves" all the time. Hashing those zeros would cost as
//! much as the data itself (half of a piece can be padding); instead the 64 roots are evaluated
//! once by the compiler with a `const fn` SHA-256 and read from a table. Level 0 is a zero leaf;
//! level `k` is the root of `2^k` zero leaves, i.e. of `32 << k` zero bytes of fr32 output (which
//! fr32 padding of zero bytes produces, since zero bytes expand to zero bytes).

use super::node::{Node, PAD_BYTES};
use crate::codec::sha256x4::{IV, K};

/// Levels in the table: enough for any tree whose size fits in a u64.
pub const ZERO_LEVELS: usize = 64;

/// `ZERO_COMMS[k]` is the root of a subtree of `2^k` zero leaves.
pub static ZERO_COMMS: [Node; ZERO_LEVELS] = zero_table();

/// The root of `2^level` zero leaves, or `None` past the table.
#[inline]
pub fn zero_comm(level: usize) -> Option<&'static Node> {
    ZERO_COMMS.get(level)
}

/// The root of `2^level` zero leaves, for callers whose level is below 64 by construction. Levels
/// past the table saturate to the last entry rather than panic; no caller reaches them.
#[inline(always)]
pub(crate) fn zero_at(level: usize) -> &'static Node {
    &ZERO_COMMS[if level < ZERO_LEVELS { level } else { ZERO_LEVELS - 1 }]
}

/// One SHA-256 compression, usable in constant evaluation.
const fn compress(mut state: [u32; 8], block: &[u8; 64]) -> [u32; 8] {
    let mut w = [0u32; 64];
    let mut i = 0;
    while i < 16 {
        w[i] = u32::from_be_bytes([
            block[4 * i],
            block[4 * i + 1],
            block[4 * i + 2],
            block[4 * i + 3],
        ]);
        i += 1;
    }
    while i < 64 {
        let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
        let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        i += 1;
    }
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = state;
    i = 0;
    while i < 64 {
        let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
        let ch = (e & f) ^ (!e & g);
        let t1 = h.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
        let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
        let maj = (a & b) ^ (a & c) ^ (b & c);
        let t2 = s0.wrapping_add(maj);
        h = g;
        g = f;
        f = e;
        e = d.wrapping_add(t1);
        d = c;
        c = b;
        b = a;
        a = t1.wrapping_add(t2);
        i += 1;
    }
    let add = [a, b, c, d, e, f, g, h];
    i = 0;
    while i < 8 {
        state[i] = state[i].wrapping_add(add[i]);
        i += 1;
    }
    state
}

/// Truncated SHA-256 of `node || node`, in constant evaluation.
const fn hash_twice(node: &Node) -> Node {
    let mut block = [0u8; 64];
    let mut i = 0;
    while i < 32 {
        block[i] = node[i];
        block[32 + i] = node[i];
        i += 1;
    }
    let state = compress(compress(IV, &block), &PAD_BYTES);
    let mut out = [0u8; 32];
    i = 0;
    while i < 8 {
        let b = state[i].to_be_bytes();
        out[4 * i] = b[0];
        out[4 * i + 1] = b[1];
        out[4 * i + 2] = b[2];
        out[4 * i + 3] = b[3];
        i += 1;
    }
    out[31] &= 0x3f;
    out
}

const fn zero_table() -> [Node; ZERO_LEVELS] {
    let mut table = [[0u8; 32]; ZERO_LEVELS];
    let mut level = 1;
    while level < ZERO_LEVELS {
        table[level] = hash_twice(&table[level - 1]);
        level += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::node::hash_pair;

    #[test]
    fn table_matches_runtime_hashing() {
        for level in 1..ZERO_LEVELS {
            assert_eq!(
                ZERO_COMMS[level],
                hash_pair(&ZERO_COMMS[level - 1], &ZERO_COMMS[level - 1])
            );
        }
        assert_eq!(ZERO_COMMS[0], [0u8; 32]);
        assert_eq!(zero_comm(64), None);
    }
}
