//! HTTP rules of the gateway: which gateway a request is for (path, subdomain, custom domain),
//! which response format it asks for, byte ranges, ETags and the fixed response headers.

use cid::Cid;

use crate::codec::multicodec;
use crate::gateway::listing::{Origin, VERSION};
use crate::gateway::path::{
    dns_label, encode_path, host_name, is_dns_name, parse_cid, parse_ipfs_path, parse_ipns_path,
    percent_decode, split_path, ContentPath, MutableName, NamedPath, MAX_PATH_DEPTH,
};
use crate::gateway::traverse::{BadEntityBytes, BadScope, EntityBytes, Scope};
use crate::unixfs::read::ByteRange;

/// `Cache-Control` of anything under an immutable CID.
pub const IMMUTABLE: &str = "public, max-age=29030400, immutable";
/// `Cache-Control` of generated folder listings (HTML that may change with the gateway).
pub const LISTING: &str = "public, max-age=604800, stale-while-revalidate=2678400";
/// `Cache-Control` of content reached through a mutable name (custom domain, DNSLink).
pub const MUTABLE: &str = "public, max-age=60, stale-while-revalidate=3600";

/// CORS headers of every GET/HEAD/OPTIONS response.
pub const CORS: [(&str, &str); 4] = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "Content-Type, Range, User-Agent, X-Requested-With"),
    (
        "Access-Control-Expose-Headers",
        "Content-Range, Content-Length, X-Ipfs-Path, X-Ipfs-Roots, X-Chunked-Output, X-Stream-Output, X-Stream-Error",
    ),
];

/// Media type of a raw block response.
pub const RAW_TYPE: &str = "application/vnd.ipld.raw";
/// Media type of a CAR response, without its parameters.
pub const CAR_TYPE: &str = "application/vnd.ipld.car";

/// What the adapter knows of a request.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// `Host` (or the URL's host).
    pub host: &'a str,
    /// `X-Forwarded-Host`, which takes the place of `host` when given.
    pub forwarded_host: Option<&'a str>,
    /// `http` or `https`, from the URL.
    pub scheme: &'a str,
    /// `X-Forwarded-Proto`, used for redirects in place of `scheme` when it is `http` or `https`.
    pub forwarded_proto: Option<&'a str>,
    /// `Service-Worker` (browsers send `script` when fetching a service worker's script).
    pub service_worker: Option<&'a str>,
    /// The URL path, percent-encoded as received.
    pub path: &'a str,
    /// The query string without `?`.
    pub query: &'a str,
    /// `Accept`.
    pub accept: Option<&'a str>,
}

/// Gateway settings that change routing.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Host names of subdomain gateways: `{cid}.ipfs.{host}` serves content, `{host}/ipfs/{cid}`
    /// redirects there.
    pub subdomain_hosts: Vec<String>,
}

/// A trustless CAR request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CarParams {
    /// `dag-scope` (`all` when not given).
    pub scope: Scope,
    /// `entity-bytes`, when given.
    pub bytes: Option<EntityBytes>,
    /// `dups=y`: a block is written each time the walk meets it.
    pub dups: bool,
}

/// The response format asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Deserialized: files as bytes, folders as `index.html` or a listing.
    Default,
    /// The block's bytes as they are (`format=raw`, `application/vnd.ipld.raw`).
    Raw,
    /// A trustless CAR (`format=car`, `application/vnd.ipld.car`).
    Car(CarParams),
    /// The block as-is, when its CID's codec is this one (dag-json, dag-cbor, json, cbor); any
    /// other codec gets 406, never a conversion (IPIP-0524).
    Codec(Codec),
}

/// The IPLD codecs a block can be asked for as-is, with their `format=` names and media types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// DAG-JSON (`dag-json`).
    DagJson,
    /// DAG-CBOR (`dag-cbor`).
    DagCbor,
    /// Plain JSON (`json`).
    Json,
    /// Plain CBOR (`cbor`).
    Cbor,
}

impl Codec {
    const ALL: [Codec; 4] = [Codec::DagJson, Codec::DagCbor, Codec::Json, Codec::Cbor];

    /// The multicodec code of the codec.
    pub fn code(self) -> u64 {
        match self {
            Codec::DagJson => multicodec::DAG_JSON,
            Codec::DagCbor => multicodec::DAG_CBOR,
            Codec::Json => multicodec::JSON,
            Codec::Cbor => multicodec::CBOR,
        }
    }

    /// Its `format=` value.
    pub fn name(self) -> &'static str {
        match self {
            Codec::DagJson => "dag-json",
            Codec::DagCbor => "dag-cbor",
            Codec::Json => "json",
            Codec::Cbor => "cbor",
        }
    }

    /// Its media type (`Accept`, `Content-Type`).
    pub fn media_type(self) -> &'static str {
        match self {
            Codec::DagJson => "application/vnd.ipld.dag-json",
            Codec::DagCbor => "application/vnd.ipld.dag-cbor",
            Codec::Json => "application/json",
            Codec::Cbor => "application/cbor",
        }
    }

    /// The codec of a multicodec code, if it is one of these.
    pub fn of(code: u64) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.code() == code)
    }

    /// Whether a block of codec `code` is served as-is when this codec is asked for: its own,
    /// and DAG-JSON as JSON or DAG-CBOR as CBOR (the same bytes; only the media type differs).
    pub fn serves(self, code: u64) -> bool {
        code == self.code()
            || (self == Codec::Json && code == Codec::DagJson.code())
            || (self == Codec::Cbor && code == Codec::DagCbor.code())
    }

    fn from_name(name: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.name() == name)
    }

    fn from_media_type(ty: &str) -> Option<Codec> {
        Codec::ALL.into_iter().find(|c| c.media_type() == ty)
    }
}

