//! Typed errors of piece hashing, piece CIDs, aggregation and inclusion proofs. Each names the
//! CID, size or byte offset at fault so the CLI, a Worker or a browser can say what went wrong.

use cid::Cid;

/// A size that no piece can have.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SizeError {
    /// A padded size that is not a power of two.
    #[error("padded piece size {0} is not a power of two")]
    NotPowerOfTwo(u64),
    /// A padded size below 128 bytes, the smallest piece.
    #[error("padded piece size {0} is below the 128-byte minimum piece")]
    PaddedTooSmall(u64),
    /// A tree height outside the 2..=58 a piece CID may describe.
    #[error("tree height {0} is outside 2..=58 (128 bytes to 2^63 bytes)")]
    Height(u8),
    /// More zero padding than the tree holds payload, as a forged or corrupt v2 piece CID may claim.
    #[error(
        "padding of {padding} bytes is more than a height-{height} tree holds ({capacity} bytes)"
    )]
    Padding {
        /// Bytes of padding claimed.
        padding: u64,
        /// Height of the tree.
        height: u8,
        /// Payload bytes a tree of that height holds.
        capacity: u64,
    },
    /// A payload too large for the tallest tree a piece CID can describe (height 58).
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
    /// No bytes were hashed.
    #[error("no data: a piece commitment needs at least 65 bytes")]
    Empty,
    /// Fewer than 65 bytes were hashed; fr32 padding is undefined below that.
    #[error("only {size} bytes: a piece commitment needs at least 65 bytes (fr32 padding is undefined below)")]
    TooSmall {
        /// Bytes hashed.
        size: u64,
    },
    /// The payload went past what a 64 GiB sector holds; the bytes past the limit were not hashed.
    #[error("payload passes {max} bytes (a 64 GiB sector) at byte {offset}")]
    TooLarge {
        /// Byte of the payload at which the limit was passed.
        offset: u64,
        /// The largest payload, in bytes.
        max: u64,
    },
    /// `finish` was called on a hasher made with a deferred head (or `finish_with_head` on one
    /// made without).
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
    /// The CID is a CIDv0.
    #[error("{cid} is not a CIDv1")]
    Version {
        /// The CID read.
        cid: Cid,
    },
    /// The CID's codec is not the one this kind of piece CID has (raw for v2,
    /// fil-commitment-unsealed for v1).
    #[error("{cid} has codec {codec:#x}, expected {expected:#x}")]
    Codec {
        /// The CID read.
        cid: Cid,
        /// Its multicodec.
        codec: u64,
        /// The multicodec this kind of piece CID has.
        expected: u64,
    },
    /// The CID's multihash is not the one this kind of piece CID has
    /// (fr32-sha256-trunc254-padbintree for v2, sha2-256-trunc254-padded for v1).
    #[error("{cid} has multihash {code:#x}, expected {expected:#x}")]
    Multihash {
        /// The CID read.
        cid: Cid,
        /// Its multihash code.
        code: u64,
        /// The multihash code this kind of piece CID has.
        expected: u64,
    },
    /// The digest is not 32 bytes (v1) or the padding varint, height and 32-byte root (v2).
    #[error("{cid} has a {len}-byte digest, expected {expected}")]
    DigestLength {
        /// The CID read.
        cid: Cid,
        /// Bytes in its digest.
        len: usize,
        /// Bytes the digest should have.
        expected: usize,
    },
    /// A v2 digest whose leading padding varint is truncated, over 9 bytes or not minimal.
    #[error("{cid}: the padding varint at the start of the digest is truncated, too long or not minimal")]
    PaddingVarint {
        /// The CID read.
        cid: Cid,
    },
    /// The height, padded size or padding the CID (or the size given with it) describes is not a
    /// valid piece.
    #[error("{cid}: {reason}")]
    Size {
        /// The CID read.
        cid: Cid,
        /// What is wrong with the size.
        reason: SizeError,
    },
    /// The text is not a CID at all.
    #[error("{text:?} is not a CID: {reason}")]
    Parse {
        /// The text given.
        text: String,
        /// The CID parser's message.
        reason: String,
    },
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
    /// A deal size that is not a power of two.
    #[error("deal size {0} is not a power of two")]
    DealSizeNotPowerOfTwo(u64),
    /// A deal too small to hold its data segment index and one 128-byte piece.
    #[error("deal size {size} is too small: the data segment index alone takes {index} bytes and the smallest piece 128 (at least {min})")]
    DealTooSmall {
        /// Padded bytes of the deal.
        size: u64,
        /// Padded bytes the deal's index takes.
        index: u64,
        /// The smallest deal, in padded bytes (512).
        min: u64,
    },
    /// A deal larger than a 64 GiB sector.
    #[error("deal size {size} is above the {max}-byte maximum (a 64 GiB sector)")]
    DealTooLarge {
        /// Padded bytes of the deal.
        size: u64,
        /// The largest deal, in padded bytes.
        max: u64,
    },
    /// An aggregate was asked for with no pieces in it.
    #[error("no pieces to aggregate")]
    NoPieces,
    /// One of the CIDs given is not a valid v2 piece CID.
    #[error("piece #{piece} cannot be aggregated: {reason}")]
    BadPiece {
        /// Position of the piece in the list given, from 0.
        piece: usize,
        /// Why its CID is not a piece CID.
        reason: PieceCidError,
    },
    /// The deal's index is full: it lists at most `limit` pieces.
    #[error("{count} pieces are more than a {deal_size}-byte deal's index holds ({limit})")]
    TooManyPieces {
        /// Pieces the deal would hold with this one.
        count: usize,
        /// Padded bytes of the deal.
        deal_size: u64,
        /// Most pieces the deal's index lists.
        limit: u64,
    },
    /// The piece, aligned to its size after the ones before it, would run into the index area.
    #[error("piece #{piece} ({cid}) does not fit: pieces would end at byte {end} and the index starts at byte {index_start} of the {deal_size}-byte deal")]
    DoesNotFit {
        /// Position of the piece in the deal, from 0.
        piece: usize,
        /// Its v2 piece CID.
        cid: Cid,
        /// Padded byte of the deal where the piece would end.
        end: u64,
        /// Padded byte of the deal where the index area starts.
        index_start: u64,
        /// Padded bytes of the deal.
        deal_size: u64,
    },
    /// A proof was asked for a piece that is not in the aggregate (or whose CID is not a v2
    /// piece CID).
    #[error("piece {cid} is not in this aggregate")]
    PieceNotFound {
        /// The CID asked for.
        cid: Cid,
    },
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
    /// The piece's CID is not a valid v2 piece CID.
    #[error("bad piece CID: {0}")]
    Piece(PieceCidError),
    /// The aggregate's CID is not a valid v2 piece CID.
    #[error("bad aggregate CID: {0}")]
    Aggregate(PieceCidError),
    /// A proof path longer than the 63 levels supported.
    #[error("{which} proof is {depth} levels deep; at most 63 are supported")]
    TooDeep {
        /// Which path.
        which: ProofPart,
        /// Nodes in it.
        depth: usize,
    },
    /// A proof path whose offset does not fit in a tree of its depth.
    #[error("{which} proof offset {offset} is outside a tree {depth} levels deep")]
    OffsetOutOfRange {
        /// Which path.
        which: ProofPart,
        /// Index of the proven node within its level.
        offset: u64,
        /// Nodes in the path.
        depth: usize,
    },
    /// The piece's height plus the subtree path's depth is not the aggregate's height.
    #[error("a height-{piece_height} piece with a {depth}-level subtree proof makes a height-{implied} tree, but the aggregate has height {aggregate_height}")]
    TreeHeight {
        /// Height of the piece's tree.
        piece_height: u8,
        /// Nodes in the subtree path.
        depth: usize,
        /// Height of the tree the two make.
        implied: usize,
        /// Height of the aggregate's tree (0 when none could be made from the proof).
        aggregate_height: u8,
    },
    /// The index path's depth plus one is not the aggregate's height.
    #[error("an index proof of {depth} levels makes a height-{implied} tree, but the aggregate has height {aggregate_height}")]
    IndexHeight {
        /// Nodes in the index path.
        depth: usize,
        /// Height of the tree it makes.
        implied: usize,
        /// Height of the aggregate's tree.
        aggregate_height: u8,
    },
    /// Hashing up the subtree path from the piece's root does not give the aggregate's root.
    #[error("the subtree proof does not lead to the aggregate root")]
    TreeRootMismatch,
    /// Hashing up the index path from the piece's expected index entry does not give the
    /// aggregate's root.
    #[error("the index proof does not lead to the aggregate root (wrong entry, offset or path)")]
    IndexRootMismatch,
    /// The index path proves an entry that lies before the deal's index area, among the pieces.
    #[error(
        "the index entry is at byte {offset}, before the index area that starts at byte {start}"
    )]
    IndexOutsideArea {
        /// Padded byte of the deal where the proven entry is.
        offset: u64,
        /// Padded byte of the deal where the index area starts.
        start: u64,
    },
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
    /// The proof's text is not unpadded base64url.
    #[error("proof text: {0}")]
    Text(#[from] crate::codec::base64url::Base64Error),
    /// The proof ended early, at this byte.
    #[error("proof truncated at byte {0}")]
    Truncated(usize),
    /// A CBOR item of the wrong type or shape.
    #[error("expected {expected} at byte {offset}")]
    Unexpected {
        /// Byte where the item starts.
        offset: usize,
        /// What was expected there.
        expected: &'static str,
    },
    /// A CBOR length or integer not in its shortest form, at this byte.
    #[error("non-canonical (not minimal) CBOR length or integer at byte {0}")]
    NonMinimal(usize),
    /// A proof path of more than 63 nodes.
    #[error("proof path at byte {offset} has {len} nodes; at most 63 are supported")]
    PathTooLong {
        /// Byte where the path's node array starts.
        offset: usize,
        /// Nodes it claims.
        len: u64,
    },
    /// A node that is not a 32-byte string.
    #[error("node at byte {offset} is {len} bytes, expected 32")]
    NodeLength {
        /// Byte where the node starts.
        offset: usize,
        /// Bytes it claims.
        len: u64,
    },
    /// Bytes left over after the proof, this many.
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
