//! Where blocks come from, in order: the isolate's memory, the carport store (R2: a block is found
//! through the stored CARs of the request's root, or else by its own multihash in the block index,
//! and read with one ranged get), the Cache API, then the upstream trustless gateways, asked in
//! parallel with a timeout, the fastest valid answer winning. Every block is checked against its
//! CID (`digest::check`: core's `verify_block`, or the runtime's native SHA-256 for large blocks)
//! before it is used; a block that does not match is dropped and the next source is tried.
//! Verified blocks are cached: folder and file nodes in the isolate's memory
//! (`carport_core::gateway::memory`), every block in the Cache API.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use carport_core::car::{CarReader, Event};
use carport_core::codec::cids::inline_block;
use carport_core::gateway::memory::BlockMemory;
use carport_core::gateway::store::{read_v2_header, section_block, CarIndex, V2_PREFIX_LEN};
use carport_core::gateway::MAX_BLOCK_SIZE;

use crate::block_index::{self, Place};
use crate::body::BodyReader;
use crate::digest;
use crate::retrieval::Provider;
use carport_core::Cid;
use futures_util::future::{select, Either};
use futures_util::stream::{FuturesUnordered, StreamExt};
use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use worker::{AbortController, Bucket, Cache, Context, Delay, ObjectNamespace, Range, Response};

/// No source had a valid copy of a block.
#[derive(Debug, Clone)]
pub struct Unavailable {
    pub cid: Cid,
    pub reasons: Vec<String>,
    pub why: Missing,
}

/// Why a block could not be had, worst first: it decides the status (502, 504, 404).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Missing {
    /// A source answered with bytes that are not the block, or failed in a way that is not "I do
    /// not have it".
    Invalid,
    /// The request used up its block budget (`REQUEST_BLOCK_BUDGET`): a DAG that links the same
    /// blocks over and over cannot make one request run without end.
    Budget,
    /// A source did not answer in time.
    Timeout,
    /// No source has it: the store does not, every upstream said so or could not be reached.
    NotFound,
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no source returned a valid copy of block {}", self.cid)?;
        if !self.reasons.is_empty() {
            write!(f, " ({})", self.reasons.join("; "))?;
        }
        Ok(())
    }
}

/// What the sources asked so far could not give, and the worst reason why.
#[derive(Debug)]
pub struct Misses {
    pub reasons: Vec<String>,
    pub why: Missing,
}

impl Default for Misses {
    fn default() -> Self {
        Misses { reasons: Vec::new(), why: Missing::NotFound }
    }
}

// Per-isolate memory: CARv2 indexes of stored CARs (small, immutable once written); which roots
// are stored, and where (a miss is re-checked after a minute: the upload door may store the root
// later); verified folder and file nodes.
thread_local! {
    static INDEXES: RefCell<HashMap<String, Rc<CarIndex>>> = RefCell::new(HashMap::new());
    static ROOTS: RefCell<HashMap<Cid, (Option<String>, f64)>> = RefCell::new(HashMap::new());
    static MEMORY: RefCell<BlockMemory> = RefCell::new(BlockMemory::new(0));
}

/// One line of a `roots/{cid}` object: the CAR's object name, and the object holding its CARv2
/// header and index when that is not the CAR itself (the upload door keeps shards as uploaded
/// and their indexes beside them).
fn stored_objects(line: &str) -> Option<(String, String)> {
    let mut parts = line.split_whitespace();
    let data = parts.next()?.to_string();
    let index = parts.next().map_or_else(|| data.clone(), str::to_string);
    Some((data, index))
}

const ROOT_MISS_TTL_MS: f64 = 60_000.0;

/// Default of `CAR_BUFFER_BYTES`: well under a Worker's 128 MB, over most single entities.
pub const DEFAULT_CAR_BUFFER: usize = 16 << 20;

/// Default of `REQUEST_BLOCK_BUDGET`: 64 GiB of 1 MiB leaves, or a site of a million blocks.
pub const DEFAULT_BLOCK_BUDGET: u64 = 1 << 20;

/// A stored CAR: its object name and index.
type StoredCar = (String, Rc<CarIndex>);

