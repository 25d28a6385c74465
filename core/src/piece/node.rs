//! The one hash of every Filecoin piece tree: SHA-256 over two 32-byte children, with the top two
//! bits of the result cleared (sha2-256-trunc254-padded), so each node is a valid BLS12-381 field
//! element, which is what the proofs of replication commit to.
//!
//! A node's message is always exactly 64 bytes, so its SHA-256 is exactly two compressions: the
//! 64 data bytes, then a padding block that never changes. We keep that padding block as a
//! constant and call [`sha2::compress256`] directly, skipping the generic hasher's buffering and
//! length bookkeeping; on x86 sha2 picks the SHA-NI instructions at run time.

use sha2::digest::generic_array::{typenum::U64, GenericArray};

use crate::codec::sha256x4::IV;

/// A 32-byte node of a piece tree (a leaf, an inner node or a root).
pub type Node = [u8; 32];

/// Bytes in a node.
pub const NODE_SIZE: usize = 32;

/// One SHA-256 input block.
pub(crate) type Block = GenericArray<u8, U64>;

/// The second block of every 64-byte message: the 0x80 terminator, zeros, and the message length
/// (512 bits) as a big-endian u64. Constant because every node message is 64 bytes.
pub(crate) const PAD_BYTES: [u8; 64] = {
    let mut b = [0u8; 64];
    b[0] = 0x80;
    b[62] = 0x02; // 512 = 0x0200
    b
};

/// Clears the two high bits of a node (its last byte, read little-endian as a field element).
#[inline(always)]
pub fn truncate(node: &mut Node) {
    node[31] &= 0x3f;
}

/// Turns a finished SHA-256 state into a truncated node.
#[inline(always)]
pub(crate) fn state_to_node(state: &[u32; 8]) -> Node {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    truncate(&mut out);
    out
}

/// Hashes a message laid out as `[data, PAD]`: exactly one 64-byte message and its padding block.
/// Callers that hash many messages keep such a pair around and only rewrite the data half.
#[inline(always)]
pub(crate) fn hash_padded(blocks: &[Block; 2]) -> Node {
    let mut state = IV;
    sha2::compress256(&mut state, blocks);
    state_to_node(&state)
}

/// The parent of two nodes: truncated SHA-256 of `left || right`.
#[inline]
pub fn hash_pair(left: &Node, right: &Node) -> Node {
    let mut blocks = [Block::default(), Block::from(PAD_BYTES)];
    blocks[0][..32].copy_from_slice(left);
    blocks[0][32..].copy_from_slice(right);
    hash_padded(&blocks)
}

/// Truncated SHA-256 of one 64-byte message, e.g. a data segment index entry.
#[inline]
pub fn hash_block(block: &[u8; 64]) -> Node {
    hash_padded(&[Block::from(*block), Block::from(PAD_BYTES)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::Digest;

    #[test]
    fn matches_plain_sha256_truncated() {
        let left = [7u8; 32];
        let right: Node = core::array::from_fn(|i| i as u8);
        let mut expected: Node =
            sha2::Sha256::new().chain_update(left).chain_update(right).finalize().into();
        expected[31] &= 0x3f;
        assert_eq!(hash_pair(&left, &right), expected);
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&left);
        block[32..].copy_from_slice(&right);
        assert_eq!(hash_block(&block), expected);
    }
}
