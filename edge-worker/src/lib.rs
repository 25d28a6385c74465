//! carport-edge: a verifying IPFS gateway on Cloudflare Workers.
//!
//! Every block it serves has been hashed and checked against its CID first, whether it came from
//! the carport store (R2), the Cache API or an untrusted upstream gateway. This crate is a thin
//! adapter: routing, resolution, traversal, `_redirects` and every other rule about DAGs, CIDs and
//! paths come from `carport_core::gateway`; here they meet Workers requests, R2, KV, the Cache API
//! and `fetch`.
#![cfg(target_arch = "wasm32")]
// core's errors carry the CIDs at fault by value, which makes them large; never on a hot path.
#![allow(clippy::result_large_err)]

mod admin;
mod aggregates;
mod archivist;
mod archivist_client;
mod block_index;
mod body;
mod broker;
mod digest;
mod drive;
mod feed;
mod names;
mod queue;
mod quota;
mod reply;
mod retrieval;
mod routing;
mod serve;
mod settings;
mod sources;
mod throttle;
mod tiering;
mod tokens;
mod upload;

use std::rc::Rc;

use carport_core::gateway::head::{self, Conditions};
use carport_core::gateway::http::{
    self, name_cache_control, name_location, route, route_domain, route_named, route_path, Config,
    Route, CORS,
};
use carport_core::gateway::path::{
    parse_cid, parse_ipfs_path, pick_dnslink_pointer, ContentPath, MutableName, Pointer,
};
use worker::*;

use crate::reply::{error, text};
use crate::serve::{respond, serve};
use crate::settings::Settings;
use crate::sources::Sources;

/// The parts of the worker a request can be for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Door {
    /// `/_admin/…`: operators, behind `ADMIN_TOKEN`.
    Admin,
    /// `POST /upload`: a CAR shard into the store.
    Upload,
    /// `GET /archive/{root}`: an upload's archive record.
    Archive,
    /// `GET|HEAD /aggregates/{piece}`: an aggregate's bytes, for storage providers.
    Aggregates,
    /// `GET|PUT /routing/v1/ipns/{name}`: IPNS records (Delegated Routing V1).
    Routing,
    /// `/_proxy/…`: the benchmark's unverified baseline (only with `BENCH_PROXY`).
    Proxy,
    /// `PUT /_bench/put`: the upload benchmark's baseline (only with `BENCH_PROXY`).
    BenchPut,
    /// `GET|HEAD /retrieve/ipfs/{cid}/…`: the gateway reading only the storage provider's copy,
    /// so a user can see the archive serve their content back.
    Retrieve,
    /// Everything else: the IPFS gateway, which routes by host and path itself.
    Gateway,
}

