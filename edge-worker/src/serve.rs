//! Serving a routed request: resolve the path through verified blocks, then answer with a file, a
//! folder (index.html or a listing), a raw block or a CAR. The rules come from
//! `carport_core::gateway`; this file only moves bytes between it, the sources and HTTP.

use std::rc::Rc;

use carport_core::codec::block::Block;
use carport_core::gateway::file::{ByteRange, FileReader, FileStep};
use carport_core::gateway::http::{
    car_content_type, content_disposition, etag, if_none_match, listing_etag, parse_range,
    roots_header, Codec, Format, RangeReq, Target, IMMUTABLE, LISTING, MUTABLE, RAW_TYPE,
};
use carport_core::gateway::listing::{self, Origin};
use carport_core::gateway::resolve::{NodeKind, ResolveError, Resolved, Resolver, Step};
use carport_core::gateway::traverse::{car_header, Scope, TStep, Traversal};
use carport_core::gateway::{mime, redirects};
use carport_core::Cid;
use futures_util::stream;
use worker::{Headers, Response, ResponseBody};

use crate::reply::text;
use crate::sources::{CarStream, Missing, Sources, Unavailable};

/// Request headers that change the answer.
pub struct Conditions {
    pub head: bool,
    pub range: Option<String>,
    pub if_none_match: Option<String>,
    /// `Cache-Control: only-if-cached`: answer 412 unless the root block is held here.
    pub only_if_cached: bool,
}

/// Why serving stopped before the response started.
pub enum Fail {
    Unavailable(Unavailable),
    Resolve(ResolveError),
    Other(u16, String),
}

impl From<Unavailable> for Fail {
    fn from(u: Unavailable) -> Self {
        Fail::Unavailable(u)
    }
}

impl From<ResolveError> for Fail {
    fn from(e: ResolveError) -> Self {
        Fail::Resolve(e)
    }
}

impl Fail {
    /// What went wrong, for a log line or a stream's error.
    pub fn message(&self) -> String {
        match self {
            Fail::Unavailable(u) => u.to_string(),
            Fail::Resolve(e) => e.to_string(),
            Fail::Other(_, m) => m.clone(),
        }
    }

    pub fn response(&self) -> worker::Result<Response> {
        match self {
            Fail::Unavailable(u) => match u.why {
                Missing::NotFound => text(404, &format!("404 not found: {u}")),
                Missing::Timeout => text(504, &format!("504 gateway timeout: {u}")),
                Missing::Budget => text(413, &format!("413 content too large: {u}")),
                Missing::Invalid => text(502, &format!("502 bad gateway: {u}")),
            },
            Fail::Resolve(e @ ResolveError::NotFound { .. }) => {
                text(404, &format!("404 not found: {e}"))
            }
            Fail::Resolve(e @ ResolveError::Unsupported { .. }) => {
                text(501, &format!("501 not implemented: {e}"))
            }
            Fail::Resolve(e) => text(502, &format!("502 bad gateway: {e}")),
            Fail::Other(s, m) => text(*s, m),
        }
    }
}

/// Blocks for one response: an upstream CAR stream of the entity when there is one, else the
/// sources block by block.
pub struct Feed {
    src: Rc<Sources>,
    car: Option<CarStream>,
    car_req: CarRequest,
}

/// The CAR request (path and query) a feed makes of the upstreams when a block is first missing:
/// once per response, a failed one is not repeated.
enum CarRequest {
    None,
    Ready(String),
    Made,
}

impl CarRequest {
    /// The request to make now, if one is ready: from here on it counts as made.
    fn make(&mut self) -> Option<String> {
        match std::mem::replace(self, CarRequest::Made) {
            CarRequest::Ready(tail) => Some(tail),
            other => {
                *self = other;
                None
            }
        }
    }
}

