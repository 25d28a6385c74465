//! The broker's state: every deal, the injected faults, the running pulls. One lock guards it;
//! every change to a deal is written to disk before the lock is released.

use std::collections::{BTreeMap, HashSet};
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;

use carport_mk20::types::Deal;
use carport_mk20::{DealStatusResponse, Network, Ulid};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::pull::{self, PullJob};
use crate::retrieval::{Held, RetrievalFaults};
use crate::stages::{Phase, Progress, Pull};
use crate::store::{DealRecord, Store, StoreError};

/// What the command line sets.
#[derive(Clone, Debug)]
pub struct Config {
    /// The provider's address, which deals must name and which completed deals report.
    pub provider: String,
    /// The provider's network: how client addresses are written.
    pub network: Network,
    /// Clients allowed to make deals; everyone when `None`.
    pub allow: Option<Vec<String>>,
    /// Least time in each stage.
    pub stage_ms: u64,
}

/// The faults `POST /_broker/faults` injects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// The next N deal posts answer 503 and record nothing.
    #[serde(default)]
    pub fail_next: u32,
    /// The next N accepted deals fail instead of being processed.
    #[serde(default)]
    pub reject_next: u32,
    /// The next N accepted deals go on to complete without pulling the aggregate.
    #[serde(default)]
    pub lie_next: u32,
    /// How piece retrieval misbehaves.
    #[serde(flatten)]
    pub retrieval: RetrievalFaults,
}

/// A change to the faults: the counters given replace the current ones.
#[derive(Clone, Copy, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsPatch {
    pub fail_next: Option<u32>,
    pub reject_next: Option<u32>,
    pub lie_next: Option<u32>,
    pub retrieval_down: Option<bool>,
    pub retrieval_slow_ms: Option<u64>,
    pub retrieval_wrong: Option<bool>,
    pub retrieval_truncated: Option<bool>,
}

/// One deal as `GET /_broker/deals` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealSummary {
    pub id: String,
    pub client: String,
    pub piece_cid: Option<String>,
    pub provider: String,
    pub stage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deal_id: Option<u64>,
    pub since_ms: u64,
}

/// Why a deal could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("a deal with this identifier exists")]
    Duplicate,
    #[error("saving the deal: {0}")]
    Storage(#[from] io::Error),
}

pub struct Broker {
    pub config: Config,
    store: Store,
    agent: ureq::Agent,
    state: Mutex<State>,
}

struct State {
    deals: BTreeMap<Ulid, DealRecord>,
    faults: Faults,
    /// Deals whose pull runs in this process.
    pulling: HashSet<Ulid>,
    next_deal_id: u64,
}

