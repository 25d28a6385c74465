//! The archivist: one Durable Object that keeps the ledger of uploads, shards, aggregates and
//! deals, and drives each piece to Filecoin.
//!
//! Pieces of complete uploads wait in a queue until they add up to `AGGREGATE_MIN_BYTES` or the
//! oldest has waited `AGGREGATE_MAX_AGE_MS`; then the first that fit a `MAX_DEAL_SIZE` deal are
//! packed into the smallest deal that holds them (`carport_core::piece::pack_deal`), each gets its
//! inclusion proof, and the aggregate is offered to the deal broker. Broker failures are retried
//! with exponential backoff under the same proposal ID (so a retry never makes a second deal); a
//! rejected or failed deal puts its pieces back at the head of the queue for the next aggregate.
//! Every change is written to the object's storage before anything else happens, and the alarm
//! is always set for the next thing due, so a restart resumes where it stopped.
//!
//! After a failed deal the next aggregate waits a backoff that doubles with each failure in a row
//! (a provider that refuses everything must not be offered a new aggregate on every tick).
//!
//! Storage keys: `shard:{car}`, `upload:{root}`, `agg:{id}`, the queue of shards waiting (one
//! `q:{position}` per shard and `q-ends`, see `queue.rs`), `active` (aggregate ids whose deal is
//! not finished), `next-agg`, `hold`.

use std::collections::HashMap;
use std::rc::Rc;

use carport_core::archive::{ArchiveRecord, DealRecord, ShardRecord, Stage, StageTimes};
use carport_core::piece::{pack_deal, Piece};
use carport_core::Cid;
use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Method, Request, Response, State, Storage};

use crate::broker::{self, BrokerError, DealBroker, Offer, Progress, Proposal};
use crate::queue::{Queue, Queued};
use crate::reply::{error, json};
use crate::settings::ArchiveSettings;

/// A stored shard, as the archivist knows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ShardEntry {
    pub car: String,
    /// R2 object of the shard's bytes (its index is `{key}.idx`, its dangling links `{key}.links`).
    pub key: String,
    pub size: u64,
    /// v2 piece CID.
    pub piece: String,
    pub stored: u64,
    #[serde(default)]
    pub roots: Vec<String>,
    /// Whether the shard is (or was) in the queue: set once its upload is complete.
    #[serde(default)]
    pub queued: bool,
    #[serde(default)]
    pub aggregate: Option<u64>,
    #[serde(default)]
    pub proof: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UploadEntry {
    pub root: String,
    pub shards: Vec<String>,
    pub complete: bool,
    pub created: u64,
    /// The id of the token whose first shard started the upload: only it may add shards.
    #[serde(default)]
    pub owner: Option<String>,
}

/// An aggregate and its deal.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AggEntry {
    pub id: u64,
    /// v2 piece CID of the aggregate.
    pub cid: String,
    pub deal_size: u64,
    /// The shards' car CIDs, in segment order.
    pub shards: Vec<String>,
    /// The broker's proposal ID, fixed before the first offer.
    pub proposal: Proposal,
    pub stage: Stage,
    pub created: u64,
    #[serde(default)]
    pub offered: Option<u64>,
    #[serde(default)]
    pub complete: Option<u64>,
    pub updated: u64,
    #[serde(default)]
    pub attempts: u32,
    pub next_at: u64,
    #[serde(default)]
    pub deal_id: Option<String>,
    #[serde(default)]
    pub provider: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    /// Set when the deal failed or was rejected (its pieces went back to the queue).
    #[serde(default)]
    pub failed: Option<String>,
    /// When the provider first read the aggregate's payload from `/aggregates/{cid}` to its end.
    #[serde(default)]
    pub pulled: Option<u64>,
}

/// `POST /shard`: a shard the upload door stored.
#[derive(Serialize, Deserialize)]
pub struct NewShard {
    pub root: String,
    pub car: String,
    pub key: String,
    pub size: u64,
    pub piece: String,
    /// The uploading token's id.
    pub owner: String,
}

