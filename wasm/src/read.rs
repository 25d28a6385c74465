//! Reading a CAR back: its blocks out, each checked against its CID, then a walk over them.

use carport_core::car::verify::BlockCheck;
use carport_core::car::{CarReader, Event};
use carport_core::error::VerifyError;
use carport_core::unixfs::walk::{self, BlockGet, Kind, WalkError, Walker};
use carport_core::Cid;
use js_sys::{Array, Function, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, parse_cid};
use crate::set;

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
        self.check.flush(append_to(&out)).map(|()| out).map_err(|e| core_error(&e))
    }

    pub fn roots(&self) -> Array {
        self.roots.iter().map(|c| JsValue::from(c.to_string())).collect()
    }

    pub fn version(&self) -> f64 {
        self.version as f64
    }

    fn drain(&mut self) -> Result<Array, JsValue> {
        let out = Array::new();
        while let Some(ev) = self.reader.next_event().map_err(|e| core_error(&e))? {
            match ev {
                Event::Header { version, roots, .. } => {
                    self.version = version;
                    self.roots = roots;
                }
                Event::Block { cid, data, offset } => {
                    self.check
                        .push(cid, data, offset, append_to(&out))
                        .map_err(|e| core_error(&e))?;
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
pub(crate) fn append_to(
    out: &Array,
) -> impl FnMut(Cid, Vec<u8>, u64) -> Result<(), VerifyError> + '_ {
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
/// in name order, the root first (path `""`); past `max_entries` entries (default
/// [`walk::DEFAULT_MAX_ENTRIES`]) it fails with `TooManyEntries`, as the CLI does, so a small
/// hostile DAG cannot name a billion entries into the page's memory.
#[wasm_bindgen]
pub fn list(root: &str, get: &Function, max_entries: Option<f64>) -> Result<Array, JsValue> {
    let root = parse_cid(root)?;
    let limit = max_entries.map_or(walk::DEFAULT_MAX_ENTRIES, |n| n.max(0.0) as u64);
    let mut walker = Walker::new(root, limit);
    let mut blocks = JsBlocks(get);
    let out = Array::new();
    while let Some(e) = walker.next_entry(&mut blocks).map_err(|e| core_error(&e))? {
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
        .map_err(|e| core_error(&e))
}
