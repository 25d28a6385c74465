//! Per-token limits: uploads per minute and bytes stored in all. One Durable Object per token
//! (named by the token's id) keeps the counts, so every isolate sees the same ones.
//!
//! The byte quota is checked against the announced `Content-Length` before a shard is read and
//! charged once the shard is stored (a duplicate is not charged). Uploads running at the same time
//! are each checked against what was stored before them, so together they may pass the quota by
//! at most what was in flight.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State};

use crate::reply::json;

const WINDOW_MS: f64 = 60_000.0;

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

/// The answer to [`Ask`]: allowed, or why not and when to try again.
#[derive(Serialize, Deserialize)]
pub struct Verdict {
    pub ok: bool,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub retry_after_secs: u64,
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
        let storage = self.state.storage();
        let used: u64 = storage.get("used").await?.unwrap_or(0);
        match (req.method(), req.path().as_str()) {
            (Method::Post, "/begin") => {
                let ask: Ask = req.json().await?;
                let now = js_sys::Date::now();
                let mut w: Window = storage.get("window").await?.unwrap_or_default();
                if now - w.start >= WINDOW_MS {
                    w = Window { start: now, count: 0 };
                }
                let verdict = if w.count >= ask.rate_per_minute {
                    let wait = ((w.start + WINDOW_MS - now) / 1000.0).ceil().max(1.0) as u64;
                    Verdict { ok: false, reason: format!("rate limit: {} uploads per minute", ask.rate_per_minute), retry_after_secs: wait }
                } else if used.saturating_add(ask.bytes) > ask.quota_bytes {
                    Verdict { ok: false, reason: format!("size quota: {used} of {} bytes used, this upload needs {}", ask.quota_bytes, ask.bytes), retry_after_secs: 0 }
                } else {
                    w.count += 1;
                    storage.put("window", &w).await?;
                    Verdict { ok: true, reason: String::new(), retry_after_secs: 0 }
                };
                json(200, &verdict)
            }
            (Method::Post, "/stored") => {
                let bytes: u64 = req.json().await?;
                storage.put("used", used.saturating_add(bytes)).await?;
                json(200, &used.saturating_add(bytes))
            }
            (Method::Get, "/usage") => json(200, &serde_json::json!({ "usedBytes": used })),
            _ => json(404, &"no such route"),
        }
    }
}
