//! The upload door: `POST /upload`, one CAR shard per request.
//!
//! The body streams into R2 while `carport_core::ingest::ShardIngest` checks it: every block is
//! hashed against its CID and the shard's piece CID and CAR CID are computed in the same pass. A
//! bad block breaks the stream, so R2 never completes the object. After the last byte: the
//! client's piece CID (`X-Carport-Piece`) must match, and when the shard declares the root (the
//! last shard of an upload) the shards stored so far must hold the whole DAG. Anything wrong is a
//! 4xx naming the problem and the CID, and the new objects are deleted: nothing is kept.
//!
//! Store layout: the shard's bytes as uploaded at `shards/{random}` (the piece CID is over those
//! bytes), its index at `shards/{random}.idx`, its dangling links at `shards/{random}.links`, and,
//! once the upload is complete, `roots/{root}` listing `{object} {object}.idx` per shard. Every
//! block of a shard that is kept also gets a row in the block index (`block_index`), written once
//! the ledger has the shard and removed again if the upload then fails, so the gateway finds any
//! stored block by its own CID.

use std::cell::RefCell;
use std::rc::Rc;

use carport_core::error::{Coded, VerifyError};
use carport_core::ingest::{
    decode_cids, encode_cids, IngestError, IngestedShard, ShardIngest, UploadCheck,
};
use carport_core::Cid;
use futures_util::StreamExt;
use worker::{Bucket, Env, FixedLengthStream, Request, Response};

use crate::archivist_client::{ArchivistClient, NewShard, ShardAnswer};
use crate::block_index;
use crate::quota::{Ask, Settle, Verdict};
use crate::reply::{error, json};
use crate::settings::DoorSettings;
use crate::tokens::{authenticate, hex, random_bytes, Caller};

/// The status of a refusal and the CID at fault (the error's own, [`Coded::cid`]): 413 past the
/// size limit, 422 for content that is not what it says (a block that does not hash or decode, a
/// missing block, a piece or root that does not match), 500 for a stored index of ours that does
/// not read, 400 for any other malformed upload.
fn refusal(e: &IngestError) -> (u16, Option<Cid>) {
    let status = match e {
        IngestError::TooLarge { .. } => 413,
        IngestError::Verify(
            VerifyError::HashMismatch { .. }
            | VerifyError::UnsupportedHash { .. }
            | VerifyError::Decode { .. }
            | VerifyError::MissingBlock { .. },
        )
        | IngestError::PieceMismatch { .. }
        | IngestError::RootMismatch { .. } => 422,
        IngestError::Index { .. } => 500,
        _ => 400,
    };
    (status, e.cid().copied())
}

/// A refused shard's answer: `{error, cid, code}`, `code` being core's stable code of the error.
fn refuse(e: &IngestError) -> worker::Result<Response> {
    let (status, cid) = refusal(e);
    let body = serde_json::json!({
        "error": format!("upload refused: {e}"),
        "cid": cid.map(|c| c.to_string()),
        "code": e.code(),
    });
    json(status, &body)
}

fn header_cid(req: &Request, name: &str) -> Result<Option<Cid>, String> {
    match req.headers().get(name).ok().flatten() {
        Some(v) => v.trim().parse().map(Some).map_err(|_| format!("{name} is not a CID: {v:?}")),
        None => Ok(None),
    }
}

pub async fn handle(req: Request, env: &Env) -> worker::Result<Response> {
    let settings = DoorSettings::from_env(env);
    let caller = match authenticate(&req, env).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let (claimed_piece, claimed_root) =
        match (header_cid(&req, "X-Carport-Piece"), header_cid(&req, "X-Carport-Root")) {
            (Ok(p), Ok(r)) => (p, r),
            (Err(e), _) | (_, Err(e)) => return error(400, &e, None),
        };
    let Some(length) = req.headers().get("Content-Length")?.and_then(|v| v.parse::<u64>().ok())
    else {
        return error(411, "send the shard with a Content-Length", None);
    };
    if length > settings.max_shard_size {
        return error(
            413,
            &format!(
                "the shard is {length} bytes; the limit is {} bytes (split the CAR into shards)",
                settings.max_shard_size
            ),
            None,
        );
    }
    let reservation = match reserve(env, &caller, &settings, length).await? {
        Ok(r) => r,
        Err(refused) => return Ok(refused),
    };
    let outcome =
        receive(req, env, &settings, length, claimed_piece, claimed_root, &caller.id).await;
    let charged = match &outcome {
        Ok((_, Some(bytes))) => *bytes,
        _ => 0,
    };
    settle(env, &caller, &reservation, charged).await?;
    outcome.map(|(resp, _)| resp)
}

