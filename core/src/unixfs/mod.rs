//! UnixFS: files and folders as an IPLD DAG, both ways.
//!
//! Writing runs down this list: [`settings`] decide the bytes, a [`chunker`] cuts a file's
//! bytes, a [`layout`] arranges the leaves under parents ([`file`](mod@file)), folders become one dag-pb
//! node or a [`hamt`] ([`dir`]), [`import`] drives a whole tree through them, and [`job`] takes
//! either one file or a tree behind the same calls. Reading back is [`read`] (a file's bytes,
//! over a byte range, block by block) and [`walk`] (a whole tree); [`name`] says which entry names either side accepts. Every node carries a
//! [`message`], the UnixFS `Data` protobuf inside its dag-pb envelope.

pub mod chunker;
pub mod dir;
pub mod file;
pub mod hamt;
pub mod import;
pub mod job;
pub mod layout;
pub mod message;
pub(crate) mod murmur3;
pub mod name;
pub mod read;
pub mod settings;
pub mod walk;

pub use message::{Data, Mtime, NodeType};
