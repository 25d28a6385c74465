//! Serving a routed request: resolve the path through verified blocks, then answer with a file, a
//! folder (index.html or a listing), a raw block or a CAR. The rules, and every status and header
//! of the answer, come from `carport_core::gateway`; this file only moves bytes between it, the
//! sources and HTTP.

use std::rc::Rc;

use carport_core::codec::block::Block;
use carport_core::gateway::head::{self, CarLength, Conditions, Entity, Head};
use carport_core::gateway::http::{etag, listing_etag, CarParams, Codec, Format, Target};
use carport_core::gateway::listing::{self, Origin};
use carport_core::gateway::redirects;
use carport_core::gateway::resolve::{NodeKind, ResolveError, Resolved, Resolver};
use carport_core::gateway::traverse::{car_header, Scope, Traversal, TraverseError};
use carport_core::unixfs::read::{ByteRange, FileReader};
use carport_core::Cid;
use futures_util::stream;
use worker::{Headers, Response, ResponseBody};

use crate::drive::{drive, Blocks, Halt, Held};
use crate::feed::{entity_car, Feed};
use crate::reply::text;
use crate::sources::{Misses, Missing, Sources, Unavailable};

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

impl From<Halt<ResolveError>> for Fail {
    fn from(h: Halt<ResolveError>) -> Self {
        match h {
            Halt::Source(u) => u.into(),
            Halt::Machine(e) => e.into(),
        }
    }
}

/// A file or CAR that cannot go on because its DAG is broken: the source's fault.
fn broken<E: std::fmt::Display>(h: Halt<E>) -> Fail {
    match h {
        Halt::Source(u) => u.into(),
        Halt::Machine(e) => Fail::Other(502, format!("502 bad gateway: {e}")),
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

/// Resolves a content path with blocks from `blocks`. Through a [`Feed`], blocks held locally
/// are used as they are, and the first missing one asks the upstreams for one CAR of the rest of
/// the path from there (the path's blocks, then the entity's).
async fn resolve<B: Blocks>(
    blocks: &mut B,
    root: Cid,
    segments: Vec<String>,
) -> Result<Resolved, Fail> {
    Ok(drive(&mut Resolver::new(root, segments), blocks).await?)
}

/// The worker's response of a head decided in core, with `body`. A header value the runtime
/// refuses is left out rather than failing the response.
pub fn respond(head: Head, body: ResponseBody) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &head.headers {
        let _ = headers.set(name, value);
    }
    Ok(Response::from_body(body)?.with_status(head.status).with_headers(headers))
}

/// The body of a response that has one in hand: none for a `HEAD` request.
fn body_of(cond: &Conditions, bytes: Vec<u8>) -> ResponseBody {
    if cond.head {
        ResponseBody::Empty
    } else {
        ResponseBody::Body(bytes)
    }
}

/// A body made a chunk at a time, after its head has gone out.
trait Chunks: 'static {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, Fail>;
}

