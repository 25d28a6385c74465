//! The Delegated Routing V1 HTTP API for IPNS (ipfs/specs `src/routing/http-routing-v1.md`):
//! `GET /routing/v1/ipns/{name}` answers the name's record, `PUT` takes one.
//!
//! Publishing needs no upload token: the record's signature is the authority, and the name's
//! object (`names.rs`) keeps a record only when it validates for that name and is no older than
//! the one kept. Publishing is rate limited twice: every attempt per client address, before the
//! body is read (`throttle.rs`), and records that change a name per name (in its object).

use carport_core::ipns::{validate, IpnsError, Name};
use futures_util::StreamExt;
use worker::{Context, Env, Method, Request, Response};

use crate::names::{self, refusal, refuse, Found, FoundIn, Source, MAX_RECORD_SIZE, RECORD_TYPE};
use crate::settings::NameSettings;

/// How far an oversized record's body is read (and dropped) before it is refused.
const DRAIN_BYTES: usize = 1 << 20;

/// CORS headers of the routing door, besides the gateway's: PUT, and the headers it needs.
pub const ROUTING_CORS: [(&str, &str); 3] = [
    ("Access-Control-Allow-Methods", "GET, HEAD, PUT, OPTIONS"),
    ("Access-Control-Allow-Headers", "Accept, Content-Type"),
    ("Access-Control-Expose-Headers", "ETag, Expires, Last-Modified, Retry-After"),
];

/// `/routing/v1/…`.
pub async fn handle(
    req: Request,
    env: &Env,
    ctx: &Context,
    path: &str,
) -> worker::Result<Response> {
    let rest = path.strip_prefix("/routing/v1/").unwrap_or_default();
    let method = req.method();
    let Some(name) = rest.strip_prefix("ipns/") else {
        if method == Method::Options {
            return Ok(Response::empty()?.with_status(204));
        }
        // Providers, peers and the DHT are not carport's to answer; clients read a 404 from a
        // router as "nothing found".
        return refuse(
            404,
            "NotRouted",
            "this router answers IPNS names only (/routing/v1/ipns/{name})",
        );
    };
    let name = match Name::parse(name) {
        Ok(n) => n,
        Err(e) => return refusal(&e, None),
    };
    let s = NameSettings::from_env(env);
    match method {
        Method::Options => Ok(Response::empty()?.with_status(204)),
        Method::Get | Method::Head => get(&req, env, ctx, &s, &name, method == Method::Head).await,
        Method::Put => put(req, env, &s, &name).await,
        _ => refuse(405, "MethodNotAllowed", "use GET or PUT /routing/v1/ipns/{name}"),
    }
}

/// Whether `Accept` takes a record: it names the record type (or any type).
fn accepts_record(accept: Option<&str>) -> bool {
    accept.is_some_and(|a| {
        a.split(',').map(|t| t.split(';').next().unwrap_or("").trim()).any(|t| {
            t.eq_ignore_ascii_case(RECORD_TYPE)
                || t == "*/*"
                || t.eq_ignore_ascii_case("application/*")
        })
    })
}

async fn get(
    req: &Request,
    env: &Env,
    ctx: &Context,
    s: &NameSettings,
    name: &Name,
    head: bool,
) -> worker::Result<Response> {
    if !accepts_record(req.headers().get("Accept")?.as_deref()) {
        return refuse(
            406,
            "NotAcceptable",
            &format!("ask with Accept: {RECORD_TYPE} (the Accept header is missing or names no record type)"),
        );
    }
    match names::resolve(env, s, name).await? {
        Some((found, whence)) => {
            if whence == FoundIn::Router {
                keep(env, ctx, name, &found);
            }
            record_response(&found, head)
        }
        None => refuse(404, "NotFound", &format!("no valid record for {name}")),
    }
}

