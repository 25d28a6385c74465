//! carport-wasm: wasm-bindgen bindings over carport-core for the npm package `carport`.
//!
//! A thin adapter: JavaScript reads `Blob`s and streams and pushes their bytes in; core chunks,
//! hashes, builds the DAG and writes CAR shards; bytes come back out as they are made, so the
//! Wasm heap holds one slice of input and one block at a time, never a file or a shard. Every
//! rule about bytes is core's; this crate maps JavaScript values to core's types and core's typed
//! errors to JavaScript `Error`s carrying `code`, `cid` and `offset`.
//!
//! One module per job: [`errors`] maps core's errors, [`options`] reads `pack` options (and
//! lists their keys), [`packer`] packs, [`verify`] verifies, [`read`] reads a CAR back and walks
//! it, [`hashes`] computes CAR and piece CIDs.

mod errors;
mod hashes;
mod ipns;
mod options;
mod packer;
mod pool;
mod read;
mod verify;

pub use hashes::{car_cid_from_digest, digest, heap_size, verify_archive, CarCid, Piece};
pub use options::{default_shard_size, hash_names, pack_option_keys};
pub use packer::Packer;
pub use pool::{piece_join, PieceRun};
pub use read::{list, read_file, CarBlocks};
pub use verify::CarVerifier;

use js_sys::Reflect;
use wasm_bindgen::JsValue;

/// Sets `key` on a JavaScript object.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object or Error cannot fail.
    let _ = Reflect::set(target, &key.into(), value);
}