/// A shard of an upload and where it is stored, for the completeness check and the gateway.
#[derive(Serialize, Deserialize)]
pub struct StoredShard {
    pub car: String,
    pub key: String,
}

/// Where the aggregate's bytes come from, for serving it to the provider.
#[derive(Serialize, Deserialize)]
pub struct AggregateSource {
    pub deal_size: u64,
    /// (R2 key, v2 piece CID) per piece, in segment order.
    pub pieces: Vec<(String, String)>,
}

/// No new aggregate before `until`: set after failed deals, `failures` in a row.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Hold {
    until: u64,
    failures: u32,
}

#[durable_object]
pub struct Archivist {
    state: State,
    env: Env,
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

impl DurableObject for Archivist {
    fn new(state: State, env: Env) -> Self {
        Archivist { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let path = req.path();
        let s = self.state.storage();
        let resp = match (req.method(), path.as_str()) {
            (Method::Post, "/shard") => {
                let new: NewShard = req.json().await?;
                match add_shard(&s, new).await? {
                    Ok(known) => json(200, &serde_json::json!({ "known": known })),
                    Err(conflict) => json(200, &serde_json::json!({ "conflict": conflict })),
                }
            }
            (Method::Post, "/complete") => {
                let root: String = req.json().await?;
                complete_upload(&s, &root).await?;
                json(200, &true)
            }
            (Method::Get, p) if p.starts_with("/upload/") => {
                let root = &p["/upload/".len()..];
                let upload: Option<UploadEntry> = s.get(&format!("upload:{root}")).await?;
                let mut out = Vec::new();
                for car in upload.map(|u| u.shards).unwrap_or_default() {
                    if let Some(sh) = s.get::<ShardEntry>(&format!("shard:{car}")).await? {
                        out.push(StoredShard { car, key: sh.key });
                    }
                }
                json(200, &out)
            }
            (Method::Get, p) if p.starts_with("/archive/") => {
                match archive_record(&s, &p["/archive/".len()..]).await? {
                    Some(r) => json(200, &r),
                    None => error(
                        404,
                        "no upload with this root",
                        Some(p["/archive/".len()..].to_string()),
                    ),
                }
            }
            (Method::Post, p) if p.starts_with("/pulled/") => {
                let found = record_pull(&s, &p["/pulled/".len()..]).await?;
                json(if found { 200 } else { 404 }, &found)
            }
            (Method::Get, p) if p.starts_with("/aggregate/") => {
                match aggregate_source(&s, &p["/aggregate/".len()..]).await? {
                    Some(src) => json(200, &src),
                    None => {
                        error(404, "no such aggregate", Some(p["/aggregate/".len()..].to_string()))
                    }
                }
            }
            (Method::Get, "/state") => {
                let q = Queue::new(&s);
                let queue = serde_json::json!({ "length": q.len().await?, "bytes": q.bytes().await?, "head": q.head(100).await?.into_iter().map(|e| e.car).collect::<Vec<_>>() });
                let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
                let mut aggs = Vec::new();
                let next: u64 = s.get("next-agg").await?.unwrap_or(0);
                for id in 0..next {
                    if let Some(a) = s.get::<AggEntry>(&format!("agg:{id}")).await? {
                        aggs.push(a);
                    }
                }
                json(
                    200,
                    &serde_json::json!({ "queue": queue, "active": active, "aggregates": aggs, "alarm": s.get_alarm().await? }),
                )
            }
            _ => error(404, "archivist: no such route", None),
        };
        // Whatever happened, the alarm is set for the next thing due.
        self.schedule(false).await?;
        resp
    }

    async fn alarm(&self) -> worker::Result<Response> {
        let settings = ArchiveSettings::from_env(&self.env);
        let broker = broker::from_env(&self.env).unwrap_or_else(|e| {
            worker::console_error!("archivist: no deal broker: {e}");
            None
        });
        if let Err(e) = self.tick(&settings, broker.as_ref()).await {
            worker::console_error!("archivist tick: {e}");
        }
        self.schedule(true).await?;
        Response::ok("ok")
    }
}

impl Archivist {
    /// One round: close aggregates that are due, then move every deal that is due one step.
    async fn tick<B: DealBroker>(
        &self,
        settings: &ArchiveSettings,
        broker: Option<&B>,
    ) -> worker::Result<()> {
        let s = self.state.storage();
        while let Some(id) = aggregate_due(&s, settings).await? {
            worker::console_log!("archivist: aggregate {id} closed");
        }
        let Some(broker) = broker else { return Ok(()) };
        let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
        for id in active {
            let Some(agg) = s.get::<AggEntry>(&format!("agg:{id}")).await? else { continue };
            if agg.next_at <= now() {
                self.step(&s, settings, broker, agg).await?;
            }
        }
        Ok(())
    }