/// The CAR request of the entity at `rest` under `cid` (with `entity-bytes` when given).
pub fn entity_car(cid: &Cid, rest: &[String], bytes: Option<String>) -> String {
    let mut tail = format!(
        "/ipfs/{cid}{}?format=car&dag-scope=entity&car-dups=n",
        carport_core::gateway::path::encode_path(rest)
    );
    if let Some(b) = bytes {
        tail.push_str(&format!("&entity-bytes={b}"));
    }
    tail
}

impl Feed {
    pub fn new(src: Rc<Sources>, car_req: Option<String>) -> Self {
        Feed { src, car: None, car_req: car_req.map_or(CarRequest::None, CarRequest::Ready) }
    }

    /// Sets the CAR request to make if a block turns out to be missing, until one is made.
    pub fn aim(&mut self, car_req: String) {
        if !matches!(self.car_req, CarRequest::Made) {
            self.car_req = CarRequest::Ready(car_req);
        }
    }

    /// Says the response needs no more blocks (see [`CarStream::finish`]).
    pub async fn finish(&mut self) {
        if let Some(car) = &mut self.car {
            car.finish().await;
        }
    }

    pub async fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, Unavailable> {
        self.src.spend(cid)?;
        let mut reasons = Vec::new();
        if let Some(car) = &mut self.car {
            match car.take(cid).await {
                Ok(Some(b)) => {
                    self.src.remember(cid, &b);
                    return Ok(b);
                }
                Ok(None) => {}
                Err(e) => reasons.push(e),
            }
        }
        if let Some(b) = self.src.local(cid, &mut reasons).await {
            return Ok(b);
        }
        if let Some(tail) = self.car_req.make() {
            match self.src.open_car(&tail).await {
                Some(mut car) => {
                    let got = car.take(cid).await;
                    self.car = Some(car);
                    match got {
                        Ok(Some(b)) => {
                            self.src.remember(cid, &b);
                            return Ok(b);
                        }
                        Ok(None) => {}
                        Err(e) => reasons.push(e),
                    }
                }
                None => reasons.push("no upstream answered the CAR request".into()),
            }
        }
        self.src.ask_upstreams(cid, reasons).await
    }
}

pub async fn resolve(src: &Sources, root: Cid, segments: Vec<String>) -> Result<Resolved, Fail> {
    let mut r = Resolver::new(root, segments);
    loop {
        match r.step()? {
            Step::Need(cid) => {
                let b = src.block(&cid).await?;
                r.provide(&cid, b)?;
            }
            Step::Done(done) => return Ok(done),
        }
    }
}

/// Resolves through a feed: blocks held locally are used as they are, and the first missing one
/// asks the upstreams for one CAR of the rest of the path from there (the path's blocks, then the
/// entity's).
pub async fn resolve_feed(
    feed: &mut Feed,
    root: Cid,
    segments: Vec<String>,
) -> Result<Resolved, Fail> {
    let mut r = Resolver::new(root, segments);
    loop {
        match r.step()? {
            Step::Need(cid) => {
                let (from, rest) = r.position();
                feed.aim(entity_car(&from, rest, None));
                let b = feed.get(&cid).await?;
                r.provide(&cid, b)?;
            }
            Step::Done(done) => return Ok(done),
        }
    }
}

struct Head {
    status: u16,
    headers: Headers,
}

impl Head {
    fn new(status: u16) -> Self {
        Head { status, headers: Headers::new() }
    }
    fn set(&mut self, k: &str, v: &str) -> &mut Self {
        let _ = self.headers.set(k, v);
        self
    }
    fn respond(self, body: ResponseBody) -> worker::Result<Response> {
        Ok(Response::from_body(body)?.with_status(self.status).with_headers(self.headers))
    }
}

fn common(head: &mut Head, t: &Target, roots: &[Cid], etag_value: &str) {
    head.set("X-Ipfs-Path", &t.ipfs_path);
    head.set("X-Ipfs-Roots", &roots_header(roots));
    head.set("Cache-Control", if t.mutable { MUTABLE } else { IMMUTABLE });
    head.set("ETag", etag_value);
}

