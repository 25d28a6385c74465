//! The archivist's deal policy, sans-IO: when the queue closes an aggregate, how a deal moves
//! through its stages, how long a retry waits, and where a failed deal's pieces go.
//!
//! The ledger holds no state of its own: every method is given the entries it needs and the time
//! (`now`, milliseconds since the Unix epoch), and returns the [`Write`]s to store, in order, or
//! the broker [`Call`] to make. Whoever runs it (the edge worker's Durable Object) only loads,
//! stores and calls, and because everything the policy knows is in what it wrote, a restart
//! between any two steps resumes where it stopped.
//!
//! Pieces of complete uploads wait in the queue until they add up to `min_bytes` or the oldest
//! has waited `max_age_ms`; then the first that fit a `max_deal_size` deal are packed into the
//! smallest deal that holds them ([`pack_deal`]), each gets its inclusion proof, and the
//! aggregate is offered to the broker. Broker failures are retried with exponential backoff
//! under the same proposal (so a retry never makes a second deal); a rejected or failed deal
//! puts its pieces back at the head of the queue, and the next aggregate waits a backoff that
//! doubles with each failure in a row.

use cid::Cid;

use crate::archive::entry::{AggEntry, Hold, NewShard, Proposal, ShardEntry, UploadEntry};
use crate::archive::queue::Queued;
use crate::archive::Stage;
use crate::piece::{pack_deal, AggregateError, Piece, PieceCidError};

/// When to aggregate, how large deals are, how often to ask and how long to back off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Queued bytes that close an aggregate at once.
    pub min_bytes: u64,
    /// How long the oldest queued shard waits before an aggregate closes anyway.
    pub max_age_ms: u64,
    /// Smallest deal to make, in padded bytes; an aggregate takes the smallest power of two from
    /// here that holds its pieces.
    pub min_deal_size: u64,
    /// Largest deal to make, in padded bytes: pieces past it wait for the next aggregate.
    pub max_deal_size: u64,
    /// How often a deal under way is asked after.
    pub poll_ms: u64,
    /// Wait before the first retry of a broker call, and after the first failed deal; doubles
    /// with each one after.
    pub retry_base_ms: u64,
    /// Longest such wait.
    pub retry_max_ms: u64,
}

impl Policy {
    /// Wait before retry number `attempt` (1, 2, ...): doubling from the base, capped.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        self.retry_base_ms
            .saturating_mul(1u64 << attempt.saturating_sub(1).min(30))
            .min(self.retry_max_ms)
    }
}

/// A change for the store, applied in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Store this shard entry, in place of the one with its car CID.
    Shard(ShardEntry),
    /// Store this upload entry, in place of the one with its root.
    Upload(UploadEntry),
    /// Store this aggregate entry, in place of the one with its id.
    Aggregate(AggEntry),
    /// Store this hold on new aggregates.
    Hold(Hold),
    /// The id the next aggregate gets.
    NextAggregate(u64),
    /// The aggregate's deal is under way: it joins the active list.
    Activate(u64),
    /// The aggregate's deal is finished (complete or failed): it leaves the active list.
    Retire(u64),
    /// Shards join the tail of the queue.
    Enqueue(Vec<Queued>),
    /// Shards go back in front of the head of the queue, in this order.
    Requeue(Vec<Queued>),
    /// The first `count` shards, of `bytes` in all, leave the queue.
    Dequeue {
        /// Shards that leave, from the head.
        count: usize,
        /// Their sizes added up.
        bytes: u64,
    },
}

/// How a deal stands, as the broker says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Under way, at this stage.
    Stage(Stage),
    /// The deal is on chain.
    Complete {
        /// The on-chain deal ID, if the broker gives one.
        deal_id: Option<String>,
        /// The storage provider, if the broker names one.
        provider: Option<String>,
    },
    /// The deal will not happen; the pieces need another aggregate.
    Failed(String),
}

/// Why the broker gave no answer to act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BrokerError {
    /// Try the same request again later (unavailable, overloaded, network).
    #[error("{0}")]
    Retry(String),
    /// The broker refused this deal for good.
    #[error("{0}")]
    Rejected(String),
}