/// A request to serve content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The CID and the path under it.
    pub content: ContentPath,
    /// Where it is served, which decides the links a listing makes.
    pub origin: Origin,
    /// The response format asked for.
    pub format: Format,
    /// The query string, for redirects that keep it.
    pub query: String,
    /// `filename=`: the name `Content-Disposition` gives.
    pub filename: Option<String>,
    /// `download=true`: served as an attachment.
    pub download: bool,
    /// Reached through a name that can change (custom domain, DNSLink): not cached forever.
    pub mutable: bool,
    /// `X-Ipfs-Path`: the content path as asked for.
    pub ipfs_path: String,
}

/// What to do with a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// A CORS preflight: answer with the CORS headers.
    Preflight,
    /// Answer with a redirect.
    Redirect {
        /// The redirect's status code.
        status: u16,
        /// The `Location` header's value.
        location: String,
    },
    /// Answer with an error.
    Error {
        /// The HTTP status code.
        status: u16,
        /// What went wrong, for the body.
        message: String,
    },
    /// The host may be a custom domain or a DNSLink name: look it up, then call [`route_domain`];
    /// when it is neither, call [`route_path`].
    LookupHost {
        /// The host name, lowercased and without its port.
        host: String,
    },
    /// Content under a name (`/ipns/{name}`, `{name}.ipns.{host}`): resolve the name (its IPNS
    /// record, or its DNSLink, following [`Pointer`](crate::gateway::path::Pointer)s at most
    /// [`MAX_NAME_DEPTH`](crate::gateway::path::MAX_NAME_DEPTH) deep), then call [`route_named`];
    /// or, when [`NameLookup::record`] is set, answer the name's record itself.
    LookupName(Box<NameLookup>),
    /// Serve this content.
    Serve(Box<Target>),
}

/// A request for content under a name, before the name is resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameLookup {
    /// The name and the request's path under it.
    pub path: NamedPath,
    /// Where the content is served: the path gateway, or the name's own subdomain origin.
    pub origin: Origin,
    /// `?format=ipns-record` or `Accept: application/vnd.ipfs.ipns-record`: the record itself
    /// (a DNSLink domain has none: a 400).
    pub record: bool,
}

fn error(status: u16, message: impl Into<String>) -> Route {
    Route::Error { status, message: message.into() }
}

/// Decoded query parameters (`+` is a space).
pub fn query_params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let d = |s: &str| percent_decode(&s.replace('+', " ")).unwrap_or_else(|| s.to_string());
            (d(k), d(v))
        })
        .collect()
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn is_local(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok()
        || !name.contains('.')
}

/// The longest path and query taken (a URL past it is a 414, before any work).
pub const MAX_URL_BYTES: usize = 8192;

/// Routes a request by its host and path.
pub fn route(req: &Request, cfg: &Config) -> Route {
    match req.method {
        "OPTIONS" => return Route::Preflight,
        "GET" | "HEAD" => {}
        m => return error(405, format!("method {m} not allowed")),
    }
    if req.path.len() + req.query.len() > MAX_URL_BYTES {
        return error(414, format!("the URL is longer than {MAX_URL_BYTES} bytes"));
    }
    let host = req.forwarded_host.unwrap_or(req.host);
    let name = host_name(host);
    for gw in &cfg.subdomain_hosts {
        let gw = gw.to_ascii_lowercase();
        if let Some(label) = name.strip_suffix(&format!(".ipfs.{gw}")) {
            // The gateway's own host as links name it: the configured name and the request's port.
            let port = host
                .rsplit_once(':')
                .map(|(_, p)| p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            let gateway = port.map_or_else(|| gw.clone(), |p| format!("{gw}:{p}"));
            return route_subdomain(req, label, gateway);
        }
        if let Some(label) = name.strip_suffix(&format!(".ipns.{gw}")) {
            let port = host
                .rsplit_once(':')
                .map(|(_, p)| p)
                .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
            let gateway = port.map_or_else(|| gw.clone(), |p| format!("{gw}:{p}"));
            return route_ipns_subdomain(req, label, gateway);
        }
        if name == gw {
            return route_subdomain_redirect(req, host);
        }
    }
    if is_local(&name) {
        return route_path(req);
    }
    // The name goes into a DNS query and a cache key: only a DNS name goes anywhere.
    if !is_dns_name(&name) {
        return error(400, format!("invalid host name {name:?}"));
    }
    Route::LookupHost { host: name }
}

/// The scheme for redirects: a forwarded one only when it is `http` or `https`.
fn proto(req: &Request) -> String {
    let forwarded = req
        .forwarded_proto
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| p == "http" || p == "https");
    forwarded.unwrap_or_else(|| req.scheme.trim_end_matches(':').to_string())
}

fn with_query(s: String, query: &str) -> String {
    if query.is_empty() {
        s
    } else {
        format!("{s}?{query}")
    }
}

/// `ipfs://{cid}/...` handed over by a browser protocol handler (`/ipfs/?uri=`).
fn uri_redirect(req: &Request) -> Option<Route> {
    if req.path != "/ipfs/" && req.path != "/ipfs" {
        return None;
    }
    let params = query_params(req.query);
    let uri = param(&params, "uri")?;
    let rest = match uri.strip_prefix("ipfs://") {
        Some(r) => r,
        None => {
            return Some(error(
                400,
                format!("uri query parameter must be an ipfs:// URI, got {uri:?}"),
            ))
        }
    };
    Some(Route::Redirect { status: 301, location: format!("/ipfs/{rest}") })
}