fn not_modified(t: &Target, roots: &[Cid], etag_value: &str) -> worker::Result<Response> {
    let mut h = Head::new(304);
    common(&mut h, t, roots, etag_value);
    h.respond(ResponseBody::Empty)
}

/// A body that is a stream of byte chunks from an async source.
fn stream_body<S: 'static>(
    state: S,
    len: Option<u64>,
    next: impl Fn(
            S,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Option<(worker::Result<Vec<u8>>, S)>>>,
        > + 'static,
) -> ResponseBody {
    let s = stream::unfold(state, next);
    match len {
        Some(len) => {
            let fixed: worker::worker_sys::FixedLengthStream =
                worker::FixedLengthStream::wrap(s, len).into();
            ResponseBody::Stream(fixed.readable())
        }
        None => {
            let resp = worker::ResponseBuilder::new().from_stream(s).expect("stream body");
            match resp.body() {
                ResponseBody::Stream(rs) => ResponseBody::Stream(rs.clone()),
                _ => ResponseBody::Empty,
            }
        }
    }
}

/// Reads a file's range, block by verified block.
pub struct FileBody {
    reader: FileReader,
    feed: Feed,
    failed: bool,
}

impl FileBody {
    /// Reads through `feed`, or (none given) a feed that asks for the file's entity CAR.
    pub fn new(
        src: Rc<Sources>,
        feed: Option<Feed>,
        file: &Resolved,
        range: Option<ByteRange>,
    ) -> Result<Self, Fail> {
        let eb = range.map(|r| format!("{}:{}", r.first, r.last));
        let feed = feed.unwrap_or_else(|| Feed::new(src, Some(entity_car(&file.cid, &[], eb))));
        let mut reader = FileReader::new(file.cid, range);
        // The root is in hand already (an identity root the reader reads by itself).
        if carport_core::gateway::inline_block(&file.cid).is_none() {
            if let Ok(FileStep::Need(c)) = reader.step() {
                reader
                    .provide(&c, file.block.clone())
                    .map_err(|e| Fail::Other(502, format!("502 bad gateway: {e}")))?;
            }
        }
        Ok(FileBody { reader, feed, failed: false })
    }

    pub async fn next(&mut self) -> Result<Option<Vec<u8>>, Fail> {
        loop {
            match self
                .reader
                .step()
                .map_err(|e| Fail::Other(502, format!("502 bad gateway: {e}")))?
            {
                FileStep::Need(c) => {
                    let b = self.feed.get(&c).await?;
                    self.reader
                        .provide(&c, b)
                        .map_err(|e| Fail::Other(502, format!("502 bad gateway: {e}")))?;
                }
                FileStep::Visited(_) => {}
                FileStep::Data(d) if d.is_empty() => {}
                FileStep::Data(d) => return Ok(Some(d)),
                FileStep::Done => {
                    self.feed.finish().await;
                    return Ok(None);
                }
            }
        }
    }

    fn into_body(self, first: Option<Vec<u8>>, len: u64) -> ResponseBody {
        stream_body((self, first), Some(len), |(mut fb, first)| {
            Box::pin(async move {
                if let Some(d) = first {
                    return Some((Ok(d), (fb, None)));
                }
                if fb.failed {
                    return None;
                }
                match fb.next().await {
                    Ok(Some(d)) => Some((Ok(d), (fb, None))),
                    Ok(None) => None,
                    Err(e) => {
                        fb.failed = true;
                        let msg = e.message();
                        worker::console_error!("carport-edge: body aborted: {msg}");
                        Some((Err(worker::Error::RustError(msg)), (fb, None)))
                    }
                }
            })
        })
    }
}

fn file_name(t: &Target) -> Option<String> {
    t.filename.clone().or_else(|| t.content.segments.last().cloned())
}