impl crate::error::Coded for BrokerError {
    fn code(&self) -> &'static str {
        match self {
            BrokerError::Retry(_) => "BrokerRetry",
            BrokerError::Rejected(_) => "BrokerRejected",
        }
    }
}

/// What to ask the broker about a deal that is due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Call {
    /// Offer the aggregate.
    Offer {
        /// An earlier offer got no answer to act on, so the provider may hold the deal already.
        retry: bool,
    },
    /// Ask how the deal is going.
    Status,
}

/// What a broker's answer did to a deal.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// The deal moved (or will be retried): store these.
    Recorded(Vec<Write>),
    /// The deal will not happen: its pieces go back to the queue through [`Ledger::requeue`],
    /// given the aggregate's shards.
    Failed(Box<Failure>),
}

/// A deal that failed, waiting for its shards to be put back.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// The aggregate whose deal failed.
    pub aggregate: AggEntry,
    /// Why, as the broker said.
    pub reason: String,
    hold: Hold,
}

/// The queue, as far as the aggregation decision needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueView {
    /// Shards in the queue.
    pub len: u64,
    /// Their sizes added up.
    pub bytes: u64,
    /// When the shard at the head was queued, if the queue has one (and the ledger knows it).
    pub oldest: Option<u64>,
}

/// Why an aggregate could not be closed.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LedgerError {
    /// A queued shard's piece CID is not a v2 piece CID.
    #[error("queued piece {car}: {source}")]
    BadPiece {
        /// The shard's car CID.
        car: String,
        /// What is wrong with its piece CID.
        source: PieceCidError,
    },
    /// The queued pieces could not be packed into a deal.
    #[error("aggregation: {0}")]
    Aggregation(#[from] AggregateError),
    /// An upload found complete that the ledger has no entry for (its root).
    #[error("the upload {0} is not in the ledger")]
    NoUpload(String),
}

impl crate::error::Coded for LedgerError {
    fn code(&self) -> &'static str {
        match self {
            LedgerError::BadPiece { source, .. } => source.code(),
            LedgerError::Aggregation(e) => e.code(),
            LedgerError::NoUpload(_) => "NoUpload",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            LedgerError::BadPiece { source, .. } => source.cid(),
            LedgerError::Aggregation(e) => e.cid(),
            LedgerError::NoUpload(_) => None,
        }
    }
}

/// The deal policy, and how the broker spells a proposal's name (core does not know the
/// broker's format; mk20 names deals by ULID).
#[derive(Clone, Debug)]
pub struct Ledger {
    /// When to aggregate, how large deals are, and how long to wait between tries.
    pub policy: Policy,
    /// The broker's name for a proposal, as a failed deal's note names it.
    pub proposal_name: fn(&Proposal) -> String,
}

/// A shard recorded under its upload.
#[derive(Debug, PartialEq, Eq)]
pub struct Added {
    /// Whether the shard was stored before (under any root).
    pub known: bool,
    /// What to store, in order.
    pub writes: Vec<Write>,
}

impl Ledger {
    /// Records a stored shard under its upload; `Err` (the conflict, nothing to store) when the
    /// upload belongs to another token: an upload's shards are its owner's alone, so nobody can
    /// attach a shard to someone else's root (to break its completeness check or join its
    /// archive).
    pub fn add_shard(
        &self,
        upload: Option<UploadEntry>,
        existing: Option<ShardEntry>,
        new: NewShard,
        now: u64,
    ) -> Result<Added, String> {
        if let Some(u) =
            upload.as_ref().filter(|u| u.owner.as_ref().is_some_and(|o| *o != new.owner))
        {
            let state = if u.complete { "is stored and complete" } else { "was started" };
            return Err(format!("the upload of root {} {state} by another token: its shards can only come from that token", new.root));
        }
        let known = existing.is_some();
        let mut shard = existing.unwrap_or(ShardEntry {
            car: new.car.clone(),
            key: new.key,
            size: new.size,
            piece: new.piece,
            stored: now,
            roots: Vec::new(),
            queued: false,
            aggregate: None,
            proof: None,
            note: None,
            offset: None,
            checks: Default::default(),
            evicted: None,
        });
        if !shard.roots.contains(&new.root) {
            shard.roots.push(new.root.clone());
        }
        let mut upload = upload.unwrap_or(UploadEntry {
            root: new.root,
            shards: Vec::new(),
            complete: false,
            created: now,
            owner: None,
        });
        upload.owner.get_or_insert(new.owner);
        if !upload.shards.contains(&new.car) {
            upload.shards.push(new.car);
        }
        Ok(Added { known, writes: vec![Write::Shard(shard), Write::Upload(upload)] })
    }

