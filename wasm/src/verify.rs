//! Verifying a CAR, or a set of CAR shards, pushed in from JavaScript.

use carport_core::car::verify::{Report, Verifier};
use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, finished, parse_cid};
use crate::set;

/// Verifies a CAR, or a set of CAR shards, pushed in pieces of any size.
#[wasm_bindgen]
pub struct CarVerifier {
    inner: Option<Verifier>,
}

pub(crate) fn report(r: Report) -> JsValue {
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
        self.inner.as_mut().ok_or_else(finished)?.push(bytes).map_err(|e| core_error(&e))
    }

    /// Ends the current CAR of a set; the next bytes are the next CAR.
    #[wasm_bindgen(js_name = nextCar)]
    pub fn next_car(&mut self) -> Result<(), JsValue> {
        self.inner.as_mut().ok_or_else(finished)?.next_car().map_err(|e| core_error(&e))
    }

    /// Ends the input: roots declared, every reachable block present. Returns
    /// `{version, roots, blocks, dataBytes}`.
    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        let v = self.inner.take().ok_or_else(finished)?;
        v.finish().map(report).map_err(|e| core_error(&e))
    }

    /// Ends the input checking only the blocks (for one shard of a set, which may declare no roots).
    #[wasm_bindgen(js_name = finishUnrooted)]
    pub fn finish_unrooted(&mut self) -> Result<JsValue, JsValue> {
        let v = self.inner.take().ok_or_else(finished)?;
        v.finish_unrooted().map(report).map_err(|e| core_error(&e))
    }
}