impl Broker {
    /// The broker over the records in `store`, as they were left.
    pub fn new(config: Config, store: Store) -> Result<Arc<Broker>, StoreError> {
        let deals: BTreeMap<Ulid, DealRecord> =
            store.load()?.into_iter().map(|r| (r.id(), r)).collect();
        let last_id = deals
            .values()
            .filter_map(|r| match r.progress.phase {
                Phase::Complete { deal_id } => Some(deal_id),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let state = State {
            deals,
            faults: Faults::default(),
            pulling: HashSet::new(),
            next_deal_id: last_id + 1,
        };
        Ok(Arc::new(Broker { config, store, agent: pull::agent(), state: Mutex::new(state) }))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave a deal half-changed: records are replaced whole.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Uses up one injected post failure, if any is left.
    pub fn take_injected_failure(&self) -> bool {
        let mut state = self.lock();
        let left = state.faults.fail_next > 0;
        state.faults.fail_next = state.faults.fail_next.saturating_sub(1);
        left
    }

    /// Records a validated deal, accepted at `now_ms`.
    pub fn accept(&self, deal: Deal, now_ms: u64) -> Result<(), AcceptError> {
        let mut state = self.lock();
        if state.deals.contains_key(&deal.identifier) {
            return Err(AcceptError::Duplicate);
        }
        let reject = state.faults.reject_next > 0;
        let lie = !reject && state.faults.lie_next > 0;
        let record = DealRecord { deal, progress: Progress::accepted(now_ms, reject, lie) };
        self.store.save(&record)?;
        state.faults.reject_next = state.faults.reject_next.saturating_sub(u32::from(reject));
        state.faults.lie_next = state.faults.lie_next.saturating_sub(u32::from(lie));
        state.deals.insert(record.id(), record);
        Ok(())
    }

    /// The deal's client and its status answer.
    pub fn status(&self, id: &Ulid) -> Option<(String, DealStatusResponse)> {
        self.lock().deals.get(id).map(|r| (r.deal.client.clone(), r.progress.status()))
    }

    /// Applies a change to the faults and gives them as they now are.
    pub fn set_faults(&self, patch: FaultsPatch) -> Faults {
        let mut state = self.lock();
        if let Some(n) = patch.fail_next {
            state.faults.fail_next = n;
        }
        if let Some(n) = patch.reject_next {
            state.faults.reject_next = n;
        }
        if let Some(n) = patch.lie_next {
            state.faults.lie_next = n;
        }
        let r = &mut state.faults.retrieval;
        r.retrieval_down = patch.retrieval_down.unwrap_or(r.retrieval_down);
        r.retrieval_slow_ms = patch.retrieval_slow_ms.unwrap_or(r.retrieval_slow_ms);
        r.retrieval_wrong = patch.retrieval_wrong.unwrap_or(r.retrieval_wrong);
        r.retrieval_truncated = patch.retrieval_truncated.unwrap_or(r.retrieval_truncated);
        state.faults
    }

    /// The aggregates whose pull may have left a verified file, and the retrieval faults.
    pub fn held(&self) -> (Vec<Held>, RetrievalFaults) {
        let state = self.lock();
        let held = state
            .deals
            .values()
            .filter_map(|r| {
                let job = self.job(&r.deal).ok()?;
                Some(Held { piece: job.piece, sub_pieces: job.sub_pieces, path: job.dest })
            })
            .collect();
        (held, state.faults.retrieval)
    }

    /// Every deal, in identifier order.
    pub fn list(&self) -> Vec<DealSummary> {
        let state = self.lock();
        state.deals.values().map(|r| self.summary(r)).collect()
    }

    fn summary(&self, r: &DealRecord) -> DealSummary {
        let provider = r
            .deal
            .products
            .ddo_v1
            .as_ref()
            .map_or_else(|| self.config.provider.clone(), |d| d.provider.clone());
        DealSummary {
            id: r.id().to_string(),
            client: r.deal.client.clone(),
            piece_cid: r.deal.data.as_ref().map(|d| d.piece_cid.0.to_string()),
            provider,
            stage: r.progress.phase.name().to_string(),
            reason: match &r.progress.phase {
                Phase::Failed { reason } => Some(reason.clone()),
                _ => None,
            },
            deal_id: match r.progress.phase {
                Phase::Complete { deal_id } => Some(deal_id),
                _ => None,
            },
            since_ms: r.progress.since_ms,
        }
    }

    /// Moves every deal on to `now_ms` and starts the pulls that are due.
    pub fn tick(self: &Arc<Self>, now_ms: u64) {
        let mut starts = Vec::new();
        {
            let mut guard = self.lock();
            let State { deals, pulling, next_deal_id, .. } = &mut *guard;
            let mut take_id = || {
                let id = *next_deal_id;
                *next_deal_id += 1;
                id
            };
            for record in deals.values_mut() {
                if record.progress.advance(now_ms, self.config.stage_ms, &mut take_id) {
                    self.persist(record);
                }
                if record.progress.wants_pull() && record.progress.lie {
                    record.progress.phase =
                        Phase::Processing { pull: Pull::Verified { at_ms: now_ms } };
                    self.persist(record);
                } else if record.progress.wants_pull() && pulling.insert(record.id()) {
                    starts.push((record.id(), self.job(&record.deal)));
                }
            }
        }
        for (id, job) in starts {
            let broker = Arc::clone(self);
            thread::spawn(move || {
                let result = job.and_then(|job| pull::run(&job, &broker.agent));
                broker.finish_pull(&id, result, clock::now_ms());
            });
        }
    }

    /// The pull of a deal, or why there can be none.
    fn job(&self, deal: &Deal) -> Result<PullJob, String> {
        let data = deal.data.as_ref().ok_or("the deal has no data")?;
        let piece = data.piece_cid.0;
        Ok(PullJob {
            piece,
            sub_pieces: data
                .format
                .aggregate
                .iter()
                .flat_map(|a| a.sub.iter().map(|s| s.piece_cid.0))
                .collect(),
            urls: data.source_http.as_ref().map(|s| s.urls.clone()).unwrap_or_default(),
            dest: self.store.aggregate_path(&piece.to_string()),
            partial: self.store.partial_path(&deal.identifier),
        })
    }

    /// Records how a pull ended.
    fn finish_pull(&self, id: &Ulid, result: Result<(), String>, at_ms: u64) {
        let mut state = self.lock();
        state.pulling.remove(id);
        let Some(record) = state.deals.get_mut(id) else { return };
        if !record.progress.wants_pull() {
            return;
        }
        let pull = match result {
            Ok(()) => Pull::Verified { at_ms },
            Err(reason) => Pull::Failed { reason },
        };
        record.progress.phase = Phase::Processing { pull };
        self.persist(record);
    }

    /// Saves a record; a broker that cannot write says so on stderr and goes on, since the
    /// deal's state in memory is still right.
    fn persist(&self, record: &DealRecord) {
        if let Err(e) = self.store.save(record) {
            eprintln!("carport-broker: saving deal {}: {e}", record.id());
        }
    }
}