    /// Offers the aggregate or asks after its deal, and records what the broker said.
    async fn step<B: DealBroker>(
        &self,
        s: &Storage,
        settings: &ArchiveSettings,
        broker: &B,
        mut agg: AggEntry,
    ) -> worker::Result<()> {
        let answer = if agg.stage <= Stage::Offered {
            let pieces = shard_pieces(s, &agg.shards).await?;
            let aggregate: Cid = agg
                .cid
                .parse()
                .map_err(|e| worker::Error::RustError(format!("aggregate CID: {e}")))?;
            let offer = Offer {
                proposal: &agg.proposal,
                aggregate: &aggregate,
                pieces: &pieces,
                source_url: format!("{}/aggregates/{}", settings.public_url, agg.cid),
                retry: agg.attempts > 0,
            };
            if agg.offered.is_none() {
                agg.offered = Some(now());
            }
            broker.offer(&offer).await
        } else {
            broker.status(&agg.proposal).await
        };
        let t = now();
        agg.updated = t;
        match answer {
            Ok(Progress::Stage(stage)) => {
                agg.stage = stage.max(Stage::Accepted);
                agg.attempts = 0;
                agg.note = None;
                agg.next_at = t + settings.poll_ms;
            }
            Ok(Progress::Complete { deal_id, provider }) => {
                agg.stage = Stage::Complete;
                agg.complete = Some(t);
                agg.deal_id = deal_id;
                agg.provider = provider;
                agg.note = None;
                s.put("hold", Hold::default()).await?;
            }
            Ok(Progress::Failed(reason)) | Err(BrokerError::Rejected(reason)) => {
                let hold: Hold = s.get("hold").await?.unwrap_or_default();
                let failures = hold.failures + 1;
                s.put("hold", Hold { until: t + settings.backoff_ms(failures), failures }).await?;
                return fail_aggregate(s, agg, reason).await;
            }
            Err(BrokerError::Retry(reason)) => {
                agg.attempts += 1;
                if agg.stage < Stage::Offered {
                    agg.stage = Stage::Offered;
                }
                agg.next_at = t + settings.backoff_ms(agg.attempts);
                agg.note = Some(format!("broker: {reason} (attempt {}, retrying)", agg.attempts));
            }
        }
        s.put(&format!("agg:{}", agg.id), &agg).await?;
        if agg.stage == Stage::Complete {
            let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
            s.put("active", active.into_iter().filter(|&a| a != agg.id).collect::<Vec<_>>())
                .await?;
        }
        Ok(())
    }

