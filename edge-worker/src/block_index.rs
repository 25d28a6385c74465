//! The block index at the edge: every stored block found by its own multihash, so trustless
//! clients that ask by a block's CID (Helia, kubo, boxo) are answered from the store.
//!
//! One SQLite-backed Durable Object per partition (`blocks-00` … `blocks-ff`, the partition being
//! the digest's first byte: `carport_core::gateway::block_index`). Why Durable Objects and not D1
//! or R2 objects: a D1 database stops at 10 GB (about 100 million rows), far short of billions of
//! blocks, and cannot be split by key without a router of our own; R2 objects sharded by prefix
//! would need a read-modify-write per shard with no atomic append. 256 SQLite objects give
//! 256 × 10 GB, writes that land in one transaction per partition, and lookups that are one
//! indexed query on one object. A row is the multihash (a BLOB key), the shard object and the
//! section's byte range; a shard's rows go out as one batch per partition touched.
//!
//! Lookups are cached in the isolate (rows never change while their shard exists).

use std::cell::RefCell;
use std::collections::HashMap;

use carport_core::gateway::block_index::{key, partition_of, shard_rows};
use carport_core::Cid;
use futures_util::future::join_all;
use serde::{Deserialize, Serialize};
use worker::{
    durable_object, DurableObject, Env, Method, ObjectNamespace, Request, RequestInit, Response,
    SqlStorageValue, State,
};

use crate::reply::json;

/// Where a stored block is: the shard object and the byte range of its section.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Place {
    pub shard: String,
    pub start: u64,
    pub end: u64,
}

/// One partition's rows of one shard, as sent to its Durable Object.
#[derive(Serialize, Deserialize)]
struct Batch {
    shard: String,
    /// (multihash as hex, section start, section end)
    rows: Vec<(String, u64, u64)>,
}

#[derive(Serialize, Deserialize)]
struct ShardName {
    shard: String,
}

/// Lookups kept per isolate, and how many before the memory is cleared.
const KEPT_PLACES: usize = 1 << 16;

thread_local! {
    static PLACES: RefCell<HashMap<Vec<u8>, Place>> = RefCell::new(HashMap::new());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn partition_stub(ns: &ObjectNamespace, partition: u8) -> worker::Result<worker::Stub> {
    ns.get_by_name(&format!("blocks-{partition:02x}"))
}

async fn post<T: Serialize>(stub: &worker::Stub, path: &str, body: &T) -> Result<(), String> {
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(serde_json::to_string(body).map_err(|e| e.to_string())?.into()));
    let req = Request::new_with_init(&format!("https://blocks.carport.invalid{path}"), &init)
        .map_err(|e| e.to_string())?;
    let mut resp = stub.fetch_with_request(req).await.map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        return Err(format!(
            "block index {path}: HTTP {} {}",
            resp.status_code(),
            resp.text().await.unwrap_or_default()
        ));
    }
    Ok(())
}

/// Writes the rows of a stored shard (`sidecar` is its index, as the upload door keeps it), one
/// batch per partition, all at once.
pub async fn add(env: &Env, shard: &str, sidecar: &[u8]) -> Result<(), String> {
    let ns = env.durable_object("BLOCKS").map_err(|e| e.to_string())?;
    let parts = shard_rows(sidecar).map_err(|e| format!("index of {shard}: {e}"))?;
    let calls = parts.into_iter().map(|(p, rows)| {
        let batch = Batch {
            shard: shard.to_string(),
            rows: rows
                .into_iter()
                .map(|r| (hex(&r.multihash), r.section.start, r.section.end))
                .collect(),
        };
        let stub = partition_stub(&ns, p);
        async move { post(&stub.map_err(|e| e.to_string())?, "/add", &batch).await }
    });
    join_all(calls).await.into_iter().collect()
}

