//! The jobs of the npm package's worker pool: a run of a shard's bytes hashed to the root of its
//! piece subtree in one worker, and the runs' roots joined to the shard's piece in another (core's
//! `piece::subtree`). A shard's CAR CID needs no export of its own: `CarCid` streams it, or
//! `carCidFromDigest` names a digest `crypto.subtle` made.

use carport_core::piece::{join, Subtree, SubtreeHasher};
use js_sys::{Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, finished, settings_error};
use crate::set;

/// The root of one run of payload bytes (`127 << k` bytes for a whole run), pushed in pieces.
#[wasm_bindgen]
pub struct PieceRun(Option<SubtreeHasher>);

#[wasm_bindgen]
impl PieceRun {
    #[wasm_bindgen(constructor)]
    pub fn new() -> PieceRun {
        PieceRun(Some(SubtreeHasher::new()))
    }

    pub fn update(&mut self, bytes: &[u8]) {
        if let Some(h) = &mut self.0 {
            h.update(bytes);
        }
    }

    /// `{root: Uint8Array(32), height, payload}`.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let s = self.0.take().ok_or_else(finished)?.finish().map_err(|e| core_error(&e))?;
        let o = Object::new();
        set(&o, "root", &Uint8Array::from(&s.root[..]));
        set(&o, "height", &s.height.into());
        set(&o, "payload", &(s.payload as f64).into());
        Ok(o.into())
    }
}

impl Default for PieceRun {
    fn default() -> Self {
        Self::new()
    }
}

/// The piece of runs in order: `roots` their 32-byte roots end to end, `heights` and `payloads`
/// one per run. Returns what `Piece.finish` returns: `{cid, cidV1, paddedSize, payloadSize}`.
#[wasm_bindgen(js_name = pieceJoin)]
pub fn piece_join(roots: &[u8], heights: &[u8], payloads: &[f64]) -> Result<JsValue, JsValue> {
    if roots.len() != 32 * heights.len() || heights.len() != payloads.len() {
        return Err(settings_error(
            "pieceJoin: one 32-byte root, height and payload per run".into(),
        ));
    }
    let runs: Vec<Subtree> = roots
        .chunks_exact(32)
        .zip(heights.iter().zip(payloads))
        .map(|(r, (&height, &payload))| {
            let mut root = [0u8; 32];
            root.copy_from_slice(r);
            Subtree { root, height, payload: payload as u64 }
        })
        .collect();
    let info = join(&runs).map_err(|e| core_error(&e))?;
    let o = Object::new();
    set(&o, "cid", &info.cid.to_string().into());
    set(&o, "cidV1", &info.cid_v1.to_string().into());
    set(&o, "paddedSize", &(info.padded_size as f64).into());
    set(&o, "payloadSize", &(info.payload_size as f64).into());
    Ok(o.into())
}
