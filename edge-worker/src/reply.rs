//! Plain answers: text for people and curl, JSON for programs. Neither is cached.

use serde::Serialize;
use worker::Response;

pub fn text(status: u16, msg: &str) -> worker::Result<Response> {
    let mut r = Response::ok(format!("{msg}\n"))?.with_status(status);
    r.headers_mut().set("Cache-Control", "no-store")?;
    Ok(r)
}

pub fn json<T: Serialize>(status: u16, value: &T) -> worker::Result<Response> {
    let mut r = Response::from_json(value)?.with_status(status);
    r.headers_mut().set("Cache-Control", "no-store")?;
    Ok(r)
}

/// A JSON error: `{error, cid?}` with a status, for clients that act on it.
pub fn error(status: u16, message: &str, cid: Option<String>) -> worker::Result<Response> {
    json(status, &serde_json::json!({ "error": message, "cid": cid }))
}