/// Serves the bytes of a file (or raw block) with ranges.
#[allow(clippy::too_many_arguments)]
async fn serve_file(
    src: Rc<Sources>,
    feed: Option<Feed>,
    t: &Target,
    file: &Resolved,
    status: u16,
    etag_value: &str,
    roots: &[Cid],
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let size = file.kind.file_size().unwrap_or(0);
    let range =
        if status == 200 { parse_range(cond.range.as_deref(), size) } else { RangeReq::All };
    if range == RangeReq::Unsatisfiable {
        let mut h = Head::new(416);
        h.set("Content-Range", &format!("bytes */{size}"));
        return Ok(h.respond(ResponseBody::Empty));
    }
    let (want, status) = match range {
        RangeReq::One(r) => (Some(r), 206),
        _ => ((size > 0).then(|| ByteRange { first: 0, last: size - 1 }), status),
    };
    let mut body = FileBody::new(src, feed, file, want)?;
    let first = body.next().await?;
    let name = file_name(t);
    let ctype = mime::content_type(name.as_deref(), first.as_deref().unwrap_or_default());
    let mut h = Head::new(status);
    common(&mut h, t, roots, etag_value);
    h.set("Content-Type", ctype).set("Accept-Ranges", "bytes");
    if let Some(r) = want.filter(|_| status == 206) {
        h.set("Content-Range", &format!("bytes {}-{}/{size}", r.first, r.last));
    }
    if let Some(f) = &t.filename {
        h.set(
            "Content-Disposition",
            &content_disposition(if t.download { "attachment" } else { "inline" }, f),
        );
    }
    let len = want.map_or(0, |r| r.len());
    h.set("Content-Length", &len.to_string());
    if cond.head || len == 0 {
        return Ok(h.respond(ResponseBody::Empty));
    }
    // Everything in the first block (a small file): a plain body, no stream machinery.
    if let Some(d) = first.as_ref().filter(|d| d.len() as u64 == len) {
        body.feed.finish().await;
        return Ok(h.respond(ResponseBody::Body(d.clone())));
    }
    Ok(h.respond(body.into_body(first, len)))
}

/// Serves a routed request.
pub async fn serve(src: Rc<Sources>, t: &Target, cond: &Conditions) -> worker::Result<Response> {
    let t0 = js_sys::Date::now();
    src.use_root(&t.content.root).await;
    if cond.only_if_cached && src.local(&t.content.root, &mut Vec::new()).await.is_none() {
        return text(
            412,
            &format!(
                "412 precondition failed: {} is not held by this gateway (only-if-cached)",
                t.content.root
            ),
        );
    }
    let t1 = js_sys::Date::now();
    let mut resp = match serve_inner(src, t, cond).await {
        Ok(r) => r?,
        Err(f) => f.response()?,
    };
    let t2 = js_sys::Date::now();
    // Where the time before the first byte went (store lookup, resolution and first block).
    resp.headers_mut().set(
        "Server-Timing",
        &format!("store;dur={:.0}, first-byte;dur={:.0}", t1 - t0, t2 - t1),
    )?;
    Ok(resp)
}

async fn serve_inner(
    src: Rc<Sources>,
    t: &Target,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    // A deserialized answer without a range: one upstream CAR of the path from the first block
    // not held (path blocks, then the entity) serves resolution and body alike; else block by
    // block.
    let mut feed = None;
    let resolved = if t.format == Format::Default && cond.range.is_none() {
        let mut f = Feed::new(src.clone(), None);
        let r = resolve_feed(&mut f, t.content.root, t.content.segments.clone()).await;
        feed = Some(f);
        r
    } else {
        resolve(&src, t.content.root, t.content.segments.clone()).await
    };
    let resolved = match resolved {
        Ok(r) => r,
        Err(Fail::Resolve(ResolveError::NotFound { .. }))
            if t.format == Format::Default && t.origin != Origin::Path =>
        {
            return redirects_or_404(src, t, cond).await;
        }
        Err(e) => return Err(e),
    };
    match t.format {
        Format::Raw => serve_raw(t, &resolved, cond),
        Format::Car(p) => serve_car(src, t, resolved, p, cond).await,
        Format::Codec(c) => serve_codec(src, t, resolved, c, cond).await,
        Format::Default => serve_default(src, feed, t, resolved, cond).await,
    }
}