/// How a door's path is matched.
enum PathIs {
    Exactly(&'static str),
    Under(&'static str),
}

/// The worker's routes, first match first; any other path is the gateway's.
const DOORS: [(PathIs, Door); 8] = [
    (PathIs::Under("/_admin/"), Door::Admin),
    (PathIs::Exactly("/upload"), Door::Upload),
    (PathIs::Under("/archive/"), Door::Archive),
    (PathIs::Under("/aggregates/"), Door::Aggregates),
    (PathIs::Under("/routing/v1/"), Door::Routing),
    (PathIs::Under("/_proxy/"), Door::Proxy),
    (PathIs::Exactly("/_bench/put"), Door::BenchPut),
    (PathIs::Under(RETRIEVE_PREFIX), Door::Retrieve),
];

/// The path prefix of the provider-only gateway; what follows it is a gateway path.
const RETRIEVE_PREFIX: &str = "/retrieve/";

/// CORS headers the upload door and the archive add to the gateway's: POST, and its headers.
const DOOR_CORS: [(&str, &str); 2] = [
    ("Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS"),
    (
        "Access-Control-Allow-Headers",
        "Authorization, Content-Type, X-Carport-Piece, X-Carport-Root",
    ),
];

impl Door {
    /// The door of `path`; the benchmark's are open only when `bench` says so.
    fn of(path: &str, bench: bool) -> Door {
        let found = DOORS.iter().find(|(p, _)| match p {
            PathIs::Exactly(x) => path == *x,
            PathIs::Under(x) => path.starts_with(x),
        });
        match found.map(|(_, d)| *d) {
            Some(Door::Proxy | Door::BenchPut) if !bench => Door::Gateway,
            Some(d) => d,
            None => Door::Gateway,
        }
    }

    /// The CORS headers of the door's answers: browsers call the gateway and the upload door
    /// from any page; the operators' and the benchmark's doors are not for pages.
    fn cors(self) -> Vec<(&'static str, &'static str)> {
        match self {
            Door::Gateway | Door::Retrieve => CORS.to_vec(),
            Door::Upload | Door::Archive | Door::Aggregates => {
                CORS.iter().chain(&DOOR_CORS).copied().collect()
            }
            Door::Routing => CORS.iter().chain(&routing::ROUTING_CORS).copied().collect(),
            Door::Admin | Door::Proxy | Door::BenchPut => Vec::new(),
        }
    }
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let path = req.path();
    let settings = Settings::from_env(&env);
    let door = Door::of(&path, settings.bench_proxy);
    let mut resp = match door {
        Door::Admin => {
            admin::handle(req, &env).await.or_else(|e| text(500, &format!("admin: {e}")))?
        }
        Door::Upload | Door::Archive | Door::Aggregates => archive_routes(req, &env, door, &path)
            .await
            .or_else(|e| error(500, &format!("500 internal error: {e}"), None))?,
        Door::Routing => routing::handle(req, &env, &ctx, &path)
            .await
            .or_else(|e| error(500, &format!("500 internal error: {e}"), None))?,
        Door::Proxy => proxy(&req, &settings).await?,
        Door::BenchPut => {
            bench_put(req, &env).await.or_else(|e| error(500, &e.to_string(), None))?
        }
        Door::Gateway | Door::Retrieve => handle(req, env, ctx, &settings, door == Door::Retrieve)
            .await
            .or_else(|e| text(500, &format!("500 internal error: {e}")))?,
    };
    for (k, v) in door.cors() {
        resp.headers_mut().set(k, v)?;
    }
    Ok(resp)
}

/// The gateway; `provider_only` for `/retrieve/`, whose path after the prefix is a gateway
/// path served from nothing but the storage provider's copies.
async fn handle(
    req: Request,
    env: Env,
    ctx: Context,
    s: &Settings,
    provider_only: bool,
) -> Result<Response> {
    // The runtime builds the URL from the Host header: a host that is no host name breaks it.
    let Ok(url) = req.url() else {
        return text(400, "400 bad request: the Host header does not make a URL");
    };
    let h = req.headers();
    let host_header = h.get("Host")?.unwrap_or_else(|| url.host_str().unwrap_or("").to_string());
    // Forwarding headers say where a proxy in front got the request; from anyone else they are a
    // lie that would steer routing, redirects and DNSLink lookups.
    let from_proxy = h
        .get("CF-Connecting-IP")?
        .is_some_and(|ip| s.trusted_proxies.iter().any(|p| p == ip.trim()));
    let forwarded_host = if from_proxy { h.get("X-Forwarded-Host")? } else { None };
    let forwarded_proto = if from_proxy { h.get("X-Forwarded-Proto")? } else { None };
    let service_worker = h.get("Service-Worker")?;
    let accept = h.get("Accept")?;
    let method = req.method().to_string();
    let raw_path = match provider_only {
        true => url.path().strip_prefix(RETRIEVE_PREFIX.trim_end_matches('/')).unwrap_or("/"),
        false => url.path(),
    }
    .to_string();
    let query = url.query().unwrap_or("").to_string();
    let scheme = url.scheme().to_string();
    let r = http::Request {
        method: &method,
        host: &host_header,
        forwarded_host: forwarded_host.as_deref(),
        scheme: &scheme,
        forwarded_proto: forwarded_proto.as_deref(),
        service_worker: service_worker.as_deref(),
        path: &raw_path,
        query: &query,
        accept: accept.as_deref(),
    };
    let cfg = Config { subdomain_hosts: s.subdomain_hosts.clone() };
    let mut routed = match provider_only {
        true => route_path(&r),
        false => route(&r, &cfg),
    };
    // Served under a name that can change: the shortest TTL of the IPNS records followed (none
    // for DNSLink alone), for Cache-Control.
    let mut under_name: Option<Option<std::time::Duration>> = None;
    if let Route::LookupHost { host } = &routed {
        routed = match lookup_host(&env, s, host).await {
            Some(Pointer::Ipfs(root)) => route_domain(&r, &root),
            Some(p @ Pointer::Ipns(_)) => {
                let ns = settings::NameSettings::from_env(&env);
                match names::follow(&env, &ctx, s, &ns, p).await? {
                    Ok((root, ttl)) => {
                        under_name = Some(ttl);
                        route_domain(&r, &root)
                    }
                    Err((status, message)) => return text(status, &message),
                }
            }
            None => route_path(&r),
        };
    }
    if let Route::LookupName(lookup) = &routed {
        let ns = settings::NameSettings::from_env(&env);
        if lookup.record {
            let MutableName::Key(key) = &lookup.path.name else {
                return text(400, "400 bad request: a DNSLink domain has no IPNS record");
            };
            return match names::resolve(&env, &ns, key).await? {
                Some((found, whence)) => {
                    if whence == names::FoundIn::Router {
                        routing::keep(&env, &ctx, key, &found);
                    }
                    routing::record_response(&found, method == "HEAD")
                }
                None => text(404, &format!("404 not found: no valid IPNS record for {key}")),
            };
        }
        let start = Pointer::Ipns(lookup.path.clone());
        routed = match names::follow(&env, &ctx, s, &ns, start).await? {
            Ok((content, ttl)) => {
                under_name = Some(ttl);
                route_named(&r, lookup, &content)
            }
            Err((status, message)) => return text(status, &message),
        };
    }
    let only_if_cached = h
        .get("Cache-Control")?
        .is_some_and(|v| v.split(',').any(|d| d.trim().eq_ignore_ascii_case("only-if-cached")));
    let cond = Conditions {
        head: method == "HEAD",
        range: h.get("Range")?,
        if_none_match: h.get("If-None-Match")?,
        only_if_cached,
    };
    match routed {
        Route::Preflight => respond(head::preflight(), ResponseBody::Empty),
        Route::Redirect { status, location } => {
            respond(head::route_redirect(status, &location), ResponseBody::Empty)
        }
        Route::Error { status, message } => text(status, &message),
        Route::LookupHost { .. } | Route::LookupName(_) => text(500, "unreachable"),
        Route::Serve(target) => {
            let store = env.bucket("STORE").ok();
            let index = env.durable_object("BLOCKS").ok();
            let mut src = Sources::new(
                s.upstreams.clone(),
                s.timeout,
                s.cache_blocks,
                s.memory_blocks,
                store,
                index,
                Rc::new(ctx),
            )
            .with_car_buffer(s.car_buffer)
            .with_block_budget(s.block_budget);
            if let Ok(archivist) = env.durable_object("ARCHIVIST") {
                let timeout = settings::RetrievalSettings::from_env(&env).timeout;
                src = src.with_provider(retrieval::Provider {
                    archivist,
                    timeout,
                    only: provider_only,
                });
            }
            let mut resp = serve(Rc::new(src), &target, &cond).await?;
            if provider_only {
                let h = resp.headers_mut();
                h.set("Carport-Source", "provider")?;
                h.set("Cache-Control", "no-store")?;
                if let Some(loc) = h.get("Location")? {
                    if loc.starts_with("/ipfs/") || loc.starts_with("/ipns/") {
                        h.set("Location", &format!("/retrieve{loc}"))?;
                    }
                }
            }
            if let Some(ttl) = under_name {
                // Content under a name is the name's for as long as its record says, never
                // immutable; a folder redirect stays under the name.
                let h = resp.headers_mut();
                if let Some(cc) = name_cache_control(h.get("Cache-Control")?.as_deref(), ttl) {
                    h.set("Cache-Control", &cc)?;
                }
                if let Some(loc) = h.get("Location")? {
                    h.set("Location", &name_location(&loc, &target))?;
                }
            }
            Ok(resp)
        }
    }
}

/// The upload door and the archive: `POST /upload`, `GET /archive/{root}`, `GET|HEAD
/// /aggregates/{piece}`, each answering a CORS preflight.
async fn archive_routes(req: Request, env: &Env, door: Door, path: &str) -> Result<Response> {
    let method = req.method();
    match (door, method) {
        (_, Method::Options) => respond(head::preflight(), ResponseBody::Empty),
        (Door::Upload, Method::Post) => upload::handle(req, env).await,
        (Door::Upload, _) => error(405, "use POST /upload with a CAR shard as the body", None),
        (Door::Archive, Method::Get) => {
            archive_record(env, path.strip_prefix("/archive/").unwrap_or_default()).await
        }
        (Door::Archive, _) => error(405, "use GET /archive/{root}", None),
        (Door::Aggregates, m @ (Method::Get | Method::Head)) => {
            aggregates::serve(env, path.trim_start_matches("/aggregates/"), m == Method::Head).await
        }
        _ => error(405, "use GET /aggregates/{piece CID}", None),
    }
}

async fn archive_record(env: &Env, root: &str) -> Result<Response> {
    if parse_cid(root).is_none() {
        return error(400, "not a CID", Some(root.to_string()));
    }
    let mut resp = archivist_client::ArchivistClient::new(env)?.archive(root).await?;
    let status = resp.status_code();
    let body = resp.text().await?;
    let mut out = Response::ok(body)?.with_status(status);
    out.headers_mut().set("Content-Type", "application/json")?;
    out.headers_mut().set("Cache-Control", "no-store")?;
    Ok(out)
}

/// A custom domain (KV `host:{name}`) or DNSLink name (`_dnslink.{name}` TXT, cached), which
/// may point at an IPNS name.
async fn lookup_host(env: &Env, s: &Settings, host: &str) -> Option<Pointer> {
    if let Ok(kv) = env.kv("HOSTS") {
        if let Ok(Some(v)) = kv.get(&format!("host:{host}")).text().await {
            if let Some(p) = content_path(&v) {
                return Some(Pointer::Ipfs(p));
            }
        }
    }
    dnslink(s, host).await
}

pub(crate) fn content_path(v: &str) -> Option<ContentPath> {
    let v = v.trim();
    if v.starts_with("/ipfs/") {
        return parse_ipfs_path(v).ok();
    }
    parse_cid(v).map(|root| ContentPath { root, segments: Vec::new(), trailing_slash: false })
}

/// `host` has been checked as a DNS name by the router; the query and the cache key are built
/// with URL encoding all the same, and the key is the exact name (no path to normalise).
async fn dnslink(s: &Settings, host: &str) -> Option<Pointer> {
    let mut key = Url::parse("https://dnslink.carport.invalid/").ok()?;
    key.query_pairs_mut().append_pair("name", host);
    let key = key.to_string();
    let cache = Cache::default();
    if let Ok(Some(mut hit)) = cache.get(key.as_str(), true).await {
        let v = hit.text().await.ok()?;
        return Pointer::parse(&v).ok();
    }
    let mut url = Url::parse(&s.doh_url).ok()?;
    url.query_pairs_mut()
        .append_pair("name", &format!("_dnslink.{host}"))
        .append_pair("type", "TXT");
    let url = url.to_string();
    let headers = Headers::new();
    headers.set("Accept", "application/dns-json").ok()?;
    let mut init = RequestInit::new();
    init.with_headers(headers);
    let req = Request::new_with_init(&url, &init).ok()?;
    let found = match Fetch::Request(req).send().await {
        Ok(mut resp) if resp.status_code() == 200 => {
            let v: serde_json::Value = resp.json().await.ok()?;
            let answers = v.get("Answer").and_then(|a| a.as_array()).cloned().unwrap_or_default();
            let txts: Vec<String> = answers
                .iter()
                .filter(|a| a.get("type").and_then(|t| t.as_u64()) == Some(16))
                .filter_map(|a| a.get("data")?.as_str().map(|d| d.replace("\" \"", "")))
                .collect();
            pick_dnslink_pointer(txts.iter().map(|s| s.as_str()))
        }
        _ => None,
    };
    let value = match &found {
        Some(Pointer::Ipfs(c)) => c.to_url_path(),
        Some(Pointer::Ipns(n)) => n.to_url_path(),
        None => String::new(),
    };
    if let Ok(mut resp) = Response::ok(value) {
        let _ =
            resp.headers_mut().set("Cache-Control", &format!("public, max-age={}", s.dnslink_ttl));
        let _ = cache.put(key.as_str(), resp).await;
    }
    found
}

/// The upload benchmark's baseline: the body streamed into R2 as the upload door streams it, with
/// no checks at all.
async fn bench_put(mut req: Request, env: &Env) -> Result<Response> {
    let len: u64 = req
        .headers()
        .get("Content-Length")?
        .and_then(|v| v.parse().ok())
        .ok_or("Content-Length")?;
    let key = format!("bench/{}", tokens::hex(&tokens::random_bytes::<8>()));
    let bucket = env.bucket("STORE")?;
    bucket.put(&key, FixedLengthStream::wrap(req.stream()?, len)).execute().await?;
    bucket.delete(&key).await?;
    reply::json(201, &len)
}

/// The unverified baseline of the benchmark: the first upstream's bytes, passed through.
async fn proxy(req: &Request, s: &Settings) -> Result<Response> {
    let Some(up) = s.upstreams.first() else { return text(502, "no upstream") };
    let url = req.url()?;
    let rest = url.path().trim_start_matches("/_proxy");
    let target = match url.query() {
        Some(q) => format!("{up}{rest}?{q}"),
        None => format!("{up}{rest}"),
    };
    let resp = Fetch::Url(Url::parse(&target)?).send().await?;
    let status = resp.status_code();
    let headers = resp.headers().clone();
    Ok(Response::from_body(resp.body().clone())?.with_status(status).with_headers(headers))
}