/// Hands a better record from an upstream router to the name's object, after the answer.
pub fn keep(env: &Env, ctx: &Context, name: &Name, found: &Found) {
    let (env, name, bytes) = (env.clone(), name.clone(), found.bytes.clone());
    ctx.wait_until(async move {
        let _ = names::put(&env, &name, &bytes, Source::Router).await;
    });
}

/// A record as the routing API and the gateway's `?format=ipns-record` answer it: its media
/// type, an ETag of its bytes, and the cache headers of its TTL and validity.
pub fn record_response(found: &Found, head: bool) -> worker::Result<Response> {
    let mut resp =
        if head { Response::empty()? } else { Response::from_bytes(found.bytes.clone())? };
    let h = resp.headers_mut();
    for (k, v) in record_headers(found) {
        h.set(k, &v)?;
    }
    Ok(resp)
}

/// The headers of a record response.
pub fn record_headers(found: &Found) -> Vec<(&'static str, String)> {
    let now = names::now();
    let left = found.data.valid_for(now).as_secs();
    let ttl = found.data.ttl().as_secs();
    let max_age = if ttl == 0 { 60 } else { ttl }.min(left);
    let digest = <sha2::Sha256 as sha2::Digest>::digest(&found.bytes);
    vec![
        ("Content-Type", RECORD_TYPE.to_string()),
        ("ETag", format!("\"{}\"", crate::tokens::hex(&digest))),
        (
            "Cache-Control",
            format!(
                "public, max-age={max_age}, stale-while-revalidate={left}, stale-if-error={left}"
            ),
        ),
        ("Expires", http_date(found.data.validity.unix_millis() as f64)),
        ("Last-Modified", http_date(now.unix_millis() as f64)),
        ("Vary", "Accept".to_string()),
    ]
}

/// An HTTP-date (`Thu, 01 Jan 1970 00:00:00 GMT`).
fn http_date(ms: f64) -> String {
    js_sys::Date::new(&ms.into()).to_utc_string().into()
}

async fn put(
    mut req: Request,
    env: &Env,
    s: &NameSettings,
    name: &Name,
) -> worker::Result<Response> {
    let ty = req.headers().get("Content-Type")?.unwrap_or_default();
    if !ty.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(RECORD_TYPE) {
        return refuse(
            406,
            "NotAcceptable",
            &format!("send the record with Content-Type: {RECORD_TYPE} (got {ty:?})"),
        );
    }
    // Every attempt of a client is counted, before anything of the body is read or checked.
    let client = req.headers().get("CF-Connecting-IP")?.unwrap_or_else(|| "unknown".into());
    if let Err(wait) =
        crate::throttle::take(env, &format!("client:{client}"), s.per_client_per_minute).await?
    {
        return names::rate_limited(
            &format!(
                "rate limit: {} publishing attempts per client per minute",
                s.per_client_per_minute
            ),
            wait,
        );
    }
    let announced: Option<usize> =
        req.headers().get("Content-Length")?.and_then(|v| v.trim().parse().ok());
    if let Some(size) = announced.filter(|&n| n > MAX_RECORD_SIZE) {
        return refusal(&IpnsError::TooLarge { size }, Some(name));
    }
    // Keep no more than the limit, whatever the body claims. An oversized body is read on (up to
    // DRAIN_BYTES, and dropped) before the refusal: a stream cancelled mid-body could leave the
    // runtime's connection waiting, and the client with no answer.
    let mut body = Vec::new();
    let mut stream = req.stream()?;
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        seen += chunk.len();
        if seen <= MAX_RECORD_SIZE {
            body.extend_from_slice(&chunk);
        } else if seen > DRAIN_BYTES {
            break;
        }
    }
    if seen > MAX_RECORD_SIZE {
        return refusal(&IpnsError::TooLarge { size: seen }, Some(name));
    }
    // Checked here first, so a bad record costs no call to the name's object (which checks
    // again before it keeps anything).
    if let Err(e) = validate(name, &body, names::now()) {
        return refusal(&e, Some(name));
    }
    names::put(env, name, &body, Source::Publish).await
}
