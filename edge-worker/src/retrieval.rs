//! Reading archived shards back from the storage provider: a block with one ranged read of the
//! provider's piece, a retrieval check of a shard, and bringing an evicted shard back to the
//! store. Where the bytes sit and what counts as whole is `carport_core::archive::retrieval`;
//! this module only asks and hashes (every block against its CID, a restored shard against its
//! CAR CID through R2's own SHA-256 check).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ops::Range;
use std::rc::Rc;
use std::time::Duration;

use carport_core::archive::entry::ShardEntry;
use carport_core::archive::retrieval::{
    range_header, read_section, sample, CheckResult, ProviderCopy,
};
use carport_core::gateway::store::CarIndex;
use carport_core::gateway::MAX_BLOCK_SIZE;
use carport_core::Cid;
use futures_util::future::{select, Either};
use wasm_bindgen::JsCast;
use worker::{
    AbortController, Bucket, Context, Delay, FixedLengthStream, ObjectNamespace, Response,
};

use crate::archivist_client::ArchivistClient;
use crate::digest;
use crate::sources::load_index;
use crate::tokens::random_bytes;

/// How long the gateway trusts "this shard has no provider copy" before asking again: a deal
/// completes, or a shard is evicted, while an isolate lives.
const NO_COPY_TTL_MS: f64 = 60_000.0;

thread_local! {
    /// Provider copies by store key, as the archivist gave them: a copy never moves once its
    /// deal is complete, so a found one is kept for the isolate's life.
    static COPIES: RefCell<HashMap<String, (Option<ProviderCopy>, f64)>> =
        RefCell::new(HashMap::new());
}

/// The gateway's block source after the store: the provider's copy of an archived shard.
pub struct Provider {
    /// The archivist, which knows each shard's copy.
    pub archivist: ObjectNamespace,
    /// How long one read may take.
    pub timeout: Duration,
    /// Whether the request asks only the provider (`/retrieve/`).
    pub only: bool,
}

impl Provider {
    /// Block `cid` at `section` of the shard stored as `key`, from the provider's copy:
    /// `Ok(None)` when the shard has none. A wrong or missing answer is logged and reported to
    /// the archivist, whose retrieval checks record it, and is an `Err` for the caller to go on.
    pub async fn block(
        &self,
        ctx: &Context,
        key: &str,
        cid: &Cid,
        section: Range<u64>,
    ) -> Result<Option<Vec<u8>>, String> {
        let Some(copy) = self.copy(key).await else { return Ok(None) };
        match block(&copy, cid, section, self.timeout).await {
            Ok(data) => Ok(Some(data)),
            Err(e) => {
                let note = format!("the gateway's read of {cid}: {e}");
                worker::console_error!("provider copy of {key}: {note}");
                let archivist = ArchivistClient::from_namespace(&self.archivist);
                let key = key.to_string();
                ctx.wait_until(async move {
                    if let Ok(a) = archivist {
                        let _ = a.retrieval_failed(&key, &note).await;
                    }
                });
                Err(format!("provider: {e}"))
            }
        }
    }

    async fn copy(&self, key: &str) -> Option<ProviderCopy> {
        let now = js_sys::Date::now();
        match COPIES.with(|c| c.borrow().get(key).cloned()) {
            Some((Some(copy), _)) => return Some(copy),
            Some((None, at)) if now - at < NO_COPY_TTL_MS => return None,
            _ => {}
        }
        let found = ArchivistClient::from_namespace(&self.archivist).ok()?.copy(key).await.ok()?;
        COPIES.with(|c| c.borrow_mut().insert(key.to_string(), (found.clone(), now)));
        found
    }
}

/// Longest section read for one block: a block at the size limit and its CID.
const MAX_SECTION: u64 = MAX_BLOCK_SIZE as u64 + 128;

/// A GET of `url` with a `Range` header, through the global `fetch` (see `sources::fetch`).
async fn get(
    url: &str,
    range: Option<&Range<u64>>,
    signal: &worker::AbortSignal,
) -> worker::Result<Response> {
    let headers = js_sys::Object::new();
    if let Some(r) = range {
        js_sys::Reflect::set(&headers, &"range".into(), &range_header(r).into())?;
    }
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    init.set_signal(Some(signal));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let resp =
        wasm_bindgen_futures::JsFuture::from(global.fetch_with_str_and_init(url, &init)).await?;
    Ok(Response::from(resp.dyn_into::<web_sys::Response>()?))
}

/// Bytes `range` of the shard from the provider's copy, exactly: a provider that ignores the
/// range, or sends more or fewer bytes, is refused.
pub async fn read(
    copy: &ProviderCopy,
    range: Range<u64>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let want = copy.range(range).map_err(|e| e.to_string())?;
    let url = copy.piece_url();
    let ctl = AbortController::default();
    let signal = ctl.signal();
    let fut = async move {
        let mut resp = get(&url, Some(&want), &signal).await.map_err(|e| format!("{url}: {e}"))?;
        if resp.status_code() != 206 {
            return Err(format!("{url}: HTTP {} to a range request", resp.status_code()));
        }
        let bytes = resp.bytes().await.map_err(|e| format!("{url}: {e}"))?;
        let len = want.end - want.start;
        if bytes.len() as u64 != len {
            return Err(format!("{url}: {} bytes for a range of {len}", bytes.len()));
        }
        Ok(bytes)
    };
    match select(std::pin::pin!(fut), Delay::from(timeout)).await {
        Either::Left((r, _)) => r,
        Either::Right(_) => {
            ctl.abort();
            Err(format!("{}: no answer in {} ms", copy.piece_url(), timeout.as_millis()))
        }
    }
}

