//! Reading an archived shard back from its storage provider, and the record of how well that
//! works.
//!
//! A provider with a complete deal serves the aggregate it holds as a piece (the Piece Gateway's
//! `GET /piece/{cid}` with `Range`): the aggregate's payload, in which each shard's CAR sits at
//! its placement's payload offset. So a block of an archived shard is one ranged read: the
//! shard's CARv2 index gives the block's section in the shard, and [`ProviderCopy::range`] moves
//! that range into the aggregate. The archivist samples each complete shard on a schedule
//! ([`sample`], with the caller's randomness), checks every section it reads
//! ([`read_section`]), keeps the results ([`Checks`]), and the tiering rule ([`may_evict`])
//! lets the hot copy go only after enough checks passed and none is failing.

use std::ops::Range;

use cid::Cid;

use crate::archive::entry::{AggEntry, ShardEntry};
use crate::archive::Stage;
use crate::codec::varint;

/// Checks kept in a shard's history, newest last.
pub const HISTORY: usize = 8;

/// Where a provider holds a shard's bytes: inside the payload of the aggregate piece it stores.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct ProviderCopy {
    /// Base URL of the provider's piece retrieval (its `/piece/` route is under it).
    pub url: String,
    /// v2 piece CID of the aggregate the provider stores.
    pub piece: String,
    /// Offset of the shard's first byte in the aggregate's payload.
    pub offset: u64,
    /// Bytes of the shard.
    pub size: u64,
}

impl ProviderCopy {
    /// The URL of the aggregate piece.
    pub fn piece_url(&self) -> String {
        format!("{}/piece/{}", self.url.trim_end_matches('/'), self.piece)
    }

    /// The bytes of the aggregate that hold `range` of the shard.
    pub fn range(&self, range: Range<u64>) -> Result<Range<u64>, RetrievalError> {
        if range.start > range.end || range.end > self.size {
            return Err(RetrievalError::OutsideShard {
                start: range.start,
                end: range.end,
                size: self.size,
            });
        }
        Ok(self.offset + range.start..self.offset + range.end)
    }

    /// The bytes of the aggregate that hold the whole shard.
    pub fn whole(&self) -> Range<u64> {
        self.offset..self.offset + self.size
    }
}

/// The `Range` header that asks for `range` (which must not be empty).
pub fn range_header(range: &Range<u64>) -> String {
    format!("bytes={}-{}", range.start, range.end.saturating_sub(1))
}

/// Why bytes read back from a provider are not what was stored.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum RetrievalError {
    /// A range asked of a shard runs past its end.
    #[error("bytes {start}..{end} are outside the shard's {size} bytes")]
    OutsideShard {
        /// First byte asked for.
        start: u64,
        /// One past the last.
        end: u64,
        /// The shard's size.
        size: u64,
    },
    /// The bytes at a section's place are not a whole CAR section (offset: in the shard).
    #[error("the provider's bytes at shard offset {offset} are not a CAR section: {reason}")]
    NotASection {
        /// Where the section starts in the shard.
        offset: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The section holds another block than the index says.
    #[error(
        "the provider's section at shard offset {offset} holds {found}, not the indexed block"
    )]
    OtherBlock {
        /// Where the section starts in the shard.
        offset: u64,
        /// The CID found there.
        found: Cid,
    },
}

impl crate::error::Coded for RetrievalError {
    fn code(&self) -> &'static str {
        match self {
            RetrievalError::OutsideShard { .. } => "OutsideShard",
            RetrievalError::NotASection { .. } => "NotASection",
            RetrievalError::OtherBlock { .. } => "OtherBlock",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            RetrievalError::OtherBlock { found, .. } => Some(found),
            _ => None,
        }
    }

    /// From the start of the shard.
    fn offset(&self) -> Option<u64> {
        match self {
            RetrievalError::OutsideShard { start, .. } => Some(*start),
            RetrievalError::NotASection { offset, .. }
            | RetrievalError::OtherBlock { offset, .. } => Some(*offset),
        }
    }
}