/// `Content-Disposition` of a block served in its codec: JSON inline, CBOR as an attachment (a
/// browser cannot show it), `?filename=` and `?download=true` as asked.
fn codec_disposition(t: &Target, cid: &Cid, codec: Codec) -> String {
    let json = matches!(codec, Codec::Json | Codec::DagJson);
    let name = t
        .filename
        .clone()
        .unwrap_or_else(|| format!("{cid}.{}", if json { "json" } else { "cbor" }));
    content_disposition(if t.download || !json { "attachment" } else { "inline" }, &name)
}

/// A block asked for in its own codec (`?format=dag-json` …): as-is when the CID has that codec,
/// a UnixFS file as its bytes when JSON is asked of it, else 406: no conversion (IPIP-0524).
async fn serve_codec(
    src: Rc<Sources>,
    t: &Target,
    r: Resolved,
    codec: Codec,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    if codec.serves(r.cid.codec()) {
        let tag = etag(&r.cid, &Format::Codec(codec));
        if cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &tag)) {
            return Ok(not_modified(t, &r.roots, &tag));
        }
        let mut h = Head::new(200);
        common(&mut h, t, &r.roots, &tag);
        h.set("Content-Type", codec.media_type())
            .set("X-Content-Type-Options", "nosniff")
            .set("Content-Length", &r.block.len().to_string());
        h.set("Content-Disposition", &codec_disposition(t, &r.cid, codec));
        return Ok(h.respond(if cond.head {
            ResponseBody::Empty
        } else {
            ResponseBody::Body(r.block)
        }));
    }
    if codec == Codec::Json && r.kind.file_size().is_some() {
        return serve_default(src, None, t, r, cond).await;
    }
    Err(Fail::Other(406, format!("406 not acceptable: {} has codec 0x{:x}, not {}; this gateway does not convert between codecs (ask for ?format=raw and decode it yourself)", r.cid, r.cid.codec(), codec.name())))
}

fn serve_raw(
    t: &Target,
    r: &Resolved,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let tag = etag(&r.cid, &Format::Raw);
    if cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &tag)) {
        return Ok(not_modified(t, &r.roots, &tag));
    }
    let size = r.block.len() as u64;
    let mut h = Head::new(200);
    common(&mut h, t, &r.roots, &tag);
    let name = t.filename.clone().unwrap_or_else(|| format!("{}.bin", r.cid));
    h.set("Content-Type", RAW_TYPE)
        .set("Content-Disposition", &content_disposition("attachment", &name))
        .set("X-Content-Type-Options", "nosniff")
        .set("Accept-Ranges", "bytes");
    let body = match parse_range(cond.range.as_deref(), size) {
        RangeReq::One(rg) => {
            h.status = 206;
            h.set("Content-Range", &format!("bytes {}-{}/{size}", rg.first, rg.last));
            r.block[rg.first as usize..=rg.last as usize].to_vec()
        }
        RangeReq::Unsatisfiable => {
            let mut h = Head::new(416);
            h.set("Content-Range", &format!("bytes */{size}"));
            return Ok(h.respond(ResponseBody::Empty));
        }
        RangeReq::All => r.block.clone(),
    };
    h.set("Content-Length", &body.len().to_string());
    if cond.head {
        return Ok(h.respond(ResponseBody::Empty));
    }
    Ok(h.respond(ResponseBody::Body(body)))
}

/// A CAR's bytes: header, then each block as the traversal reaches it.
struct CarBody {
    header: Option<Vec<u8>>,
    trav: Traversal,
    feed: Feed,
    failed: bool,
}

