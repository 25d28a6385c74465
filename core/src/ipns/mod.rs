//! IPNS records (the [IPNS Record spec](https://specs.ipfs.tech/ipns/ipns-record/)): names, keys,
//! signing and validation, sans-IO. The time is always passed in ([`Timestamp`]) and keys come
//! from caller-supplied seeds: nothing here reads a clock or asks for randomness.
//!
//! The modules, in the order a record is made and checked:
//! - [`keys`]: libp2p public and private keys in their protobuf form; Ed25519 signs and
//!   verifies, secp256k1 verifies, RSA and ECDSA are refused ([`IpnsError::UnsupportedKey`]).
//! - [`name`]: the IPNS name, a `libp2p-key` CID of the public key, printed as base36 `k51…`.
//! - [`data`]: the signed DAG-CBOR document (`Value`, `Validity`, `ValidityType`, `Sequence`,
//!   `TTL`) as [`RecordData`].
//! - [`record`]: the `IpnsEntry` protobuf, and [`create_record`] which signs one (V2, plus the
//!   legacy V1 fields and signature the `ipns` npm package and kubo still write).
//! - [`validate`](mod@validate): the spec's record verification ([`validate()`]), and which of two records of a
//!   name wins ([`compare`], [`check_update`]).
//! - [`time`]: RFC 3339 timestamps with nanoseconds, as the `Validity` field holds them.
//!
//! Every refusal is an [`IpnsError`], whose [`Coded::code`](crate::error::Coded::code) names the
//! reason (`IpnsBadSignature`, `IpnsExpired`, …).
//!
//! Making a record for a name and resolving it again:
//!
//! ```
//! use std::time::Duration;
//! use carport_core::ipns::{create_record, validate, Keypair, Name, RecordData, Timestamp};
//!
//! let key = Keypair::from_seed([7; 32]);
//! let now = Timestamp::from_unix_secs(1_800_000_000);
//! let data = RecordData::new(
//!     "/ipfs/bafkreigkxd3jitzih26g3wrai46mep6l2yuc5bdwju2ps353z6ao5xfkha",
//!     0,
//!     now.saturating_add(Duration::from_secs(48 * 3600)),
//!     Duration::from_secs(3600),
//! );
//! let bytes = create_record(&key, &data, true)?;
//!
//! let name: Name = key.name().to_string().parse()?; // "k51…"
//! let valid = validate(&name, &bytes, now)?;
//! assert_eq!(valid.path().as_deref(), Some(data.value_str().unwrap()));
//! assert_eq!(valid.sequence, 0);
//! # Ok::<(), carport_core::ipns::IpnsError>(())
//! ```

mod error;
mod proto;

pub mod data;
pub mod keys;
pub mod name;
pub mod record;
pub mod time;
pub mod validate;

pub use data::RecordData;
pub use error::IpnsError;
pub use keys::{KeyType, Keypair, PublicKey};
pub use name::Name;
pub use record::{create_record, Entry};
pub use time::Timestamp;
pub use validate::{check_update, compare, validate, verify};

/// The largest record carport accepts or writes: 10 KiB, the size every implementation must
/// handle (spec: Record Size Limit).
pub const MAX_RECORD_SIZE: usize = 10 * 1024;

/// The media type of a serialized record, for `Content-Type` and `Accept` on
/// `/routing/v1/ipns/{name}` (HTTP Routing V1).
pub const CONTENT_TYPE: &str = "application/vnd.ipfs.ipns-record";

/// The TTL the spec suggests and the `ipns` package writes when none is given: 5 minutes.
pub const DEFAULT_TTL: std::time::Duration = std::time::Duration::from_secs(300);

#[cfg(test)]
mod vectors;
