//! IPNS for the npm package: names of Ed25519 keys, records made and checked by
//! `carport_core::ipns`. The key is a 32-byte seed the JavaScript side made (WebCrypto's
//! Ed25519 where the runtime has it, else `crypto.getRandomValues`); the time is passed in.

use std::time::Duration;

use carport_core::ipns::{create_record, validate, Keypair, Name, RecordData, Timestamp};
use js_sys::Object;
use wasm_bindgen::prelude::*;

use crate::errors::{core_error, settings_error};
use crate::set;

fn seed_of(seed: &[u8]) -> Result<[u8; 32], JsValue> {
    seed.try_into()
        .map_err(|_| settings_error(format!("an Ed25519 seed is 32 bytes, got {}", seed.len())))
}

fn name_of(name: &str) -> Result<Name, JsValue> {
    Name::parse(name).map_err(|e| core_error(&e))
}

/// The IPNS name (`k51…`) of the Ed25519 key with this 32-byte seed.
#[wasm_bindgen(js_name = ipnsName)]
pub fn ipns_name(seed: &[u8]) -> Result<String, JsValue> {
    Ok(Keypair::from_seed(seed_of(seed)?).name().to_string())
}

/// A signed record (the `IpnsEntry` protobuf, V2 and the V1 fields) of the key with `seed`:
/// `value` (a content path), `sequence`, valid until `validity_ms` (Unix milliseconds), cached
/// for `ttl_ms`.
#[wasm_bindgen(js_name = ipnsCreateRecord)]
pub fn ipns_create_record(
    seed: &[u8],
    value: &str,
    sequence: f64,
    validity_ms: f64,
    ttl_ms: f64,
) -> Result<Vec<u8>, JsValue> {
    let key = Keypair::from_seed(seed_of(seed)?);
    if !(0.0..=2f64.powi(53)).contains(&sequence) || sequence.fract() != 0.0 {
        return Err(settings_error(format!("sequence must be a whole number ≥ 0, got {sequence}")));
    }
    if ttl_ms.is_nan() || ttl_ms < 0.0 || !validity_ms.is_finite() {
        return Err(settings_error("ttl and validity must be numbers of milliseconds".into()));
    }
    let data = RecordData::new(
        value,
        sequence as u64,
        Timestamp::from_unix_millis(validity_ms as i64),
        Duration::from_millis(ttl_ms as u64),
    );
    create_record(&key, &data, true).map_err(|e| core_error(&e))
}

/// Checks a serialized record of `name` at `now_ms` (Unix milliseconds), as a resolver must:
/// `{ value, sequence, validity, validityMs, ttlMs }`, or a `CarportError` with core's code
/// (`IpnsBadSignature`, `IpnsExpired`, `IpnsWrongName`, …).
#[wasm_bindgen(js_name = ipnsValidate)]
pub fn ipns_validate(name: &str, record: &[u8], now_ms: f64) -> Result<JsValue, JsValue> {
    let name = name_of(name)?;
    let data = validate(&name, record, Timestamp::from_unix_millis(now_ms as i64))
        .map_err(|e| core_error(&e))?;
    let out = Object::new();
    set(&out, "name", &name.to_string().into());
    set(&out, "value", &data.path().unwrap_or_default().into());
    set(&out, "sequence", &(data.sequence as f64).into());
    set(&out, "validity", &data.validity.to_rfc3339().into());
    set(&out, "validityMs", &(data.validity.unix_millis() as f64).into());
    set(&out, "ttlMs", &(data.ttl().as_millis() as f64).into());
    Ok(out.into())
}

/// A name in its canonical form (`k51…`), or a `CarportError` (`IpnsBadName`).
#[wasm_bindgen(js_name = ipnsParseName)]
pub fn ipns_parse_name(name: &str) -> Result<String, JsValue> {
    Ok(name_of(name)?.to_string())
}
