//! IPNS names at the edge: where a name's record is kept, and how a name is resolved.
//!
//! Each name has one Durable Object (`NAMES`, named by the name in base36, `k51…`) holding the
//! one record the worker serves for it. Every rule about records (decoding, the signature, the
//! name's key, expiry, which of two records wins) is `carport_core::ipns`; here they meet the
//! object's storage, the clock and `fetch`.
//!
//! Why a Durable Object per name and not KV: a publish is a compare-and-set on the sequence (a
//! record replaces the kept one only when `ipns::check_update` ranks it no lower). KV has no
//! conditional write and is eventually consistent, so two publishes at once would both read the
//! old record and the last write would win, whichever its sequence; a reader at another
//! location could also be served the older record for up to a minute after a publish. One
//! object per name runs one request at a time through its storage calls (the body is read
//! before the first storage read, and nothing but storage is awaited between the read of the
//! kept record and the write of the new one), so the comparison and the write are one step,
//! and every reader anywhere asks the same object. One object per name (not one for all) keeps
//! names from queueing behind each other.

use std::time::Duration;

use carport_core::codec::base64url;
use carport_core::error::Coded;
use carport_core::gateway::path::{ContentPath, MutableName, Pointer, MAX_NAME_DEPTH};
use carport_core::ipns::{check_update, compare, validate, IpnsError, Name, RecordData, Timestamp};
use futures_util::future::{join_all, select, Either};
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, Delay, DurableObject, Env, Fetch, Headers, Method, Request, RequestInit,
    Response, State, Url,
};

use crate::reply::json;
use crate::settings::NameSettings;

/// `Content-Type` and `Accept` of a serialized record.
pub use carport_core::ipns::CONTENT_TYPE as RECORD_TYPE;
pub use carport_core::ipns::MAX_RECORD_SIZE;

/// The time, as core takes it.
pub fn now() -> Timestamp {
    Timestamp::from_unix_millis(js_sys::Date::now() as i64)
}

/// A record of a name, checked at the time it was read.
#[derive(Clone, Debug)]
pub struct Found {
    pub bytes: Vec<u8>,
    pub data: RecordData,
}

/// The status a refusal of a record is answered with: 413 for one over 10 KiB, 409 for one
/// older than the kept record, 400 for any other fault of the record or name.
pub fn status_of(e: &IpnsError) -> u16 {
    match e {
        IpnsError::TooLarge { .. } => 413,
        IpnsError::SequenceRollback { .. } => 409,
        _ => 400,
    }
}

/// A refusal as JSON: `{error, code, name}`, `code` the core error's stable code.
pub fn refusal(e: &IpnsError, name: Option<&Name>) -> worker::Result<Response> {
    json(
        status_of(e),
        &serde_json::json!({
            "error": e.to_string(),
            "code": e.code(),
            "name": name.map(|n| n.to_string()),
        }),
    )
}

/// A refusal that is not about the record's bytes (a content type, a rate, a body), with a
/// `code` of the worker's own.
pub fn refuse(status: u16, code: &str, message: &str) -> worker::Result<Response> {
    json(status, &serde_json::json!({ "error": message, "code": code }))
}

/// Who a `PUT` to the object comes from: a publisher (counted against the name's rate), or the
/// worker keeping a better record it got from an upstream router (not counted).
#[derive(Serialize, Deserialize, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Publish,
    Router,
}

/// The object's answer to a `PUT` that was taken.
#[derive(Serialize, Deserialize, Debug)]
pub struct Stored {
    pub name: String,
    pub sequence: u64,
    pub value: String,
    pub validity: String,
    /// False when the record was already the kept one (a repeat changes nothing).
    pub changed: bool,
}

#[derive(Serialize, Deserialize, Default)]
struct Window {
    start: f64,
    count: u32,
}

/// The record of one name.
#[durable_object]
pub struct NameRecord {
    state: State,
    env: Env,
}