/// A plain path gateway: `/ipfs/{cid}/...`.
pub fn route_path(req: &Request) -> Route {
    if let Some(r) = uri_redirect(req) {
        return r;
    }
    if req.path.starts_with("/ipns/") {
        let path = match parse_ipns_path(req.path) {
            Ok(p) => p,
            Err(e) => return error(400, e.to_string()),
        };
        // A name written as a base58 peer ID goes to its canonical form, the base36 CIDv1 (which
        // fits a DNS label), as gateways do (TestRedirectCanonicalIPNS).
        let given = &req.path["/ipns/".len()..];
        let given = given.split('/').next().unwrap_or("");
        if let MutableName::Key(k) = &path.name {
            if given.starts_with('1') || given.starts_with("Qm") {
                let rest = &req.path["/ipns/".len() + given.len()..];
                let location = with_query(format!("/ipns/{k}{rest}"), req.query);
                return Route::Redirect { status: 302, location };
            }
        }
        return lookup_name(req, path, Origin::Path);
    }
    if req.path == "/" {
        return error(404, "carport-edge: a verifying IPFS gateway; ask for /ipfs/{cid}[/path]");
    }
    let content = match parse_ipfs_path(req.path) {
        Ok(c) => c,
        Err(e) => return error(400, e.to_string()),
    };
    serve(req, content, Origin::Path, false, req.path.to_string())
}

fn route_subdomain_redirect(req: &Request, host: &str) -> Route {
    if let Some(r) = uri_redirect(req) {
        return r;
    }
    if req.path.starts_with("/ipns/") {
        let path = match parse_ipns_path(req.path) {
            Ok(p) => p,
            Err(e) => return error(400, e.to_string()),
        };
        // The record is an attachment, not a web page: answered here.
        if wants_record(&query_params(req.query), req.accept) {
            return lookup_name(req, path, Origin::Path);
        }
        let label = match path.name.label() {
            Ok(l) => l,
            Err(e) => return error(400, e.to_string()),
        };
        let mut rest = encode_path(&path.segments);
        if path.trailing_slash || rest.is_empty() {
            rest.push('/');
        }
        return Route::Redirect {
            status: 301,
            location: with_query(format!("{}://{label}.ipns.{host}{rest}", proto(req)), req.query),
        };
    }
    if !req.path.starts_with("/ipfs/") {
        return route_path(req);
    }
    let content = match parse_ipfs_path(req.path) {
        Ok(c) => c,
        Err(e) => return error(400, e.to_string()),
    };
    // Trustless responses are attachments, not web pages: served here without origin isolation.
    let params = query_params(req.query);
    match negotiate(&params, req.accept) {
        Ok(Format::Default) => {}
        Ok(_) => return serve(req, content, Origin::Path, false, req.path.to_string()),
        Err(e) => return error(400, e.to_string()),
    }
    let label = match dns_label(&content.root) {
        Ok(l) => l,
        Err(e) => return error(400, e.to_string()),
    };
    let mut path = encode_path(&content.segments);
    if content.trailing_slash || path.is_empty() {
        path.push('/');
    }
    Route::Redirect {
        status: 301,
        location: with_query(format!("{}://{label}.ipfs.{host}{path}", proto(req)), req.query),
    }
}

fn route_subdomain(req: &Request, label: &str, gateway: String) -> Route {
    let Some(root) = parse_cid(label) else {
        return error(400, format!("invalid path \"/ipfs/{label}\": invalid cid"));
    };
    match dns_label(&root) {
        Ok(_) => {}
        Err(e) => return error(400, e.to_string()),
    }
    let (segments, trailing_slash) = match split_path(req.path) {
        Ok(s) => s,
        Err(e) => return error(400, format!("invalid path {:?}: {e}", req.path)),
    };
    let ipfs_path = format!("/ipfs/{root}{}", if req.path == "/" { "" } else { req.path });
    serve(
        req,
        ContentPath { root, segments, trailing_slash },
        Origin::Subdomain { gateway },
        false,
        ipfs_path,
    )
}

fn route_ipns_subdomain(req: &Request, label: &str, gateway: String) -> Route {
    let Some(name) = MutableName::from_label(label) else {
        return error(400, format!("invalid path \"/ipns/{label}\": neither an IPNS name nor an inlined DNSLink domain"));
    };
    let (segments, trailing_slash) = match split_path(req.path) {
        Ok(s) => s,
        Err(e) => return error(400, format!("invalid path {:?}: {e}", req.path)),
    };
    // The root of an origin is a folder's URL with its slash.
    let trailing_slash = trailing_slash || segments.is_empty();
    lookup_name(req, NamedPath { name, segments, trailing_slash }, Origin::Subdomain { gateway })
}

fn lookup_name(req: &Request, path: NamedPath, origin: Origin) -> Route {
    let record = wants_record(&query_params(req.query), req.accept);
    if record && matches!(path.name, MutableName::Domain(_)) {
        return error(
            400,
            format!("{} is a DNSLink domain, not an IPNS name: it has no IPNS record", path.name),
        );
    }
    Route::LookupName(Box::new(NameLookup { path, origin, record }))
}

/// The media type of an IPNS record (`?format=ipns-record`).
pub const IPNS_RECORD_TYPE: &str = crate::ipns::CONTENT_TYPE;

/// Whether a request under a name asks for the name's record: `format=ipns-record`, or (with no
/// `format=`) an `Accept` naming the record type.
pub fn wants_record(params: &[(String, String)], accept: Option<&str>) -> bool {
    match param(params, "format") {
        Some("ipns-record") => true,
        Some(f) if !f.is_empty() => false,
        _ => accept.is_some_and(|a| {
            a.split(',').any(|t| {
                t.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case(IPNS_RECORD_TYPE)
            })
        }),
    }
}

/// Routes a request under a name once the name is resolved to `content` (the request's path
/// under the name already appended, see
/// [`Pointer::under`](crate::gateway::path::Pointer::under)): served as that content, with
/// `X-Ipfs-Path` the `/ipns/` path asked for, and never cached as immutable (see
/// [`name_cache_control`]).
pub fn route_named(req: &Request, lookup: &NameLookup, content: &ContentPath) -> Route {
    if content.segments.len() > MAX_PATH_DEPTH {
        return error(400, format!("the path is deeper than {MAX_PATH_DEPTH} segments"));
    }
    serve(req, content.clone(), lookup.origin.clone(), true, lookup.path.to_url_path())
}

