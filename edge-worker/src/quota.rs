//! Per-token limits: uploads per minute and bytes stored in all. One Durable Object per token
//! (named by the token's id) keeps the counts, so every isolate sees the same ones.
//!
//! The byte quota is reserved, not just checked: `/begin` counts what is stored plus what uploads
//! in flight have reserved, and reserves the announced `Content-Length` in the same step (a
//! Durable Object runs one event at a time through its storage calls, so two uploads cannot both
//! take the last bytes). `/settle` turns a reservation into the shard's stored size, or frees it
//! (a refusal, a duplicate). A reservation whose upload never settles (an isolate that died)
//! lapses after [`RESERVATION_TTL_MS`].

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State};

use crate::reply::json;

const WINDOW_MS: f64 = 60_000.0;
/// How long an unsettled reservation holds: longer than any upload of one shard can take.
pub const RESERVATION_TTL_MS: f64 = 15.0 * 60_000.0;

#[derive(Serialize, Deserialize)]
pub struct Ask {
    /// Bytes the upload announces.
    pub bytes: u64,
    pub quota_bytes: u64,
    pub rate_per_minute: u32,
}

#[derive(Serialize, Deserialize, Default)]
struct Window {
    start: f64,
    count: u32,
}

/// Bytes held for an upload in flight.
#[derive(Serialize, Deserialize, Clone)]
struct Reservation {
    id: String,
    bytes: u64,
    at: f64,
}

/// The answer to [`Ask`]: allowed (with the reservation to settle), or why not and when to try
/// again.
#[derive(Serialize, Deserialize)]
pub struct Verdict {
    pub ok: bool,
    #[serde(default)]
    pub reservation: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub retry_after_secs: u64,
}

/// `POST /settle`: the reservation's upload ended, having stored `bytes` (0: nothing new).
#[derive(Serialize, Deserialize)]
pub struct Settle {
    pub reservation: String,
    pub bytes: u64,
}

#[durable_object]
pub struct Quota {
    state: State,
}

impl DurableObject for Quota {
    fn new(state: State, _env: Env) -> Self {
        Quota { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        // The body is read before any state: awaiting it lets other requests in, while storage
        // calls do not, so from the first read of the counts to the last write no other upload
        // can read them.
        let route = (req.method(), req.path());
        let body = req.text().await?;
        let storage = self.state.storage();
        let used: u64 = storage.get("used").await?.unwrap_or(0);
        let now = js_sys::Date::now();
        let mut held: Vec<Reservation> = storage.get("reserved").await?.unwrap_or_default();
        held.retain(|r| now - r.at < RESERVATION_TTL_MS);
        match (route.0, route.1.as_str()) {
            (Method::Post, "/begin") => {
                let ask: Ask = serde_json::from_str(&body)?;
                let mut w: Window = storage.get("window").await?.unwrap_or_default();
                if now - w.start >= WINDOW_MS {
                    w = Window { start: now, count: 0 };
                }
                let pending: u64 = held.iter().map(|r| r.bytes).sum();
                let verdict = if w.count >= ask.rate_per_minute {
                    let wait = ((w.start + WINDOW_MS - now) / 1000.0).ceil().max(1.0) as u64;
                    Verdict {
                        ok: false,
                        reservation: String::new(),
                        reason: format!("rate limit: {} uploads per minute", ask.rate_per_minute),
                        retry_after_secs: wait,
                    }
                } else if used.saturating_add(pending).saturating_add(ask.bytes) > ask.quota_bytes {
                    let reason = format!("size quota: {used} of {} bytes used, {pending} reserved by uploads in flight, this upload needs {}", ask.quota_bytes, ask.bytes);
                    Verdict { ok: false, reservation: String::new(), reason, retry_after_secs: 0 }
                } else {
                    w.count += 1;
                    let id = format!("{now}-{}", w.count);
                    held.push(Reservation { id: id.clone(), bytes: ask.bytes, at: now });
                    storage.put("window", &w).await?;
                    storage.put("reserved", &held).await?;
                    Verdict {
                        ok: true,
                        reservation: id,
                        reason: String::new(),
                        retry_after_secs: 0,
                    }
                };
                json(200, &verdict)
            }
            (Method::Post, "/settle") => {
                let settle: Settle = serde_json::from_str(&body)?;
                held.retain(|r| r.id != settle.reservation);
                let used = used.saturating_add(settle.bytes);
                storage.put("reserved", &held).await?;
                storage.put("used", used).await?;
                json(200, &used)
            }
            (Method::Get, "/usage") => json(
                200,
                &serde_json::json!({ "usedBytes": used, "reservedBytes": held.iter().map(|r| r.bytes).sum::<u64>() }),
            ),
            _ => json(404, &"no such route"),
        }
    }
}