impl DurableObject for NameRecord {
    fn new(state: State, env: Env) -> Self {
        NameRecord { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let url = req.url()?;
        let q = |k: &str| url.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.to_string());
        let method = req.method();
        // The body before any state: awaiting it lets other requests in, storage calls do not.
        let body = req.bytes().await?;
        let name = match Name::parse(&q("name").unwrap_or_default()) {
            Ok(n) => n,
            Err(e) => return refusal(&e, None),
        };
        let storage = self.state.storage();
        let now = now();
        let kept: Option<String> = storage.get("record").await?;
        let kept = kept.and_then(|t| base64url::decode(&t).ok());
        // A kept record that no longer validates (it expired) is no record: any valid one
        // replaces it, as resolvers would no longer take it.
        let current = kept.and_then(|b| validate(&name, &b, now).ok().map(|d| (b, d)));
        match method {
            Method::Get => match current {
                Some((bytes, _)) => {
                    let at: f64 = storage.get("at").await?.unwrap_or(0.0);
                    let mut resp = Response::from_bytes(bytes)?;
                    resp.headers_mut().set("X-Kept-At", &at.to_string())?;
                    Ok(resp)
                }
                None => json(404, &serde_json::json!({ "error": "no record" })),
            },
            Method::Put => {
                let source = match q("source").as_deref() {
                    Some("router") => Source::Router,
                    _ => Source::Publish,
                };
                let incoming = match validate(&name, &body, now) {
                    Ok(d) => d,
                    Err(e) => return refusal(&e, Some(&name)),
                };
                let stored = |changed: bool| Stored {
                    name: name.to_string(),
                    sequence: incoming.sequence,
                    value: incoming.path().unwrap_or_default(),
                    validity: incoming.validity.to_rfc3339(),
                    changed,
                };
                if current.as_ref().is_some_and(|(b, _)| *b == body) {
                    return json(200, &stored(false));
                }
                if let Err(e) = check_update(current.as_ref().map(|(_, d)| d), &incoming) {
                    return refusal(&e, Some(&name));
                }
                if source == Source::Publish {
                    // Counted only here: a record that changes what is kept, which only the
                    // name's key can sign. Forgeries and replays never reach this count, so a
                    // stranger cannot spend the owner's rate.
                    let limit = NameSettings::from_env(&self.env).per_name_per_minute;
                    let mut w: Window = storage.get("window").await?.unwrap_or_default();
                    let t = js_sys::Date::now();
                    if t - w.start >= 60_000.0 {
                        w = Window { start: t, count: 0 };
                    }
                    if w.count >= limit {
                        let wait = ((w.start + 60_000.0 - t) / 1000.0).ceil().max(1.0) as u64;
                        return rate_limited(
                            &format!("rate limit: {limit} publishes of {name} per minute"),
                            wait,
                        );
                    }
                    w.count += 1;
                    storage.put("window", &w).await?;
                }
                storage.put("record", base64url::encode(&body)).await?;
                storage.put("at", js_sys::Date::now()).await?;
                json(200, &stored(true))
            }
            _ => json(405, &serde_json::json!({ "error": "GET or PUT" })),
        }
    }
}

/// A 429 with `Retry-After`.
pub fn rate_limited(message: &str, retry_after_secs: u64) -> worker::Result<Response> {
    let mut resp = refuse(429, "RateLimited", message)?;
    resp.headers_mut().set("Retry-After", &retry_after_secs.to_string())?;
    Ok(resp)
}

fn object_url(name: &Name, source: Option<Source>) -> String {
    let mut url = format!("https://names.carport.invalid/record?name={name}");
    if let Some(s) = source {
        url.push_str(match s {
            Source::Publish => "&source=publish",
            Source::Router => "&source=router",
        });
    }
    url
}

fn stub(env: &Env, name: &Name) -> worker::Result<worker::Stub> {
    env.durable_object("NAMES")?.get_by_name(&name.to_string())
}

/// Hands a record to the name's object, which checks it and keeps it if it is the better; its
/// answer (200 `Stored`, or the refusal) is the publisher's.
pub async fn put(
    env: &Env,
    name: &Name,
    record: &[u8],
    source: Source,
) -> worker::Result<Response> {
    let mut init = RequestInit::new();
    init.with_method(Method::Put).with_body(Some(js_sys::Uint8Array::from(record).into()));
    let req = Request::new_with_init(&object_url(name, Some(source)), &init)?;
    let mut resp = stub(env, name)?.fetch_with_request(req).await?;
    // A fetched response's headers cannot be changed: answer with a copy.
    let (status, retry) = (resp.status_code(), resp.headers().get("Retry-After")?);
    let mut out = Response::ok(resp.text().await?)?.with_status(status);
    let h = out.headers_mut();
    h.set("Content-Type", "application/json")?;
    h.set("Cache-Control", "no-store")?;
    if let Some(r) = retry {
        h.set("Retry-After", &r)?;
    }
    Ok(out)
}

/// The record kept for `name`, valid now, and when it was kept (Unix milliseconds).
async fn kept(env: &Env, name: &Name) -> worker::Result<Option<(Found, f64)>> {
    let mut resp = stub(env, name)?.fetch_with_str(&object_url(name, None)).await?;
    if resp.status_code() != 200 {
        return Ok(None);
    }
    let at = resp.headers().get("X-Kept-At")?.and_then(|v| v.parse().ok()).unwrap_or(0.0);
    let bytes = resp.bytes().await?;
    Ok(validate(name, &bytes, now()).ok().map(|data| (Found { bytes, data }, at)))
}

