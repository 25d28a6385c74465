//! The FRC-0058 data segment index: the table at the end of an aggregated deal that says which
//! piece sits where, so a storage provider (or anyone holding the deal) can find and prove each
//! piece.
//!
//! An entry is 64 bytes, i.e. exactly two leaves of the deal tree:
//!
//! | bytes  | field                                                   |
//! |--------|---------------------------------------------------------|
//! | 0..32  | CommDs: the piece root                                  |
//! | 32..40 | offset of the piece in the deal, padded bytes, LE u64   |
//! | 40..48 | size of the piece, padded bytes, LE u64                 |
//! | 48..64 | checksum: SHA-256 of the entry with these 16 bytes zero, first 16 bytes, top 2 bits cleared |
//!
//! Both halves have their top two bits clear (the root by construction, the second half because
//! the checksum's last byte is truncated), so the entry is valid fr32 leaves as-is. The index area
//! holds `max(4, 2^ceil(log2(deal / 2048 / 64)))` entries and ends the deal.

use sha2::{Digest, Sha256};

use super::node::{hash_block, Node};

/// Bytes of one index entry.
pub const ENTRY_SIZE: u64 = 64;
/// Bytes of an entry's checksum.
pub const CHECKSUM_SIZE: usize = 16;

/// One entry of the data segment index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IndexEntry {
    /// Root of the piece (CommDs).
    pub root: Node,
    /// Offset of the piece in the deal, in padded bytes.
    pub offset: u64,
    /// Size of the piece, in padded bytes.
    pub size: u64,
    /// Guards against reading random deal bytes as an entry.
    pub checksum: [u8; CHECKSUM_SIZE],
}

impl IndexEntry {
    /// An entry for the piece `root` at `offset` with `size` (padded bytes), checksum filled in.
    pub fn new(root: Node, offset: u64, size: u64) -> Self {
        let mut entry = IndexEntry { root, offset, size, checksum: [0; CHECKSUM_SIZE] };
        entry.checksum = entry.compute_checksum();
        entry
    }

    /// The checksum this entry should carry.
    pub fn compute_checksum(&self) -> [u8; CHECKSUM_SIZE] {
        let mut bytes = self.to_bytes();
        bytes[48..].fill(0);
        let digest = Sha256::digest(bytes);
        let mut sum = [0u8; CHECKSUM_SIZE];
        sum.copy_from_slice(&digest[..CHECKSUM_SIZE]);
        sum[CHECKSUM_SIZE - 1] &= 0x3f;
        sum
    }

    /// Whether the entry is well formed as go-data-segment checks it: right checksum, offset and
    /// size whole quads of padded bytes.
    pub fn is_valid(&self) -> bool {
        self.checksum == self.compute_checksum() && self.offset & 127 == 0 && self.size & 127 == 0
    }

    /// The 64 bytes of the entry.
    pub fn to_bytes(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.root);
        out[32..40].copy_from_slice(&self.offset.to_le_bytes());
        out[40..48].copy_from_slice(&self.size.to_le_bytes());
        out[48..].copy_from_slice(&self.checksum);
        out
    }

    /// An entry read from 64 bytes (not validated; see [`IndexEntry::is_valid`]).
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        let mut root = [0u8; 32];
        root.copy_from_slice(&bytes[..32]);
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[32..40]);
        let offset = u64::from_le_bytes(word);
        word.copy_from_slice(&bytes[40..48]);
        let size = u64::from_le_bytes(word);
        let mut checksum = [0u8; CHECKSUM_SIZE];
        checksum.copy_from_slice(&bytes[48..]);
        IndexEntry { root, offset, size, checksum }
    }

    /// The deal-tree node above the entry's two leaves: what the index half of an inclusion
    /// proof starts from.
    pub fn node(&self) -> Node {
        hash_block(&self.to_bytes())
    }
}

/// How many entries the index of a deal of `deal_size` padded bytes holds (FRC-0058):
/// `max(4, 2^ceil(log2(deal_size / 2048 / 64)))`.
pub fn max_index_entries(deal_size: u64) -> u64 {
    let n = deal_size / 2048 / ENTRY_SIZE;
    if n <= 1 {
        return 4;
    }
    // ceil(log2(n)) for n >= 2; n < 2^58 so the shift stays in range.
    let log = 64 - (n - 1).leading_zeros();
    (1u64 << log).max(4)
}

/// Padded bytes the index of a `deal_size` deal takes.
pub fn index_size(deal_size: u64) -> u64 {
    max_index_entries(deal_size) * ENTRY_SIZE
}

/// Padded byte offset where the index area starts: the last [`index_size`] bytes of the deal.
/// Saturates at 0 for deals too small to hold an index.
pub fn index_area_start(deal_size: u64) -> u64 {
    deal_size.saturating_sub(index_size(deal_size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_counts() {
        assert_eq!(max_index_entries(128), 4);
        assert_eq!(max_index_entries(1 << 20), 8);
        assert_eq!(max_index_entries(1 << 30), 8192);
        assert_eq!(max_index_entries(32 << 30), 1 << 18);
        assert_eq!(max_index_entries(64 << 30), 1 << 19);
        assert_eq!(index_area_start(32 << 30), (32 << 30) - (64 << 18));
        // go-data-segment's golden proof: index entry #3 of a 32 GiB deal at node 0x1ffc0003.
        assert_eq!(index_area_start(32 << 30) / 64 + 3, 0x1ffc0003);
    }

    #[test]
    fn entry_bytes_round_trip_and_checksum() {
        let e = IndexEntry::new([5; 32], 1 << 20, 1 << 19);
        assert!(e.is_valid());
        assert_eq!(IndexEntry::from_bytes(&e.to_bytes()), e);
        assert_eq!(e.checksum[15] & 0xc0, 0);
        let mut bad = e;
        bad.offset += 128;
        assert!(!bad.is_valid());
    }

    /// go-data-segment testdata/sample_aggregate/index.json: the two entries of its sample 1 MiB
    /// aggregate (cat.png.car, then "Verifiable Data Aggregation.png.car").
    #[test]
    fn go_data_segment_sample_index() {
        let cat = IndexEntry::new(
            [
                2, 119, 18, 72, 195, 40, 240, 61, 73, 221, 48, 103, 174, 113, 253, 164, 198, 35,
                13, 237, 131, 21, 234, 81, 83, 158, 113, 85, 197, 176, 38, 27,
            ],
            0,
            524288,
        );
        assert_eq!(
            cat.checksum,
            [240, 159, 115, 245, 242, 113, 10, 184, 63, 217, 104, 66, 92, 115, 185, 30]
        );
        let vda = IndexEntry::new(
            [
                216, 179, 77, 209, 184, 205, 110, 126, 140, 181, 231, 6, 233, 182, 166, 153, 199,
                243, 17, 221, 174, 24, 143, 78, 154, 8, 28, 149, 196, 199, 76, 56,
            ],
            524288,
            262144,
        );
        assert_eq!(
            vda.checksum,
            [132, 3, 181, 210, 141, 102, 112, 210, 53, 106, 33, 44, 114, 197, 58, 3]
        );
    }
}
