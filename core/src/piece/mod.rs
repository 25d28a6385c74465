//! Filecoin pieces: commitments (CommP), piece CIDs, deal aggregation and inclusion proofs.
//!
//! A *piece* is a payload as Filecoin stores it: fr32-padded (every 127 bytes spread over four
//! 254-bit field elements, 128 bytes), zero-filled to a power of two, and committed to by the root
//! of a binary SHA-256 merkle tree whose nodes have their top two bits cleared. This module
//! computes that commitment in a stream ([`PieceHasher`]), names it with v2 (FRC-0069) and legacy
//! v1 piece CIDs ([`Piece`]), packs pieces into a deal with a data segment index ([`Aggregate`],
//! FRC-0058) and proves and checks that a piece is in a deal ([`InclusionProof`],
//! [`verify_inclusion`]). Results match go-fil-commp-hashhash, go-data-segment and
//! @web3-storage/data-segment byte for byte.
//!
//! Like the rest of carport-core it is sans-IO and pure Rust: bytes in, values out.

// The errors carry the CID at fault (a `Cid` is about 90 bytes) so callers can report it; they
// are only built on failure paths, so the larger `Result`s cost nothing measurable.
#![allow(clippy::result_large_err)]

pub mod aggregate;
mod cbor;
pub mod cid;
pub mod error;
pub mod fr32;
pub mod index;
pub mod node;
mod pair;
pub mod proof;
pub mod size;
pub mod subtree;
pub mod tree;
#[cfg(test)]
mod vectors;
pub mod zero;

pub use aggregate::{pack_deal, Aggregate, AggregateBuilder, PayloadRun, Placement};
pub use cid::{v1_to_v2, v1_to_v2_with_payload, v2_to_v1, Piece};
pub use error::{
    AggregateError, InclusionError, PieceCidError, PieceError, ProofDecodeError, ProofPart,
    SizeError,
};
pub use index::IndexEntry;
pub use node::Node;
pub use proof::{verify_inclusion, InclusionProof, ProofPath};
pub use subtree::{join, subtree_len, subtree_of, JoinError, Subtree, SubtreeHasher};
pub use tree::{piece_of, PieceHasher, PieceInfo, HEAD_LEN};
