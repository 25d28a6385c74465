//! Typed errors of piece hashing, piece CIDs, aggregation and inclusion proofs. Each names the
//! CID, size or byte offset at fault so the CLI, a Worker or a browser can say what went wrong.

use cid::Cid;

/// A size that no piece can have.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SizeError {
    #[error("padded piece size {0} is not a power of two")]
    NotPowerOfTwo(u64),
    #[error("padded piece size {0} is below the 128-byte minimum piece")]
    PaddedTooSmall(u64),
    #[error("padded piece size {size} is above the {max}-byte maximum")]
    PaddedTooLarge { size: u64, max: u64 },
    #[error("tree height {0} is outside 2..=58 (128 bytes to 2^63 bytes)")]
    Height(u8),
    #[error(
        "padding of {padding} bytes is more than a height-{height} tree holds ({capacity} bytes)"
    )]
    Padding { padding: u64, height: u8, capacity: u64 },
    #[error(
        "payload of {payload} bytes does not fit a {padded}-byte padded piece (at most {capacity})"
    )]
    PayloadDoesNotFit { payload: u64, padded: u64, capacity: u64 },
    #[error("payload of {0} bytes is too large to describe")]
    PayloadTooLarge(u64),
}

impl crate::error::Coded for SizeError {
    fn code(&self) -> &'static str {
        "PieceSize"
    }
}

/// Why a byte stream has no piece commitment.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PieceError {
    #[error("no data: a piece commitment needs at least 65 bytes")]
    Empty,
    #[error("only {size} bytes: a piece commitment needs at least 65 bytes (fr32 padding is undefined below)")]
    TooSmall { size: u64 },
    #[error("payload passes {max} bytes (a 64 GiB sector) at byte {offset}")]
    TooLarge { offset: u64, max: u64 },
    #[error("a hasher with a deferred head must be finished with that head")]
    NoDeferredHead,
}

impl crate::error::Coded for PieceError {
    fn code(&self) -> &'static str {
        "Piece"
    }
}

/// A CID that is not a valid piece CID of the kind expected.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PieceCidError {
    #[error("{cid} is not a CIDv1")]
    Version { cid: Cid },
    #[error("{cid} has codec {codec:#x}, expected {expected:#x}")]
    Codec { cid: Cid, codec: u64, expected: u64 },
    #[error("{cid} has multihash {code:#x}, expected {expected:#x}")]
    Multihash { cid: Cid, code: u64, expected: u64 },
    #[error("{cid} has a {len}-byte digest, expected {expected}")]
    DigestLength { cid: Cid, len: usize, expected: usize },
    #[error("{cid}: the padding varint at the start of the digest is truncated, too long or not minimal")]
    PaddingVarint { cid: Cid },
    #[error("{cid}: {reason}")]
    Size { cid: Cid, reason: SizeError },
    #[error("{text:?} is not a CID: {reason}")]
    Parse { text: String, reason: String },
}

impl crate::error::Coded for PieceCidError {
    fn code(&self) -> &'static str {
        "PieceCid"
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            PieceCidError::Version { cid }
            | PieceCidError::Codec { cid, .. }
            | PieceCidError::Multihash { cid, .. }
            | PieceCidError::DigestLength { cid, .. }
            | PieceCidError::PaddingVarint { cid }
            | PieceCidError::Size { cid, .. } => Some(cid),
            PieceCidError::Parse { .. } => None,
        }
    }
}

/// Why pieces cannot be aggregated into a deal.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum AggregateError {
    #[error("deal size {0} is not a power of two")]
    DealSizeNotPowerOfTwo(u64),
    #[error("deal size {size} is too small: the data segment index alone takes {index} bytes and the smallest piece 128 (at least {min})")]
    DealTooSmall { size: u64, index: u64, min: u64 },
    #[error("deal size {size} is above the {max}-byte maximum (a 64 GiB sector)")]
    DealTooLarge { size: u64, max: u64 },
    #[error("no pieces to aggregate")]
    NoPieces,
    #[error("piece #{piece} cannot be aggregated: {reason}")]
    BadPiece { piece: usize, reason: PieceCidError },
    #[error("{count} pieces are more than a {deal_size}-byte deal's index holds ({limit})")]
    TooManyPieces { count: usize, deal_size: u64, limit: u64 },
    #[error("piece #{piece} ({cid}) does not fit: pieces would end at byte {end} and the index starts at byte {index_start} of the {deal_size}-byte deal")]
    DoesNotFit { piece: usize, cid: Cid, end: u64, index_start: u64, deal_size: u64 },
    #[error("piece {cid} is not in this aggregate")]
    PieceNotFound { cid: Cid },
}

