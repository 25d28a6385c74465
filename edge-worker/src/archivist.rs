//! The archivist: one Durable Object that keeps the ledger of uploads, shards, aggregates and
//! deals, and drives each piece to Filecoin.
//!
//! The deal policy (when an aggregate closes, how a deal moves, retries, backoff, where a failed
//! deal's pieces go) is `carport_core::archive::ledger`, sans-IO; this object loads the entries
//! it asks for, stores the writes it returns, in order, before anything else happens, and makes
//! the broker calls it names. The alarm is always set for the next thing due, so a restart
//! resumes where it stopped. It is reached through `archivist_client`.
//!
//! Storage keys: `shard:{car}`, `upload:{root}`, `agg:{id}`, the queue of shards waiting (one
//! `q:{position}` per shard and `q-ends`, see `queue.rs`), `active` (aggregate ids whose deal is
//! not finished), `next-agg`, `hold`; for reading archives back (`tiering.rs`), `key:{store key}`
//! (its shard's car CID), `archived` (aggregates the provider holds) and `next-check`.

use std::collections::{BTreeMap, BTreeSet};

use carport_core::archive::entry::{AggEntry, Hold, NewShard, ShardEntry, UploadEntry};
use carport_core::archive::ledger::Call;
use carport_core::archive::ledger::{Ledger, QueueView, Step, Write};
use carport_core::archive::{archive_record, ArchiveRecord};
use carport_core::Cid;
use worker::{durable_object, DurableObject, Env, Request, Response, State, Storage};

use carport_core::archive::retrieval::{self, CheckResult, ProviderCopy};

use crate::archivist_client::{AggregateSource, RetrievalFailure, Route, ShardAnswer, StoredShard};
use crate::broker::{self, DealBroker, Offer};
use crate::queue::Queue;
use crate::reply::{error, json};
use crate::settings::{ArchiveSettings, RetrievalSettings};
use crate::tiering;

/// How many shards from the head of the queue one aggregate is chosen from.
const AGGREGATE_PAGE: usize = 4096;

#[durable_object]
pub struct Archivist {
    state: State,
    env: Env,
}

fn now() -> u64 {
    js_sys::Date::now() as u64
}

fn ledger(settings: &ArchiveSettings) -> Ledger {
    Ledger { policy: settings.policy.clone(), proposal_name: broker::proposal_id }
}

fn rust_error(msg: String) -> worker::Error {
    worker::Error::RustError(msg)
}