impl CarBody {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, Fail> {
        if let Some(h) = self.header.take() {
            return Ok(Some(h));
        }
        let broken = |e: carport_core::gateway::traverse::TraverseError| {
            Fail::Other(502, format!("502 bad gateway: {e}"))
        };
        loop {
            match self.trav.step().map_err(broken)? {
                TStep::Need(c) => {
                    let b = self.feed.get(&c).await?;
                    self.trav.provide(&c, b).map_err(broken)?;
                }
                TStep::Emit(cid, data) => {
                    let mut out = Vec::with_capacity(data.len() + 48);
                    carport_core::car::section(&mut out, &cid, &data);
                    return Ok(Some(out));
                }
                TStep::Done => {
                    self.feed.finish().await;
                    return Ok(None);
                }
            }
        }
    }
}

/// A CAR response. Up to the worker's CAR buffer it is made whole before the headers go out, so
/// it is answered with its `Content-Length` (a client or cache sees a cut short), or, when a
/// block cannot be had, with the status that says why instead of a 200. A longer CAR streams
/// chunked; workerd ends a chunked body cleanly even when its stream fails, so such a response
/// cannot say "broken" on the wire and is marked `no-store` instead of immutable, and its CAR
/// ends short of the blocks (clients must check a CAR is complete, as the spec says).
async fn serve_car(
    src: Rc<Sources>,
    t: &Target,
    r: Resolved,
    p: carport_core::gateway::http::CarParams,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let tag = etag(&r.cid, &Format::Car(p));
    if cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &tag)) {
        return Ok(not_modified(t, &r.roots, &tag));
    }
    let mut h = Head::new(200);
    common(&mut h, t, &r.roots, &tag);
    let name = t.filename.clone().unwrap_or_else(|| format!("{}.car", r.cid));
    h.set("Content-Type", &car_content_type(p.dups))
        .set("Content-Disposition", &content_disposition("attachment", &name))
        .set("X-Content-Type-Options", "nosniff")
        .set("Accept-Ranges", "none");
    if cond.head {
        return Ok(h.respond(ResponseBody::Empty));
    }
    let car_req = match (&r.kind, p.scope) {
        (NodeKind::File { .. }, Scope::Entity | Scope::All) => {
            Some(entity_car(&r.cid, &[], p.bytes.map(|b| b.to_param())))
        }
        _ => None,
    };
    let roots = vec![t.content.root];
    let limit = src.car_buffer;
    let mut body = CarBody {
        header: Some(car_header(&roots)),
        trav: Traversal::new(r, p.scope, p.bytes, p.dups),
        feed: Feed::new(src, car_req),
        failed: false,
    };
    let mut held = Vec::new();
    while held.len() <= limit {
        match body.next().await? {
            Some(d) => held.extend(d),
            None => {
                h.set("Content-Length", &held.len().to_string());
                return Ok(h.respond(ResponseBody::Body(held)));
            }
        }
    }
    h.set("Cache-Control", "no-store");
    let body = stream_body((body, Some(held)), None, |(mut b, first)| {
        Box::pin(async move {
            if let Some(d) = first {
                return Some((Ok(d), (b, None)));
            }
            if b.failed {
                return None;
            }
            match b.next().await {
                Ok(Some(d)) => Some((Ok(d), (b, None))),
                Ok(None) => None,
                Err(e) => {
                    b.failed = true;
                    let msg = e.message();
                    worker::console_error!("carport-edge: CAR aborted: {msg}");
                    Some((Err(worker::Error::RustError(msg)), (b, None)))
                }
            }
        })
    });
    Ok(h.respond(body))
}