pub struct Sources {
    pub upstreams: Vec<String>,
    pub timeout: Duration,
    pub cache_blocks: bool,
    pub store: Option<Bucket>,
    /// The block index (Durable Objects), when the worker has one bound.
    pub index: Option<ObjectNamespace>,
    pub ctx: Rc<Context>,
    /// Bytes of a CAR response made whole before its headers are sent (see `serve::serve_car`).
    pub car_buffer: usize,
    /// Blocks this request may still read (identity blocks are free).
    blocks_left: std::cell::Cell<u64>,
    /// The stored CARs holding the request's root (an upload's shards), once looked up, and the
    /// shards whose indexes the request loaded since.
    stored: RefCell<Option<Vec<StoredCar>>>,
    /// Blocks this request found through the block index, per shard: from the second on, the
    /// shard's own index is loaded so its other blocks need no lookup.
    index_hits: RefCell<HashMap<String, u32>>,
    /// The storage provider's copies of archived shards, when the archivist is bound.
    provider: Option<Provider>,
}

/// The index of a stored CAR, from the object that holds its CARv2 header and index.
pub async fn load_index(b: &Bucket, name: &str) -> worker::Result<Option<Rc<CarIndex>>> {
    if let Some(ix) = INDEXES.with(|m| m.borrow().get(name).cloned()) {
        return Ok(Some(ix));
    }
    let Some(head) =
        b.get(name).range(Range::Prefix { length: V2_PREFIX_LEN as u64 }).execute().await?
    else {
        return Ok(None);
    };
    let prefix = head.body().map(|x| x.bytes());
    let prefix = match prefix {
        Some(f) => f.await?,
        None => return Ok(None),
    };
    let Ok(h) = read_v2_header(&prefix) else { return Ok(None) };
    let Some(ixo) =
        b.get(name).range(Range::OffsetToEnd { offset: h.index_offset }).execute().await?
    else {
        return Ok(None);
    };
    let bytes = match ixo.body() {
        Some(body) => body.bytes().await?,
        None => return Ok(None),
    };
    let Ok(ix) = CarIndex::new(&h, &bytes) else { return Ok(None) };
    let ix = Rc::new(ix);
    INDEXES.with(|m| m.borrow_mut().insert(name.to_string(), ix.clone()));
    Ok(Some(ix))
}

fn cache_key(cid: &Cid) -> String {
    format!("https://blocks.carport.invalid/{cid}")
}

