//! Block checks with the runtime's native SHA-256: `crypto.subtle.digest` (BoringSSL in workerd)
//! hashes a large block several times faster than SHA-256 compiled to Wasm, which would otherwise
//! bound how fast a verified file streams. Small blocks, where a call into the runtime costs more
//! than the hash, and other hashes go through core.

use carport_core::codec::multicodec::SHA2_256;
use carport_core::gateway::{verify_block, verify_sha256, BlockError};
use carport_core::Cid;
use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Blocks at least this large are hashed natively.
const NATIVE_MIN: usize = 32 << 10;

/// Checks that `data` hashes to `cid` (see [`carport_core::gateway::verify_block`]).
pub async fn check(cid: &Cid, data: &[u8]) -> Result<(), BlockError> {
    if data.len() >= NATIVE_MIN && cid.hash().code() == SHA2_256 {
        if let Some(digest) = native_sha256(data).await {
            return verify_sha256(cid, &digest);
        }
    }
    verify_block(cid, data)
}

thread_local! {
    /// `crypto.subtle` and its `digest`, looked up once per isolate.
    static SUBTLE: Option<(Object, Function)> = subtle_digest();
}

fn subtle_digest() -> Option<(Object, Function)> {
    let subtle =
        Reflect::get(&Reflect::get(&js_sys::global(), &"crypto".into()).ok()?, &"subtle".into())
            .ok()?
            .dyn_into::<Object>()
            .ok()?;
    let digest = Reflect::get(&subtle, &"digest".into()).ok()?.dyn_into::<Function>().ok()?;
    Some((subtle, digest))
}

/// SHA-256 by `crypto.subtle`, or `None` where the runtime has none (then core hashes).
async fn native_sha256(data: &[u8]) -> Option<Vec<u8>> {
    let (subtle, digest) = SUBTLE.with(|s| s.clone())?;
    // SAFETY: the view is read before anything else runs in this module's memory: digest() copies
    // its input synchronously, as the Web Crypto spec requires, before it returns the promise.
    let view = unsafe { Uint8Array::view(data) };
    let promise = digest
        .call2(&subtle, &JsValue::from_str("SHA-256"), &view)
        .ok()?
        .dyn_into::<js_sys::Promise>()
        .ok()?;
    let out = JsFuture::from(promise).await.ok()?;
    Some(Uint8Array::new(&out).to_vec())
}
