//! Typed errors. Each carries the CID, path or byte offset at fault, so an adapter can report it
//! without guessing; [`Coded`] hands those out with a stable code, the same way for every error.

use cid::Cid;

use crate::car::HeaderError;
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
    /// A chunker name that does not parse, or whose sizes boxo would refuse.
    #[error(
        "unknown or invalid chunker {0:?} (expected size-N, rabin[-AVG|-MIN-AVG-MAX] or buzhash)"
    )]
    Chunker(String),
    /// A profile name that is not one of the presets.
    #[error("unknown profile {0:?} (expected unixfs-v0-2015, unixfs-v1-2025 or ipfs-car)")]
    Profile(String),
    /// A DAG layout name other than `balanced` or `trickle`.
    #[error("unknown layout {0:?} (expected balanced or trickle)")]
    Layout(String),
    /// A hash name carport cannot hash with.
    #[error("unknown hash {0:?} (expected {expected})", expected = HashAlg::expected())]
    Hash(String),
    /// CIDv0 asked for with a hash other than sha2-256 (named here).
    #[error("CIDv0 can only name sha2-256 dag-pb blocks; use --cid-version 1 with {0}")]
    CidV0Hash(String),
    /// An identity-CID inline limit above 64 bytes.
    #[error("inline limit {0} is above the largest carport inlines (64 bytes)")]
    InlineLimit(usize),
    /// Fewer than 2 links per node, so no tree could grow.
    #[error("max links per node must be at least 2, got {0}")]
    MaxLinks(usize),
    /// A HAMT fanout that is not a power of two from 8 to 65536.
    #[error("HAMT fanout must be a power of two from 8 to 65536, got {0}")]
    HamtFanout(usize),
}

/// A dag-pb or UnixFS block that does not decode.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The block ends inside a field, at this byte.
    #[error("truncated at byte {0}")]
    Truncated(usize),
    /// A varint longer than a u64, starting at this byte.
    #[error("varint too long at byte {0}")]
    VarintOverflow(usize),
    /// A varint with needless continuation bytes, at this byte.
    #[error("varint not minimally encoded at byte {0}")]
    NonCanonical(usize),
    /// A field number or wire type the message does not have.
    #[error("unexpected field {field} (wire type {wire}) at byte {offset}")]
    UnexpectedField {
        /// The protobuf field number.
        field: u64,
        /// Its protobuf wire type.
        wire: u64,
        /// Byte of the block where the field's key starts.
        offset: usize,
    },
    /// dag-pb fields out of canonical order (a link after the data, a link's fields not in
    /// ascending order) or repeated, at this byte.
    #[error("fields out of order or repeated at byte {0}")]
    FieldOrder(usize),
    /// A link with no `Hash` field; the link starts at this byte.
    #[error("link without a hash at byte {0}")]
    MissingHash(usize),
    /// A link whose `Hash` is not exactly one CID, at this byte.
    #[error("invalid CID in link at byte {0}")]
    BadCid(usize),
    /// A link `Name` that is not UTF-8, at this byte.
    #[error("link name is not UTF-8 at byte {0}")]
    BadName(usize),
    /// A dag-pb node with no UnixFS data, or UnixFS data with no `Type`.
    #[error("UnixFS data has no Type")]
    MissingType,
    /// A UnixFS `Type` past the six known ones (0 to 5).
    #[error("unknown UnixFS type {0}")]
    UnknownType(u64),
}

/// A CAR file that cannot be read. Offsets are from the start of the file.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CarError {
    /// The CAR header (or CARv2 pragma and header) is malformed.
    #[error("not a CAR file: bad header at byte {offset}: {reason}")]
    Header {
        /// Byte where the bad header starts.
        offset: u64,
        /// What is wrong with it.
        reason: HeaderError,
    },
    /// A header declaring a CAR version other than 1 or 2.
    #[error("unsupported CAR version {0}")]
    Version(u64),
    /// The CAR ended early, at this byte, outside any block it could name.
    #[error("CAR truncated at byte {0}")]
    Truncated(u64),
    /// The CAR ended inside a block whose CID was read.
    #[error(
        "CAR truncated at byte {end}, inside block {cid} (its section starts at byte {offset})"
    )]
    TruncatedBlock {
        /// The block's CID.
        cid: Cid,
        /// Byte where its section starts.
        offset: u64,
        /// Byte where the CAR ended.
        end: u64,
    },
    /// A section length prefix past the limit (the reader's section limit, 1 MiB for a header,
    /// or the end of a CARv2's data), or a varint too long to read.
    #[error("section at byte {offset} is too large ({len} bytes)")]
    SectionTooLarge {
        /// Byte where the section's length prefix starts.
        offset: u64,
        /// The length it declares (`u64::MAX` when the varint overflows).
        len: u64,
    },
    /// A section that does not start with a valid CID; the section starts at this byte.
    #[error("invalid CID in section at byte {0}")]
    BadCid(u64),
}

/// Why a CAR failed verification.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    /// The bytes are not a readable CAR.
    #[error(transparent)]
    Car(#[from] CarError),
    /// A block's bytes do not hash to its CID.
    #[error("block {cid} at byte {offset} does not match its CID")]
    HashMismatch {
        /// The CID the block is stored under.
        cid: Cid,
        /// Byte where its section starts.
        offset: u64,
    },
    /// A block whose CID uses a multihash carport does not implement.
    #[error("block {cid} at byte {offset} uses hash 0x{code:x}, which carport cannot check")]
    UnsupportedHash {
        /// The CID the block is stored under.
        cid: Cid,
        /// Byte where its section starts.
        offset: u64,
        /// The multihash code.
        code: u64,
    },
    /// A block whose codec carport reads (dag-pb) does not decode, so its links are unknown.
    #[error("block {cid} at byte {offset} does not decode: {source}")]
    Decode {
        /// The block's CID.
        cid: Cid,
        /// Byte where its section starts (0 for a block inlined in an identity CID).
        offset: u64,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A block linked from the roots is in none of the CARs read.
    #[error("block {cid} is reachable from the roots but missing from the CAR")]
    MissingBlock {
        /// The missing block's CID.
        cid: Cid,
    },
    /// The CAR's header lists no roots.
    #[error("the CAR declares no roots")]
    NoRoots,
    /// The root the caller expects is not among the CAR's roots.
    #[error("expected root {expected} but the CAR declares {found:?}")]
    WrongRoot {
        /// The root the caller expects.
        expected: Cid,
        /// The roots the CAR declares.
        found: Vec<Cid>,
    },
}

/// An import that cannot go on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ImportError {
    /// A path that is empty or has a part that is not a valid entry name (`.`, `..`, a NUL), or a
    /// symlink added to a single-file import.
    #[error("invalid path {0:?}")]
    BadPath(String),
    /// A path added a second time.
    #[error("{0:?} was added twice")]
    Duplicate(String),
    /// A path that goes through a file as if it were a folder.
    #[error("{0:?} is a file, so it cannot also be a folder")]
    NotADirectory(String),
    /// File bytes written, or a file ended, with no file begun.
    #[error("write without an open file")]
    NoOpenFile,
    /// A file begun, or the import finished, while a file is still open (a single-file import
    /// takes one file only).
    #[error("a file is still open: {0:?}")]
    FileOpen(String),
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
            | CarError::SectionTooLarge { offset, .. } => Some(*offset),
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
        assert_eq!(ImportError::NoOpenFile.code(), ImportError::FileOpen("a".into()).code());
    }
}
