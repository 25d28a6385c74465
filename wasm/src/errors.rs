//! core's typed errors as JavaScript `Error`s named `CarportError`, each with a stable `code` and
//! the CID and byte offset at fault: one mapping, [`core_error`], for every core error, since each
//! tells its code, CID and offset itself ([`Coded`]).

use carport_core::error::Coded;
use carport_core::Cid;
use wasm_bindgen::prelude::*;

use crate::set;

/// A `CarportError`; this module's own errors (bad arguments, a finished object) use it directly.
pub(crate) fn js_error(
    code: &str,
    message: String,
    cid: Option<&Cid>,
    offset: Option<u64>,
) -> JsValue {
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

/// Any core error as a `CarportError`.
pub(crate) fn core_error(e: &dyn Coded) -> JsValue {
    js_error(e.code(), e.to_string(), e.cid(), e.offset())
}

/// A bad option or argument, reported as core's settings errors are.
pub(crate) fn settings_error(msg: String) -> JsValue {
    js_error("Settings", msg, None, None)
}

pub(crate) fn parse_cid(s: &str) -> Result<Cid, JsValue> {
    s.parse::<Cid>().map_err(|e| js_error("BadCid", format!("invalid CID {s:?}: {e}"), None, None))
}

/// Any call on a packer, verifier or hasher after its `finish`.
pub(crate) fn finished() -> JsValue {
    js_error("Finished", "the packer has finished".into(), None, None)
}
