//! carport-core: the pure-Rust heart of carport.
//!
//! It turns files and folders into an IPFS UnixFS DAG and CAR files, and reads and verifies them
//! back, giving exactly the CIDs kubo and ipfs-car give. It is sans-IO: callers push bytes in and
//! take blocks out, so a browser, a Cloudflare Worker and the CLI drive the same code.
//!
//! The data path, in the order of the modules below: bytes and names ([`codec`]) → files and
//! folders as a DAG ([`unixfs`]) → CAR files, shards and their verification ([`car`]) → Filecoin
//! piece commitments, aggregates and inclusion proofs ([`piece`]); then the edge's two jobs:
//! serving a DAG back over HTTP ([`gateway`]) under stable names too ([`ipns`]: signed records,
//! validated with the time passed in), and taking uploads in and archiving them ([`ingest`],
//! [`archive`]). [`error`] holds the errors the import side shares.
//!
//! Packing bytes into a CAR and reading its root back:
//!
//! ```
//! use carport_core::unixfs::file::import_bytes;
//! use carport_core::{read_all, CarSink, Event, Profile};
//!
//! let settings = Profile::UnixfsV1_2025.settings();
//! let (root, mut blocks) = import_bytes(&settings, b"hello, carport");
//!
//! let mut sink = CarSink::new(1, &settings.cid, false);
//! sink.put(&mut blocks);
//! let mut car = sink.take_bytes();
//! let packed = sink.finish(root.cid);
//! car.extend_from_slice(&packed.tail);
//! packed.finished.complete(&mut car);
//!
//! let (header, read) = read_all(&car)?;
//! let Event::Header { roots, .. } = header else { unreachable!("a CAR starts with its header") };
//! assert_eq!(roots, [root.cid]);
//! // A one-leaf file is its raw leaf: sha2-256 of the bytes, as ipfs-car and kubo name it.
//! assert_eq!(root.cid.to_string(), "bafkreigkxd3jitzih26g3wrai46mep6l2yuc5bdwju2ps353z6ao5xfkha");
//! assert!(read.iter().any(|(cid, _, _)| *cid == root.cid));
//! # Ok::<(), carport_core::CarError>(())
//! ```

#![warn(missing_docs)]
// Errors carry the CIDs at fault by value, which makes them large; they are never on a hot path.
#![allow(clippy::result_large_err)]

pub mod codec;
pub mod unixfs;
pub mod car;
pub mod piece;
pub mod gateway;
pub mod ipns;
pub mod ingest;
pub mod archive;
pub mod error;

#[cfg(test)]
mod testutil;

pub use cid::{self, Cid};

pub use car::pack::CarSink;
pub use car::verify::Verifier;
pub use car::{read_all, CarReader, Event};
pub use codec::block::Block;
pub use error::{CarError, ImportError, SettingsError, VerifyError};
pub use ingest::ShardIngest;
pub use ipns::IpnsError;
pub use piece::{Aggregate, Piece, PieceHasher, PieceInfo};
pub use unixfs::import::Importer;
pub use unixfs::settings::{Overrides, Profile, Settings};
