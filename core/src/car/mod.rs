//! CAR (Content Addressable aRchive) files, v1 and v2, written by hand: the reader, the writer
//! and the CARv2 index here, and what carport does with them: [`pack`] an import into CAR bytes,
//! [`shard`] it into CARs under a size limit, [`verify`] one.
//!
//! `ipld-car` was evaluated and refused: it writes only flat or chain layouts, and its `libipld`
//! dependency no longer resolves. The format is small (a dag-cbor header, varint-framed sections,
//! a fixed CARv2 header and a sorted index), so carport owns it.

mod cbor;
mod index;
pub mod pack;
mod reader;
pub mod shard;
pub mod verify;
mod writer;

pub use cbor::{decode_header, encode_v1_header, HeaderError, HeaderFields};
pub use index::{decode_index, encode_index, IndexEntry, IndexError, MULTIHASH_INDEX_SORTED};
pub use reader::{read_all, CarReader, Event, MAX_SECTION};
pub use writer::{placeholder_root, section, CarWriter, Finished};

/// The CARv2 pragma: a CARv1-style header `{version: 2}`.
pub const PRAGMA: [u8; 11] = [0x0a, 0xa1, 0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x02];
/// Bytes of the pragma.
pub const PRAGMA_LEN: usize = PRAGMA.len();
/// Bytes of the fixed CARv2 header after the pragma.
pub const V2_HEADER_LEN: usize = 40;

/// The fixed CARv2 header: where the inner CARv1 and the index are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V2Header {
    /// Feature bits; see [`V2Header::FULLY_INDEXED`].
    pub characteristics: [u8; 16],
    /// Byte of the file where the inner CARv1 starts.
    pub data_offset: u64,
    /// Bytes of the inner CARv1.
    pub data_size: u64,
    /// Zero when the CAR has no index.
    pub index_offset: u64,
}

impl V2Header {
    /// The characteristics bit that says the index covers every block, identity CIDs included.
    pub const FULLY_INDEXED: u8 = 0x80;

    /// The header's bytes, as they follow the pragma.
    pub fn encode(&self) -> [u8; V2_HEADER_LEN] {
        let mut out = [0u8; V2_HEADER_LEN];
        out[..16].copy_from_slice(&self.characteristics);
        out[16..24].copy_from_slice(&self.data_offset.to_le_bytes());
        out[24..32].copy_from_slice(&self.data_size.to_le_bytes());
        out[32..40].copy_from_slice(&self.index_offset.to_le_bytes());
        out
    }

    /// Reads the header from the bytes after the pragma; panics on fewer than [`V2_HEADER_LEN`].
    pub fn decode(b: &[u8]) -> Self {
        let u = |r: std::ops::Range<usize>| u64::from_le_bytes(b[r].try_into().expect("8 bytes"));
        V2Header {
            characteristics: b[..16].try_into().expect("16 bytes"),
            data_offset: u(16..24),
            data_size: u(24..32),
            index_offset: u(32..40),
        }
    }
}
