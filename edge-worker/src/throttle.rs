//! A fixed-window rate limit, one Durable Object per key (`PUBLISH_LIMIT`): the IPNS publishing
//! door counts every attempt of a client (`client:{CF-Connecting-IP}`) here before it reads the
//! body, so a client cannot flood the worker with records to check, whatever they hold.
//!
//! The per-name limit is not here: it is counted inside the name's own object (`names.rs`), and
//! only for records that change what is stored, which only the name's key can sign.

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, State};

use crate::reply::json;

/// `POST /take`: one more event against `limit` per `window_ms`.
#[derive(Serialize, Deserialize)]
pub struct Take {
    pub limit: u32,
    pub window_ms: u64,
}

/// The answer to [`Take`]: allowed, or when to try again.
#[derive(Serialize, Deserialize)]
pub struct Verdict {
    pub ok: bool,
    #[serde(default)]
    pub retry_after_secs: u64,
}

#[derive(Serialize, Deserialize, Default)]
struct Window {
    start: f64,
    count: u32,
}

/// The rate of one key.
#[durable_object]
pub struct PublishLimit {
    state: State,
}

impl DurableObject for PublishLimit {
    fn new(state: State, _env: Env) -> Self {
        PublishLimit { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        // The body first: from the first storage read to the last write nothing else runs here.
        let take: Take = serde_json::from_str(&req.text().await?)?;
        let storage = self.state.storage();
        let now = js_sys::Date::now();
        let window = take.window_ms.max(1) as f64;
        let mut w: Window = storage.get("window").await?.unwrap_or_default();
        if now - w.start >= window {
            w = Window { start: now, count: 0 };
        }
        if w.count >= take.limit {
            let wait = ((w.start + window - now) / 1000.0).ceil().max(1.0) as u64;
            return json(200, &Verdict { ok: false, retry_after_secs: wait });
        }
        w.count += 1;
        storage.put("window", &w).await?;
        json(200, &Verdict { ok: true, retry_after_secs: 0 })
    }
}

/// Takes one event of `key` against `limit` a minute; `Err` is the seconds to wait.
pub async fn take(env: &Env, key: &str, limit: u32) -> worker::Result<Result<(), u64>> {
    let stub = env.durable_object("PUBLISH_LIMIT")?.get_by_name(key)?;
    let body = serde_json::to_string(&Take { limit, window_ms: 60_000 })?;
    let v: Verdict = crate::upload::call(&stub, "POST", "/take", Some(body)).await?;
    Ok(if v.ok { Ok(()) } else { Err(v.retry_after_secs) })
}
