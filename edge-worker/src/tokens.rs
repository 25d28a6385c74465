//! Upload tokens: bearer tokens kept in KV (`TOKENS`) only as their SHA-256, so a leaked KV
//! namespace leaks no token. Created and revoked through `/_admin/tokens` (admin token), or with
//! wrangler: `wrangler kv key put --binding TOKENS token:<sha256 hex of the token> '{"name":"…"}'`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{Env, Method, Request, Response};

use crate::reply::{error, json, text};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// Bytes from the runtime's cryptographic random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    get_random_values(&mut b);
    b
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What KV keeps of a token. The limits default to the worker's settings when absent.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub created: u64,
    /// Total bytes of CAR shards this token may store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<u64>,
    /// Uploads per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_minute: Option<u32>,
}

/// A token that passed: its id (the SHA-256 of the token, hex) and record.
pub struct Caller {
    pub id: String,
    pub record: TokenRecord,
}

fn token_id(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// The caller of an upload, from `Authorization: Bearer <token>`; `Err` is the response to give.
pub async fn authenticate(req: &Request, env: &Env) -> Result<Caller, worker::Result<Response>> {
    let header = req.headers().get("Authorization").ok().flatten().unwrap_or_default();
    let Some(token) = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty())
    else {
        return Err(error(401, "unauthorized: send Authorization: Bearer <upload token>", None));
    };
    let id = token_id(token);
    let kv = match env.kv("TOKENS") {
        Ok(kv) => kv,
        Err(e) => return Err(error(500, &format!("no TOKENS namespace: {e}"), None)),
    };
    match kv.get(&format!("token:{id}")).json::<TokenRecord>().await {
        Ok(Some(record)) => Ok(Caller { id, record }),
        Ok(None) => Err(error(401, "unauthorized: unknown or revoked upload token", None)),
        Err(e) => Err(error(500, &format!("token lookup failed: {e}"), None)),
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct NewToken {
    #[serde(default)]
    name: String,
    quota_bytes: Option<u64>,
    rate_per_minute: Option<u32>,
}

/// `POST /_admin/tokens` (JSON `{name, quotaBytes?, ratePerMinute?}`) → `{token, id}`: the token is
/// shown once. `GET /_admin/tokens/{id}` and `DELETE /_admin/tokens/{id}` (revoke).
pub async fn admin(mut req: Request, env: &Env, rest: &str) -> worker::Result<Response> {
    let kv = env.kv("TOKENS")?;
    match (req.method(), rest) {
        (Method::Post, "") => {
            let body = req.text().await?;
            let new: NewToken = if body.trim().is_empty() {
                NewToken::default()
            } else {
                match serde_json::from_str(&body) {
                    Ok(n) => n,
                    Err(e) => {
                        return text(
                            400,
                            &format!(
                                "400: expected JSON {{name, quotaBytes?, ratePerMinute?}}: {e}"
                            ),
                        )
                    }
                }
            };
            let token = format!("cpt_{}", hex(&random_bytes::<32>()));
            let id = token_id(&token);
            let record = TokenRecord {
                name: new.name,
                created: js_sys::Date::now() as u64,
                quota_bytes: new.quota_bytes,
                rate_per_minute: new.rate_per_minute,
            };
            kv.put(&format!("token:{id}"), serde_json::to_string(&record)?)?.execute().await?;
            json(201, &serde_json::json!({ "token": token, "id": id, "record": record }))
        }
        (Method::Get, id) if !id.is_empty() => {
            match kv.get(&format!("token:{id}")).json::<TokenRecord>().await? {
                Some(r) => json(200, &r),
                None => text(404, "404: no such token"),
            }
        }
        (Method::Delete, id) if !id.is_empty() => {
            kv.delete(&format!("token:{id}")).await?;
            text(200, "revoked")
        }
        _ => text(405, "use POST /_admin/tokens, GET or DELETE /_admin/tokens/{id}"),
    }
}
