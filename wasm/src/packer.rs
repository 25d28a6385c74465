//! Packing: a file or a tree of files pushed in from JavaScript, CAR shards out.

use carport_core::car::shard::{ShardEvent, Sharder, DEFAULT_SHARD_SIZE};
use carport_core::codec::block::Block;
use carport_core::codec::cids::HashAlg;
use carport_core::codec::multicodec::RAW;
use carport_core::unixfs::job::ImportJob;
use carport_core::unixfs::settings::is_hidden;
use js_sys::{Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, finished, settings_error};
use crate::options::{metadata, options, PackOptions};
use crate::set;

/// Packs one file, or a tree of files, into CAR shards. JavaScript pushes each file's bytes with
/// `write` and takes the output of every call: an array of `Uint8Array` body bytes of the open
/// shard and, when a shard closes, `{index, header, trailer, roots, blocks, size, last}`; the
/// shard's file is `header`, then its body bytes in order, then `trailer`.
#[wasm_bindgen]
pub struct Packer {
    /// The import, until `finish`.
    job: Option<ImportJob>,
    sharder: Option<Sharder>,
    blocks: Vec<Block>,
    hidden: bool,
    /// Output of the sharder not yet handed to JavaScript.
    pending: Vec<ShardEvent>,
    /// Blocks written, kept once the sharder is finished.
    written: u64,
}

#[wasm_bindgen]
impl Packer {
    /// `tree`: whether the input is a folder tree (`beginFile(path)` per file) rather than one file.
    #[wasm_bindgen(constructor)]
    pub fn new(options_: JsValue, tree: bool) -> Result<Packer, JsValue> {
        let o: PackOptions = options(options_)?;
        let settings = o.settings()?;
        let car_version = o.car_version.unwrap_or(1);
        let shard_size = match o.shard_size {
            None => DEFAULT_SHARD_SIZE,
            Some(s) if s.is_finite() && s >= 1.0 => s as u64,
            Some(s) => {
                return Err(settings_error(format!(
                    "shardSize must be a positive number of bytes, got {s}"
                )))
            }
        };
        let sharder =
            Sharder::new(car_version, &settings.cid, shard_size).map_err(|e| core_error(&e))?;
        let job = if tree { ImportJob::tree(settings) } else { ImportJob::file(settings) };
        Ok(Packer {
            job: Some(job.map_err(|e| core_error(&e))?),
            sharder: Some(sharder),
            blocks: Vec::new(),
            hidden: o.hidden.unwrap_or(false),
            pending: Vec::new(),
            written: 0,
        })
    }

    /// Whether a path goes into the import (hidden names are left out unless `hidden: true`).
    pub fn includes(&self, path: &str) -> bool {
        self.hidden || !is_hidden(path)
    }

    /// Starts a file (`path` is ignored for a single file). `mtime` is in milliseconds since the
    /// epoch, as `File.lastModified`.
    #[wasm_bindgen(js_name = beginFile)]
    pub fn begin_file(
        &mut self,
        path: &str,
        mode: Option<u32>,
        mtime: Option<f64>,
    ) -> Result<(), JsValue> {
        self.job
            .as_mut()
            .ok_or_else(finished)?
            .begin_file(path, metadata(mode, mtime))
            .map_err(|e| core_error(&e))
    }

    /// Feeds the next bytes of the open file; returns the output ready so far.
    pub fn write(&mut self, data: &[u8]) -> Result<Array, JsValue> {
        let job = self.job.as_mut().ok_or_else(finished)?;
        job.write(data, &mut self.blocks).map_err(|e| core_error(&e))?;
        self.flush()
    }

    /// The open file's leaf size when JavaScript may cut its leaves and hash them with
    /// `crypto.subtle` (fixed-size raw leaves named with sha2-256, no metadata); else `undefined`
    /// and the bytes go through `write`.
    #[wasm_bindgen(js_name = leafSize)]
    pub fn leaf_size(&self) -> Option<u32> {
        let job = self.job.as_ref()?;
        if job.settings().cid.hash != HashAlg::Sha2_256 {
            return None;
        }
        job.leaf_size().and_then(|s| u32::try_from(s).ok())
    }

