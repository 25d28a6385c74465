//! carport-core: the pure-Rust heart of carport.
//!
//! It turns files and folders into an IPFS UnixFS DAG and CAR files, and reads and verifies them
//! back, giving exactly the CIDs kubo and ipfs-car give. It is sans-IO: callers push bytes in and
//! take blocks out, so a browser, a Cloudflare Worker and the CLI drive the same code.

// Errors carry the CIDs at fault by value, which makes them large; they are never on a hot path.
#![allow(clippy::result_large_err)]

pub mod chunker;
pub mod cids;
pub mod dagpb;
pub mod error;
pub mod piece;
pub mod unixfs;
pub mod varint;

pub use cid::{self, Cid};
pub mod archive;
pub mod base64url;
pub mod block;
pub mod car;
mod cbor;
pub mod dir;
pub mod file;
pub mod gateway;
pub mod hamt;
pub mod import;
pub mod ingest;
pub mod layout;
mod murmur3;
pub mod name;
pub mod options;
pub mod pack;
pub mod settings;
pub mod sha256x4;
pub mod shard;
pub mod verify;
pub mod walk;
