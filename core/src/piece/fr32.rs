//! Fr32 padding: spreading 254-bit chunks of payload over 256-bit leaves.
//!
//! Filecoin's proofs work over the BLS12-381 scalar field, whose elements have 254 usable bits,
//! so each 32-byte leaf carries 254 bits of payload and two zero bits at the top. Four leaves
//! carry 4 * 254 = 1016 bits = 127 bytes exactly, so padding works on 127-byte quads that become
//! 128 bytes. Bits are taken little-endian: leaf `j` is bits `254j .. 254j + 254` of the quad.
//! This is byte-for-byte the expansion of go-fil-commp-hashhash, go-data-segment,
//! @web3-storage/data-segment and rust-fil-proofs.

use super::size::{QUAD_PADDED, QUAD_PAYLOAD};

/// Bytes of payload per quad.
pub const QUAD_IN: usize = QUAD_PAYLOAD as usize;
/// Bytes of leaves per quad.
pub const QUAD_OUT: usize = QUAD_PADDED as usize;

/// Expands one 127-byte quad into four 32-byte leaves.
///
/// Written as fixed-size loops over arrays so there are no bounds checks and the compiler can
/// turn each loop into a few vector shifts; padding is a small fraction of hashing time.
#[inline(always)]
pub fn expand_quad(input: &[u8; QUAD_IN], out: &mut [u8; QUAD_OUT]) {
    // Leaf 0: bits 0..254, already byte aligned.
    out[..32].copy_from_slice(&input[..32]);
    out[31] &= 0x3f;
    // Leaf 1: bits 254..508, i.e. from byte 31, bit 6.
    for i in 32..64 {
        out[i] = (input[i] << 2) | (input[i - 1] >> 6);
    }
    out[63] &= 0x3f;
    // Leaf 2: bits 508..762, i.e. from byte 63, bit 4.
    for i in 64..96 {
        out[i] = (input[i] << 4) | (input[i - 1] >> 4);
    }
    out[95] &= 0x3f;
    // Leaf 3: bits 762..1016, i.e. from byte 95, bit 2; its top two bits are past the input.
    for i in 96..127 {
        out[i] = (input[i] << 6) | (input[i - 1] >> 2);
    }
    out[127] = input[126] >> 2;
}

/// Recovers the 127 payload bytes of a quad from its four leaves (ignoring their top two bits).
pub fn unpad_quad(input: &[u8; QUAD_OUT], out: &mut [u8; QUAD_IN]) {
    // Read the 1016 payload bits back: leaf j holds bits 254j.. of the output.
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut o = 0;
    for leaf in input.chunks_exact(32) {
        for (k, &byte) in leaf.iter().enumerate() {
            let (value, width) =
                if k == 31 { (u32::from(byte & 0x3f), 6) } else { (u32::from(byte), 8) };
            acc |= value << bits;
            bits += width;
            while bits >= 8 && o < QUAD_IN {
                out[o] = acc as u8;
                o += 1;
                acc >>= 8;
                bits -= 8;
            }
        }
    }
}

/// Fr32-pads `payload` (any length) into whole quads, zero-filling the last one. A convenience for
/// tests and small inputs; the streaming hasher never materialises the padded bytes.
pub fn pad(payload: &[u8]) -> Vec<u8> {
    let quads = payload.len().div_ceil(QUAD_IN);
    let mut out = vec![0u8; quads * QUAD_OUT];
    let mut quad = [0u8; QUAD_IN];
    for (chunk, dst) in payload.chunks(QUAD_IN).zip(out.chunks_exact_mut(QUAD_OUT)) {
        quad.fill(0);
        quad[..chunk.len()].copy_from_slice(chunk);
        let mut leaves = [0u8; QUAD_OUT];
        expand_quad(&quad, &mut leaves);
        dst.copy_from_slice(&leaves);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Reference expansion straight from the definition: leaf j = bits 254j..254j+254.
    fn expand_by_bits(input: &[u8; QUAD_IN]) -> [u8; QUAD_OUT] {
        let bit = |n: usize| (input[n / 8] >> (n % 8)) & 1;
        let mut out = [0u8; QUAD_OUT];
        for j in 0..4 {
            for b in 0..254 {
                out[32 * j + b / 8] |= bit(254 * j + b) << (b % 8);
            }
        }
        out
    }

    #[test]
    fn all_ones_keeps_top_bits_clear() {
        let mut out = [0u8; QUAD_OUT];
        expand_quad(&[0xff; QUAD_IN], &mut out);
        for leaf in out.chunks_exact(32) {
            assert!(leaf[..31].iter().all(|&b| b == 0xff));
            assert_eq!(leaf[31], 0x3f);
        }
    }

    proptest! {
        #[test]
        fn matches_bit_definition_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), QUAD_IN)) {
            let input: [u8; QUAD_IN] = bytes.try_into().unwrap();
            let mut out = [0u8; QUAD_OUT];
            expand_quad(&input, &mut out);
            prop_assert_eq!(out, expand_by_bits(&input));
            let mut back = [0u8; QUAD_IN];
            unpad_quad(&out, &mut back);
            prop_assert_eq!(back, input);
        }
    }

    #[test]
    fn pad_zero_fills_last_quad() {
        let out = pad(&[0xff; 128]);
        assert_eq!(out.len(), 256);
        assert_eq!(out[128], 0xff); // byte 127 of the input starts the second quad
        assert!(out[129..].iter().all(|&b| b == 0));
    }
}