    /// The open file's next leaf, cut at `leafSize` and hashed by the caller: `sha256` is its
    /// digest; `data` its bytes, needed only when the leaf is small enough to be inlined. Returns
    /// the output ready so far, where a number `n` stands for this leaf's `n` bytes (absent when
    /// the leaf was written before).
    #[wasm_bindgen(js_name = hashedLeaf)]
    pub fn hashed_leaf(
        &mut self,
        sha256: &[u8],
        len: u32,
        data: Option<Vec<u8>>,
    ) -> Result<Array, JsValue> {
        let digest: &[u8; 32] = sha256
            .try_into()
            .map_err(|_| settings_error("a sha2-256 digest is 32 bytes".into()))?;
        let len = len as usize;
        let sharder = self.sharder.as_mut().ok_or_else(finished)?;
        let job = self.job.as_mut().ok_or_else(finished)?;
        let rule = job.settings().cid;
        let cid = match rule.raw_cid_of_sha256(digest, len) {
            Some(cid) => {
                sharder.put_external(cid, len as u64).map_err(|e| core_error(&e))?;
                cid
            }
            None => {
                let data = data.filter(|d| d.len() == len).ok_or_else(|| {
                    settings_error(format!("a leaf of {len} bytes is inlined: pass its bytes"))
                })?;
                let cid = rule.cid(RAW, &data);
                self.blocks.push(Block { cid, data });
                cid
            }
        };
        job.hashed_leaf(cid, len as u64, &mut self.blocks).map_err(|e| core_error(&e))?;
        self.flush()
    }

    /// Ends the open file; returns its root CID (empty for a single file, whose root `finish`
    /// returns). Its blocks come out of the next call that returns output.
    #[wasm_bindgen(js_name = endFile)]
    pub fn end_file(&mut self) -> Result<String, JsValue> {
        let job = self.job.as_mut().ok_or_else(finished)?;
        let link = job.end_file(&mut self.blocks).map_err(|e| core_error(&e))?;
        Ok(link.map(|l| l.cid.to_string()).unwrap_or_default())
    }

    /// Adds a folder (needed only for empty folders and for metadata).
    #[wasm_bindgen(js_name = addDir)]
    pub fn add_dir(
        &mut self,
        path: &str,
        mode: Option<u32>,
        mtime: Option<f64>,
    ) -> Result<(), JsValue> {
        self.job
            .as_mut()
            .ok_or_else(finished)?
            .add_dir(path, metadata(mode, mtime))
            .map_err(|e| core_error(&e))
    }

    /// Adds a symlink (left out by profiles that take files only).
    #[wasm_bindgen(js_name = addSymlink)]
    pub fn add_symlink(
        &mut self,
        path: &str,
        target: &str,
        mode: Option<u32>,
        mtime: Option<f64>,
    ) -> Result<(), JsValue> {
        let job = self.job.as_mut().ok_or_else(finished)?;
        job.add_symlink(path, target, metadata(mode, mtime), &mut self.blocks)
            .map_err(|e| core_error(&e))?;
        Ok(())
    }

    /// Output ready so far (after `endFile`, `addSymlink`).
    pub fn take(&mut self) -> Result<Array, JsValue> {
        self.flush()
    }

    /// Ends the import and the last shard; returns the root CID. Take the rest with `take`.
    pub fn finish(&mut self) -> Result<String, JsValue> {
        let job = self.job.take().ok_or_else(finished)?;
        let root = job.finish(&mut self.blocks).map_err(|e| core_error(&e))?;
        let sharder = self.sharder.as_mut().ok_or_else(finished)?;
        sharder.put(&mut self.blocks).map_err(|e| core_error(&e))?;
        self.pending.extend(sharder.take());
        self.written = sharder.blocks();
        let sharder = self.sharder.take().ok_or_else(finished)?;
        self.pending.extend(sharder.finish(root.cid).map_err(|e| core_error(&e))?);
        Ok(root.cid.to_string())
    }

    fn flush(&mut self) -> Result<Array, JsValue> {
        if let Some(sharder) = &mut self.sharder {
            sharder.put(&mut self.blocks).map_err(|e| core_error(&e))?;
            self.pending.extend(sharder.take());
        }
        let out = Array::new();
        for ev in self.pending.drain(..) {
            match ev {
                ShardEvent::Bytes(b) => out.push(&Uint8Array::from(b.as_slice())),
                ShardEvent::External(len) => out.push(&JsValue::from(len as f64)),
                ShardEvent::Closed(end) => {
                    let o = Object::new();
                    set(&o, "index", &end.index.into());
                    set(&o, "header", &Uint8Array::from(end.header.as_slice()));
                    set(&o, "trailer", &Uint8Array::from(end.trailer.as_slice()));
                    set(
                        &o,
                        "roots",
                        &end.roots.iter().map(|c| JsValue::from(c.to_string())).collect::<Array>(),
                    );
                    set(&o, "blocks", &(end.blocks as f64).into());
                    set(&o, "size", &(end.size as f64).into());
                    set(&o, "last", &end.last.into());
                    out.push(&o)
                }
            };
        }
        Ok(out)
    }

    /// Distinct blocks written so far.
    pub fn blocks(&self) -> f64 {
        self.sharder.as_ref().map_or(self.written, |s| s.blocks()) as f64
    }
}