async fn serve_default(
    src: Rc<Sources>,
    feed: Option<Feed>,
    t: &Target,
    r: Resolved,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    match &r.kind {
        NodeKind::File { .. } | NodeKind::Raw { .. } => {
            let tag = etag(&r.cid, &Format::Default);
            if cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &tag)) {
                return Ok(not_modified(t, &r.roots, &tag));
            }
            serve_file(src, feed, t, &r, 200, &tag, &r.roots, cond).await
        }
        NodeKind::Dir | NodeKind::HamtDir => {
            if !t.content.trailing_slash {
                let mut loc = match t.origin {
                    Origin::Path => t.content.to_url_path(),
                    _ => carport_core::gateway::path::encode_path(&t.content.segments),
                };
                loc.push('/');
                if !t.query.is_empty() {
                    loc = format!("{loc}?{}", t.query);
                }
                let mut h = Head::new(301);
                h.set("Location", &loc)
                    .set("Cache-Control", if t.mutable { MUTABLE } else { IMMUTABLE });
                return Ok(h.respond(ResponseBody::Empty));
            }
            // index.html, looked up in this folder (plain or HAMT).
            let mut idx = Resolver::new(r.cid, vec!["index.html".into()]);
            let mut first = true;
            let index = loop {
                match idx.step() {
                    Ok(Step::Need(c)) => {
                        let b = if first && c == r.cid {
                            r.block.clone()
                        } else {
                            src.block(&c).await?
                        };
                        first = false;
                        if let Err(e) = idx.provide(&c, b) {
                            break Err(e);
                        }
                    }
                    Ok(Step::Done(d)) => break Ok(d),
                    Err(e) => break Err(e),
                }
            };
            match index {
                Ok(index) if index.kind.file_size().is_some() => {
                    let tag = etag(&r.cid, &Format::Default);
                    if cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &tag)) {
                        return Ok(not_modified(t, &r.roots, &tag));
                    }
                    let mut t2 = t.clone();
                    t2.filename = None;
                    t2.content.segments.push("index.html".into());
                    serve_file(src, None, &t2, &index, 200, &tag, &r.roots, cond).await
                }
                Ok(_) | Err(ResolveError::NotFound { .. }) => listing(src, t, r, cond).await,
                Err(e) => Err(e.into()),
            }
        }
        NodeKind::Symlink { target } => {
            let tag = etag(&r.cid, &Format::Default);
            let mut h = Head::new(200);
            common(&mut h, t, &r.roots, &tag);
            h.set("Content-Type", "text/plain; charset=utf-8");
            Ok(h.respond(if cond.head {
                ResponseBody::Empty
            } else {
                ResponseBody::Body(target.clone().into_bytes())
            }))
        }
        NodeKind::DagCbor | NodeKind::Other { .. } => {
            let tag = etag(&r.cid, &Format::Default);
            let ctype = match r.cid.codec() {
                0x71 => "application/vnd.ipld.dag-cbor",
                0x0129 => "application/vnd.ipld.dag-json",
                0x0200 => "application/json",
                0x51 => "application/cbor",
                _ => "application/octet-stream",
            };
            let mut h = Head::new(200);
            common(&mut h, t, &r.roots, &tag);
            h.set("Content-Type", ctype)
                .set("X-Content-Type-Options", "nosniff")
                .set("Content-Length", &r.block.len().to_string());
            if let Some(codec) = Codec::of(r.cid.codec()) {
                h.set("Content-Disposition", &codec_disposition(t, &r.cid, codec));
            }
            Ok(h.respond(if cond.head {
                ResponseBody::Empty
            } else {
                ResponseBody::Body(r.block.clone())
            }))
        }
    }
}

