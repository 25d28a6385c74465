//! Hashes: the CID of a CAR, piece commitments, archive records' proofs, and the block hashes (for
//! benchmarks).

use carport_core::car::shard::CarCidHasher;
use carport_core::codec::cids::HashAlg;
use carport_core::error::Coded;
use carport_core::piece::PieceHasher;
use carport_core::Cid;
use js_sys::Object;
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, finished, js_error, settings_error};
use crate::set;

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
        let info = h.finish().map_err(|e| core_error(&e))?;
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
    use carport_core::archive::{self, ArchiveRecord};
    let record: ArchiveRecord = serde_wasm_bindgen::from_value(record).map_err(|e| {
        js_error("ArchiveRecord", format!("not an archive record: {e}"), None, None)
    })?;
    let piece: Cid = piece
        .parse()
        .map_err(|_| js_error("BadCid", format!("{piece:?} is not a piece CID"), None, None))?;
    // Every refusal is about the piece asked for, so it is the CID at fault whatever the error.
    let verified = archive::verify(&record, &piece)
        .map_err(|e| js_error(e.code(), e.to_string(), Some(&piece), None))?;
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

/// The multihash digest carport writes for `data` with hash `alg` (one of `hashNames()`).
#[wasm_bindgen]
pub fn digest(alg: &str, data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let alg: HashAlg =
        alg.parse().map_err(|e: carport_core::error::SettingsError| core_error(&e))?;
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