/// `Cache-Control` of content reached through an IPNS name whose record has this TTL (none:
/// a DNSLink domain, [`MUTABLE`]), replacing what the answer would have had under its CID;
/// `None` to keep the answer's own (`no-store` stays `no-store`).
pub fn name_cache_control(
    answer: Option<&str>,
    ttl: Option<std::time::Duration>,
) -> Option<String> {
    if answer.is_some_and(|v| v.contains("no-store")) {
        return None;
    }
    Some(match ttl {
        Some(t) => format!("public, max-age={}", t.as_secs()),
        None => MUTABLE.to_string(),
    })
}

/// A redirect of content under a name, back under the name: the folder redirect of the path
/// gateway names `/ipfs/{cid}/…/`, which becomes the `/ipns/` path asked for with its slash.
/// Any other location is kept.
pub fn name_location(location: &str, t: &Target) -> String {
    let (path, query) = location.split_once('?').map_or((location, None), |(p, q)| (p, Some(q)));
    if t.origin == Origin::Path && path == format!("{}/", t.content.to_url_path()) {
        let mut loc = t.ipfs_path.trim_end_matches('/').to_string();
        loc.push('/');
        if let Some(q) = query {
            loc = format!("{loc}?{q}");
        }
        return loc;
    }
    location.to_string()
}

/// A custom domain or DNSLink name mapped to `root`: its paths are under `root`.
pub fn route_domain(req: &Request, root: &ContentPath) -> Route {
    let (mut segs, trailing_slash) = match split_path(req.path) {
        Ok(s) => s,
        Err(e) => return error(400, format!("invalid path {:?}: {e}", req.path)),
    };
    let mut segments = root.segments.clone();
    segments.append(&mut segs);
    if segments.len() > MAX_PATH_DEPTH {
        return error(400, format!("the path is deeper than {MAX_PATH_DEPTH} segments"));
    }
    let content = ContentPath { root: root.root, segments, trailing_slash };
    let ipfs_path = content.to_url_path();
    serve(req, content, Origin::Domain, true, ipfs_path)
}

fn serve(
    req: &Request,
    content: ContentPath,
    origin: Origin,
    mutable: bool,
    ipfs_path: String,
) -> Route {
    // On a path gateway every CID shares one origin: a service worker registered from one could
    // answer for all of `/ipfs/` and so for every other CID, unverified (as boxo refuses it).
    if origin == Origin::Path && req.service_worker.is_some_and(|v| v.trim() == "script") {
        return error(400, "navigator.serviceWorker: registration is not allowed on a path gateway, where every CID shares one origin; use the subdomain gateway ({cid}.ipfs.{host})");
    }
    let params = query_params(req.query);
    let format = match negotiate(&params, req.accept) {
        Ok(f) => f,
        Err(e) => return error(400, e.to_string()),
    };
    let download = param(&params, "download") == Some("true");
    let filename = param(&params, "filename").map(str::to_string);
    Route::Serve(Box::new(Target {
        content,
        origin,
        format,
        query: req.query.to_string(),
        filename,
        download,
        mutable,
        ipfs_path,
    }))
}

/// Why a request's `format=`, `Accept` or CAR parameters cannot be served: a 400, whose message
/// names the value at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum NegotiateError {
    /// A `format=` this gateway does not serve.
    #[error("unsupported format {0:?} (this gateway serves raw, car, dag-json, dag-cbor, json and cbor)")]
    Format(String),
    /// A CAR version other than 1 (`car-version=` or the `Accept` parameter `version`).
    #[error("only CAR version 1 is served")]
    CarVersion(String),
    /// A CAR block order other than `dfs` or `unk`.
    #[error("only order=dfs is served")]
    CarOrder(String),
    /// A `dups` other than `y` or `n`.
    #[error("invalid dups {0:?} (expected y or n)")]
    Dups(String),
    /// A bad `dag-scope=`.
    #[error(transparent)]
    Scope(#[from] BadScope),
    /// A bad `entity-bytes=`.
    #[error(transparent)]
    EntityBytes(#[from] BadEntityBytes),
}

/// The response format from `format=` (first) or `Accept`.
pub fn negotiate(
    params: &[(String, String)],
    accept: Option<&str>,
) -> Result<Format, NegotiateError> {
    let mut car_accept: Option<Vec<(String, String)>> = None;
    let format = match param(params, "format") {
        Some(f @ ("raw" | "car")) => Some(f.to_string()),
        Some(f) if Codec::from_name(f).is_some() => Some(f.to_string()),
        Some("") | None => None,
        Some(f) => return Err(NegotiateError::Format(f.to_string())),
    };
    let mut chosen = format;
    if let Some(accept) = accept {
        // (q, position, kind, media type parameters)
        type Ranked<'a> = (f32, usize, &'a str, Vec<(String, String)>);
        let mut ranges: Vec<Ranked> = Vec::new();
        for (i, part) in accept.split(',').enumerate() {
            let mut it = part.split(';');
            let ty = it.next().unwrap_or("").trim().to_ascii_lowercase();
            let ps: Vec<(String, String)> = it
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| {
                    (k.trim().to_ascii_lowercase(), v.trim().trim_matches('"').to_string())
                })
                .collect();
            let q =
                ps.iter().find(|(k, _)| k == "q").and_then(|(_, v)| v.parse().ok()).unwrap_or(1.0);
            let kind = match ty.as_str() {
                RAW_TYPE => "raw",
                t if Codec::from_media_type(t).is_some() => {
                    Codec::from_media_type(t).map_or("", Codec::name)
                }
                CAR_TYPE => {
                    let bad = ps.iter().any(|(k, v)| {
                        (k == "version" && v != "1") || (k == "order" && v != "dfs" && v != "unk")
                    });
                    if bad {
                        continue;
                    }
                    "car"
                }
                _ => continue,
            };
            if q > 0.0 {
                ranges.push((q, i, kind, ps));
            }
        }
        ranges.sort_by(|a, b| {
            b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1))
        });
        if let Some((_, _, kind, ps)) =
            ranges.into_iter().find(|r| chosen.as_deref().is_none_or(|c| c == r.2))
        {
            if chosen.is_none() {
                chosen = Some(kind.to_string());
            }
            if kind == "car" {
                car_accept = Some(ps);
            }
        }
    }
    match chosen.as_deref() {
        None => Ok(Format::Default),
        Some("raw") => Ok(Format::Raw),
        Some(name) if name != "car" => Codec::from_name(name)
            .map(Format::Codec)
            .ok_or_else(|| NegotiateError::Format(name.to_string())),
        _ => {
            let ps = car_accept.unwrap_or_default();
            let get = |q: &str, a: &str| {
                param(params, q)
                    .map(str::to_string)
                    .or_else(|| ps.iter().find(|(k, _)| k == a).map(|(_, v)| v.clone()))
            };
            if let Some(v) = get("car-version", "version").filter(|v| v != "1") {
                return Err(NegotiateError::CarVersion(v));
            }
            if let Some(v) = get("car-order", "order").filter(|v| v != "dfs" && v != "unk") {
                return Err(NegotiateError::CarOrder(v));
            }
            let dups = match get("car-dups", "dups").as_deref() {
                Some("y") => true,
                Some("n") | None => false,
                Some(v) => return Err(NegotiateError::Dups(v.to_string())),
            };
            let scope = match param(params, "dag-scope") {
                Some(s) => s.parse()?,
                None => Scope::All,
            };
            let bytes = match param(params, "entity-bytes") {
                Some(b) => Some(b.parse()?),
                None => None,
            };
            Ok(Format::Car(CarParams { scope, bytes, dups }))
        }
    }
}

