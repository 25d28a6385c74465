//! Typed errors. Each carries the CID, path or byte offset at fault, so an adapter can report it
//! without guessing; [`Coded`] hands those out with a stable code, the same way for every error.

use cid::Cid;

use crate::car::{HeaderError, IndexError};
use crate::codec::cids::HashAlg;

/// What an adapter needs of any core error besides its message, as `std::io::Error::kind` is for
/// I/O: a code that stays the same across releases and wordings (the npm package's
/// `CarportError.code`, the upload door's `code`), and the CID and byte offset at fault.
pub trait Coded: std::error::Error {
    /// The stable code of the error's kind, such as `"HashMismatch"`.
    fn code(&self) -> &'static str;
    /// The CID at fault, when there is one.
    fn cid(&self) -> Option<&Cid> {
        None
    }
    /// The byte offset at fault, when there is one: from the start of the CAR for the errors of
    /// reading, verifying and ingesting a CAR; an error about other bytes (a block, a header map,
    /// an index, an inclusion proof) says on its `Coded` impl what its offset counts from.
    fn offset(&self) -> Option<u64> {
        None
    }
}

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
    #[error("unknown hash {0:?} (expected {expected})", expected = HashAlg::expected())]
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
    Header { offset: u64, reason: HeaderError },
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
    Index { offset: u64, reason: IndexError },
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

impl Coded for SettingsError {
    fn code(&self) -> &'static str {
        "Settings"
    }
}

impl Coded for DecodeError {
    fn code(&self) -> &'static str {
        "Decode"
    }
}

impl Coded for CarError {
    fn code(&self) -> &'static str {
        match self {
            CarError::Header { .. } => "CarHeader",
            CarError::Version(_) => "CarVersion",
            CarError::Truncated(_) => "Truncated",
            CarError::TruncatedBlock { .. } => "TruncatedBlock",
            CarError::SectionTooLarge { .. } => "SectionTooLarge",
            CarError::BadCid(_) => "BadCid",
            CarError::Index { .. } => "CarIndex",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            CarError::TruncatedBlock { cid, .. } => Some(cid),
            _ => None,
        }
    }

    fn offset(&self) -> Option<u64> {
        match self {
            CarError::Header { offset, .. }
            | CarError::TruncatedBlock { offset, .. }
            | CarError::SectionTooLarge { offset, .. }
            | CarError::Index { offset, .. } => Some(*offset),
            CarError::Truncated(at) | CarError::BadCid(at) => Some(*at),
            CarError::Version(_) => None,
        }
    }
}

