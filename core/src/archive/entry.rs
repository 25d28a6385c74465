//! What the archivist's ledger stores: one entry per shard, upload and aggregate, and the hold on
//! new aggregates. The edge worker keeps them as JSON in a Durable Object's storage (the
//! `serde` feature), so the field names are the stored format: renaming one loses data. Times
//! are milliseconds since the Unix epoch, the `now` the ledger is given.

use crate::archive::retrieval::Checks;
use crate::archive::Stage;

/// A stored shard, as the ledger knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ShardEntry {
    /// CID of the shard's bytes (codec car).
    pub car: String,
    /// Store object of the shard's bytes (its index is `{key}.idx`, its dangling links
    /// `{key}.links`).
    pub key: String,
    /// Bytes of the shard's CAR.
    pub size: u64,
    /// v2 piece CID.
    pub piece: String,
    /// When it was stored; reset when its upload completes (the queue's age counts from then).
    pub stored: u64,
    /// Roots of the uploads it is recorded under.
    #[cfg_attr(feature = "serde", serde(default))]
    pub roots: Vec<String>,
    /// Whether the shard is (or was) in the queue: set once its upload is complete.
    #[cfg_attr(feature = "serde", serde(default))]
    pub queued: bool,
    /// Id of the aggregate it is in, if any.
    #[cfg_attr(feature = "serde", serde(default))]
    pub aggregate: Option<u64>,
    /// Its inclusion proof in that aggregate, in the text form (unpadded base64url).
    #[cfg_attr(feature = "serde", serde(default))]
    pub proof: Option<String>,
    /// Why it went back to the queue (a failed deal), until it is aggregated again.
    #[cfg_attr(feature = "serde", serde(default))]
    pub note: Option<String>,
    /// Where its bytes start in its aggregate's payload, set with the aggregate.
    #[cfg_attr(feature = "serde", serde(default))]
    pub offset: Option<u64>,
    /// Its retrieval checks, once its deal is complete.
    #[cfg_attr(feature = "serde", serde(default))]
    pub checks: Checks,
    /// When its bytes were evicted from the store (only the provider holds them since).
    #[cfg_attr(feature = "serde", serde(default))]
    pub evicted: Option<u64>,
}

/// An upload: a root and the shards stored under it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct UploadEntry {
    /// The upload's root CID.
    pub root: String,
    /// Car CIDs of its shards, in the order they arrived.
    pub shards: Vec<String>,
    /// Whether its DAG was found complete (and its shards queued).
    pub complete: bool,
    /// When its first shard was recorded.
    pub created: u64,
    /// The id of the token whose first shard started the upload: only it may add shards.
    #[cfg_attr(feature = "serde", serde(default))]
    pub owner: Option<String>,
}

/// The name of a deal proposal, fixed before the first offer so that retries name the same deal:
/// a time and random bits, which the broker spells (mk20: as a ULID).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Proposal {
    /// When the proposal was made, in milliseconds since the Unix epoch (a ULID's time part).
    pub time_ms: u64,
    /// Random bits from the caller (core has no randomness; a ULID's random part).
    pub random: [u8; 10],
}

/// An aggregate and its deal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct AggEntry {
    /// The ledger's number for the aggregate, one more than the last.
    pub id: u64,
    /// v2 piece CID of the aggregate.
    pub cid: String,
    /// Padded bytes of the deal.
    pub deal_size: u64,
    /// The shards' car CIDs, in segment order.
    pub shards: Vec<String>,
    /// The broker's proposal, fixed before the first offer.
    pub proposal: Proposal,
    /// How far its deal has got.
    pub stage: Stage,
    /// When it was closed.
    pub created: u64,
    /// When it was first offered to the broker.
    #[cfg_attr(feature = "serde", serde(default))]
    pub offered: Option<u64>,
    /// When the broker called its deal complete.
    #[cfg_attr(feature = "serde", serde(default))]
    pub complete: Option<u64>,
    /// Last change of any kind.
    pub updated: u64,
    /// Broker calls in a row that got no answer to act on.
    #[cfg_attr(feature = "serde", serde(default))]
    pub attempts: u32,
    /// When the deal is next offered or asked after.
    pub next_at: u64,
    /// The on-chain deal ID, once the broker gives one.
    #[cfg_attr(feature = "serde", serde(default))]
    pub deal_id: Option<String>,
    /// The storage provider, once the broker names one.
    #[cfg_attr(feature = "serde", serde(default))]
    pub provider: Option<String>,
    /// The broker failure being retried, if the last call got one.
    #[cfg_attr(feature = "serde", serde(default))]
    pub note: Option<String>,
    /// Set when the deal failed or was rejected (its pieces went back to the queue).
    #[cfg_attr(feature = "serde", serde(default))]
    pub failed: Option<String>,
    /// When the provider first read the aggregate's payload to its end.
    #[cfg_attr(feature = "serde", serde(default))]
    pub pulled: Option<u64>,
}

/// No new aggregate before `until`: set after failed deals, `failures` in a row, so that a
/// provider that refuses everything is not offered a new aggregate on every tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Hold {
    /// When new aggregates may close again.
    pub until: u64,
    /// Deals failed in a row; a complete deal resets it.
    pub failures: u32,
}

/// A shard the upload door stored, to record under its upload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct NewShard {
    /// Root CID of the upload it belongs to.
    pub root: String,
    /// CID of the shard's bytes (codec car).
    pub car: String,
    /// Store object of the shard's bytes.
    pub key: String,
    /// Bytes of the shard's CAR.
    pub size: u64,
    /// v2 piece CID.
    pub piece: String,
    /// The uploading token's id.
    pub owner: String,
}