/// Streams the shard into the store and checks it; the answer, and the bytes to charge (a new
/// shard's size; `None` for a duplicate or a refusal).
async fn receive(
    mut req: Request,
    env: &Env,
    settings: &DoorSettings,
    length: u64,
    claimed_piece: Option<Cid>,
    claimed_root: Option<Cid>,
    owner: &str,
) -> worker::Result<(Response, Option<u64>)> {
    let bucket = env.bucket("STORE")?;
    let key = format!("shards/{}", hex(&random_bytes::<16>()));
    let ingest = Rc::new(RefCell::new(Some(ShardIngest::new(settings.max_shard_size))));
    let failure: Rc<RefCell<Option<IngestError>>> = Rc::new(RefCell::new(None));
    let body = {
        let ingest = ingest.clone();
        let failure = failure.clone();
        req.stream()?.map(move |chunk| {
            let chunk = chunk?;
            let mut slot = ingest.borrow_mut();
            let result = slot.as_mut().map(|i| i.push(&chunk)).unwrap_or(Ok(()));
            if let Err(e) = result {
                *failure.borrow_mut() = Some(e.clone());
                *slot = None;
                return Err(worker::Error::RustError(e.to_string()));
            }
            Ok(chunk)
        })
    };
    let put = bucket.put(&key, FixedLengthStream::wrap(body, length)).execute().await;
    let failed = failure.borrow_mut().take();
    if let Some(e) = failed {
        let _ = bucket.delete(&key).await;
        return Ok((refuse(&e)?, None));
    }
    if let Err(e) = put {
        let _ = bucket.delete(&key).await;
        let got = ingest.borrow().as_ref().map_or(0, |i| i.size());
        if got < length {
            return Ok((refuse(&IngestError::Truncated { expected: length, got })?, None));
        }
        return Ok((error(500, &format!("storing the shard failed: {e}"), None)?, None));
    }
    let Some(ingest) = ingest.borrow_mut().take() else {
        return Ok((error(500, "the shard was not read", None)?, None));
    };
    match accept(env, &bucket, &key, ingest, claimed_piece, claimed_root, owner).await {
        Ok(Accepted { shard, root, complete, known }) => Ok((
            json(
                if known { 200 } else { 201 },
                &serde_json::json!({
                    "car": shard.car.to_string(),
                    "piece": shard.piece.cid.to_string(),
                    "size": shard.size,
                    "blocks": shard.blocks,
                    "root": root.to_string(),
                    "complete": complete,
                    "duplicate": known,
                    "archive": format!("/archive/{root}"),
                }),
            )?,
            (!known).then_some(shard.size),
        )),
        Err(Refused::Ingest(e)) => {
            delete_objects(&bucket, &key).await;
            Ok((refuse(&e)?, None))
        }
        Err(Refused::Other(status, msg)) => {
            delete_objects(&bucket, &key).await;
            Ok((error(status, &msg, None)?, None))
        }
    }
}

struct Accepted {
    shard: IngestedShard,
    root: Cid,
    complete: bool,
    known: bool,
}

enum Refused {
    Ingest(IngestError),
    Other(u16, String),
}

impl From<IngestError> for Refused {
    fn from(e: IngestError) -> Self {
        Refused::Ingest(e)
    }
}

impl From<worker::Error> for Refused {
    fn from(e: worker::Error) -> Self {
        Refused::Other(500, e.to_string())
    }
}

/// The checks after the last byte, then the ledger. `Err`: the caller deletes what was written.
async fn accept(
    env: &Env,
    bucket: &Bucket,
    key: &str,
    ingest: ShardIngest,
    claimed_piece: Option<Cid>,
    claimed_root: Option<Cid>,
    owner: &str,
) -> Result<Accepted, Refused> {
    let shard = ingest.finish()?;
    if let Some(claimed) = claimed_piece {
        if claimed != shard.piece.cid {
            return Err(IngestError::PieceMismatch { claimed, computed: shard.piece.cid }.into());
        }
    }
    let last = !shard.roots.is_empty();
    let root = match (claimed_root, shard.roots.first()) {
        (Some(r), _) if last && !shard.roots.contains(&r) => {
            return Err(IngestError::RootMismatch { root: r, declared: shard.roots.clone() }.into())
        }
        (Some(r), _) => r,
        (None, Some(r)) => *r,
        (None, None) => {
            return Err(Refused::Other(
                400,
                "this shard declares no root: send the upload's root in X-Carport-Root".into(),
            ))
        }
    };
    let archivist = ArchivistClient::new(env)?;
    let prior = archivist.upload(&root.to_string()).await?;
    if last {
        // The whole DAG must be in this shard and the ones stored before it.
        let mut check = UploadCheck::new();
        check.add(&shard.car, &shard.index, &shard.dangling)?;
        for s in prior.iter().filter(|s| s.car != shard.car.to_string()) {
            let car: Cid = s.car.parse().map_err(|_| {
                Refused::Other(500, format!("ledger holds a bad CAR CID {}", s.car))
            })?;
            let index = read(bucket, &format!("{}.idx", s.key)).await?;
            let dangling = decode_cids(&read(bucket, &format!("{}.links", s.key)).await?)
                .map_err(|e| Refused::Other(500, format!("stored links of {car}: {e}")))?;
            check.add(&car, &index, &dangling)?;
        }
        check.finish(&root)?;
    }
    bucket.put(format!("{key}.idx"), shard.index.clone()).execute().await?;
    bucket.put(format!("{key}.links"), encode_cids(&shard.dangling)).execute().await?;
    let new = NewShard {
        root: root.to_string(),
        car: shard.car.to_string(),
        key: key.to_string(),
        size: shard.size,
        piece: shard.piece.cid.to_string(),
        owner: owner.to_string(),
    };
    let known = match archivist.add_shard(&new).await? {
        ShardAnswer::Known(known) => known,
        ShardAnswer::Conflict(conflict) => {
            return Err(Refused::Other(403, format!("upload refused: {conflict}")))
        }
    };
    if known {
        // Stored before: keep the first copy (whose blocks are indexed already), drop this one.
        delete_objects(bucket, key).await;
    } else if let Err(e) = block_index::add(env, key, &shard.index).await {
        let _ = block_index::remove(env, key, &shard.index).await;
        return Err(Refused::Other(500, format!("indexing the shard's blocks failed: {e}")));
    }
    if last {
        if let Err(e) = complete(bucket, &archivist, &root).await {
            if !known {
                let _ = block_index::remove(env, key, &shard.index).await;
            }
            return Err(e);
        }
    }
    Ok(Accepted { shard, root, complete: last, known })
}