impl crate::error::Coded for AggregateError {
    fn code(&self) -> &'static str {
        "Aggregate"
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            AggregateError::BadPiece { reason, .. } => reason.cid(),
            AggregateError::DoesNotFit { cid, .. } | AggregateError::PieceNotFound { cid } => {
                Some(cid)
            }
            _ => None,
        }
    }
}

/// Why an inclusion proof does not show that a piece is in an aggregate.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum InclusionError {
    #[error("bad piece CID: {0}")]
    Piece(PieceCidError),
    #[error("bad aggregate CID: {0}")]
    Aggregate(PieceCidError),
    #[error("{which} proof is {depth} levels deep; at most 63 are supported")]
    TooDeep { which: ProofPart, depth: usize },
    #[error("{which} proof offset {offset} is outside a tree {depth} levels deep")]
    OffsetOutOfRange { which: ProofPart, offset: u64, depth: usize },
    #[error("a height-{piece_height} piece with a {depth}-level subtree proof makes a height-{implied} tree, but the aggregate has height {aggregate_height}")]
    TreeHeight { piece_height: u8, depth: usize, implied: usize, aggregate_height: u8 },
    #[error("an index proof of {depth} levels makes a height-{implied} tree, but the aggregate has height {aggregate_height}")]
    IndexHeight { depth: usize, implied: usize, aggregate_height: u8 },
    #[error("the subtree proof does not lead to the aggregate root")]
    TreeRootMismatch,
    #[error("the index proof does not lead to the aggregate root (wrong entry, offset or path)")]
    IndexRootMismatch,
    #[error(
        "the index entry is at byte {offset}, before the index area that starts at byte {start}"
    )]
    IndexOutsideArea { offset: u64, start: u64 },
}

/// A bad piece or aggregate CID is reported as that CID's own error.
impl crate::error::Coded for InclusionError {
    fn code(&self) -> &'static str {
        match self {
            InclusionError::Piece(e) | InclusionError::Aggregate(e) => e.code(),
            _ => "Inclusion",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            InclusionError::Piece(e) | InclusionError::Aggregate(e) => e.cid(),
            _ => None,
        }
    }
}

/// Which half of an inclusion proof an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProofPart {
    /// The path from the piece's root to the aggregate root.
    Subtree,
    /// The path from the piece's index entry to the aggregate root.
    Index,
}

impl core::fmt::Display for ProofPart {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            ProofPart::Subtree => "subtree",
            ProofPart::Index => "index",
        })
    }
}

/// Bytes that are not a dag-cbor inclusion proof `[[offset, [node...]], [offset, [node...]]]`.
/// Offsets are from the start of the encoded proof.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ProofDecodeError {
    #[error("proof text: {0}")]
    Text(#[from] crate::codec::base64url::Base64Error),
    #[error("proof truncated at byte {0}")]
    Truncated(usize),
    #[error("expected {expected} at byte {offset}")]
    Unexpected { offset: usize, expected: &'static str },
    #[error("non-canonical (not minimal) CBOR length or integer at byte {0}")]
    NonMinimal(usize),
    #[error("proof path at byte {offset} has {len} nodes; at most 63 are supported")]
    PathTooLong { offset: usize, len: u64 },
    #[error("node at byte {offset} is {len} bytes, expected 32")]
    NodeLength { offset: usize, len: u64 },
    #[error("{0} unexpected bytes after the proof")]
    TrailingBytes(usize),
}

/// The offset is within the encoded proof.
impl crate::error::Coded for ProofDecodeError {
    fn code(&self) -> &'static str {
        "ProofDecode"
    }

    fn offset(&self) -> Option<u64> {
        match self {
            ProofDecodeError::Truncated(at)
            | ProofDecodeError::NonMinimal(at)
            | ProofDecodeError::Unexpected { offset: at, .. }
            | ProofDecodeError::PathTooLong { offset: at, .. }
            | ProofDecodeError::NodeLength { offset: at, .. } => Some(*at as u64),
            ProofDecodeError::Text(_) | ProofDecodeError::TrailingBytes(_) => None,
        }
    }
}