    /// The upload's DAG was found complete: its shards (those the ledger has, in the upload's
    /// order) join the queue, their age counting from now.
    pub fn complete_upload(
        &self,
        upload: Option<UploadEntry>,
        shards: Vec<ShardEntry>,
        now: u64,
        root: &str,
    ) -> Result<Vec<Write>, LedgerError> {
        let mut upload = upload.ok_or_else(|| LedgerError::NoUpload(root.to_string()))?;
        upload.complete = true;
        let mut writes = vec![Write::Upload(upload)];
        for mut sh in shards.into_iter().filter(|sh| !sh.queued) {
            sh.queued = true;
            sh.stored = now;
            let queued = Queued { car: sh.car.clone(), size: sh.size };
            writes.push(Write::Shard(sh));
            writes.push(Write::Enqueue(vec![queued]));
        }
        Ok(writes)
    }

    /// Whether the queue closes an aggregate now: it is full enough or its head old enough, and
    /// no hold after failed deals is in force.
    pub fn aggregate_due(&self, queue: &QueueView, hold: &Hold, now: u64) -> bool {
        if queue.len == 0 {
            return false;
        }
        let oldest = queue.oldest.unwrap_or(0);
        let full = queue.bytes >= self.policy.min_bytes;
        (full || now >= oldest + self.policy.max_age_ms) && now >= hold.until
    }

