//! carport-wasm: wasm-bindgen bindings over carport-core for the npm package `carport`.
//!
//! A thin adapter: JavaScript reads `Blob`s and streams and pushes their bytes in; core chunks,
//! hashes, builds the DAG and writes CAR shards; bytes come back out as they are made, so the
//! Wasm heap holds one slice of input and one block at a time, never a file or a shard. Every
//! rule about bytes is core's; this crate maps JavaScript values to core's types and core's typed
//! errors to JavaScript `Error`s carrying `code`, `cid` and `offset`.

use carport_core::car::shard::{CarCidHasher, ShardError, ShardEvent, Sharder, DEFAULT_SHARD_SIZE};
use carport_core::car::verify::{BlockCheck, Report, Verifier};
use carport_core::car::{CarReader, Event};
use carport_core::codec::block::Block;
use carport_core::codec::cids::HashAlg;
use carport_core::error::{CarError, ImportError, VerifyError};
use carport_core::piece::PieceHasher;
use carport_core::unixfs::file::{FileBuilder, Metadata};
use carport_core::unixfs::import::Importer;
use carport_core::unixfs::settings::{is_hidden, Overrides};
use carport_core::unixfs::settings::{Profile, Settings};
use carport_core::unixfs::walk::{self, BlockGet, Kind, WalkError};
use carport_core::unixfs::Mtime;
use carport_core::Cid;
use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

// ---------------------------------------------------------------------------------------------
// Errors: one JS `Error` per core error, with a stable `code` and the CID/offset at fault.

fn js_error(code: &str, message: String, cid: Option<&Cid>, offset: Option<u64>) -> JsValue {
    let e = js_sys::Error::new(&message);
    e.set_name("CarportError");
    set(&e, "code", &code.into());
    if let Some(cid) = cid {
        set(&e, "cid", &cid.to_string().into());
    }
    if let Some(offset) = offset {
        set(&e, "offset", &(offset as f64).into());
    }
    e.into()
}

fn set(target: &JsValue, key: &str, value: &JsValue) {
    // Setting a property on a fresh plain object or Error cannot fail.
    let _ = Reflect::set(target, &key.into(), value);
}

fn car_error(e: &CarError) -> JsValue {
    let msg = e.to_string();
    match e {
        CarError::Header { offset, .. } => js_error("CarHeader", msg, None, Some(*offset)),
        CarError::Version(_) => js_error("CarVersion", msg, None, None),
        CarError::Truncated(at) => js_error("Truncated", msg, None, Some(*at)),
        CarError::TruncatedBlock { cid, offset, .. } => {
            js_error("TruncatedBlock", msg, Some(cid), Some(*offset))
        }
        CarError::SectionTooLarge { offset, .. } => {
            js_error("SectionTooLarge", msg, None, Some(*offset))
        }
        CarError::BadCid(at) => js_error("BadCid", msg, None, Some(*at)),
        CarError::Index { offset, .. } => js_error("CarIndex", msg, None, Some(*offset)),
    }
}

fn verify_error(e: &VerifyError) -> JsValue {
    let msg = e.to_string();
    match e {
        VerifyError::Car(c) => car_error(c),
        VerifyError::HashMismatch { cid, offset } => {
            js_error("HashMismatch", msg, Some(cid), Some(*offset))
        }
        VerifyError::UnsupportedHash { cid, offset, .. } => {
            js_error("UnsupportedHash", msg, Some(cid), Some(*offset))
        }
        VerifyError::Decode { cid, offset, .. } => {
            js_error("Decode", msg, Some(cid), Some(*offset))
        }
        VerifyError::MissingBlock { cid } => js_error("MissingBlock", msg, Some(cid), None),
        VerifyError::NoRoots => js_error("NoRoots", msg, None, None),
        VerifyError::WrongRoot { expected, .. } => js_error("WrongRoot", msg, Some(expected), None),
    }
}

fn walk_error(e: &WalkError) -> JsValue {
    let msg = e.to_string();
    match e {
        WalkError::Missing(cid) => js_error("MissingBlock", msg, Some(cid), None),
        WalkError::HashMismatch { cid, offset } => {
            js_error("HashMismatch", msg, Some(cid), Some(*offset))
        }
        WalkError::Decode { cid, .. } => js_error("Decode", msg, Some(cid), None),
        WalkError::NotUnixfs(cid, _) => js_error("NotUnixfs", msg, Some(cid), None),
        WalkError::NotAFile(cid, _) => js_error("NotAFile", msg, Some(cid), None),
        WalkError::Sink(_) => js_error("Sink", msg, None, None),
        WalkError::BadName { folder, .. } => js_error("BadName", msg, Some(folder), None),
        WalkError::DuplicateName { folder, .. } => {
            js_error("DuplicateName", msg, Some(folder), None)
        }
        WalkError::RepeatedShard { folder, .. } => {
            js_error("RepeatedShard", msg, Some(folder), None)
        }
        WalkError::TooManyEntries { cid, .. } => js_error("TooManyEntries", msg, Some(cid), None),
    }
}

