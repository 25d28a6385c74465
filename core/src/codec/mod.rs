//! The bytes every other module speaks: the [`multicodec`] codes, varints, dag-pb (the envelope
//! of every UnixFS node), the one CBOR item head carport writes, CIDs and the hashes that make
//! them, blocks, and base64url for proofs in text.

pub mod base64url;
pub mod block;
pub(crate) mod cbor;
pub mod cids;
pub mod dagpb;
pub mod multicodec;
pub mod sha256x4;
pub mod varint;