    /// Closes aggregate `id` from `head`, the shards at the head of the queue (in order): the
    /// first that fit one deal, each with its inclusion proof, offered under `proposal`.
    pub fn close_aggregate(
        &self,
        id: u64,
        head: Vec<ShardEntry>,
        proposal: Proposal,
        now: u64,
    ) -> Result<Vec<Write>, LedgerError> {
        let pieces = head
            .iter()
            .map(|sh| {
                let bad = |source| LedgerError::BadPiece { car: sh.car.clone(), source };
                let cid: Cid = sh.piece.parse().map_err(|e: cid::Error| {
                    bad(PieceCidError::Parse { text: sh.piece.clone(), reason: e.to_string() })
                })?;
                Piece::from_cid(&cid).map_err(bad)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let (agg, taken) =
            pack_deal(&pieces, self.policy.min_deal_size, self.policy.max_deal_size)?;
        let mut writes = Vec::with_capacity(taken + 5);
        let mut shards = Vec::with_capacity(taken);
        let mut bytes = 0;
        for (n, mut sh) in head.into_iter().take(taken).enumerate() {
            sh.aggregate = Some(id);
            sh.proof = agg.proof_for_entry(n).map(|p| p.to_text());
            sh.offset = agg.placements().get(n).map(|p| p.payload_offset());
            sh.note = None;
            bytes += sh.size;
            shards.push(sh.car.clone());
            writes.push(Write::Shard(sh));
        }
        writes.push(Write::Aggregate(AggEntry {
            id,
            cid: agg.cid().to_string(),
            deal_size: agg.deal_size(),
            shards,
            proposal,
            stage: Stage::Aggregated,
            created: now,
            offered: None,
            complete: None,
            updated: now,
            attempts: 0,
            next_at: now,
            deal_id: None,
            provider: None,
            note: None,
            failed: None,
            pulled: None,
        }));
        writes.push(Write::NextAggregate(id + 1));
        writes.push(Write::Dequeue { count: taken, bytes });
        writes.push(Write::Activate(id));
        Ok(writes)
    }

    /// The call to make for an active deal, if it is due; an offer marks the aggregate offered
    /// (stored with the answer).
    pub fn call(&self, agg: &mut AggEntry, now: u64) -> Option<Call> {
        if agg.next_at > now {
            return None;
        }
        if agg.stage > Stage::Offered {
            return Some(Call::Status);
        }
        agg.offered.get_or_insert(now);
        Some(Call::Offer { retry: agg.attempts > 0 })
    }

    /// Records the broker's answer to [`Ledger::call`].
    pub fn answer(
        &self,
        mut agg: AggEntry,
        hold: Hold,
        answer: Result<Progress, BrokerError>,
        now: u64,
    ) -> Step {
        agg.updated = now;
        let mut writes = Vec::with_capacity(3);
        match answer {
            Ok(Progress::Stage(stage)) => {
                agg.stage = stage.max(Stage::Accepted);
                agg.attempts = 0;
                agg.note = None;
                agg.next_at = now + self.policy.poll_ms;
            }
            Ok(Progress::Complete { deal_id, provider }) => {
                agg.stage = Stage::Complete;
                agg.complete = Some(now);
                agg.deal_id = deal_id;
                agg.provider = provider;
                agg.note = None;
                writes.push(Write::Hold(Hold::default()));
            }
            Ok(Progress::Failed(reason)) | Err(BrokerError::Rejected(reason)) => {
                let failures = hold.failures + 1;
                let hold = Hold { until: now + self.policy.backoff_ms(failures), failures };
                return Step::Failed(Box::new(Failure { aggregate: agg, reason, hold }));
            }
            Err(BrokerError::Retry(reason)) => {
                agg.attempts += 1;
                agg.stage = agg.stage.max(Stage::Offered);
                agg.next_at = now + self.policy.backoff_ms(agg.attempts);
                agg.note = Some(format!("broker: {reason} (attempt {}, retrying)", agg.attempts));
            }
        }
        let done = (agg.stage == Stage::Complete).then_some(agg.id);
        writes.push(Write::Aggregate(agg));
        writes.extend(done.map(Write::Retire));
        Step::Recorded(writes)
    }

    /// Closes a failed deal's aggregate and puts `shards` (those of its shards the ledger has,
    /// in segment order) back at the head of the queue, to be aggregated again.
    pub fn requeue(&self, failure: Box<Failure>, shards: Vec<ShardEntry>, now: u64) -> Vec<Write> {
        let Failure { aggregate: mut agg, reason, hold } = *failure;
        let note = format!(
            "deal {} of aggregate {} failed: {reason}; back in the queue",
            (self.proposal_name)(&agg.proposal),
            agg.cid
        );
        let mut writes = vec![Write::Hold(hold)];
        let mut requeued = Vec::with_capacity(shards.len());
        for mut sh in shards {
            sh.aggregate = None;
            sh.proof = None;
            sh.offset = None;
            sh.note = Some(note.clone());
            requeued.push(Queued { car: sh.car.clone(), size: sh.size });
            writes.push(Write::Shard(sh));
        }
        writes.push(Write::Requeue(requeued));
        agg.failed = Some(reason);
        agg.updated = now;
        let id = agg.id;
        writes.push(Write::Aggregate(agg));
        writes.push(Write::Retire(id));
        writes
    }

    /// The provider read the aggregate's payload to its end: the first time is recorded.
    pub fn pulled(&self, mut agg: AggEntry, now: u64) -> Option<Write> {
        if agg.pulled.is_some() {
            return None;
        }
        agg.pulled = Some(now);
        Some(Write::Aggregate(agg))
    }

    /// When the next thing is due: the queue's age limit (or now, when it is full; never before
    /// the hold ends), and every active deal's next step.
    pub fn next_due<'a>(
        &self,
        queue: &QueueView,
        hold: &Hold,
        active: impl IntoIterator<Item = &'a AggEntry>,
        now: u64,
    ) -> Option<u64> {
        let mut next = None;
        if queue.len > 0 {
            next = queue.oldest.map(|o| o + self.policy.max_age_ms);
            if queue.bytes >= self.policy.min_bytes {
                next = Some(now);
            }
            next = next.map(|n: u64| n.max(hold.until));
        }
        active.into_iter().map(|a| a.next_at).fold(next, |n, at| Some(n.map_or(at, |n| n.min(at))))
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