/// Removes a shard's rows again (an upload that failed after they were written).
pub async fn remove(env: &Env, shard: &str, sidecar: &[u8]) -> Result<(), String> {
    let ns = env.durable_object("BLOCKS").map_err(|e| e.to_string())?;
    let parts = shard_rows(sidecar).map_err(|e| format!("index of {shard}: {e}"))?;
    let calls = parts.into_keys().map(|p| {
        let stub = partition_stub(&ns, p);
        let name = ShardName { shard: shard.to_string() };
        async move { post(&stub.map_err(|e| e.to_string())?, "/remove", &name).await }
    });
    join_all(calls).await.into_iter().collect()
}

/// Where the store holds `cid`'s block, if it does: one query to its partition, remembered.
pub async fn find(ns: &ObjectNamespace, cid: &Cid) -> Result<Option<Place>, String> {
    let k = key(cid);
    if let Some(p) = PLACES.with(|m| m.borrow().get(&k).cloned()) {
        return Ok(Some(p));
    }
    let stub = partition_stub(ns, partition_of(cid)).map_err(|e| e.to_string())?;
    let mut resp = stub
        .fetch_with_str(&format!("https://blocks.carport.invalid/find/{}", hex(&k)))
        .await
        .map_err(|e| format!("block index: {e}"))?;
    match resp.status_code() {
        200 => {}
        404 => return Ok(None),
        s => return Err(format!("block index: HTTP {s}")),
    }
    let place: Place = resp.json().await.map_err(|e| format!("block index: {e}"))?;
    PLACES.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= KEPT_PLACES {
            m.clear();
        }
        m.insert(k, place.clone());
    });
    Ok(Some(place))
}

/// One partition of the index.
#[durable_object]
pub struct BlockIndex {
    state: State,
}

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS blocks (mh BLOB NOT NULL, shard TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL, PRIMARY KEY (mh, shard)) WITHOUT ROWID; CREATE INDEX IF NOT EXISTS blocks_by_shard ON blocks (shard)";

impl DurableObject for BlockIndex {
    fn new(state: State, _env: Env) -> Self {
        // A failure here shows again, with its reason, on the first query.
        let _ = state.storage().sql().exec(SCHEMA, None);
        BlockIndex { state }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let sql = self.state.storage().sql();
        let path = req.path();
        match (req.method(), path.as_str()) {
            (Method::Post, "/add") => {
                let batch: Batch = req.json().await?;
                // All in one synchronous run: the object writes it as one transaction.
                for (mh, start, end) in &batch.rows {
                    let Some(mh) = unhex(mh) else { return json(400, &"bad multihash") };
                    let (Ok(start), Ok(end)) = (
                        SqlStorageValue::try_from_i64(*start as i64),
                        SqlStorageValue::try_from_i64(*end as i64),
                    ) else {
                        return json(400, &"offset out of range");
                    };
                    sql.exec(
                        "INSERT OR IGNORE INTO blocks (mh, shard, start, end) VALUES (?, ?, ?, ?)",
                        vec![mh.into(), batch.shard.as_str().into(), start, end],
                    )?;
                }
                json(200, &batch.rows.len())
            }
            (Method::Post, "/remove") => {
                let name: ShardName = req.json().await?;
                sql.exec("DELETE FROM blocks WHERE shard = ?", vec![name.shard.into()])?;
                json(200, &true)
            }
            (Method::Get, p) if p.starts_with("/find/") => {
                let Some(mh) = unhex(&p["/find/".len()..]) else {
                    return json(400, &"bad multihash");
                };
                let rows: Vec<Place> = sql
                    .exec(
                        "SELECT shard, start, end FROM blocks WHERE mh = ? LIMIT 1",
                        vec![mh.into()],
                    )?
                    .to_array()?;
                match rows.into_iter().next() {
                    Some(p) => json(200, &p),
                    None => json(404, &"not in the store"),
                }
            }
            _ => json(404, &"no such route"),
        }
    }
}
