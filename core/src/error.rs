//! Typed errors. Each carries the CID, path or byte offset at fault, so an adapter can report it
//! without guessing.

use cid::Cid;

/// A setting that cannot be honoured (bad chunker name, CIDv0 with blake3, ...).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SettingsError {
    #[error(
        "unknown or invalid chunker {0:?} (expected size-N, rabin[-AVG|-MIN-AVG-MAX] or buzhash)"
    )]
    Chunker(String),
    #[error("unknown profile {0:?} (expected unixfs-v0-2015, unixfs-v1-2025 or ipfs-car)")]
    Profile(String),
    #[error("unknown layout {0:?} (expected balanced or trickle)")]
    Layout(String),
    #[error("unknown hash {0:?} (expected sha2-256 or blake3)")]
    Hash(String),
    #[error("CIDv0 can only name sha2-256 dag-pb blocks; use --cid-version 1 with {0}")]
    CidV0Hash(String),
    #[error("inline limit {0} is above the largest carport inlines (64 bytes)")]
    InlineLimit(usize),
    #[error("max links per node must be at least 2, got {0}")]
    MaxLinks(usize),
    #[error("HAMT fanout must be a power of two from 8 to 65536, got {0}")]
    HamtFanout(usize),
}

/// A dag-pb or UnixFS block that does not decode.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("varint too long at byte {0}")]
    VarintOverflow(usize),
    #[error("varint not minimally encoded at byte {0}")]
    NonCanonical(usize),
    #[error("unexpected field {field} (wire type {wire}) at byte {offset}")]
    UnexpectedField { field: u64, wire: u64, offset: usize },
    #[error("fields out of order or repeated at byte {0}")]
    FieldOrder(usize),
    #[error("link without a hash at byte {0}")]
    MissingHash(usize),
    #[error("invalid CID in link at byte {0}")]
    BadCid(usize),
    #[error("link name is not UTF-8 at byte {0}")]
    BadName(usize),
    #[error("UnixFS data has no Type")]
    MissingType,
    #[error("unknown UnixFS type {0}")]
    UnknownType(u64),
}

/// A CAR file that cannot be read. Offsets are from the start of the file.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CarError {
    #[error("not a CAR file: bad header at byte {offset}: {reason}")]
    Header { offset: u64, reason: String },
    #[error("unsupported CAR version {0}")]
    Version(u64),
    #[error("CAR truncated at byte {0}")]
    Truncated(u64),
    #[error(
        "CAR truncated at byte {end}, inside block {cid} (its section starts at byte {offset})"
    )]
    TruncatedBlock { cid: Cid, offset: u64, end: u64 },
    #[error("section at byte {offset} is too large ({len} bytes)")]
    SectionTooLarge { offset: u64, len: u64 },
    #[error("invalid CID in section at byte {0}")]
    BadCid(u64),
    #[error("invalid CARv2 index at byte {offset}: {reason}")]
    Index { offset: u64, reason: String },
}

/// Why a CAR failed verification.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error(transparent)]
    Car(#[from] CarError),
    #[error("block {cid} at byte {offset} does not match its CID")]
    HashMismatch { cid: Cid, offset: u64 },
    #[error("block {cid} at byte {offset} uses hash 0x{code:x}, which carport cannot check")]
    UnsupportedHash { cid: Cid, offset: u64, code: u64 },
    #[error("block {cid} at byte {offset} does not decode: {source}")]
    Decode { cid: Cid, offset: u64, source: DecodeError },
    #[error("block {cid} is reachable from the roots but missing from the CAR")]
    MissingBlock { cid: Cid },
    #[error("the CAR declares no roots")]
    NoRoots,
    #[error("expected root {expected} but the CAR declares {found:?}")]
    WrongRoot { expected: Cid, found: Vec<Cid> },
}

/// An import that cannot go on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ImportError {
    #[error("invalid path {0:?}")]
    BadPath(String),
    #[error("{0:?} was added twice")]
    Duplicate(String),
    #[error("{0:?} is a file, so it cannot also be a folder")]
    NotADirectory(String),
    #[error("write without an open file")]
    NoOpenFile,
    #[error("a file is still open: {0:?}")]
    FileOpen(String),
    #[error("nothing was imported")]
    Empty,
}