/// Reads a section that came back from a provider (it started at shard offset `offset`) against
/// the index entry that located it, multihash `code` and `digest`: it must be one whole section
/// of that block. Gives the block's CID and bytes, which the caller still hashes against the CID
/// (the edge worker does it with the runtime's native SHA-256).
pub fn read_section<'a>(
    code: u64,
    digest: &[u8],
    offset: u64,
    section: &'a [u8],
) -> Result<(Cid, &'a [u8]), RetrievalError> {
    let bad = |reason| RetrievalError::NotASection { offset, reason };
    let (len, n) = match varint::read(section) {
        varint::Read::Value(len, n) => (len, n),
        _ => return Err(bad("bad length")),
    };
    let body = usize::try_from(len)
        .ok()
        .and_then(|len| section.get(n..n.checked_add(len)?))
        .ok_or(bad("truncated"))?;
    if n + body.len() != section.len() {
        return Err(bad("longer than its length says"));
    }
    let mut cursor = std::io::Cursor::new(body);
    let cid = Cid::read_bytes(&mut cursor).map_err(|_| bad("bad CID"))?;
    if cid.hash().code() != code || cid.hash().digest() != digest {
        return Err(RetrievalError::OtherBlock { offset, found: cid });
    }
    Ok((cid, &body[cursor.position() as usize..]))
}

/// One retrieval check of a shard: a few of its blocks read back from the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct CheckResult {
    /// When it ran, in milliseconds since the Unix epoch.
    pub at: u64,
    /// Whether every sampled block came back whole and right.
    pub ok: bool,
    /// How long the reads took, in milliseconds.
    pub latency_ms: u64,
    /// Blocks read back.
    pub blocks: u32,
    /// What went wrong, when it did.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub note: Option<String>,
}

/// The retrieval checks of a shard: the last [`HISTORY`] in full, and the counts that decide
/// tiering.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct Checks {
    /// Checks passed, in all.
    #[cfg_attr(feature = "serde", serde(default))]
    pub passes: u32,
    /// Checks failed since the last that passed: a shard with any is flagged.
    #[cfg_attr(feature = "serde", serde(default))]
    pub failures_in_row: u32,
    /// The latest checks, oldest first.
    #[cfg_attr(feature = "serde", serde(default))]
    pub history: Vec<CheckResult>,
}

impl Checks {
    /// Adds a check's result.
    pub fn record(&mut self, result: CheckResult) {
        if result.ok {
            self.passes += 1;
            self.failures_in_row = 0;
        } else {
            self.failures_in_row += 1;
        }
        self.history.push(result);
        let extra = self.history.len().saturating_sub(HISTORY);
        self.history.drain(..extra);
    }

    /// The latest check, if any ran.
    pub fn last(&self) -> Option<&CheckResult> {
        self.history.last()
    }

    /// Whether the latest checks failed: the provider's copy cannot be relied on now.
    pub fn flagged(&self) -> bool {
        self.failures_in_row > 0
    }

    /// Whether a check is due at `now`, one every `every_ms`; a failing shard is checked again
    /// at the same pace (the provider may be back).
    pub fn due(&self, now: u64, every_ms: u64) -> bool {
        self.last().is_none_or(|c| now >= c.at.saturating_add(every_ms))
    }
}

/// Which blocks of a shard of `count` blocks one check reads: `always` (the upload's root, when
/// the shard holds it) and then `n` others drawn from `seed`, all distinct, at most `count`.
/// Positions are into the caller's list of the shard's blocks, in any fixed order.
pub fn sample(count: usize, always: Option<usize>, n: usize, seed: u64) -> Vec<usize> {
    let mut picked: Vec<usize> = always.filter(|&a| a < count).into_iter().collect();
    let want = (picked.len() + n).min(count);
    let mut state = seed;
    while picked.len() < want {
        let at = (splitmix64(&mut state) % count as u64) as usize;
        if !picked.contains(&at) {
            picked.push(at);
        }
    }
    picked
}

/// SplitMix64: the caller's seed stretched into positions (not for secrets, only sampling).
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Where a shard's bytes are now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Tier {
    /// Only in the worker's store: its deal is not complete.
    #[default]
    Hot,
    /// In the store and with the provider.
    Both,
    /// Only with the provider: the store's copy was evicted.
    Cold,
}

impl Tier {
    /// Its lowercase name, as the JSON record spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Both => "both",
            Tier::Cold => "cold",
        }
    }
}

/// Where `shard`'s bytes are, from its entry and its aggregate's: with the provider once the deal
/// is complete and the provider pulled the aggregate, still in the store until evicted.
pub fn tier(shard: &ShardEntry, agg: Option<&AggEntry>) -> Tier {
    if shard.evicted.is_some() {
        Tier::Cold
    } else if agg.is_some_and(holds) {
        Tier::Both
    } else {
        Tier::Hot
    }
}