/// Asks one upstream delegated router for `name`'s record; only a record that validates for
/// the name now is taken (anything else is logged and dropped).
async fn ask(router: &str, name: &Name, timeout_ms: u64) -> Option<Found> {
    let url = Url::parse(&format!("{router}/routing/v1/ipns/{name}")).ok()?;
    let headers = Headers::new();
    headers.set("Accept", RECORD_TYPE).ok()?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let req = Request::new_with_init(url.as_str(), &init).ok()?;
    let fetch = Box::pin(async move {
        let mut resp = Fetch::Request(req).send().await.ok()?;
        let ty = resp.headers().get("Content-Type").ok()??;
        if resp.status_code() != 200 || !ty.starts_with(RECORD_TYPE) {
            return None;
        }
        let len: Option<usize> =
            resp.headers().get("Content-Length").ok()?.and_then(|v| v.parse().ok());
        if len.is_some_and(|l| l > MAX_RECORD_SIZE) {
            worker::console_warn!(
                "carport-edge: {router} sent a record of {len:?} bytes for {name}"
            );
            return None;
        }
        resp.bytes().await.ok()
    });
    let bytes =
        match select(fetch, Box::pin(Delay::from(std::time::Duration::from_millis(timeout_ms))))
            .await
        {
            Either::Left((b, _)) => b?,
            Either::Right(_) => {
                worker::console_warn!(
                    "carport-edge: {router} did not answer for {name} in {timeout_ms} ms"
                );
                return None;
            }
        };
    match validate(name, &bytes, now()) {
        Ok(data) => Some(Found { bytes, data }),
        Err(e) => {
            worker::console_warn!("carport-edge: {router} sent an invalid record for {name}: {e}");
            None
        }
    }
}

/// Where a resolved record came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FoundIn {
    /// The name's object.
    Kept,
    /// An upstream router, with a better record than the object's.
    Router,
}

/// The best valid record of `name`: the kept one while it is fresh (kept less than its TTL
/// ago), else the best of it and each upstream router's (asked at once), ranked by
/// `ipns::compare`. A router's record that beats the kept one is handed to the object (which
/// checks it again) once the answer is out, so the next request finds it here.
pub async fn resolve(
    env: &Env,
    s: &NameSettings,
    name: &Name,
) -> worker::Result<Option<(Found, FoundIn)>> {
    let local = kept(env, name).await?;
    if let Some((f, at)) = &local {
        let age_ms = js_sys::Date::now() - at;
        if s.routers.is_empty() || age_ms < f.data.ttl().as_millis() as f64 {
            return Ok(Some((f.clone(), FoundIn::Kept)));
        }
    }
    let remote = join_all(s.routers.iter().map(|r| ask(r, name, s.router_timeout_ms))).await;
    let mut best = local.map(|(f, _)| (f, FoundIn::Kept));
    for f in remote.into_iter().flatten() {
        let better = match &best {
            Some((b, _)) => compare(&f.data, &b.data) == std::cmp::Ordering::Greater,
            None => true,
        };
        if better {
            best = Some((f, FoundIn::Router));
        }
    }
    Ok(best)
}

/// Why a name did not lead to content: the status and the message to answer with.
pub type Unresolved = (u16, String);

/// Follows `p` to content: IPNS names through their records (as [`resolve`] finds them), DNSLink
/// domains through their TXT records, at most `MAX_NAME_DEPTH` names deep. Returns the content
/// path with the request's rest appended, and the shortest TTL of the records on the way (none
/// when only DNSLink was followed).
pub async fn follow(
    env: &Env,
    ctx: &worker::Context,
    s: &crate::settings::Settings,
    ns: &NameSettings,
    mut p: Pointer,
) -> worker::Result<Result<(ContentPath, Option<Duration>), Unresolved>> {
    let mut ttl: Option<Duration> = None;
    for _ in 0..=MAX_NAME_DEPTH {
        let named = match p {
            Pointer::Ipfs(c) => return Ok(Ok((c, ttl))),
            Pointer::Ipns(n) => n,
        };
        let next = match &named.name {
            MutableName::Key(key) => {
                let Some((found, whence)) = resolve(env, ns, key).await? else {
                    return Ok(Err((
                        404,
                        format!("404 not found: no valid IPNS record for {key}"),
                    )));
                };
                if whence == FoundIn::Router {
                    crate::routing::keep(env, ctx, key, &found);
                }
                let t = match found.data.ttl() {
                    t if t.is_zero() => Duration::from_secs(60),
                    t => t,
                };
                ttl = Some(ttl.map_or(t, |x| x.min(t)));
                let value = found.data.path().unwrap_or_default();
                match Pointer::parse(&value) {
                    Ok(ptr) => ptr,
                    Err(e) => {
                        return Ok(Err((
                            502,
                            format!("502 bad gateway: the IPNS record of {key} points at {value:?}, which is not a content path: {e}"),
                        )))
                    }
                }
            }
            MutableName::Domain(d) => match crate::dnslink(s, d).await {
                Some(ptr) => ptr,
                None => return Ok(Err((404, format!("404 not found: {d} has no DNSLink record")))),
            },
        };
        p = next.under(&named.segments, named.trailing_slash);
    }
    Ok(Err((
        400,
        format!("400 bad request: more than {MAX_NAME_DEPTH} names deep (names pointing at names)"),
    )))
}
