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
pub mod block;
pub mod file;
pub mod layout;
pub mod settings;
pub mod dir;
pub mod hamt;
pub mod import;
mod murmur3;
pub mod car;
pub mod verify;
pub mod pack;
pub mod walk;
pub mod name;
pub mod shard;
pub mod options;
pub mod gateway;
pub mod base64url;
mod cbor;
pub mod ingest;
pub mod sha256x4;
pub mod archive;