async fn with_timeout<T>(t: Duration, fut: impl std::future::Future<Output = T>) -> Option<T> {
    let fut = std::pin::pin!(fut);
    match select(fut, Delay::from(t)).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

impl Sources {
    pub fn new(
        upstreams: Vec<String>,
        timeout: Duration,
        cache_blocks: bool,
        memory_blocks: usize,
        store: Option<Bucket>,
        index: Option<ObjectNamespace>,
        ctx: Rc<Context>,
    ) -> Self {
        MEMORY.with(|m| m.borrow_mut().set_budget(memory_blocks));
        Sources {
            upstreams,
            timeout,
            cache_blocks,
            store,
            index,
            ctx,
            car_buffer: DEFAULT_CAR_BUFFER,
            blocks_left: std::cell::Cell::new(DEFAULT_BLOCK_BUDGET),
            stored: RefCell::new(None),
            index_hits: RefCell::new(HashMap::new()),
            provider: None,
        }
    }

    /// Reads evicted shards back from the storage provider (`only`: nothing else is asked, for
    /// the `/retrieve/` path).
    pub fn with_provider(mut self, provider: Provider) -> Self {
        if provider.only {
            self.upstreams.clear();
            self.cache_blocks = false;
        }
        self.provider = Some(provider);
        self
    }

    /// Sets how many blocks one request may read.
    pub fn with_block_budget(self, blocks: u64) -> Self {
        self.blocks_left.set(blocks);
        self
    }

    /// Takes one block from the request's budget, or says it is spent.
    pub fn spend(&self, cid: &Cid) -> Result<(), Unavailable> {
        if inline_block(cid).is_some() {
            return Ok(());
        }
        match self.blocks_left.get() {
            0 => Err(Unavailable { cid: *cid, reasons: vec!["the response needs more blocks than one request may read (REQUEST_BLOCK_BUDGET)".into()], why: Missing::Budget }),
            n => {
                self.blocks_left.set(n - 1);
                Ok(())
            }
        }
    }

    /// Sets how much of a CAR response is made whole before its headers go out.
    pub fn with_car_buffer(mut self, bytes: usize) -> Self {
        self.car_buffer = bytes;
        self
    }

    /// Looks up whether the store holds CARs for `root` (R2 object `roots/{root}` lists them,
    /// one per line).
    pub async fn use_root(&self, root: &Cid) {
        if self.stored.borrow().is_some() {
            return;
        }
        let mut found = Vec::new();
        if let Some(b) = &self.store {
            if let Ok(Some(listing)) = self.root_listing(b, root).await {
                for (data, index) in listing.lines().filter_map(stored_objects) {
                    if let Ok(Some(ix)) = load_index(b, &index).await {
                        found.push((data, ix));
                    }
                }
            }
        }
        *self.stored.borrow_mut() = Some(found);
    }

    async fn root_listing(&self, b: &Bucket, root: &Cid) -> worker::Result<Option<String>> {
        let now = js_sys::Date::now();
        let known = ROOTS.with(|m| m.borrow().get(root).cloned());
        match known {
            Some((Some(listing), _)) => Ok(Some(listing)),
            Some((None, at)) if now - at < ROOT_MISS_TTL_MS => Ok(None),
            _ => {
                let found = match b.get(format!("roots/{root}")).execute().await? {
                    Some(obj) => match obj.body() {
                        Some(body) => Some(body.text().await?.trim().to_string()),
                        None => None,
                    },
                    None => None,
                };
                ROOTS.with(|m| m.borrow_mut().insert(*root, (found.clone(), now)));
                Ok(found)
            }
        }
    }

    /// Where the store holds `cid`: in a CAR this request has the index of, or else by the block
    /// index.
    async fn place(
        &self,
        b: &Bucket,
        cid: &Cid,
    ) -> Result<Option<(String, std::ops::Range<u64>)>, String> {
        let known = self
            .stored
            .borrow()
            .iter()
            .flatten()
            .find_map(|(name, ix)| ix.locate(cid).map(|r| (name.clone(), r)));
        if known.is_some() {
            return Ok(known);
        }
        let Some(ns) = &self.index else { return Ok(None) };
        let Some(Place { shard, start, end }) = block_index::find(ns, cid).await? else {
            return Ok(None);
        };
        let hits = {
            let mut h = self.index_hits.borrow_mut();
            let n = h.entry(shard.clone()).or_insert(0);
            *n += 1;
            *n
        };
        if hits == 2 {
            if let Ok(Some(ix)) = load_index(b, &format!("{shard}.idx")).await {
                self.stored.borrow_mut().get_or_insert_with(Vec::new).push((shard.clone(), ix));
            }
        }
        Ok(Some((shard, start..end)))
    }

    /// A block from the store, verified, or else (its shard evicted, or this request asking
    /// only the provider) from the provider's copy; a failure goes into `misses`.
    async fn stored_copy(&self, cid: &Cid, misses: &mut Misses) -> Option<Vec<u8>> {
        let b = self.store.as_ref()?;
        let (name, range) = match self.place(b, cid).await {
            Ok(found) => found?,
            Err(e) => {
                misses.reasons.push(e);
                return None;
            }
        };
        if !self.provider_only() {
            match self.store_read(b, cid, &name, &range).await {
                Ok(Some(data)) => return Some(data),
                Ok(None) => {}
                Err(e) => {
                    misses.reasons.push(e);
                    return None;
                }
            }
        }
        let provider = self.provider.as_ref()?;
        match provider.block(&self.ctx, &name, cid, range).await {
            Ok(found) => found,
            Err(e) => {
                misses.reasons.push(e);
                misses.why = misses.why.min(Missing::Invalid);
                None
            }
        }
    }

    /// The block at `range` of stored object `name`, verified; `None` when the object is gone
    /// (its bytes were evicted to the provider).
    async fn store_read(
        &self,
        b: &Bucket,
        cid: &Cid,
        name: &str,
        range: &std::ops::Range<u64>,
    ) -> Result<Option<Vec<u8>>, String> {
        let obj = b
            .get(name)
            .range(Range::OffsetWithLength { offset: range.start, length: range.end - range.start })
            .execute()
            .await
            .map_err(|e| format!("store: {e}"))?;
        let Some(body) = obj.as_ref().and_then(|o| o.body()) else { return Ok(None) };
        let section = body.bytes().await.map_err(|e| format!("store: {e}"))?;
        let data = section_block(cid, &section).map_err(|e| format!("store: {e}"))?;
        digest::check(cid, &data).await.map_err(|e| format!("store: {e}"))?;
        Ok(Some(data))
    }

    fn provider_only(&self) -> bool {
        self.provider.as_ref().is_some_and(|p| p.only)
    }

    async fn cached_copy(&self, cid: &Cid) -> Option<Vec<u8>> {
        if !self.cache_blocks {
            return None;
        }
        let mut resp = Cache::default().get(cache_key(cid), true).await.ok()??;
        let data = resp.bytes().await.ok()?;
        // Cached blocks were verified before they were put; check again all the same (cheap
        // against a network fetch), so a damaged cache cannot serve a wrong byte.
        digest::check(cid, &data).await.ok()?;
        Some(data)
    }

    /// Keeps a verified block: a folder or file node in memory, and any block in the Cache API
    /// (after the response if need be).
    pub fn remember(&self, cid: &Cid, data: &[u8]) {
        MEMORY.with(|m| m.borrow_mut().keep(cid, data));
        if !self.cache_blocks || inline_block(cid).is_some() {
            return;
        }
        let key = cache_key(cid);
        let Ok(mut resp) = Response::from_bytes(data.to_vec()) else { return };
        let _ = resp.headers_mut().set("Cache-Control", "public, max-age=31536000, immutable");
        self.ctx.wait_until(async move {
            let _ = Cache::default().put(key, resp).await;
        });
    }

    /// The local copy of a block (memory, store, the provider's copy of an evicted shard, or
    /// the cache), verified, if there is one; asking only the provider, just that.
    pub async fn local(&self, cid: &Cid, misses: &mut Misses) -> Option<Vec<u8>> {
        if self.provider_only() {
            return match inline_block(cid) {
                Some(b) => Some(b),
                None => self.stored_copy(cid, misses).await,
            };
        }
        if let Some(b) = inline_block(cid).or_else(|| MEMORY.with(|m| m.borrow_mut().get(cid))) {
            return Some(b);
        }
        let found = match self.stored_copy(cid, misses).await {
            Some(b) => Some(b),
            None => self.cached_copy(cid).await,
        };
        if let Some(b) = &found {
            MEMORY.with(|m| m.borrow_mut().keep(cid, b));
        }
        found
    }

    /// A block from wherever it can be had, verified.
    pub async fn block(&self, cid: &Cid) -> Result<Vec<u8>, Unavailable> {
        self.spend(cid)?;
        let mut misses = Misses::default();
        if let Some(b) = self.local(cid, &mut misses).await {
            return Ok(b);
        }
        self.ask_upstreams(cid, misses).await
    }

    /// Asks every upstream for the raw block at once; the first that verifies wins.
    pub async fn ask_upstreams(&self, cid: &Cid, misses: Misses) -> Result<Vec<u8>, Unavailable> {
        let Misses { mut reasons, mut why } = misses;
        let mut pending: FuturesUnordered<_> =
            self.upstreams.iter().map(|u| self.raw_from(u, cid)).collect();
        while let Some(r) = pending.next().await {
            match r {
                Ok(data) => {
                    self.remember(cid, &data);
                    return Ok(data);
                }
                Err((w, reason)) => {
                    why = why.min(w);
                    reasons.push(reason);
                }
            }
        }
        if self.provider_only() {
            reasons.push("only the storage provider was asked".into());
        } else if self.upstreams.is_empty() {
            reasons.push("no upstream gateways configured".into());
        }
        Err(Unavailable { cid: *cid, reasons, why })
    }

    async fn raw_from(&self, upstream: &str, cid: &Cid) -> Result<Vec<u8>, (Missing, String)> {
        let url = format!("{upstream}/ipfs/{cid}?format=raw");
        let ctl = AbortController::default();
        let signal = ctl.signal();
        let fut = async {
            // An upstream that cannot be reached does not have the block for us.
            let mut resp = fetch(&url, "application/vnd.ipld.raw", &signal)
                .await
                .map_err(|e| (Missing::NotFound, format!("{upstream}: {e}")))?;
            match resp.status_code() {
                200 => {}
                404 | 410 => return Err((Missing::NotFound, format!("{upstream}: not found"))),
                504 => return Err((Missing::Timeout, format!("{upstream}: HTTP 504"))),
                s => return Err((Missing::Invalid, format!("{upstream}: HTTP {s}"))),
            }
            let announced = resp
                .headers()
                .get("Content-Length")
                .ok()
                .flatten()
                .and_then(|v| v.parse::<usize>().ok());
            if announced.is_some_and(|n| n > MAX_BLOCK_SIZE) {
                return Err((
                    Missing::Invalid,
                    format!(
                        "{upstream}: a block of {} bytes, over the {MAX_BLOCK_SIZE}-byte limit",
                        announced.unwrap_or(0)
                    ),
                ));
            }
            let data =
                resp.bytes().await.map_err(|e| (Missing::Invalid, format!("{upstream}: {e}")))?;
            if data.len() > MAX_BLOCK_SIZE {
                return Err((
                    Missing::Invalid,
                    format!(
                        "{upstream}: a block of {} bytes, over the {MAX_BLOCK_SIZE}-byte limit",
                        data.len()
                    ),
                ));
            }
            digest::check(cid, &data)
                .await
                .map_err(|e| (Missing::Invalid, format!("{upstream}: {e}")))?;
            Ok(data)
        };
        match with_timeout(self.timeout, fut).await {
            Some(r) => r,
            None => {
                ctl.abort();
                Err((
                    Missing::Timeout,
                    format!("{upstream}: timed out after {} ms", self.timeout.as_millis()),
                ))
            }
        }
    }

    /// Opens a CAR request (`?format=car&dag-scope=entity` of a CID or a path) on every upstream
    /// at once and keeps the first that answers 200; its blocks are checked one by one as read.
    /// `url_tail` is the path and query of the request (`/ipfs/{cid}[/path]?format=car&...`).
    pub async fn open_car(&self, url_tail: &str) -> Option<CarStream> {
        let mut pending: FuturesUnordered<_> = self
            .upstreams
            .iter()
            .map(|u| {
                let url = format!("{u}{url_tail}");
                let u = u.clone();
                async move {
                    let ctl = AbortController::default();
                    let signal = ctl.signal();
                    let r = fetch(
                        &url,
                        "application/vnd.ipld.car; version=1; order=dfs; dups=n",
                        &signal,
                    )
                    .await;
                    match r {
                        Ok(resp) if resp.status_code() == 200 => {
                            BodyReader::new(&resp).map(|s| (u, s, ctl))
                        }
                        _ => None,
                    }
                }
            })
            .collect();
        let first = with_timeout(self.timeout, async {
            while let Some(r) = pending.next().await {
                if r.is_some() {
                    return r;
                }
            }
            None
        })
        .await
        .flatten();
        let (upstream, body, ctl) = first?;
        Some(CarStream {
            upstream,
            body,
            ctl: Some(ctl),
            reader: CarReader::with_max_section(MAX_SECTION_FROM_UPSTREAM),
            stash: HashMap::new(),
            stash_bytes: 0,
            dead: false,
            timeout: self.timeout,
        })
    }
}

/// A GET with one `Accept` header through the global `fetch`, given the URL and a plain init:
/// no `Request` or `Headers` object is made here for the runtime to copy into its own (the
/// Workers SDK's `Fetch` makes both), which a small verified file felt.
async fn fetch(url: &str, accept: &str, signal: &worker::AbortSignal) -> worker::Result<Response> {
    let headers = js_sys::Object::new();
    js_sys::Reflect::set(&headers, &"accept".into(), &accept.into())?;
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp =
        wasm_bindgen_futures::JsFuture::from(global.fetch_with_str_and_init(url, &init)).await?;
    Ok(Response::from(resp.dyn_into::<web_sys::Response>()?))
}

/// Longest section read from an upstream's CAR: a block at the size limit and its CID.
const MAX_SECTION_FROM_UPSTREAM: u64 = MAX_BLOCK_SIZE as u64 + 128;
/// Largest number of bytes of out-of-order blocks kept from a CAR stream.
const STASH_LIMIT: usize = 32 << 20;
/// At the end of a response, read on to the end of the CAR if it comes within this many bytes
/// of blocks and this long.
const FINISH_LIMIT: usize = 256 << 10;
const FINISH_WAIT: Duration = Duration::from_millis(50);

/// An upstream CAR being read: blocks come out in its order and are verified as they come.
pub struct CarStream {
    pub upstream: String,
    body: BodyReader,
    ctl: Option<AbortController>,
    reader: CarReader,
    stash: HashMap<Cid, Vec<u8>>,
    stash_bytes: usize,
    /// Set once the stream lied, broke or ended: it is not read again.
    pub dead: bool,
    timeout: Duration,
}

impl Drop for CarStream {
    /// A response that needed no more of the stream lets the upstream go at once.
    fn drop(&mut self) {
        if let Some(c) = self.ctl.take() {
            // With a reason of our own: the default AbortError is an exception whose stack
            // trace, taken through the Wasm frames, costs more than the rest of a small request.
            c.abort_with_reason(NO_MORE_WANTED);
        }
    }
}

const NO_MORE_WANTED: &str = "carport: the response needs no more of this CAR";

impl CarStream {
    /// The stream came to its end: nothing to let go of.
    fn ended(&mut self) {
        self.dead = true;
        self.ctl = None;
    }

    fn kill(&mut self) {
        self.dead = true;
        if let Some(c) = self.ctl.take() {
            c.abort_with_reason(NO_MORE_WANTED);
        }
    }

    /// Called once the response needs no more of the stream: reads it to its end when little is
    /// left (the end usually came with the last block wanted), so the upstream's connection
    /// serves the next request instead of being torn down; otherwise lets the upstream go.
    pub async fn finish(&mut self) {
        let mut left = FINISH_LIMIT;
        let mut stall = std::pin::pin!(Delay::from(FINISH_WAIT));
        while !self.dead {
            match self.reader.next_event() {
                Ok(Some(Event::End)) => return self.ended(),
                Ok(Some(Event::Block { data, .. })) if data.len() <= left => left -= data.len(),
                Ok(Some(Event::Header { .. })) => {}
                Ok(None) => match self.read(stall.as_mut()).await {
                    Some(Some(Ok(piece))) => self.feed(piece),
                    Some(None) => self.reader.close(),
                    _ => break,
                },
                _ => break,
            }
        }
        self.kill();
    }

    /// The next piece of the body, or `None` when `stall` fires first.
    async fn read(
        &mut self,
        stall: std::pin::Pin<&mut Delay>,
    ) -> Option<Option<Result<Uint8Array, String>>> {
        match select(std::pin::pin!(self.body.next()), stall).await {
            Either::Left((piece, _)) => Some(piece),
            Either::Right(_) => None,
        }
    }

    /// Parses a piece of the body: copied once, from JavaScript into the CAR reader's buffer.
    fn feed(&mut self, piece: Uint8Array) {
        self.reader.push_with(piece.length() as usize, |dst| piece.copy_to(dst));
        self.body.give_back(piece);
    }

    /// `want`'s block if the stream has it (read ahead up to it), verified; `Err` says why the
    /// stream was given up.
    pub async fn take(&mut self, want: &Cid) -> Result<Option<Vec<u8>>, String> {
        if let Some(b) = self.stash.remove(want) {
            self.stash_bytes -= b.len();
            return Ok(Some(b));
        }
        if self.dead {
            return Ok(None);
        }
        // One stall timer per block wanted, not per chunk read (chunks are small and many).
        let mut stall = std::pin::pin!(Delay::from(self.timeout));
        loop {
            match self.reader.next_event() {
                Ok(Some(Event::Block { cid, data, .. })) => {
                    if data.len() > MAX_BLOCK_SIZE {
                        self.kill();
                        return Err(format!(
                            "{}: block {cid} of {} bytes, over the {MAX_BLOCK_SIZE}-byte limit",
                            self.upstream,
                            data.len()
                        ));
                    }
                    if let Err(e) = digest::check(&cid, &data).await {
                        self.kill();
                        return Err(format!("{}: {e}", self.upstream));
                    }
                    if &cid == want {
                        return Ok(Some(data));
                    }
                    self.stash_bytes += data.len();
                    self.stash.insert(cid, data);
                    if self.stash_bytes > STASH_LIMIT {
                        self.kill();
                        return Err(format!(
                            "{}: CAR order does not follow the DAG",
                            self.upstream
                        ));
                    }
                }
                Ok(Some(Event::Header { .. })) => {}
                Ok(Some(Event::End)) => {
                    self.ended();
                    return Ok(None);
                }
                Ok(None) => match self.read(stall.as_mut()).await {
                    Some(Some(Ok(piece))) => self.feed(piece),
                    Some(None) => self.reader.close(),
                    Some(Some(Err(e))) => {
                        self.kill();
                        return Err(format!("{}: CAR stream broke: {e}", self.upstream));
                    }
                    None => {
                        self.kill();
                        return Err(format!("{}: CAR stream stalled", self.upstream));
                    }
                },
                Err(e) => {
                    self.kill();
                    return Err(format!("{}: {e}", self.upstream));
                }
            }
        }
    }
}