impl DurableObject for Archivist {
    fn new(state: State, env: Env) -> Self {
        Archivist { state, env }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let s = self.state.storage();
        let ledger = ledger(&ArchiveSettings::from_env(&self.env));
        let resp = match Route::of(&req.method(), &req.path()) {
            Some(Route::Shard) => {
                let new: NewShard = req.json().await?;
                json(200, &add_shard(&s, &ledger, new).await?)
            }
            Some(Route::Complete) => {
                let root: String = req.json().await?;
                let upload = s.get(&format!("upload:{root}")).await?;
                let cars = upload.as_ref().map(|u: &UploadEntry| u.shards.clone());
                let shards = known_shards(&s, &cars.unwrap_or_default()).await?;
                let writes = ledger
                    .complete_upload(upload, shards, now(), &root)
                    .map_err(|e| rust_error(e.to_string()))?;
                apply(&s, writes).await?;
                json(200, &true)
            }
            Some(Route::Upload(root)) => {
                let upload: Option<UploadEntry> = s.get(&format!("upload:{root}")).await?;
                let shards =
                    known_shards(&s, &upload.map(|u| u.shards).unwrap_or_default()).await?;
                let out: Vec<StoredShard> =
                    shards.into_iter().map(|sh| StoredShard { car: sh.car, key: sh.key }).collect();
                json(200, &out)
            }
            Some(Route::Archive(root)) => {
                match record(&s, &root, RetrievalSettings::from_env(&self.env).url.as_deref())
                    .await?
                {
                    Some(r) => json(200, &r),
                    None => error(404, "no upload with this root", Some(root)),
                }
            }
            Some(Route::Pulled(cid)) => {
                let found = match newest_aggregate(&s, &cid).await? {
                    Some(agg) => {
                        apply(&s, ledger.pulled(agg, now()).into_iter().collect()).await?;
                        true
                    }
                    None => false,
                };
                json(if found { 200 } else { 404 }, &found)
            }
            Some(Route::Aggregate(cid)) => match newest_aggregate(&s, &cid).await? {
                Some(agg) => {
                    let shards = required_shards(&s, &agg.shards).await?;
                    let pieces = shards.into_iter().map(|sh| (sh.key, sh.piece)).collect();
                    json(200, &AggregateSource { deal_size: agg.deal_size, pieces })
                }
                None => error(404, "no such aggregate", Some(cid)),
            },
            Some(Route::State) => state(&s).await,
            Some(Route::Copy(key)) => {
                let url = RetrievalSettings::from_env(&self.env).url;
                json(200, &copy_of(&s, &key, url.as_deref()).await?.map(|(_, c)| c))
            }
            Some(Route::RetrievalFailed) => {
                let f: RetrievalFailure = req.json().await?;
                let car: Option<String> = s.get(&format!("key:{}", f.key)).await?;
                if let Some(mut sh) = match car {
                    Some(car) => s.get::<ShardEntry>(&format!("shard:{car}")).await?,
                    None => None,
                } {
                    sh.checks.record(CheckResult {
                        at: now(),
                        ok: false,
                        latency_ms: 0,
                        blocks: 0,
                        note: Some(f.note),
                    });
                    apply(&s, vec![Write::Shard(sh)]).await?;
                }
                json(200, &true)
            }
            Some(Route::Evict(root)) => {
                let rs = RetrievalSettings::from_env(&self.env);
                match tiering::evict(&s, &self.env.bucket("STORE")?, &root, &rs).await? {
                    Some(t) => json(200, &t),
                    None => error(404, "no upload with this root", Some(root)),
                }
            }
            Some(Route::Restore(root)) => {
                let rs = RetrievalSettings::from_env(&self.env);
                match tiering::restore(&s, &self.env.bucket("STORE")?, &root, &rs).await? {
                    Some(t) => json(200, &t),
                    None => error(404, "no upload with this root", Some(root)),
                }
            }
            None => error(404, "archivist: no such route", None),
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
        let rs = RetrievalSettings::from_env(&self.env);
        if let Err(e) = tiering::check_round(&self.state.storage(), &self.env, &rs).await {
            worker::console_error!("archivist retrieval checks: {e}");
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
        let ledger = ledger(settings);
        loop {
            let t = now();
            let hold: Hold = s.get("hold").await?.unwrap_or_default();
            if !ledger.aggregate_due(&queue_view(&s).await?, &hold, t) {
                break;
            }
            let head = Queue::new(&s).head(AGGREGATE_PAGE).await?;
            let cars: Vec<String> = head.into_iter().map(|q| q.car).collect();
            let id: u64 = s.get("next-agg").await?.unwrap_or(0);
            let writes = ledger
                .close_aggregate(id, required_shards(&s, &cars).await?, broker::new_proposal(t), t)
                .map_err(|e| rust_error(e.to_string()))?;
            apply(&s, writes).await?;
            worker::console_log!("archivist: aggregate {id} closed");
        }
        let Some(broker) = broker else { return Ok(()) };
        let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
        for id in active {
            let Some(mut agg) = s.get::<AggEntry>(&format!("agg:{id}")).await? else { continue };
            let Some(call) = ledger.call(&mut agg, now()) else { continue };
            let answer = match call {
                Call::Offer { retry } => {
                    let shards = required_shards(&s, &agg.shards).await?;
                    let pieces = shards
                        .iter()
                        .map(|sh| sh.piece.parse())
                        .collect::<Result<Vec<Cid>, _>>()
                        .map_err(|e| rust_error(format!("piece CID: {e}")))?;
                    let aggregate: Cid =
                        agg.cid.parse().map_err(|e| rust_error(format!("aggregate CID: {e}")))?;
                    let offer = Offer {
                        proposal: &agg.proposal,
                        aggregate: &aggregate,
                        pieces: &pieces,
                        source_url: format!("{}/aggregates/{}", settings.public_url, agg.cid),
                        retry,
                    };
                    broker.offer(&offer).await
                }
                Call::Status => broker.status(&agg.proposal).await,
            };
            let hold: Hold = s.get("hold").await?.unwrap_or_default();
            match ledger.answer(agg, hold, answer, now()) {
                Step::Recorded(writes) => apply(&s, writes).await?,
                Step::Failed(failure) => {
                    let shards = known_shards(&s, &failure.aggregate.shards).await?;
                    apply(&s, ledger.requeue(failure, shards, now())).await?;
                }
            }
        }
        Ok(())
    }

    /// Sets the alarm for the next thing due. `replace`: set it even if one is set (from the
    /// alarm handler, where the running alarm still shows).
    async fn schedule(&self, replace: bool) -> worker::Result<()> {
        let s = self.state.storage();
        let ledger = ledger(&ArchiveSettings::from_env(&self.env));
        let hold: Hold = s.get("hold").await?.unwrap_or_default();
        let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
        let mut deals = Vec::with_capacity(active.len());
        for id in active {
            deals.extend(s.get::<AggEntry>(&format!("agg:{id}")).await?);
        }
        let t = now();
        let next_check: Option<u64> = s.get("next-check").await?;
        let due = ledger.next_due(&queue_view(&s).await?, &hold, &deals, t);
        match due.into_iter().chain(next_check).min() {
            Some(at) => {
                let wait = at.saturating_sub(t) as i64;
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

/// Stores the ledger's writes, in order.
pub async fn apply(s: &Storage, writes: Vec<Write>) -> worker::Result<()> {
    for w in writes {
        match w {
            Write::Shard(sh) => {
                s.put(&format!("key:{}", sh.key), &sh.car).await?;
                s.put(&format!("shard:{}", sh.car), &sh).await?
            }
            Write::Upload(u) => s.put(&format!("upload:{}", u.root), &u).await?,
            Write::Aggregate(a) => {
                if retrieval::holds(&a) {
                    tiering::watch(s, a.id).await?;
                }
                s.put(&format!("agg:{}", a.id), &a).await?
            }
            Write::Hold(h) => s.put("hold", h).await?,
            Write::NextAggregate(n) => s.put("next-agg", n).await?,
            Write::Activate(id) => {
                let mut active: Vec<u64> = s.get("active").await?.unwrap_or_default();
                active.push(id);
                s.put("active", &active).await?
            }
            Write::Retire(id) => {
                let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
                s.put("active", active.into_iter().filter(|&a| a != id).collect::<Vec<_>>()).await?
            }
            Write::Enqueue(shards) => Queue::new(s).push_back(&shards).await?,
            Write::Requeue(shards) => Queue::new(s).push_front(&shards).await?,
            Write::Dequeue { count, bytes } => Queue::new(s).pop_front(count, bytes).await?,
        }
    }
    Ok(())
}

async fn add_shard(s: &Storage, ledger: &Ledger, new: NewShard) -> worker::Result<ShardAnswer> {
    let upload = s.get(&format!("upload:{}", new.root)).await?;
    let existing = s.get(&format!("shard:{}", new.car)).await?;
    Ok(match ledger.add_shard(upload, existing, new, now()) {
        Ok(added) => {
            apply(s, added.writes).await?;
            ShardAnswer::Known(added.known)
        }
        Err(conflict) => ShardAnswer::Conflict(conflict),
    })
}

/// The shards of `cars` the ledger has, in order.
async fn known_shards(s: &Storage, cars: &[String]) -> worker::Result<Vec<ShardEntry>> {
    let mut out = Vec::with_capacity(cars.len());
    for car in cars {
        out.extend(s.get::<ShardEntry>(&format!("shard:{car}")).await?);
    }
    Ok(out)
}

/// The shards of `cars`, in order; an error if the ledger lacks one.
async fn required_shards(s: &Storage, cars: &[String]) -> worker::Result<Vec<ShardEntry>> {
    let mut out = Vec::with_capacity(cars.len());
    for car in cars {
        out.push(
            s.get(&format!("shard:{car}"))
                .await?
                .ok_or_else(|| rust_error(format!("shard {car} is not in the ledger")))?,
        );
    }
    Ok(out)
}

async fn queue_view(s: &Storage) -> worker::Result<QueueView> {
    let q = Queue::new(s);
    let ends = q.ends().await?;
    let mut oldest = None;
    if let Some(first) = q.head(1).await?.first() {
        oldest = s.get::<ShardEntry>(&format!("shard:{}", first.car)).await?.map(|sh| sh.stored);
    }
    Ok(QueueView { len: ends.len(), bytes: ends.bytes, oldest })
}

/// The newest aggregate of piece CID `cid`: a piece set aggregated again after a failed deal
/// gets a new aggregate.
async fn newest_aggregate(s: &Storage, cid: &str) -> worker::Result<Option<AggEntry>> {
    let next: u64 = s.get("next-agg").await?.unwrap_or(0);
    for id in (0..next).rev() {
        if let Some(agg) = s.get::<AggEntry>(&format!("agg:{id}")).await? {
            if agg.cid == cid {
                return Ok(Some(agg));
            }
        }
    }
    Ok(None)
}

/// The provider's copy of the shard stored as `key`, with its entry, once the deal is complete.
pub async fn copy_of(
    s: &Storage,
    key: &str,
    url: Option<&str>,
) -> worker::Result<Option<(ShardEntry, ProviderCopy)>> {
    let Some(url) = url else { return Ok(None) };
    let Some(car) = s.get::<String>(&format!("key:{key}")).await? else { return Ok(None) };
    let Some(sh) = s.get::<ShardEntry>(&format!("shard:{car}")).await? else { return Ok(None) };
    let Some(id) = sh.aggregate else { return Ok(None) };
    let Some(agg) = s.get::<AggEntry>(&format!("agg:{id}")).await? else { return Ok(None) };
    Ok(retrieval::provider_copy(&sh, &agg, url).map(|c| (sh, c)))
}

async fn record(
    s: &Storage,
    root: &str,
    retrieval_url: Option<&str>,
) -> worker::Result<Option<ArchiveRecord>> {
    let Some(upload) = s.get::<UploadEntry>(&format!("upload:{root}")).await? else {
        return Ok(None);
    };
    let shards = known_shards(s, &upload.shards).await?;
    let ids: BTreeSet<u64> = shards.iter().filter_map(|sh| sh.aggregate).collect();
    let mut aggs = BTreeMap::new();
    for id in ids {
        if let Some(a) = s.get::<AggEntry>(&format!("agg:{id}")).await? {
            aggs.insert(id, a);
        }
    }
    Ok(Some(archive_record(upload, shards, &aggs, broker::proposal_id, retrieval_url)))
}

/// The queue, active deals and aggregates, for operators.
async fn state(s: &Storage) -> worker::Result<Response> {
    let q = Queue::new(s);
    let ends = q.ends().await?;
    let head: Vec<String> = q.head(100).await?.into_iter().map(|e| e.car).collect();
    let queue = serde_json::json!({ "length": ends.len(), "bytes": ends.bytes, "head": head });
    let active: Vec<u64> = s.get("active").await?.unwrap_or_default();
    let next: u64 = s.get("next-agg").await?.unwrap_or(0);
    let mut aggs = Vec::new();
    for id in 0..next {
        aggs.extend(s.get::<AggEntry>(&format!("agg:{id}")).await?);
    }
    json(
        200,
        &serde_json::json!({ "queue": queue, "active": active, "aggregates": aggs, "alarm": s.get_alarm().await? }),
    )
}