/// Streams `first`, then the rest of `body`, with a fixed length when it is known. A chunk that
/// cannot be made ends the stream with an error (logged as the `what` aborted).
fn stream_body<C: Chunks>(
    body: C,
    first: Option<Vec<u8>>,
    len: Option<u64>,
    what: &'static str,
) -> ResponseBody {
    let s = stream::unfold((body, first, false), move |(mut body, first, failed)| async move {
        if let Some(d) = first {
            return Some((Ok(d), (body, None, false)));
        }
        if failed {
            return None;
        }
        match body.next().await {
            Ok(Some(d)) => Some((Ok(d), (body, None, false))),
            Ok(None) => None,
            Err(e) => {
                let msg = e.message();
                worker::console_error!("carport-edge: {what} aborted: {msg}");
                Some((Err(worker::Error::RustError(msg)), (body, None, true)))
            }
        }
    });
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

/// Reads a file's range, block by verified block; its root block is in hand already.
struct FileBody {
    reader: FileReader,
    blocks: Held<Feed>,
}

impl FileBody {
    /// Reads through `feed`, or (none given) a feed that asks for the file's entity CAR.
    fn new(
        src: Rc<Sources>,
        feed: Option<Feed>,
        file: &Resolved,
        range: Option<ByteRange>,
    ) -> Self {
        let eb = range.map(|r| format!("{}:{}", r.first, r.last));
        let feed = feed.unwrap_or_else(|| Feed::new(src, Some(entity_car(&file.cid, &[], eb))));
        FileBody {
            reader: FileReader::new(file.cid, range),
            blocks: Held::new(file.cid, file.block.clone(), feed),
        }
    }
}

impl Chunks for FileBody {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, Fail> {
        let data = drive(&mut self.reader, &mut self.blocks).await.map_err(broken)?;
        if data.is_none() {
            self.blocks.rest.finish().await;
        }
        Ok(data)
    }
}

/// Serves the bytes of a file (or raw block) with ranges, with `status` unless a range is asked
/// of a 200.
async fn serve_file(
    src: Rc<Sources>,
    feed: Option<Feed>,
    e: &Entity<'_>,
    file: &Resolved,
    status: u16,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let s = match head::slice(cond, file.kind.file_size().unwrap_or(0), status) {
        Ok(s) => s,
        Err(h) => return Ok(respond(h, ResponseBody::Empty)),
    };
    let mut body = FileBody::new(src, feed, file, s.range);
    let first = body.next().await?;
    let h = head::file(e, &s, first.as_deref().unwrap_or_default());
    if cond.head || s.is_empty() {
        return Ok(respond(h, ResponseBody::Empty));
    }
    match first {
        // Everything in the first block (a small file): a plain body, no stream machinery.
        Some(d) if d.len() as u64 == s.len() => {
            body.blocks.rest.finish().await;
            Ok(respond(h, ResponseBody::Body(d)))
        }
        first => Ok(respond(h, stream_body(body, first, Some(s.len()), "body"))),
    }
}

/// Serves a routed request.
pub async fn serve(src: Rc<Sources>, t: &Target, cond: &Conditions) -> worker::Result<Response> {
    let t0 = js_sys::Date::now();
    src.use_root(&t.content.root).await;
    if cond.only_if_cached && src.local(&t.content.root, &mut Misses::default()).await.is_none() {
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
    let (root, segments) = (t.content.root, t.content.segments.clone());
    let resolved = if t.format == Format::Default && cond.range.is_none() {
        let mut f = Feed::new(src.clone(), None);
        let r = resolve(&mut f, root, segments).await;
        feed = Some(f);
        r
    } else {
        resolve(&mut &*src, root, segments).await
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
        Format::Raw => Ok(serve_raw(t, &resolved, cond)),
        Format::Car(p) => serve_car(src, t, resolved, p, cond).await,
        Format::Codec(c) => serve_codec(src, t, resolved, c, cond).await,
        Format::Default => serve_default(src, feed, t, resolved, cond).await,
    }
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
        let e = Entity { target: t, roots: &r.roots, etag: etag(&r.cid, &Format::Codec(codec)) };
        if let Some(h) = e.not_modified(cond) {
            return Ok(respond(h, ResponseBody::Empty));
        }
        let h = head::block(&e, &r.cid, r.block.len(), Some(codec));
        return Ok(respond(h, body_of(cond, r.block)));
    }
    if codec == Codec::Json && r.kind.file_size().is_some() {
        return serve_default(src, None, t, r, cond).await;
    }
    Err(Fail::Other(406, format!("406 not acceptable: {} has codec 0x{:x}, not {}; this gateway does not convert between codecs (ask for ?format=raw and decode it yourself)", r.cid, r.cid.codec(), codec.name())))
}

/// A raw block, with ranges.
fn serve_raw(t: &Target, r: &Resolved, cond: &Conditions) -> worker::Result<Response> {
    let e = Entity { target: t, roots: &r.roots, etag: etag(&r.cid, &Format::Raw) };
    if let Some(h) = e.not_modified(cond) {
        return respond(h, ResponseBody::Empty);
    }
    let s = match head::slice(cond, r.block.len() as u64, 200) {
        Ok(s) => s,
        Err(h) => return respond(h, ResponseBody::Empty),
    };
    let bytes =
        s.range.map_or_else(Vec::new, |rg| r.block[rg.first as usize..=rg.last as usize].to_vec());
    respond(head::raw(&e, &s, &r.cid), body_of(cond, bytes))
}

/// A CAR's bytes: header, then each block as the traversal reaches it.
struct CarBody {
    header: Option<Vec<u8>>,
    trav: Traversal,
    feed: Feed,
}

impl Chunks for CarBody {
    async fn next(&mut self) -> Result<Option<Vec<u8>>, Fail> {
        if let Some(h) = self.header.take() {
            return Ok(Some(h));
        }
        match drive(&mut self.trav, &mut self.feed).await.map_err(broken)? {
            Some((cid, data)) => {
                let mut out = Vec::with_capacity(data.len() + 48);
                carport_core::car::section(&mut out, &cid, &data);
                Ok(Some(out))
            }
            None => {
                self.feed.finish().await;
                Ok(None)
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
    p: CarParams,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let (cid, roots) = (r.cid, r.roots.clone());
    let e = Entity { target: t, roots: &roots, etag: etag(&cid, &Format::Car(p)) };
    if let Some(h) = e.not_modified(cond) {
        return Ok(respond(h, ResponseBody::Empty));
    }
    if cond.head {
        return Ok(respond(head::car(&e, &cid, p.dups, CarLength::Unmade), ResponseBody::Empty));
    }
    let car_req = match (&r.kind, p.scope) {
        (NodeKind::File { .. }, Scope::Entity | Scope::All) => {
            Some(entity_car(&cid, &[], p.bytes.map(|b| b.to_param())))
        }
        _ => None,
    };
    let limit = src.car_buffer;
    let mut body = CarBody {
        header: Some(car_header(&[t.content.root])),
        trav: Traversal::new(r, p.scope, p.bytes, p.dups),
        feed: Feed::new(src, car_req),
    };
    let mut held = Vec::new();
    while held.len() <= limit {
        match body.next().await? {
            Some(d) => held.extend(d),
            None => {
                let h = head::car(&e, &cid, p.dups, CarLength::Whole(held.len() as u64));
                return Ok(respond(h, ResponseBody::Body(held)));
            }
        }
    }
    let h = head::car(&e, &cid, p.dups, CarLength::Streamed);
    Ok(respond(h, stream_body(body, Some(held), None, "CAR")))
}

async fn serve_default(
    src: Rc<Sources>,
    feed: Option<Feed>,
    t: &Target,
    r: Resolved,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let e = Entity { target: t, roots: &r.roots, etag: etag(&r.cid, &Format::Default) };
    match &r.kind {
        NodeKind::File { .. } | NodeKind::Raw { .. } => {
            if let Some(h) = e.not_modified(cond) {
                return Ok(respond(h, ResponseBody::Empty));
            }
            serve_file(src, feed, &e, &r, 200, cond).await
        }
        NodeKind::Dir | NodeKind::HamtDir => {
            if let Some(h) = head::folder_redirect(t) {
                return Ok(respond(h, ResponseBody::Empty));
            }
            // index.html, looked up in this folder (plain or HAMT).
            let mut idx = Resolver::new(r.cid, vec!["index.html".into()]);
            let index = drive(&mut idx, &mut Held::new(r.cid, r.block.clone(), &*src)).await;
            match index {
                Ok(index) if index.kind.file_size().is_some() => {
                    if let Some(h) = e.not_modified(cond) {
                        return Ok(respond(h, ResponseBody::Empty));
                    }
                    let mut t2 = t.clone();
                    t2.filename = None;
                    t2.content.segments.push("index.html".into());
                    let e2 = Entity { target: &t2, ..e };
                    serve_file(src, None, &e2, &index, 200, cond).await
                }
                Ok(_) | Err(Halt::Machine(ResolveError::NotFound { .. })) => {
                    listing(src, t, r, cond).await
                }
                Err(h) => Err(h.into()),
            }
        }
        NodeKind::Symlink { target } => {
            Ok(respond(head::symlink(&e), body_of(cond, target.clone().into_bytes())))
        }
        NodeKind::DagCbor | NodeKind::Other { .. } => {
            let h = head::block(&e, &r.cid, r.block.len(), Codec::of(r.cid.codec()));
            Ok(respond(h, body_of(cond, r.block.clone())))
        }
    }
}

/// A folder's generated listing; of a HAMT folder, only as many shards as the listing shows.
async fn listing(
    src: Rc<Sources>,
    t: &Target,
    r: Resolved,
    cond: &Conditions,
) -> Result<worker::Result<Response>, Fail> {
    let roots = r.roots.clone();
    let e = Entity { target: t, roots: &roots, etag: listing_etag(&r.cid) };
    if let Some(h) = e.not_modified(cond) {
        return Ok(respond(h, ResponseBody::Empty));
    }
    let dir = r.cid;
    let blocks = if r.kind == NodeKind::HamtDir {
        let mut trav =
            Traversal::new(Resolved { path_blocks: Vec::new(), ..r }, Scope::Entity, None, false);
        let mut out = Vec::new();
        // Links seen so far, shard links included: past the listing's limit, no more shards.
        let mut links = 0;
        let halted = |h: Halt<TraverseError>| match h {
            Halt::Source(u) => Fail::from(u),
            Halt::Machine(e) => Fail::Other(502, e.to_string()),
        };
        while let Some((cid, data)) = drive(&mut trav, &mut &*src).await.map_err(halted)? {
            links += carport_core::codec::dagpb::PbNode::decode(&data).map_or(0, |n| n.links.len());
            out.push(Block { cid, data });
            if links > listing::MAX_LISTING_ENTRIES * 2 {
                break;
            }
        }
        out
    } else {
        vec![Block { cid: r.cid, data: r.block }]
    };
    let entries = listing::entries(&blocks)?;
    let html = listing::render(&t.content.root, &t.content.segments, &dir, &t.origin, &entries);
    Ok(respond(head::listing(&e), body_of(cond, html.into_bytes())))
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
    let file = match resolve(&mut &*src, t.content.root, vec!["_redirects".into()]).await {
        Ok(f) if f.kind.file_size().is_some() => f,
        Ok(_) | Err(Fail::Resolve(ResolveError::NotFound { .. })) => return not_found(),
        Err(e) => return Err(e),
    };
    let size = file.kind.file_size().unwrap_or(0);
    let rules = if size as usize > redirects::MAX_SIZE {
        Err(redirects::RedirectsError::TooLarge)
    } else {
        let whole = (size > 0).then(|| ByteRange { first: 0, last: size - 1 });
        let mut body = FileBody::new(src.clone(), None, &file, whole);
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
        return Ok(respond(head::redirect(target.status, &target.to, t), ResponseBody::Empty));
    }
    let to_path = target.to.split('?').next().unwrap_or("");
    let (segments, _) =
        carport_core::gateway::path::split_path(to_path).map_err(|e| Fail::Other(500, e))?;
    let f = match resolve(&mut &*src, t.content.root, segments.clone()).await {
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
    let mut t2 = t.clone();
    t2.content.segments = segments;
    t2.filename = None;
    let e = Entity { target: &t2, roots: &f.roots, etag: etag(&f.cid, &Format::Default) };
    serve_file(src, None, &e, &f, target.status, cond).await
}