/// Whether the provider holds the aggregate: its deal is complete and it read the payload.
pub fn holds(agg: &AggEntry) -> bool {
    agg.stage == Stage::Complete && agg.pulled.is_some() && agg.failed.is_none()
}

/// Where the provider serves `shard` back, when it holds it: `url` is the deployment's setting
/// for the provider's retrieval (its piece gateway).
pub fn provider_copy(shard: &ShardEntry, agg: &AggEntry, url: &str) -> Option<ProviderCopy> {
    if !holds(agg) || shard.aggregate != Some(agg.id) {
        return None;
    }
    Some(ProviderCopy {
        url: url.to_string(),
        piece: agg.cid.clone(),
        offset: shard.offset?,
        size: shard.size,
    })
}

/// Why a shard's hot copy may not be evicted.
#[derive(Debug, thiserror::Error, Clone, Copy, PartialEq, Eq)]
pub enum EvictRefusal {
    /// Tiering is off (`EVICT_AFTER_CHECKS` is 0).
    #[error("tiering is off")]
    Off,
    /// The store's copy is already gone.
    #[error("the shard is already cold")]
    AlreadyCold,
    /// Its deal is not complete, or the provider never pulled the aggregate.
    #[error("the shard's deal is not complete")]
    NotArchived,
    /// Its latest retrieval checks failed.
    #[error("the shard's last {failures} retrieval checks failed")]
    Failing {
        /// Failed checks in a row.
        failures: u32,
    },
    /// Not enough checks have passed yet.
    #[error("{passes} of the {needed} passed retrieval checks eviction needs")]
    TooFewChecks {
        /// Checks passed.
        passes: u32,
        /// Checks needed.
        needed: u32,
    },
}

impl crate::error::Coded for EvictRefusal {
    fn code(&self) -> &'static str {
        match self {
            EvictRefusal::Off => "TieringOff",
            EvictRefusal::AlreadyCold => "AlreadyCold",
            EvictRefusal::NotArchived => "NotArchived",
            EvictRefusal::Failing { .. } => "ChecksFailing",
            EvictRefusal::TooFewChecks { .. } => "TooFewChecks",
        }
    }
}