impl Coded for VerifyError {
    fn code(&self) -> &'static str {
        match self {
            VerifyError::Car(e) => e.code(),
            VerifyError::HashMismatch { .. } => "HashMismatch",
            VerifyError::UnsupportedHash { .. } => "UnsupportedHash",
            VerifyError::Decode { .. } => "Decode",
            VerifyError::MissingBlock { .. } => "MissingBlock",
            VerifyError::NoRoots => "NoRoots",
            VerifyError::WrongRoot { .. } => "WrongRoot",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            VerifyError::Car(e) => e.cid(),
            VerifyError::HashMismatch { cid, .. }
            | VerifyError::UnsupportedHash { cid, .. }
            | VerifyError::Decode { cid, .. }
            | VerifyError::MissingBlock { cid } => Some(cid),
            VerifyError::WrongRoot { expected, .. } => Some(expected),
            VerifyError::NoRoots => None,
        }
    }

    fn offset(&self) -> Option<u64> {
        match self {
            VerifyError::Car(e) => e.offset(),
            VerifyError::HashMismatch { offset, .. }
            | VerifyError::UnsupportedHash { offset, .. }
            | VerifyError::Decode { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

impl Coded for ImportError {
    fn code(&self) -> &'static str {
        "Import"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verify_error_of_a_car_is_the_car_error_s() {
        let cid: Cid =
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
        let car = CarError::TruncatedBlock { cid, offset: 40, end: 90 };
        let e = VerifyError::Car(car.clone());
        assert_eq!((e.code(), e.cid(), e.offset()), ("TruncatedBlock", Some(&cid), Some(40)));
        assert_eq!((car.code(), car.cid(), car.offset()), (e.code(), e.cid(), e.offset()));
        let e = VerifyError::HashMismatch { cid, offset: 7 };
        assert_eq!((e.code(), e.cid(), e.offset()), ("HashMismatch", Some(&cid), Some(7)));
        assert_eq!((VerifyError::NoRoots.cid(), VerifyError::NoRoots.offset()), (None, None));
    }

    /// One example of each error that gained a code, with the code, CID and offset an adapter
    /// reads off it; wrappers give their inner error's.
    #[test]
    fn every_core_error_has_a_code_and_names_what_is_at_fault() {
        use crate::car::{HeaderError, IndexError};
        use crate::gateway::cbor::CborError;
        use crate::gateway::http::NegotiateError;
        use crate::gateway::path::PathError;
        use crate::gateway::resolve::ResolveError;
        use crate::gateway::traverse::{BadScope, TraverseError};
        use crate::gateway::BlockError;
        use crate::piece::{AggregateError, InclusionError, PieceCidError, ProofDecodeError};
        use crate::unixfs::read::FileError;
        use crate::unixfs::walk::WalkError;

        let cid: Cid =
            "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".parse().unwrap();
        let c = Some(&cid);
        let bad_piece = PieceCidError::Version { cid };
        let sizes = FileError::Sizes { cid, links: 2, sizes: 1 };
        type Case<'a> = (Box<dyn Coded>, &'a str, Option<&'a Cid>, Option<u64>);
        let cases: Vec<Case> = vec![
            (
                Box::new(ResolveError::NotFound { parent: cid, segment: "a".into(), index: 0 }),
                "NotFound",
                c,
                None,
            ),
            (Box::new(ResolveError::BadShard(cid)), "BadShard", c, None),
            (
                Box::new(ResolveError::Cbor { cid, source: CborError::Invalid(3) }),
                "DagCbor",
                c,
                None,
            ),
            (Box::new(CborError::Truncated(9)), "DagCbor", None, Some(9)),
            (Box::new(FileError::NotAFile(cid)), "NotAFile", c, None),
            (Box::new(sizes.clone()), "BlockSizes", c, None),
            (Box::new(FileError::Length { cid, got: 1, want: 2 }), "FileLength", c, None),
            (Box::new(WalkError::File(sizes.clone())), "BlockSizes", c, None),
            (Box::new(TraverseError::File(sizes)), "BlockSizes", c, None),
            (Box::new(BlockError::HashMismatch(cid)), "HashMismatch", c, None),
            (Box::new(BlockError::UnsupportedHash { cid, code: 0x99 }), "UnsupportedHash", c, None),
            (Box::new(HeaderError::TrailingBytes { at: 10 }), "CarHeader", None, Some(10)),
            (Box::new(IndexError::Truncated { at: 18 }), "CarIndex", None, Some(18)),
            (Box::new(NegotiateError::Format("tar".into())), "Format", None, None),
            (Box::new(NegotiateError::Scope(BadScope("x".into()))), "DagScope", None, None),
            (Box::new(PathError::TooLongForDns("x".into())), "DnsLabel", None, None),
            (Box::new(bad_piece.clone()), "PieceCid", c, None),
            (
                Box::new(AggregateError::BadPiece { piece: 0, reason: bad_piece.clone() }),
                "Aggregate",
                c,
                None,
            ),
            (Box::new(AggregateError::NoPieces), "Aggregate", None, None),
            (Box::new(InclusionError::Piece(bad_piece)), "PieceCid", c, None),
            (Box::new(InclusionError::TreeRootMismatch), "Inclusion", None, None),
            (Box::new(ProofDecodeError::NonMinimal(4)), "ProofDecode", None, Some(4)),
            (Box::new(ProofDecodeError::TrailingBytes(2)), "ProofDecode", None, None),
        ];
        for (e, code, cid, offset) in &cases {
            assert_eq!((e.code(), e.cid(), e.offset()), (*code, *cid, *offset), "{e}");
        }
    }

    #[test]
    fn settings_and_import_errors_have_one_code_each() {
        assert_eq!(SettingsError::MaxLinks(1).code(), "Settings");
        assert_eq!(ImportError::NoOpenFile.code(), ImportError::Empty.code());
    }
}