fn import_error(e: &ImportError) -> JsValue {
    js_error("Import", e.to_string(), None, None)
}

fn shard_error(e: &ShardError) -> JsValue {
    match e {
        ShardError::BlockTooLarge { cid, .. } => {
            js_error("BlockTooLarge", e.to_string(), Some(cid), None)
        }
        _ => js_error("ShardSize", e.to_string(), None, None),
    }
}

fn settings_error(msg: String) -> JsValue {
    js_error("Settings", msg, None, None)
}

fn parse_cid(s: &str) -> Result<Cid, JsValue> {
    s.parse::<Cid>().map_err(|e| js_error("BadCid", format!("invalid CID {s:?}: {e}"), None, None))
}

// ---------------------------------------------------------------------------------------------
// Options.

/// `pack` options as JavaScript gives them (camelCase); unknown keys are ignored.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct PackOptions {
    profile: Option<String>,
    chunker: Option<String>,
    layout: Option<String>,
    max_links: Option<usize>,
    raw_leaves: Option<bool>,
    cid_version: Option<u8>,
    hash: Option<String>,
    inline_limit: Option<usize>,
    car_version: Option<u8>,
    shard_size: Option<f64>,
    hidden: Option<bool>,
}

impl PackOptions {
    fn settings(&self) -> Result<Settings, JsValue> {
        let err = |e: carport_core::error::SettingsError| settings_error(e.to_string());
        let profile: Profile =
            self.profile.as_deref().unwrap_or("unixfs-v1-2025").parse().map_err(err)?;
        let cid_version = match self.cid_version {
            None => None,
            Some(0) => Some(carport_core::cid::Version::V0),
            Some(1) => Some(carport_core::cid::Version::V1),
            Some(v) => return Err(settings_error(format!("cidVersion must be 0 or 1, got {v}"))),
        };
        let o = Overrides {
            chunker: self.chunker.as_deref().map(str::parse).transpose().map_err(err)?,
            layout: self.layout.as_deref().map(str::parse).transpose().map_err(err)?,
            max_links: self.max_links,
            raw_leaves: self.raw_leaves,
            cid_version,
            hash: self.hash.as_deref().map(str::parse).transpose().map_err(err)?,
            inline_limit: self.inline_limit,
        };
        o.apply(profile).map_err(err)
    }
}

fn options<T: for<'de> Deserialize<'de> + Default>(v: JsValue) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(v).map_err(|e| settings_error(format!("bad options: {e}")))
}

fn metadata(mode: Option<u32>, mtime_ms: Option<f64>) -> Metadata {
    let mtime = mtime_ms.filter(|m| m.is_finite()).map(|ms| {
        let secs = (ms / 1000.0).floor();
        let nanos = ((ms - secs * 1000.0) * 1e6).round() as u32;
        Mtime { secs: secs as i64, nanos: (nanos != 0).then_some(nanos) }
    });
    Metadata { mode, mtime }
}

// ---------------------------------------------------------------------------------------------
// Packing.

enum Import {
    /// One file whose root is the root (no folder around it).
    File(Option<FileBuilder>),
    /// A tree of files and folders.
    Tree(Option<Importer>),
}