/// The tiering rule: a shard's hot copy goes only when its deal is complete (and pulled), at
/// least `after` retrieval checks passed, and the latest did not fail. `after` 0 is off.
pub fn may_evict(tier: Tier, checks: &Checks, after: u32) -> Result<(), EvictRefusal> {
    match tier {
        _ if after == 0 => Err(EvictRefusal::Off),
        Tier::Cold => Err(EvictRefusal::AlreadyCold),
        Tier::Hot => Err(EvictRefusal::NotArchived),
        Tier::Both if checks.flagged() => {
            Err(EvictRefusal::Failing { failures: checks.failures_in_row })
        }
        Tier::Both if checks.passes < after => {
            Err(EvictRefusal::TooFewChecks { passes: checks.passes, needed: after })
        }
        Tier::Both => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::{piece_of, Aggregate};
    use multihash_codetable::{Code, MultihashDigest};

    fn raw_cid(data: &[u8]) -> Cid {
        Cid::new_v1(0x55, Code::Sha2_256.digest(data))
    }

    fn check(at: u64, ok: bool) -> CheckResult {
        CheckResult { at, ok, latency_ms: 5, blocks: 3, note: None }
    }

    #[test]
    fn a_block_is_one_range_of_the_aggregate_payload() {
        // Three shards in an aggregate, their bytes where the payload layout puts them.
        let shards: Vec<Vec<u8>> = (1..4u8).map(|s| vec![s; 700 * usize::from(s)]).collect();
        let pieces: Vec<Cid> = shards.iter().map(|b| piece_of(b).unwrap().cid).collect();
        let agg = Aggregate::new(1 << 14, &pieces).unwrap();
        let mut payload = vec![0u8; agg.payload_size() as usize];
        for (p, bytes) in agg.placements().iter().zip(&shards) {
            let at = p.payload_offset() as usize;
            payload[at..at + bytes.len()].copy_from_slice(bytes);
        }
        for (n, bytes) in shards.iter().enumerate() {
            let copy = ProviderCopy {
                url: "http://sp.example/".into(),
                piece: agg.cid().to_string(),
                offset: agg.placements()[n].payload_offset(),
                size: bytes.len() as u64,
            };
            let r = copy.range(100..150).unwrap();
            assert_eq!(&payload[r.start as usize..r.end as usize], &bytes[100..150]);
            let w = copy.whole();
            assert_eq!(&payload[w.start as usize..w.end as usize], &bytes[..]);
            assert_eq!(copy.piece_url(), format!("http://sp.example/piece/{}", agg.cid()));
            assert_eq!(
                copy.range(0..bytes.len() as u64 + 1),
                Err(RetrievalError::OutsideShard {
                    start: 0,
                    end: bytes.len() as u64 + 1,
                    size: bytes.len() as u64
                })
            );
        }
        assert_eq!(range_header(&(10..20)), "bytes=10-19");
    }

    #[test]
    fn sections_read_back_are_checked() {
        let data = b"hello provider".to_vec();
        let cid = raw_cid(&data);
        let mut section = Vec::new();
        varint::put(&mut section, (cid.to_bytes().len() + data.len()) as u64);
        section.extend(cid.to_bytes());
        section.extend(&data);
        let (section, offset) = (&section[..], 59);
        let (code, digest) = (cid.hash().code(), cid.hash().digest());
        assert_eq!(read_section(code, digest, offset, section), Ok((cid, &data[..])));

        assert!(matches!(
            read_section(code, digest, offset, &section[..section.len() - 1]),
            Err(RetrievalError::NotASection { reason: "truncated", .. })
        ));
        let mut longer = section.to_vec();
        longer.push(0);
        assert!(matches!(
            read_section(code, digest, offset, &longer),
            Err(RetrievalError::NotASection { .. })
        ));
        let other = raw_cid(b"other");
        assert_eq!(
            read_section(other.hash().code(), other.hash().digest(), offset, section),
            Err(RetrievalError::OtherBlock { offset, found: cid })
        );
    }

    #[test]
    fn checks_keep_a_short_history_and_flag_failures() {
        let mut c = Checks::default();
        assert!(c.due(0, 1000) && !c.flagged());
        for at in 0..10 {
            c.record(check(at * 1000, true));
        }
        assert_eq!((c.passes, c.history.len()), (10, HISTORY));
        assert_eq!(c.history[0].at, 2000);
        assert!(!c.due(9500, 1000) && c.due(10_000, 1000));
        c.record(check(11_000, false));
        c.record(check(12_000, false));
        assert!(c.flagged());
        assert_eq!(c.failures_in_row, 2);
        c.record(check(13_000, true));
        assert!(!c.flagged());
        assert_eq!(c.passes, 11);
    }

    #[test]
    fn samples_are_distinct_start_with_the_root_and_fit_the_shard() {
        for count in [1usize, 2, 5, 100] {
            for seed in 0..20 {
                let s = sample(count, Some(count - 1), 4, seed);
                assert_eq!(s[0], count - 1);
                assert_eq!(s.len(), 5.min(count));
                let mut d = s.clone();
                d.sort_unstable();
                d.dedup();
                assert_eq!(d.len(), s.len());
                assert!(s.iter().all(|&i| i < count));
            }
        }
        assert!(sample(0, Some(0), 4, 1).is_empty());
        assert_ne!(sample(1000, None, 4, 1), sample(1000, None, 4, 2));
        assert_eq!(sample(1000, None, 4, 7), sample(1000, None, 4, 7));
    }

    #[test]
    fn eviction_waits_for_passed_checks_and_never_while_failing() {
        let mut c = Checks::default();
        assert_eq!(may_evict(Tier::Both, &c, 0), Err(EvictRefusal::Off));
        assert_eq!(may_evict(Tier::Hot, &c, 2), Err(EvictRefusal::NotArchived));
        assert_eq!(
            may_evict(Tier::Both, &c, 2),
            Err(EvictRefusal::TooFewChecks { passes: 0, needed: 2 })
        );
        c.record(check(1, true));
        c.record(check(2, true));
        assert_eq!(may_evict(Tier::Both, &c, 2), Ok(()));
        c.record(check(3, false));
        assert_eq!(may_evict(Tier::Both, &c, 2), Err(EvictRefusal::Failing { failures: 1 }));
        assert_eq!(may_evict(Tier::Cold, &c, 2), Err(EvictRefusal::AlreadyCold));
    }
}