/// The `ETag` of a response: the CID, marked by the format (and the CAR's parameters).
pub fn etag(cid: &Cid, format: &Format) -> String {
    match format {
        Format::Default => format!("\"{cid}\""),
        Format::Raw => format!("\"{cid}.raw\""),
        Format::Codec(c) => format!("\"{cid}.{}\"", c.name()),
        Format::Car(p) => {
            let bytes = p.bytes.map(|b| format!(".{}", b.to_param())).unwrap_or_default();
            format!(
                "\"{cid}.car.{}{}.dups-{}\"",
                p.scope.as_str(),
                bytes,
                if p.dups { "y" } else { "n" }
            )
        }
    }
}

/// The `ETag` of a generated folder listing.
pub fn listing_etag(dir: &Cid) -> String {
    format!("\"DirIndex-{VERSION}_CID-{dir}\"")
}

/// Whether `If-None-Match` matches `etag` (weak comparison, `*` matches anything).
pub fn if_none_match(header: &str, etag: &str) -> bool {
    let want = etag.trim_start_matches("W/");
    header.split(',').map(str::trim).any(|t| t == "*" || t.trim_start_matches("W/") == want)
}

/// What a `Range` header asks of a body of `size` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeReq {
    /// No usable range: the whole body, 200.
    All,
    /// One range, 206 (of several asked for, the first).
    One(ByteRange),
    /// 416.
    Unsatisfiable,
}

/// Parses `Range: bytes=a-b[, ...]` against a body of `size` bytes.
pub fn parse_range(header: Option<&str>, size: u64) -> RangeReq {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeReq::All;
    };
    let first = spec.split(',').next().unwrap_or("").trim();
    let Some((a, b)) = first.split_once('-') else { return RangeReq::All };
    let (a, b) = (a.trim(), b.trim());
    let range = if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else { return RangeReq::All };
        if n == 0 || size == 0 {
            return RangeReq::Unsatisfiable;
        }
        ByteRange { first: size.saturating_sub(n), last: size - 1 }
    } else {
        let Ok(from) = a.parse::<u64>() else { return RangeReq::All };
        let to = if b.is_empty() {
            size.saturating_sub(1)
        } else {
            match b.parse::<u64>() {
                Ok(t) if t >= from => t.min(size.saturating_sub(1)),
                _ => return RangeReq::All,
            }
        };
        if from >= size {
            return RangeReq::Unsatisfiable;
        }
        ByteRange { first: from, last: to }
    };
    RangeReq::One(range)
}