    /// Sets the alarm for the earliest of: the queue's age limit, every active deal's next step.
    /// `replace`: set it even if one is set (from the alarm handler, where the running alarm
    /// still shows).
    async fn schedule(&self, replace: bool) -> worker::Result<()> {
        let s = self.state.storage();
        let settings = ArchiveSettings::from_env(&self.env);
        let mut next: Option<u64> = None;
        let queue = Queue::new(&s);
        if let Some(first) = queue.head(1).await?.first() {
            if let Some(sh) = s.get::<ShardEntry>(&format!("shard:{}", first.car)).await? {
                next = Some(sh.stored + settings.max_age_ms);
            }
            if queue.bytes().await? >= settings.min_bytes {
                next = Some(now());
            }
            let hold: Hold = s.get("hold").await?.unwrap_or_default();
            next = next.map(|n| n.max(hold.until));
        }
        let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
        for id in active {
            if let Some(a) = s.get::<AggEntry>(&format!("agg:{id}")).await? {
                next = Some(next.map_or(a.next_at, |n| n.min(a.next_at)));
            }
        }
        match next {
            Some(at) => {
                let wait = at.saturating_sub(now()) as i64;
                let current = s.get_alarm().await?;
                // Keep an earlier alarm; replace a later one.
                if replace || current.is_none_or(|c| c as u64 > at) {
                    s.set_alarm(wait.max(1)).await?;
                }
            }
            None if replace => s.delete_alarm().await?,
            None => {}
        }
        Ok(())
    }
}

/// Records a stored shard under its upload; `Err` (nothing recorded) when the upload belongs to
/// another token: an upload's shards are its owner's alone, so nobody can attach a shard to
/// someone else's root (to break its completeness check or join its archive).
async fn add_shard(s: &Storage, new: NewShard) -> worker::Result<Result<bool, String>> {
    let ukey = format!("upload:{}", new.root);
    let upload: Option<UploadEntry> = s.get(&ukey).await?;
    if upload.as_ref().and_then(|u| u.owner.as_ref()).is_some_and(|o| *o != new.owner) {
        let state = if upload.as_ref().is_some_and(|u| u.complete) {
            "is stored and complete"
        } else {
            "was started"
        };
        return Ok(Err(format!("the upload of root {} {state} by another token: its shards can only come from that token", new.root)));
    }
    let key = format!("shard:{}", new.car);
    let existing: Option<ShardEntry> = s.get(&key).await?;
    let known = existing.is_some();
    let mut shard = existing.unwrap_or(ShardEntry {
        car: new.car.clone(),
        key: new.key,
        size: new.size,
        piece: new.piece,
        stored: now(),
        roots: Vec::new(),
        queued: false,
        aggregate: None,
        proof: None,
        note: None,
    });
    if !shard.roots.contains(&new.root) {
        shard.roots.push(new.root.clone());
    }
    s.put(&key, &shard).await?;
    let mut upload = upload.unwrap_or(UploadEntry {
        root: new.root,
        shards: Vec::new(),
        complete: false,
        created: now(),
        owner: None,
    });
    upload.owner.get_or_insert(new.owner);
    if !upload.shards.contains(&new.car) {
        upload.shards.push(new.car);
    }
    s.put(&ukey, &upload).await?;
    Ok(Ok(known))
}

/// The upload's DAG was found complete: its shards join the queue.
async fn complete_upload(s: &Storage, root: &str) -> worker::Result<()> {
    let ukey = format!("upload:{root}");
    let Some(mut upload) = s.get::<UploadEntry>(&ukey).await? else {
        return Err(worker::Error::RustError(format!("no upload {root}")));
    };
    upload.complete = true;
    s.put(&ukey, &upload).await?;
    let queue = Queue::new(s);
    for car in &upload.shards {
        let key = format!("shard:{car}");
        if let Some(mut sh) = s.get::<ShardEntry>(&key).await? {
            if !sh.queued {
                sh.queued = true;
                sh.stored = now();
                s.put(&key, &sh).await?;
                queue.push_back(car, sh.size).await?;
            }
        }
    }
    Ok(())
}

async fn shard_pieces(s: &Storage, cars: &[String]) -> worker::Result<Vec<Cid>> {
    let mut out = Vec::with_capacity(cars.len());
    for car in cars {
        let sh: ShardEntry = s
            .get(&format!("shard:{car}"))
            .await?
            .ok_or_else(|| worker::Error::RustError(format!("shard {car} is not in the ledger")))?;
        out.push(
            sh.piece
                .parse()
                .map_err(|e| worker::Error::RustError(format!("piece CID of {car}: {e}")))?,
        );
    }
    Ok(out)
}

/// How many shards from the head of the queue one aggregate is chosen from.
const AGGREGATE_PAGE: usize = 4096;

/// Closes one aggregate from the head of the queue if the queue is due; its id.
async fn aggregate_due(s: &Storage, settings: &ArchiveSettings) -> worker::Result<Option<u64>> {
    let q = Queue::new(s);
    let queue = q.head(AGGREGATE_PAGE).await?;
    let Some(first) = queue.first() else { return Ok(None) };
    let oldest =
        s.get::<ShardEntry>(&format!("shard:{}", first.car)).await?.map_or(0, |sh| sh.stored);
    let t = now();
    if q.bytes().await? < settings.min_bytes && t < oldest + settings.max_age_ms {
        return Ok(None);
    }
    if t < s.get::<Hold>("hold").await?.unwrap_or_default().until {
        return Ok(None);
    }
    let cars: Vec<String> = queue.iter().map(|e| e.car.clone()).collect();
    let pieces = shard_pieces(s, &cars).await?;
    let pieces: Vec<Piece> = pieces
        .iter()
        .map(Piece::from_cid)
        .collect::<Result<_, _>>()
        .map_err(|e| worker::Error::RustError(format!("queued piece: {e}")))?;
    let (agg, taken) = pack_deal(&pieces, settings.min_deal_size, settings.max_deal_size)
        .map_err(|e| worker::Error::RustError(format!("aggregation: {e}")))?;
    let id: u64 = s.get("next-agg").await?.unwrap_or(0);
    let shards: Vec<String> = cars[..taken].to_vec();
    for (n, car) in shards.iter().enumerate() {
        let key = format!("shard:{car}");
        let mut sh: ShardEntry = s
            .get(&key)
            .await?
            .ok_or_else(|| worker::Error::RustError(format!("shard {car} is not in the ledger")))?;
        sh.aggregate = Some(id);
        sh.proof = agg.proof_for_entry(n).map(|p| p.to_text());
        sh.note = None;
        s.put(&key, &sh).await?;
    }
    let entry = AggEntry {
        id,
        cid: agg.cid().to_string(),
        deal_size: agg.deal_size(),
        shards,
        proposal: Proposal::new(t),
        stage: Stage::Aggregated,
        created: t,
        offered: None,
        complete: None,
        updated: t,
        attempts: 0,
        next_at: t,
        deal_id: None,
        provider: None,
        note: None,
        failed: None,
        pulled: None,
    };
    s.put(&format!("agg:{id}"), &entry).await?;
    s.put("next-agg", id + 1).await?;
    q.pop_front(taken, queue[..taken].iter().map(|e| e.size).sum()).await?;
    let mut active: Vec<u64> = s.get("active").await?.unwrap_or_default();
    active.push(id);
    s.put("active", &active).await?;
    Ok(Some(id))
}

/// The deal will not happen: the aggregate is closed as failed and its pieces go back to the
/// head of the queue, to be aggregated again.
async fn fail_aggregate(s: &Storage, mut agg: AggEntry, reason: String) -> worker::Result<()> {
    let note = format!(
        "deal {} of aggregate {} failed: {reason}; back in the queue",
        agg.proposal.id(),
        agg.cid
    );
    let mut requeued = Vec::with_capacity(agg.shards.len());
    for car in &agg.shards {
        let key = format!("shard:{car}");
        if let Some(mut sh) = s.get::<ShardEntry>(&key).await? {
            sh.aggregate = None;
            sh.proof = None;
            sh.note = Some(note.clone());
            s.put(&key, &sh).await?;
            requeued.push(Queued { car: car.clone(), size: sh.size });
        }
    }
    Queue::new(s).push_front(&requeued).await?;
    agg.failed = Some(reason);
    agg.updated = now();
    s.put(&format!("agg:{}", agg.id), &agg).await?;
    let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
    s.put("active", active.into_iter().filter(|&a| a != agg.id).collect::<Vec<_>>()).await
}

async fn archive_record(s: &Storage, root: &str) -> worker::Result<Option<ArchiveRecord>> {
    let Some(upload) = s.get::<UploadEntry>(&format!("upload:{root}")).await? else {
        return Ok(None);
    };
    let mut aggs: HashMap<u64, Rc<AggEntry>> = HashMap::new();
    let mut shards = Vec::with_capacity(upload.shards.len());
    for car in &upload.shards {
        let Some(sh) = s.get::<ShardEntry>(&format!("shard:{car}")).await? else { continue };
        let agg = match sh.aggregate {
            Some(id) => match aggs.get(&id) {
                Some(a) => Some(a.clone()),
                None => {
                    let a = s.get::<AggEntry>(&format!("agg:{id}")).await?.map(Rc::new);
                    if let Some(a) = &a {
                        aggs.insert(id, a.clone());
                    }
                    a
                }
            },
            None => None,
        };
        // A deal the broker calls complete counts only once the provider has pulled the bytes.
        let unpulled =
            agg.as_ref().is_some_and(|a| a.stage == Stage::Complete && a.pulled.is_none());
        let times = StageTimes {
            stored: sh.stored,
            aggregated: agg.as_ref().map(|a| a.created),
            offered: agg.as_ref().and_then(|a| a.offered),
            complete: agg.as_ref().and_then(|a| a.complete).filter(|_| !unpulled),
            pulled: agg.as_ref().and_then(|a| a.pulled),
            updated: agg.as_ref().map_or(sh.stored, |a| a.updated),
        };
        let note = if unpulled {
            Some("the deal broker says the deal is complete, but the provider never fetched the aggregate from this worker: not counted as archived".to_string())
        } else {
            agg.as_ref().and_then(|a| a.note.clone()).or(sh.note)
        };
        shards.push(ShardRecord {
            car: sh.car,
            size: sh.size,
            piece: sh.piece,
            stage: agg.as_ref().map_or(Stage::Stored, |a| {
                if unpulled {
                    Stage::Sealing
                } else {
                    a.stage
                }
            }),
            aggregate: agg.as_ref().map(|a| a.cid.clone()),
            inclusion_proof: sh.proof,
            deal: agg.as_ref().filter(|a| a.stage > Stage::Aggregated).map(|a| DealRecord {
                proposal: a.proposal.id(),
                deal_id: a.deal_id.clone(),
                provider: a.provider.clone(),
            }),
            times,
            note,
        });
    }
    let stage = shards.iter().map(|s| s.stage).min().unwrap_or(Stage::Stored);
    Ok(Some(ArchiveRecord { root: upload.root, complete: upload.complete, stage, shards }))
}

/// The provider read the aggregate `cid` to its end: the newest aggregate of that CID records it.
async fn record_pull(s: &Storage, cid: &str) -> worker::Result<bool> {
    let next: u64 = s.get("next-agg").await?.unwrap_or(0);
    for id in (0..next).rev() {
        let key = format!("agg:{id}");
        let Some(mut agg) = s.get::<AggEntry>(&key).await? else { continue };
        if agg.cid != cid {
            continue;
        }
        if agg.pulled.is_none() {
            agg.pulled = Some(now());
            s.put(&key, &agg).await?;
        }
        return Ok(true);
    }
    Ok(false)
}

async fn aggregate_source(s: &Storage, cid: &str) -> worker::Result<Option<AggregateSource>> {
    let next: u64 = s.get("next-agg").await?.unwrap_or(0);
    // Newest first: a piece set aggregated again after a failed deal gets a new aggregate.
    for id in (0..next).rev() {
        let Some(agg) = s.get::<AggEntry>(&format!("agg:{id}")).await? else { continue };
        if agg.cid != cid {
            continue;
        }
        let mut pieces = Vec::with_capacity(agg.shards.len());
        for car in &agg.shards {
            let sh: ShardEntry = s.get(&format!("shard:{car}")).await?.ok_or_else(|| {
                worker::Error::RustError(format!("shard {car} is not in the ledger"))
            })?;
            pieces.push((sh.key, sh.piece));
        }
        return Ok(Some(AggregateSource { deal_size: agg.deal_size, pieces }));
    }
    Ok(None)
}
