//! Why a record, a name or a key was refused.

use cid::Cid;

use super::keys::key_type_name;
use super::time::Timestamp;
use super::MAX_RECORD_SIZE;
use crate::error::Coded;

/// A record, name or key that carport refuses. [`Coded::code`] gives the stable code of each
/// reason; [`Coded::cid`] the IPNS name at fault, when the error is about one.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IpnsError {
    /// The serialized record is over [`MAX_RECORD_SIZE`] (checked before anything is parsed).
    /// Code `IpnsTooLarge`.
    #[error("the IPNS record is {size} bytes, over the limit of {MAX_RECORD_SIZE} bytes (10 KiB)")]
    TooLarge {
        /// The record's size in bytes.
        size: usize,
    },
    /// The bytes are not a well-formed record: bad protobuf or DAG-CBOR, `signatureV2` or `data`
    /// missing (V1-only records are no longer valid), a field of the wrong type, a `Validity`
    /// that is not an RFC 3339 time. Code `IpnsMalformed`.
    #[error("malformed IPNS record: {0}")]
    Malformed(String),
    /// `signatureV2` does not verify over `"ipns-signature:" + data` with the record's key.
    /// Code `IpnsBadSignature`.
    #[error("the IPNS record's signatureV2 does not verify with its public key")]
    BadSignature,
    /// A legacy V1 field of the protobuf disagrees with the signed `data` (the spec requires
    /// them equal when `signatureV1` or `value` is present). Code `IpnsV1Mismatch`.
    #[error("the IPNS record's V1 field {field} does not match the signed data")]
    V1Mismatch {
        /// The protobuf field: `value`, `validity`, `validityType`, `sequence` or `ttl`.
        field: &'static str,
    },
    /// The record's public key is not the key of the name it was asked for. Code
    /// `IpnsWrongName`.
    #[error("the IPNS record is signed by the key of {found}, not of {name}")]
    WrongName {
        /// The name asked for.
        name: Cid,
        /// The name of the key in the record.
        found: Cid,
    },
    /// The record's `Validity` (its end of life) is not after `now`. Code `IpnsExpired`.
    #[error("the IPNS record expired at {validity} (now is {now})")]
    Expired {
        /// When the record stopped being valid.
        validity: Timestamp,
        /// The time it was checked at.
        now: Timestamp,
    },
    /// The key is of a type carport does not verify or sign with (RSA, ECDSA, unknown numbers;
    /// carport signs with Ed25519 only). Code `IpnsUnsupportedKey`.
    #[error("unsupported key type {} ({key_type}): carport {}", key_type_name(*key_type), if *signing { "signs with Ed25519 keys only" } else { "verifies Ed25519 and secp256k1 keys" })]
    UnsupportedKey {
        /// The libp2p `KeyType` number (0 RSA, 1 Ed25519, 2 secp256k1, 3 ECDSA).
        key_type: u64,
        /// Whether the key was wanted for signing (a private key) rather than verifying.
        signing: bool,
    },
    /// `ValidityType` is not 0 (EOL), the only one the spec defines. Code
    /// `IpnsUnsupportedValidity`.
    #[error("unsupported IPNS validity type {0} (only 0, EOL, is defined)")]
    UnsupportedValidity(u64),
    /// The name is a hash of a key that the record does not carry in `pubKey`. Code
    /// `IpnsMissingKey`.
    #[error("the IPNS record carries no public key and the name {0} does not inline one")]
    MissingKey(Cid),
    /// Text that is not an IPNS name. Code `IpnsBadName`.
    #[error("not an IPNS name: {input:?}: {reason}")]
    BadName {
        /// The text given (cut to 100 characters).
        input: String,
        /// Why it is not a name.
        reason: &'static str,
    },
    /// Bytes that are not a libp2p key in protobuf form, or a key that does not decode. Code
    /// `IpnsBadKey`.
    #[error("not a libp2p key: {0}")]
    BadKey(String),
    /// A record that would replace a newer one: a lower sequence, or the same sequence with an
    /// earlier end of validity (see [`check_update`](super::check_update)). Code
    /// `IpnsSequenceRollback`.
    #[error("the IPNS record (sequence {incoming}, valid until {incoming_validity}) is older than the current one (sequence {current}, valid until {current_validity})")]
    SequenceRollback {
        /// The sequence of the record kept.
        current: u64,
        /// When the record kept expires.
        current_validity: Timestamp,
        /// The sequence of the record refused.
        incoming: u64,
        /// When the record refused expires.
        incoming_validity: Timestamp,
    },
}

impl IpnsError {
    pub(crate) fn malformed(reason: impl Into<String>) -> Self {
        IpnsError::Malformed(reason.into())
    }

    pub(crate) fn bad_name(input: &str, reason: &'static str) -> Self {
        IpnsError::BadName { input: input.chars().take(100).collect(), reason }
    }
}

impl Coded for IpnsError {
    fn code(&self) -> &'static str {
        match self {
            IpnsError::TooLarge { .. } => "IpnsTooLarge",
            IpnsError::Malformed(_) => "IpnsMalformed",
            IpnsError::BadSignature => "IpnsBadSignature",
            IpnsError::V1Mismatch { .. } => "IpnsV1Mismatch",
            IpnsError::WrongName { .. } => "IpnsWrongName",
            IpnsError::Expired { .. } => "IpnsExpired",
            IpnsError::UnsupportedKey { .. } => "IpnsUnsupportedKey",
            IpnsError::UnsupportedValidity(_) => "IpnsUnsupportedValidity",
            IpnsError::MissingKey(_) => "IpnsMissingKey",
            IpnsError::BadName { .. } => "IpnsBadName",
            IpnsError::BadKey(_) => "IpnsBadKey",
            IpnsError::SequenceRollback { .. } => "IpnsSequenceRollback",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            IpnsError::WrongName { name, .. } | IpnsError::MissingKey(name) => Some(name),
            _ => None,
        }
    }
}