/// `Content-Disposition` with a file name (ASCII fallback plus RFC 5987 UTF-8 form).
pub fn content_disposition(kind: &str, filename: &str) -> String {
    let ascii: String =
        filename
            .chars()
            .map(|c| {
                if c.is_ascii() && c != '"' && c != '\\' && !c.is_ascii_control() {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    if ascii == filename {
        format!("{kind}; filename=\"{filename}\"")
    } else {
        format!(
            "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}",
            crate::gateway::path::escape_query(filename).replace('+', "%20")
        )
    }
}

/// `Content-Type` of a CAR response.
pub fn car_content_type(dups: bool) -> String {
    format!("{CAR_TYPE}; version=1; order=dfs; dups={}", if dups { "y" } else { "n" })
}

/// `X-Ipfs-Roots`: the CIDs of the path's entities, comma-separated.
pub fn roots_header(roots: &[Cid]) -> String {
    roots.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(host: &'a str, path: &'a str, query: &'a str) -> Request<'a> {
        Request { method: "GET", host, scheme: "http", path, query, ..Default::default() }
    }

    fn cfg() -> Config {
        Config { subdomain_hosts: vec!["example.com".into()] }
    }

    const V1: &str = "bafkqabtimvwgy3yk";

    #[test]
    fn subdomain_redirects() {
        let loc = |r: Route| match r {
            Route::Redirect { location, .. } => location,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            loc(route(&req("example.com", &format!("/ipfs/{V1}/"), ""), &cfg())),
            format!("http://{V1}.ipfs.example.com/")
        );
        assert_eq!(
            loc(route(&req("example.com", &format!("/ipfs/{V1}"), ""), &cfg())),
            format!("http://{V1}.ipfs.example.com/")
        );
        let v0 = "QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco";
        assert!(loc(route(&req("example.com", &format!("/ipfs/{v0}/"), ""), &cfg())).starts_with(
            "http://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq.ipfs.example.com/"
        ));
        let r = Request { forwarded_proto: Some("https"), ..req("fake.domain.com", "/ipfs/x", "") };
        let r =
            Request { forwarded_host: Some("example.com"), path: "/ipfs/bafkqabtimvwgy3yk", ..r };
        assert_eq!(loc(route(&r, &cfg())), format!("https://{V1}.ipfs.example.com/"));
        let pct = format!("/ipfs/{V1}/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt");
        assert_eq!(loc(route(&req("example.com", &pct, ""), &cfg())), format!("http://{V1}.ipfs.example.com/Portugal%252C+Espa%C3%B1a=Peninsula%20Ib%C3%A9rica.txt"));
        assert_eq!(loc(route(&req("example.com", "/ipfs/", "uri=ipfs%3A%2F%2FQmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco%2Fwiki%2FDiego_Maradona.html"), &cfg())), "/ipfs/QmXoypizjW3WknFiJnKLwHCnL72vedxjQkDDP1mXWo6uco/wiki/Diego_Maradona.html");
        match route(&req("example.com", "/ipfs/QmInvalidCID", ""), &cfg()) {
            Route::Error { status: 400, message } => {
                assert!(message.contains("invalid path \"/ipfs/QmInvalidCID\""))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_service_worker_script_is_refused_on_the_path_gateway_only() {
        let sw = |host: &'static str, path: String| {
            route(
                &Request {
                    service_worker: Some("script"),
                    ..req(host, Box::leak(path.into_boxed_str()), "filename=sw.js")
                },
                &cfg(),
            )
        };
        assert!(matches!(
            sw("127.0.0.1:8787", format!("/ipfs/{V1}")),
            Route::Error { status: 400, .. }
        ));
        // The gateway host's own trustless answers are path-origin too.
        assert!(matches!(
            route(
                &Request {
                    service_worker: Some("script"),
                    ..req(
                        "example.com",
                        Box::leak(format!("/ipfs/{V1}").into_boxed_str()),
                        "format=raw"
                    )
                },
                &cfg()
            ),
            Route::Error { status: 400, .. }
        ));
        // An isolated origin may have its own service worker.
        assert!(matches!(
            sw("bafkqabtimvwgy3yk.ipfs.example.com", "/sw.js".into()),
            Route::Serve(_)
        ));
        assert!(matches!(
            route(&req("127.0.0.1:8787", &format!("/ipfs/{V1}"), "filename=sw.js"), &cfg()),
            Route::Serve(_)
        ));
    }

    #[test]
    fn long_urls_and_deep_paths_are_refused_before_any_work() {
        let long = format!("/ipfs/{V1}/{}", "a".repeat(MAX_URL_BYTES));
        assert!(matches!(
            route(&req("127.0.0.1", &long, ""), &cfg()),
            Route::Error { status: 414, .. }
        ));
        let deep = format!("/ipfs/{V1}{}", "/a".repeat(MAX_PATH_DEPTH + 1));
        assert!(matches!(
            route(&req("127.0.0.1", &deep, ""), &cfg()),
            Route::Error { status: 400, .. }
        ));
        let root = ContentPath {
            root: V1.parse().unwrap(),
            segments: vec!["x".into(); MAX_PATH_DEPTH],
            trailing_slash: false,
        };
        assert!(matches!(
            route_domain(&req("site.example", "/more", ""), &root),
            Route::Error { status: 400, .. }
        ));
    }

    #[test]
    fn a_bracketed_host_does_not_break_routing() {
        // Found by the gateway_route fuzz target: offsets into the host were taken from its
        // bracket-stripped, lowercased name, and sliced inside a character.
        let host = "[[[[[[[zé.ipfs.example.com";
        assert!(matches!(route(&req(host, "/", ""), &cfg()), Route::Error { status: 400, .. }));
        match route(&req(&format!("{V1}.ipfs.example.com:8080"), "/", ""), &cfg()) {
            Route::Serve(t) => {
                assert_eq!(t.origin, Origin::Subdomain { gateway: "example.com:8080".into() })
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn host_names_are_checked_before_any_use() {
        for bad in ["attacker.test&x=/../../victim.test", "a..b.com", "evil.example/x.com"] {
            let r =
                route(&Request { forwarded_host: Some(bad), ..req("127.0.0.1", "/", "") }, &cfg());
            assert!(matches!(r, Route::Error { status: 400, .. }), "{bad}: {r:?}");
            assert!(
                matches!(route(&req(bad, "/", ""), &cfg()), Route::Error { status: 400, .. }),
                "{bad}"
            );
        }
        assert!(
            matches!(route(&req("Victim.Test", "/", ""), &cfg()), Route::LookupHost { host } if host == "victim.test")
        );
    }

    #[test]
    fn only_http_or_https_is_taken_from_x_forwarded_proto() {
        let loc = |proto: &'static str| match route(
            &Request {
                forwarded_proto: Some(proto),
                ..req("example.com", Box::leak(format!("/ipfs/{V1}/").into_boxed_str()), "")
            },
            &cfg(),
        ) {
            Route::Redirect { location, .. } => location,
            other => panic!("{other:?}"),
        };
        assert_eq!(loc("https"), format!("https://{V1}.ipfs.example.com/"));
        assert_eq!(loc("HTTPS"), format!("https://{V1}.ipfs.example.com/"));
        for evil in ["https://evil.example/", "javascript", "https:", ""] {
            assert_eq!(loc(evil), format!("http://{V1}.ipfs.example.com/"), "{evil}");
        }
    }

    #[test]
    fn subdomain_serves() {
        match route(&req(&format!("{V1}.ipfs.example.com"), "/ipfs/file.txt", ""), &cfg()) {
            Route::Serve(t) => {
                assert_eq!(t.content.segments, ["ipfs", "file.txt"]);
                assert_eq!(t.origin, Origin::Subdomain { gateway: "example.com".into() });
            }
            other => panic!("{other:?}"),
        }
        let long = "bafkrgqhhyivzstcz3hhswshfjgy6ertgmnqeleynhwt4dlfsthi4hn7zgh4uvlsb5xncykzapi3ocd4lzogukir6ksdy6wzrnz6ohnv4aglcs";
        match route(&req(&format!("{long}.ipfs.example.com"), "/", ""), &cfg()) {
            Route::Error { status: 400, message } => {
                assert!(message.contains("CID incompatible with DNS label length limit of 63"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            route(&req("fake.domain.com", "/ipfs/x", ""), &cfg()),
            Route::LookupHost { .. }
        ));
        assert!(matches!(
            route(&req("127.0.0.1:8787", &format!("/ipfs/{V1}"), ""), &cfg()),
            Route::Serve(_)
        ));
    }

    #[test]
    fn formats() {
        let p = |q: &str| query_params(q);
        assert_eq!(negotiate(&p("format=raw"), None), Ok(Format::Raw));
        assert_eq!(negotiate(&[], Some("application/vnd.ipld.raw")), Ok(Format::Raw));
        let car = negotiate(&p("format=car&dag-scope=entity&entity-bytes=0:*"), None).unwrap();
        assert!(matches!(
            car,
            Format::Car(CarParams { scope: Scope::Entity, bytes: Some(_), dups: false })
        ));
        let car =
            negotiate(&[], Some("application/vnd.ipld.car; version=1; order=dfs; dups=y")).unwrap();
        assert!(matches!(car, Format::Car(CarParams { scope: Scope::All, dups: true, .. })));
        assert_eq!(negotiate(&[], Some("text/html,*/*")), Ok(Format::Default));
        assert!(negotiate(&p("format=tar"), None).is_err());
        assert_eq!(negotiate(&p("format=dag-json"), None), Ok(Format::Codec(Codec::DagJson)));
        assert_eq!(
            negotiate(&[], Some("application/vnd.ipld.dag-cbor")),
            Ok(Format::Codec(Codec::DagCbor))
        );
        assert_eq!(
            negotiate(&p("format=cbor"), Some("application/json")),
            Ok(Format::Codec(Codec::Cbor))
        );
        assert_eq!(Codec::Json.code(), 0x0200);
        assert!(
            Codec::Json.serves(0x0129)
                && Codec::Cbor.serves(0x71)
                && !Codec::DagJson.serves(0x0200)
                && !Codec::DagCbor.serves(0x70)
        );
    }

    /// Every refusal names the value at fault, in the words the gateway has always answered with.
    #[test]
    fn a_format_that_cannot_be_served_says_which() {
        let no = |q: &str, accept: Option<&str>| negotiate(&query_params(q), accept).unwrap_err();
        let cases = [
            (no("format=tar", None), NegotiateError::Format("tar".into()), "unsupported format \"tar\" (this gateway serves raw, car, dag-json, dag-cbor, json and cbor)"),
            (no("format=car&car-version=2", None), NegotiateError::CarVersion("2".into()), "only CAR version 1 is served"),
            (no("", Some("application/vnd.ipld.car; version=1; order=dfs; dups=x")), NegotiateError::Dups("x".into()), "invalid dups \"x\" (expected y or n)"),
            (no("format=car&car-order=random", None), NegotiateError::CarOrder("random".into()), "only order=dfs is served"),
            (no("format=car&dag-scope=nope", None), NegotiateError::Scope(BadScope("nope".into())), "invalid dag-scope \"nope\" (expected block, entity or all)"),
            (no("format=car&entity-bytes=1:0", None), NegotiateError::EntityBytes(BadEntityBytes("1:0".into())), "invalid entity-bytes \"1:0\" (expected from:to, e.g. 0:* or -1024:*)"),
        ];
        for (got, want, text) in cases {
            assert_eq!((got.to_string().as_str(), &got), (text, &want));
        }
        let req = Request {
            method: "GET",
            host: "gw",
            scheme: "https",
            path: "/ipfs/bafkqabtimvwgy3yk",
            query: "format=tar",
            ..Request::default()
        };
        assert!(
            matches!(route_path(&req), Route::Error { status: 400, message } if message.starts_with("unsupported format \"tar\""))
        );
    }

    #[test]
    fn the_format_parameter_wins_over_accept() {
        // IPIP-0523: even a specific Accept gives way to `format=`.
        let p = |q: &str| query_params(q);
        assert_eq!(negotiate(&p("format=raw"), Some("application/vnd.ipld.car")), Ok(Format::Raw));
        let car = negotiate(&p("format=car"), Some("application/vnd.ipld.raw")).unwrap();
        assert!(matches!(car, Format::Car(_)));
        assert_eq!(
            negotiate(&p("format=raw"), Some("application/vnd.ipld.dag-json")),
            Ok(Format::Raw)
        );
        assert!(negotiate(&p("format=car&dag-scope=nope"), None).is_err());
    }

    #[test]
    fn ranges_and_etags() {
        assert_eq!(
            parse_range(Some("bytes=6-16"), 31),
            RangeReq::One(ByteRange { first: 6, last: 16 })
        );
        assert_eq!(
            parse_range(Some("bytes=-3"), 31),
            RangeReq::One(ByteRange { first: 28, last: 30 })
        );
        assert_eq!(
            parse_range(Some("bytes=6-16,0-4"), 31),
            RangeReq::One(ByteRange { first: 6, last: 16 })
        );
        assert_eq!(
            parse_range(Some("bytes=10-"), 31),
            RangeReq::One(ByteRange { first: 10, last: 30 })
        );
        assert_eq!(parse_range(Some("bytes=40-50"), 31), RangeReq::Unsatisfiable);
        assert_eq!(
            parse_range(Some("bytes=0-100"), 31),
            RangeReq::One(ByteRange { first: 0, last: 30 })
        );
        assert_eq!(parse_range(None, 31), RangeReq::All);
        let c: Cid = V1.parse().unwrap();
        let e = etag(&c, &Format::Default);
        assert!(if_none_match(&format!("\"a\", W/{e}"), &e));
        assert!(if_none_match("*", &e));
        assert!(!if_none_match("\"other\"", &e));
        assert_eq!(content_disposition("attachment", "a.bin"), "attachment; filename=\"a.bin\"");
    }

    #[test]
    fn names_route_to_a_lookup_then_to_their_content() {
        let key = crate::ipns::Keypair::from_seed([5; 32]).name();
        let k = key.to_string();
        let lookup = |r: Route| match r {
            Route::LookupName(l) => *l,
            other => panic!("{other:?}"),
        };
        // The path gateway.
        let path = format!("/ipns/{k}/a/b.txt");
        let l = lookup(route(&req("127.0.0.1:8787", &path, ""), &cfg()));
        assert_eq!(l.path.name, MutableName::Key(key.clone()));
        assert_eq!((l.origin.clone(), l.record), (Origin::Path, false));
        let root: Cid = V1.parse().unwrap();
        let content =
            ContentPath { root, segments: vec!["a".into(), "b.txt".into()], trailing_slash: false };
        match route_named(&req("127.0.0.1:8787", &path, ""), &l, &content) {
            Route::Serve(t) => {
                assert_eq!(t.ipfs_path, path);
                assert!(t.mutable);
                assert_eq!(t.content, content);
                assert_eq!(t.origin, Origin::Path);
                // The folder redirect goes back under the name.
                assert_eq!(
                    name_location(&format!("/ipfs/{V1}/a/b.txt/?x=1"), &t),
                    format!("{path}/?x=1")
                );
                assert_eq!(name_location("/elsewhere/", &t), "/elsewhere/");
            }
            other => panic!("{other:?}"),
        }
        // A peer ID goes to the canonical name (the conformance suite's two cases).
        for (given, want) in [
            (
                "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK",
                "k51qzi5uqu5dlvj2baxnqndepeb86cbk3ng7n3i46uzyxzyqj2xjonzllnv0v8",
            ),
            (
                "QmcJM7PRfkSbcM5cf1QugM5R37TLRKyJGgBEhXjLTB8uA2",
                "k2k4r8ol4m8kkcqz509c1rcjwunebj02gcnm5excpx842u736nja8ger",
            ),
        ] {
            match route(&req("127.0.0.1", &format!("/ipns/{given}/root2/"), ""), &cfg()) {
                Route::Redirect { status: 302, location } => {
                    assert_eq!(location, format!("/ipns/{want}/root2/"))
                }
                other => panic!("{other:?}"),
            }
        }
        // The record, by format= or Accept.
        assert!(
            lookup(route(&req("127.0.0.1", &format!("/ipns/{k}"), "format=ipns-record"), &cfg()))
                .record
        );
        let accept = Request { accept: Some(IPNS_RECORD_TYPE), ..req("127.0.0.1", "/ipns/x", "") };
        let accept = Request { path: Box::leak(format!("/ipns/{k}").into_boxed_str()), ..accept };
        assert!(lookup(route(&accept, &cfg())).record);
        assert!(matches!(
            route(&req("127.0.0.1", "/ipns/example.org", "format=ipns-record"), &cfg()),
            Route::Error { status: 400, .. }
        ));
        // A DNSLink domain on the path gateway; not a name at all.
        let d = lookup(route(&req("127.0.0.1", "/ipns/docs.example.org/", ""), &cfg()));
        assert_eq!(d.path.name, MutableName::Domain("docs.example.org".into()));
        assert!(matches!(
            route(&req("127.0.0.1", "/ipns/nodot/", ""), &cfg()),
            Route::Error { status: 400, .. }
        ));
        // The subdomain gateway, and the redirect to it (from any form of the name).
        let s = lookup(route(&req(&format!("{k}.ipns.example.com:8080"), "/", ""), &cfg()));
        assert_eq!(s.origin, Origin::Subdomain { gateway: "example.com:8080".into() });
        assert!(s.path.trailing_slash && s.path.segments.is_empty());
        let w = lookup(route(
            &req("en-wikipedia--on--ipfs-org.ipns.example.com", "/wiki/", ""),
            &cfg(),
        ));
        assert_eq!(w.path.name, MutableName::Domain("en.wikipedia-on-ipfs.org".into()));
        match route(&req("example.com", &format!("/ipns/{}/x", key.to_base32()), "q=1"), &cfg()) {
            Route::Redirect { status: 301, location } => {
                assert_eq!(location, format!("http://{k}.ipns.example.com/x?q=1"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            route(&req("bad_label.ipns.example.com", "/", ""), &cfg()),
            Route::Error { status: 400, .. }
        ));
        // Cache-Control under a name: the record's TTL, else the mutable default; no-store kept.
        let ttl = Some(std::time::Duration::from_secs(30));
        assert_eq!(name_cache_control(Some(IMMUTABLE), ttl).as_deref(), Some("public, max-age=30"));
        assert_eq!(name_cache_control(Some(LISTING), None).as_deref(), Some(MUTABLE));
        assert_eq!(name_cache_control(Some("no-store"), ttl), None);
    }
}