/// Packs one file, or a tree of files, into CAR shards. JavaScript pushes each file's bytes with
/// `write` and takes the output of every call: an array of `Uint8Array` body bytes of the open
/// shard and, when a shard closes, `{index, header, trailer, roots, blocks, size, last}`; the
/// shard's file is `header`, then its body bytes in order, then `trailer`.
#[wasm_bindgen]
pub struct Packer {
    settings: Settings,
    import: Import,
    sharder: Option<Sharder>,
    blocks: Vec<Block>,
    hidden: bool,
    meta: Metadata,
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
            Sharder::new(car_version, &settings.cid, shard_size).map_err(|e| shard_error(&e))?;
        let import = if tree {
            Import::Tree(Some(
                Importer::new(settings.clone()).map_err(|e| settings_error(e.to_string()))?,
            ))
        } else {
            Import::File(None)
        };
        Ok(Packer {
            settings,
            import,
            sharder: Some(sharder),
            blocks: Vec::new(),
            hidden: o.hidden.unwrap_or(false),
            meta: Metadata::default(),
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
        let meta = metadata(mode, mtime);
        match &mut self.import {
            Import::File(b @ None) => *b = Some(FileBuilder::new(&self.settings, meta)),
            Import::File(Some(_)) => {
                return Err(import_error(&ImportError::FileOpen(path.to_string())))
            }
            Import::Tree(imp) => tree(imp)?.begin_file(path, meta).map_err(|e| import_error(&e))?,
        }
        Ok(())
    }

    /// Feeds the next bytes of the open file; returns the output ready so far.
    pub fn write(&mut self, data: &[u8]) -> Result<Array, JsValue> {
        match &mut self.import {
            Import::File(Some(b)) => b.write(data, &mut self.blocks),
            Import::File(None) => return Err(import_error(&ImportError::NoOpenFile)),
            Import::Tree(imp) => {
                tree(imp)?.write(data, &mut self.blocks).map_err(|e| import_error(&e))?
            }
        }
        self.flush()
    }

    /// The open file's leaf size when JavaScript may cut its leaves and hash them with
    /// `crypto.subtle` (fixed-size raw leaves named with sha2-256, no metadata); else `undefined`
    /// and the bytes go through `write`.
    #[wasm_bindgen(js_name = leafSize)]
    pub fn leaf_size(&self) -> Option<u32> {
        if self.settings.cid.hash != HashAlg::Sha2_256 {
            return None;
        }
        let size = match &self.import {
            Import::File(Some(b)) => b.leaf_size(),
            Import::Tree(Some(imp)) => imp.leaf_size(),
            _ => None,
        };
        size.and_then(|s| u32::try_from(s).ok())
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
        let cid = match self.settings.cid.raw_cid_of_sha256(digest, len) {
            Some(cid) => {
                sharder.put_external(cid, len as u64).map_err(|e| shard_error(&e))?;
                cid
            }
            None => {
                let data = data.filter(|d| d.len() == len).ok_or_else(|| {
                    settings_error(format!("a leaf of {len} bytes is inlined: pass its bytes"))
                })?;
                let cid = self.settings.cid.cid(carport_core::codec::cids::RAW, &data);
                self.blocks.push(Block { cid, data });
                cid
            }
        };
        match &mut self.import {
            Import::File(Some(b)) => b.hashed_leaf(cid, len as u64, &mut self.blocks),
            Import::File(None) => return Err(import_error(&ImportError::NoOpenFile)),
            Import::Tree(imp) => tree(imp)?
                .hashed_leaf(cid, len as u64, &mut self.blocks)
                .map_err(|e| import_error(&e))?,
        }
        self.flush()
    }

    /// Ends the open file; returns its root CID. Its blocks come out of the next call that
    /// returns output.
    #[wasm_bindgen(js_name = endFile)]
    pub fn end_file(&mut self) -> Result<String, JsValue> {
        match &mut self.import {
            // A single file stays open until `finish`, which makes its root.
            Import::File(Some(_)) => Ok(String::new()),
            Import::File(None) => Err(import_error(&ImportError::NoOpenFile)),
            Import::Tree(imp) => Ok(tree(imp)?
                .end_file(&mut self.blocks)
                .map_err(|e| import_error(&e))?
                .cid
                .to_string()),
        }
    }

    /// Adds a folder (needed only for empty folders and for metadata).
    #[wasm_bindgen(js_name = addDir)]
    pub fn add_dir(
        &mut self,
        path: &str,
        mode: Option<u32>,
        mtime: Option<f64>,
    ) -> Result<(), JsValue> {
        let meta = metadata(mode, mtime);
        match &mut self.import {
            Import::Tree(imp) if path.is_empty() => tree(imp)?.set_root_meta(meta),
            Import::Tree(imp) => tree(imp)?.add_dir(path, meta).map_err(|e| import_error(&e))?,
            Import::File(_) => self.meta = meta,
        }
        Ok(())
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
        match &mut self.import {
            Import::Tree(imp) => {
                tree(imp)?
                    .add_symlink(path, target, metadata(mode, mtime), &mut self.blocks)
                    .map_err(|e| import_error(&e))?;
                Ok(())
            }
            Import::File(_) => Err(import_error(&ImportError::BadPath(path.to_string()))),
        }
    }

    /// Output ready so far (after `endFile`, `addSymlink`).
    pub fn take(&mut self) -> Result<Array, JsValue> {
        self.flush()
    }

    /// Ends the import and the last shard; returns the root CID. Take the rest with `take`.
    pub fn finish(&mut self) -> Result<String, JsValue> {
        let root = match &mut self.import {
            Import::File(b) => {
                let builder =
                    b.take().unwrap_or_else(|| FileBuilder::new(&self.settings, self.meta));
                builder.finish(&mut self.blocks)
            }
            Import::Tree(imp) => imp
                .take()
                .ok_or_else(finished)?
                .finish(&mut self.blocks)
                .map_err(|e| import_error(&e))?,
        };
        let sharder = self.sharder.as_mut().ok_or_else(finished)?;
        sharder.put(&mut self.blocks).map_err(|e| shard_error(&e))?;
        self.pending.extend(sharder.take());
        self.written = sharder.blocks();
        let sharder = self.sharder.take().ok_or_else(finished)?;
        self.pending.extend(sharder.finish(root.cid).map_err(|e| shard_error(&e))?);
        Ok(root.cid.to_string())
    }

    fn flush(&mut self) -> Result<Array, JsValue> {
        if let Some(sharder) = &mut self.sharder {
            sharder.put(&mut self.blocks).map_err(|e| shard_error(&e))?;
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

fn finished() -> JsValue {
    js_error("Finished", "the packer has finished".into(), None, None)
}

fn tree(imp: &mut Option<Importer>) -> Result<&mut Importer, JsValue> {
    imp.as_mut().ok_or_else(finished)
}

// ---------------------------------------------------------------------------------------------
// Verifying.

/// Verifies a CAR, or a set of CAR shards, pushed in pieces of any size.
#[wasm_bindgen]
pub struct CarVerifier {
    inner: Option<Verifier>,
}

fn report(r: Report) -> JsValue {
    let o = Object::new();
    set(&o, "version", &(r.version as f64).into());
    set(&o, "roots", &r.roots.iter().map(|c| JsValue::from(c.to_string())).collect::<Array>());
    set(&o, "blocks", &(r.blocks as f64).into());
    set(&o, "dataBytes", &(r.data_bytes as f64).into());
    o.into()
}

#[wasm_bindgen]
impl CarVerifier {
    /// `root`, when given, must be among the declared roots.
    #[wasm_bindgen(constructor)]
    pub fn new(root: Option<String>) -> Result<CarVerifier, JsValue> {
        let root = root.as_deref().map(parse_cid).transpose()?;
        Ok(CarVerifier { inner: Some(Verifier::new(root)) })
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<(), JsValue> {
        self.inner.as_mut().ok_or_else(finished)?.push(bytes).map_err(|e| verify_error(&e))
    }

    /// Ends the current CAR of a set; the next bytes are the next CAR.
    #[wasm_bindgen(js_name = nextCar)]
    pub fn next_car(&mut self) -> Result<(), JsValue> {
        self.inner.as_mut().ok_or_else(finished)?.next_car().map_err(|e| verify_error(&e))
    }

    /// Ends the input: roots declared, every reachable block present. Returns
    /// `{version, roots, blocks, dataBytes}`.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let v = self.inner.take().ok_or_else(finished)?;
        v.finish().map(report).map_err(|e| verify_error(&e))
    }

    /// Ends the input checking only the blocks (for one shard of a set, which may declare no roots).
    #[wasm_bindgen(js_name = finishUnrooted)]
    pub fn finish_unrooted(&mut self) -> Result<JsValue, JsValue> {
        let v = self.inner.take().ok_or_else(finished)?;
        v.finish_unrooted().map(report).map_err(|e| verify_error(&e))
    }
}

// ---------------------------------------------------------------------------------------------
// Reading a CAR back: blocks out (each checked against its CID), then a walk over them.

/// Reads a CAR pushed in pieces; each `push` returns `[cid, bytes]` pairs of the blocks it
/// checked against their CIDs (core's `BlockCheck`: up to three blocks after they were read;
/// `close` returns the rest). `roots` is set once the header is read.
#[wasm_bindgen]
pub struct CarBlocks {
    reader: CarReader,
    check: BlockCheck,
    roots: Vec<Cid>,
    version: u64,
}

#[wasm_bindgen]
impl CarBlocks {
    #[wasm_bindgen(constructor)]
    pub fn new() -> CarBlocks {
        CarBlocks {
            reader: CarReader::new(),
            check: BlockCheck::default(),
            roots: Vec::new(),
            version: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> Result<Array, JsValue> {
        self.reader.push(bytes);
        self.drain()
    }

    /// Ends the input; returns the last blocks.
    pub fn close(&mut self) -> Result<Array, JsValue> {
        self.reader.close();
        let out = self.drain()?;
        self.check.flush(append_to(&out)).map(|()| out).map_err(|e| verify_error(&e))
    }

    pub fn roots(&self) -> Array {
        self.roots.iter().map(|c| JsValue::from(c.to_string())).collect()
    }

    pub fn version(&self) -> f64 {
        self.version as f64
    }

    fn drain(&mut self) -> Result<Array, JsValue> {
        let out = Array::new();
        while let Some(ev) = self.reader.next_event().map_err(|e| car_error(&e))? {
            match ev {
                Event::Header { version, roots, .. } => {
                    self.version = version;
                    self.roots = roots;
                }
                Event::Block { cid, data, offset } => {
                    self.check
                        .push(cid, data, offset, append_to(&out))
                        .map_err(|e| verify_error(&e))?;
                }
                Event::End => break,
            }
        }
        Ok(out)
    }
}

/// Appends each checked block to `out` as `push` and `close` hand them out: `[cid, bytes]`.
/// (`VerifyError` is large because it carries the CID at fault, core's convention.)
#[allow(clippy::result_large_err)]
fn append_to(out: &Array) -> impl FnMut(Cid, Vec<u8>, u64) -> Result<(), VerifyError> + '_ {
    |cid, data, _| {
        out.push(&Array::of2(&cid.to_string().into(), &Uint8Array::from(data.as_slice())));
        Ok(())
    }
}

impl Default for CarBlocks {
    fn default() -> Self {
        Self::new()
    }
}

/// Blocks kept by JavaScript, fetched through `get(cidString) -> Uint8Array | undefined`.
struct JsBlocks<'a>(&'a Function);

impl BlockGet for JsBlocks<'_> {
    fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, WalkError> {
        let v = self
            .0
            .call1(&JsValue::NULL, &cid.to_string().into())
            .map_err(|e| WalkError::Sink(format!("{e:?}")))?;
        match v.dyn_into::<Uint8Array>() {
            Ok(bytes) => Ok(bytes.to_vec()),
            Err(_) => Err(WalkError::Missing(*cid)),
        }
    }
}

/// Lists the UnixFS tree under `root`: `[{path, cid, type, size?, target?, mode?}]`, depth first
/// in name order, the root first (path `""`).
#[wasm_bindgen]
pub fn list(root: &str, get: &Function) -> Result<Array, JsValue> {
    let root = parse_cid(root)?;
    let entries = walk::list(&mut JsBlocks(get), &root).map_err(|e| walk_error(&e))?;
    let out = Array::new();
    for e in entries {
        let o = Object::new();
        set(&o, "path", &e.path.into());
        set(&o, "cid", &e.cid.to_string().into());
        match e.kind {
            Kind::File { size } => {
                set(&o, "type", &"file".into());
                set(&o, "size", &(size as f64).into());
            }
            Kind::Dir => set(&o, "type", &"directory".into()),
            Kind::Symlink { target } => {
                set(&o, "type", &"symlink".into());
                set(&o, "target", &target.into());
            }
        }
        if let Some(mode) = e.mode {
            set(&o, "mode", &mode.into());
        }
        out.push(&o);
    }
    Ok(out)
}

/// Streams the bytes of the file `cid` to `sink(Uint8Array)`, in order; returns the byte count.
#[wasm_bindgen(js_name = readFile)]
pub fn read_file(cid: &str, get: &Function, sink: &Function) -> Result<f64, JsValue> {
    let cid = parse_cid(cid)?;
    let mut push = |bytes: &[u8]| {
        sink.call1(&JsValue::NULL, &Uint8Array::from(bytes))
            .map(|_| ())
            .map_err(|e| format!("{e:?}"))
    };
    walk::read_file(&mut JsBlocks(get), &cid, &mut push)
        .map(|n| n as f64)
        .map_err(|e| walk_error(&e))
}

// ---------------------------------------------------------------------------------------------
// Hashes: the CID of a CAR, piece commitments, and the block hashes (for benchmarks).

/// The CID of a CAR (codec `car`, sha2-256) over bytes pushed in pieces.
#[wasm_bindgen]
pub struct CarCid(Option<CarCidHasher>);

#[wasm_bindgen]
impl CarCid {
    #[wasm_bindgen(constructor)]
    pub fn new() -> CarCid {
        CarCid(Some(CarCidHasher::new()))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.0 {
            h.update(bytes);
        }
    }

    pub fn finish(&mut self) -> Result<String, JsValue> {
        Ok(self.0.take().ok_or_else(finished)?.finish().to_string())
    }
}

impl Default for CarCid {
    fn default() -> Self {
        Self::new()
    }
}

/// The CID of a CAR from the sha2-256 digest of its bytes (computed elsewhere, e.g. by
/// `crypto.subtle`).
#[wasm_bindgen(js_name = carCidFromDigest)]
pub fn car_cid_from_digest(sha256: &[u8]) -> Result<String, JsValue> {
    let digest: &[u8; 32] =
        sha256.try_into().map_err(|_| settings_error("a sha2-256 digest is 32 bytes".into()))?;
    Ok(carport_core::car::shard::car_cid(digest).to_string())
}

/// A Filecoin piece commitment over bytes pushed in pieces.
#[wasm_bindgen]
pub struct Piece(Option<PieceHasher>);

#[wasm_bindgen]
impl Piece {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Piece {
        Piece(Some(PieceHasher::new()))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.0 {
            h.update(bytes);
        }
    }

    /// `{cid, cidV1, paddedSize, payloadSize}`: `cid` is the v2 piece CID (FRC-0069).
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let h = self.0.take().ok_or_else(finished)?;
        let info = h.finish().map_err(|e| js_error("Piece", e.to_string(), None, None))?;
        let o = Object::new();
        set(&o, "cid", &info.cid.to_string().into());
        set(&o, "cidV1", &info.cid_v1.to_string().into());
        set(&o, "paddedSize", &(info.padded_size as f64).into());
        set(&o, "payloadSize", &(info.payload_size as f64).into());
        Ok(o.into())
    }
}

impl Default for Piece {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks an archive record (the edge worker's `GET /archive/{root}`) against a piece CID the
/// caller computed itself: `{piece, aggregate, stage, deal}` when the record's inclusion proof
/// places that piece in its aggregate.
#[wasm_bindgen(js_name = verifyArchive)]
pub fn verify_archive(record: JsValue, piece: &str) -> Result<JsValue, JsValue> {
    use carport_core::archive::{self, ArchiveError, ArchiveRecord};
    let record: ArchiveRecord = serde_wasm_bindgen::from_value(record).map_err(|e| {
        js_error("ArchiveRecord", format!("not an archive record: {e}"), None, None)
    })?;
    let piece: Cid = piece
        .parse()
        .map_err(|_| js_error("BadCid", format!("{piece:?} is not a piece CID"), None, None))?;
    let verified = archive::verify(&record, &piece).map_err(|e| {
        let code = match &e {
            ArchiveError::NoSuchPiece { .. } => "NoSuchPiece",
            ArchiveError::NotAggregated { .. } => "NotAggregated",
            ArchiveError::BadCid { .. } => "BadCid",
            ArchiveError::BadProof { .. } => "BadProof",
            ArchiveError::NotIncluded { .. } => "NotIncluded",
        };
        js_error(code, e.to_string(), Some(&piece), None)
    })?;
    let o = Object::new();
    set(&o, "piece", &verified.piece.to_string().into());
    set(&o, "aggregate", &verified.aggregate.to_string().into());
    set(&o, "stage", &verified.stage.as_str().into());
    if let Some(deal) = &verified.deal {
        let d = Object::new();
        set(&d, "proposal", &deal.proposal.as_str().into());
        if let Some(id) = &deal.deal_id {
            set(&d, "dealId", &id.as_str().into());
        }
        if let Some(p) = &deal.provider {
            set(&d, "provider", &p.as_str().into());
        }
        set(&o, "deal", &d);
    }
    Ok(o.into())
}

/// The multihash digest carport writes for `data` with hash `alg` (`sha2-256` or `blake3`).
#[wasm_bindgen]
pub fn digest(alg: &str, data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let alg: HashAlg = alg
        .parse()
        .map_err(|e: carport_core::error::SettingsError| settings_error(e.to_string()))?;
    Ok(alg.digest(data).digest().to_vec())
}

/// Bytes of the Wasm linear memory (it only grows, so this is also its peak).
#[wasm_bindgen(js_name = heapSize)]
pub fn heap_size() -> f64 {
    #[cfg(target_arch = "wasm32")]
    {
        (core::arch::wasm32::memory_size(0) * 65536) as f64
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0.0
    }
}