/// Block `cid`, whose section is at `section` of the shard, from the provider's copy, verified.
pub async fn block(
    copy: &ProviderCopy,
    cid: &Cid,
    section: Range<u64>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let at = section.start;
    let bytes = section_bytes(copy, section, timeout).await?;
    let (_, data) = read_section(cid.hash().code(), cid.hash().digest(), at, &bytes)
        .map_err(|e| format!("{}: {e}", copy.url))?;
    digest::check(cid, data).await.map_err(|e| format!("{}: {e}", copy.url))?;
    Ok(data.to_vec())
}

/// One retrieval check of `shard` at `now`: its upload's root block (when the shard holds it)
/// and `samples` random blocks read back from the provider, each checked against the shard's
/// index and hashed against its CID.
pub async fn check(
    bucket: &Bucket,
    shard: &ShardEntry,
    copy: &ProviderCopy,
    samples: usize,
    timeout: Duration,
    now: u64,
) -> CheckResult {
    let t0 = js_sys::Date::now();
    let (blocks, note) = match read_sample(bucket, shard, copy, samples, timeout).await {
        Ok(n) => (n, None),
        Err((n, e)) => (n, Some(e)),
    };
    CheckResult {
        at: now,
        ok: note.is_none(),
        latency_ms: (js_sys::Date::now() - t0).max(0.0) as u64,
        blocks,
        note,
    }
}

async fn read_sample(
    bucket: &Bucket,
    shard: &ShardEntry,
    copy: &ProviderCopy,
    samples: usize,
    timeout: Duration,
) -> Result<u32, (u32, String)> {
    let index: Rc<CarIndex> = load_index(bucket, &format!("{}.idx", shard.key))
        .await
        .map_err(|e| (0, format!("the shard's index: {e}")))?
        .ok_or((0, "the store has no index for the shard".to_string()))?;
    let mut sections: Vec<(u64, &[u8], Range<u64>)> = index.sections().collect();
    sections.sort_by_key(|(_, _, r)| r.start);
    let roots: Vec<Cid> = shard.roots.iter().filter_map(|r| r.parse().ok()).collect();
    let root_at = sections.iter().position(|(code, digest, _)| {
        roots.iter().any(|r| r.hash().code() == *code && r.hash().digest() == *digest)
    });
    let seed = u64::from_le_bytes(random_bytes::<8>());
    let mut read = 0;
    for at in sample(sections.len(), root_at, samples, seed) {
        let (code, digest, range) = &sections[at];
        let start = range.start;
        let bytes = section_bytes(copy, range.clone(), timeout).await.map_err(|e| (read, e))?;
        let (cid, data) = read_section(*code, digest, start, &bytes)
            .map_err(|e| (read, format!("{}: {e}", copy.url)))?;
        digest::check(&cid, data).await.map_err(|e| (read, format!("{}: {e}", copy.url)))?;
        read += 1;
    }
    if read == 0 {
        return Err((0, "the shard's index lists no blocks".into()));
    }
    Ok(read)
}

/// The bytes of one section, which the shard's index bounds: never more than a block may be.
async fn section_bytes(
    copy: &ProviderCopy,
    range: Range<u64>,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    if range.end - range.start > MAX_SECTION {
        return Err(format!(
            "a section of {} bytes, over the block limit",
            range.end - range.start
        ));
    }
    read(copy, range, timeout).await
}

/// Brings an evicted shard back from the provider into the store under its key: streamed into
/// R2 with the SHA-256 its CAR CID names, which R2 checks before it keeps the object, so wrong or
/// truncated bytes leave nothing behind.
pub async fn restore(
    bucket: &Bucket,
    shard: &ShardEntry,
    copy: &ProviderCopy,
) -> Result<(), String> {
    let car: Cid = shard.car.parse().map_err(|e| format!("the ledger's CAR CID: {e}"))?;
    let digest = car.hash().digest().to_vec();
    let url = copy.piece_url();
    let ctl = AbortController::default();
    let whole = copy.whole();
    let mut resp =
        get(&url, Some(&whole), &ctl.signal()).await.map_err(|e| format!("{url}: {e}"))?;
    if resp.status_code() != 206 {
        return Err(format!("{url}: HTTP {} to a range request", resp.status_code()));
    }
    let body = resp.stream().map_err(|e| format!("{url}: {e}"))?;
    bucket
        .put(&shard.key, FixedLengthStream::wrap(body, copy.size))
        .sha256(digest)
        .execute()
        .await
        .map_err(|e| format!("storing {} from {url}: {e}", shard.car))?;
    Ok(())
}