/// The upload is whole: `roots/{root}` lists its shards, and the ledger marks it complete.
async fn complete(bucket: &Bucket, archivist: &ArchivistClient, root: &Cid) -> Result<(), Refused> {
    let shards = archivist.upload(&root.to_string()).await?;
    let listing: String = shards.iter().map(|s| format!("{0} {0}.idx\n", s.key)).collect();
    bucket.put(format!("roots/{root}"), listing).execute().await?;
    archivist.complete(&root.to_string()).await?;
    Ok(())
}

async fn read(bucket: &Bucket, key: &str) -> Result<Vec<u8>, Refused> {
    let obj = bucket
        .get(key)
        .execute()
        .await?
        .ok_or_else(|| Refused::Other(500, format!("store: {key} is missing")))?;
    let body =
        obj.body().ok_or_else(|| Refused::Other(500, format!("store: {key} has no body")))?;
    Ok(body.bytes().await?)
}

async fn delete_objects(bucket: &Bucket, key: &str) {
    let _ = bucket
        .delete_multiple(vec![key.to_string(), format!("{key}.idx"), format!("{key}.links")])
        .await;
}

/// A JSON call to a Durable Object.
pub async fn call<T: serde::de::DeserializeOwned>(
    stub: &worker::Stub,
    method: &str,
    path: &str,
    body: Option<String>,
) -> worker::Result<T> {
    let mut init = worker::RequestInit::new();
    init.with_method(worker::Method::from(method.to_string()));
    if let Some(b) = body {
        init.with_body(Some(b.into()));
    }
    let req = Request::new_with_init(&format!("https://do.carport.invalid{path}"), &init)?;
    let mut resp = stub.fetch_with_request(req).await?;
    if resp.status_code() >= 400 {
        return Err(worker::Error::RustError(format!("{path}: {}", resp.text().await?)));
    }
    resp.json().await
}

fn quota_stub(env: &Env, caller: &Caller) -> worker::Result<worker::Stub> {
    env.durable_object("QUOTA")?.get_by_name(&caller.id)
}

/// Reserves the announced bytes against the token's quota before the body is read, so uploads
/// running at the same time cannot together pass it; `Err` is the 429 to answer.
async fn reserve(
    env: &Env,
    caller: &Caller,
    settings: &DoorSettings,
    length: u64,
) -> worker::Result<Result<String, Response>> {
    let ask = Ask {
        bytes: length,
        quota_bytes: caller.record.quota_bytes.unwrap_or(settings.quota_bytes),
        rate_per_minute: caller.record.rate_per_minute.unwrap_or(settings.rate_per_minute),
    };
    let verdict: Verdict =
        call(&quota_stub(env, caller)?, "POST", "/begin", Some(serde_json::to_string(&ask)?))
            .await?;
    if verdict.ok {
        return Ok(Ok(verdict.reservation));
    }
    let mut resp = error(429, &format!("upload refused: {}", verdict.reason), None)?;
    if verdict.retry_after_secs > 0 {
        resp.headers_mut().set("Retry-After", &verdict.retry_after_secs.to_string())?;
    }
    Ok(Err(resp))
}

/// Ends a reservation: `bytes` stored are charged (0 for a refusal or a duplicate).
async fn settle(env: &Env, caller: &Caller, reservation: &str, bytes: u64) -> worker::Result<()> {
    let body = serde_json::to_string(&Settle { reservation: reservation.to_string(), bytes })?;
    let _: u64 = call(&quota_stub(env, caller)?, "POST", "/settle", Some(body)).await?;
    Ok(())
}