async fn listing(
    src: Rc<Sources>,
    t: &Target,
    r: Resolved,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let tag = listing_etag(&r.cid);
    if cond.if_none_match.as_deref().is_some_and(|h| if_none_match(h, &tag)) {
        return Ok(not_modified(t, &r.roots, &tag));
    }
    let roots = r.roots.clone();
    let dir = r.cid;
    let blocks = if r.kind == NodeKind::HamtDir {
        let mut trav =
            Traversal::new(Resolved { path_blocks: Vec::new(), ..r }, Scope::Entity, None, false);
        let mut out = Vec::new();
        // Links seen so far, shard links included: past the listing's limit, no more shards.
        let mut links = 0;
        loop {
            match trav.step().map_err(|e| Fail::Other(502, e.to_string()))? {
                TStep::Need(c) => {
                    let b = src.block(&c).await?;
                    trav.provide(&c, b).map_err(|e| Fail::Other(502, e.to_string()))?;
                }
                TStep::Emit(cid, data) => {
                    links += carport_core::codec::dagpb::PbNode::decode(&data)
                        .map_or(0, |n| n.links.len());
                    out.push(Block { cid, data });
                    if links > listing::MAX_LISTING_ENTRIES * 2 {
                        break out;
                    }
                }
                TStep::Done => break out,
            }
        }
    } else {
        vec![Block { cid: r.cid, data: r.block }]
    };
    let entries = listing::entries(&blocks)?;
    let html = listing::render(&t.content.root, &t.content.segments, &dir, &t.origin, &entries);
    let mut h = Head::new(200);
    common(&mut h, t, &roots, &tag);
    h.set("Cache-Control", LISTING).set("Content-Type", "text/html; charset=utf-8");
    Ok(h.respond(if cond.head {
        ResponseBody::Empty
    } else {
        ResponseBody::Body(html.into_bytes())
    }))
}

/// A path that does not exist on an isolated origin: the site's `_redirects` decides, else 404.
async fn redirects_or_404(
    src: Rc<Sources>,
    t: &Target,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    // Percent-encoded, as `redirects::find` takes it: what a placeholder carries stays encoded.
    let path = match carport_core::gateway::path::encode_path(&t.content.segments) {
        p if p.is_empty() => "/".to_string(),
        p => p,
    };
    let not_found = || Ok(text(404, &format!("404 not found: {path}")));
    let file = match resolve(&src, t.content.root, vec!["_redirects".into()]).await {
        Ok(f) if f.kind.file_size().is_some() => f,
        Ok(_) | Err(Fail::Resolve(ResolveError::NotFound { .. })) => return not_found(),
        Err(e) => return Err(e),
    };
    let size = file.kind.file_size().unwrap_or(0);
    let rules = if size as usize > redirects::MAX_SIZE {
        Err(redirects::RedirectsError::TooLarge)
    } else {
        let mut body = FileBody::new(
            src.clone(),
            None,
            &file,
            (size > 0).then(|| ByteRange { first: 0, last: size - 1 }),
        )?;
        let mut bytes = Vec::new();
        while let Some(d) = body.next().await? {
            bytes.extend(d);
        }
        redirects::parse(&bytes)
    };
    let rules = match rules {
        Ok(r) => r,
        Err(e) => return Ok(text(500, &e.to_string())),
    };
    let Some(target) = redirects::find(&rules, &path, &t.query) else { return not_found() };
    if !target.serves_content() {
        let mut h = Head::new(target.status);
        h.set("Location", &target.to)
            .set("Cache-Control", if t.mutable { MUTABLE } else { IMMUTABLE });
        return Ok(h.respond(ResponseBody::Empty));
    }
    let to_path = target.to.split('?').next().unwrap_or("");
    let (segments, _) =
        carport_core::gateway::path::split_path(to_path).map_err(|e| Fail::Other(500, e))?;
    let f = match resolve(&src, t.content.root, segments.clone()).await {
        Ok(f) => f,
        Err(Fail::Resolve(ResolveError::NotFound { .. })) => return not_found(),
        Err(e) => return Err(e),
    };
    if f.kind.file_size().is_none() {
        return Ok(text(
            500,
            &format!("_redirects rule for {path} points at {to_path}, which is not a file"),
        ));
    }
    let tag = etag(&f.cid, &Format::Default);
    let mut t2 = t.clone();
    t2.content.segments = segments;
    t2.filename = None;
    serve_file(src, None, &t2, &f, target.status, &tag, &f.roots, cond).await
}
