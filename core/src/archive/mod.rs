//! The archive record of an upload, and its check.
//!
//! The edge worker reports, for each CAR shard of an upload, where its piece stands on the way to
//! Filecoin: stored, placed in an aggregate (with the inclusion proof), offered to a storage
//! provider, and sealed in a deal. The record is only a claim; [`verify`] is how a client that
//! computed the shard's piece CID itself checks the part that matters without trusting the worker:
//! the proof places that piece in that aggregate. The deal ID then names the aggregate on chain.
//! The worker writes the record, the npm package and the CLI check it; this module is the one
//! definition of both (JSON through the `serde` feature, camelCase keys).
//!
//! Once a deal is complete, the provider's copy is read back: [`retrieval`] places a shard's
//! blocks in the provider's piece, checks what comes back, and decides when the worker's hot copy
//! may go.
//!
//! How pieces get there is the [`ledger`]'s deal policy, sans-IO over the [`entry`] types the
//! worker stores and the [`queue`] of shards waiting for an aggregate; [`archive_record`] turns
//! those entries into the record.

pub mod entry;
pub mod ledger;
pub mod queue;
mod report;
pub mod retrieval;

pub use report::archive_record;

use cid::Cid;

use crate::archive::retrieval::{Checks, ProviderCopy, Tier};
use crate::piece::{verify_inclusion, InclusionError, InclusionProof, ProofDecodeError};

/// Where a piece stands. The last four are the storage provider's (mk20) deal states.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "lowercase")
)]
pub enum Stage {
    /// In the store, waiting for an aggregate.
    Stored,
    /// Placed in an aggregate: the aggregate piece CID and the inclusion proof are known.
    Aggregated,
    /// The aggregate is being handed to the deal broker (retried until it answers).
    Offered,
    /// The provider took the deal and will pull the aggregate.
    Accepted,
    /// The provider is pulling and checking the aggregate.
    Processing,
    /// The provider is sealing the aggregate into a sector.
    Sealing,
    /// The deal is on chain and active.
    Complete,
}

impl Stage {
    /// Its lowercase name, as the JSON record spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Stored => "stored",
            Stage::Aggregated => "aggregated",
            Stage::Offered => "offered",
            Stage::Accepted => "accepted",
            Stage::Processing => "processing",
            Stage::Sealing => "sealing",
            Stage::Complete => "complete",
        }
    }
}

/// The deal that holds an aggregate.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct DealRecord {
    /// The broker's name for the deal proposal (mk20: the deal's ULID identifier).
    pub proposal: String,
    /// The on-chain deal ID, once the provider has one.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub deal_id: Option<String>,
    /// The storage provider (f0… actor address).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub provider: Option<String>,
}

/// When each stage was reached, in milliseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct StageTimes {
    /// When the shard was stored, or when its upload completed if later (its wait in the queue
    /// counts from then).
    pub stored: u64,
    /// When its aggregate was closed.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub aggregated: Option<u64>,
    /// When its aggregate was first offered to the broker.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub offered: Option<u64>,
    /// When the broker called the deal complete; absent until the provider has also pulled the
    /// aggregate.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub complete: Option<u64>,
    /// When the provider first fetched the whole aggregate from the worker: without it, no
    /// broker's word makes the archive complete.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub pulled: Option<u64>,
    /// Last change of any kind.
    pub updated: u64,
}

/// One CAR shard of an upload and its piece's way to Filecoin.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct ShardRecord {
    /// CID of the shard's bytes (codec car).
    pub car: String,
    /// Bytes of the shard's CAR.
    pub size: u64,
    /// v2 piece CID of the shard.
    pub piece: String,
    /// Where the piece stands.
    pub stage: Stage,
    /// v2 piece CID of the aggregate the piece is in.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub aggregate: Option<String>,
    /// Inclusion proof of the piece in the aggregate (FRC-0058), dag-cbor in unpadded base64url.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub inclusion_proof: Option<String>,
    /// The deal the aggregate is offered in, once it has been offered.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub deal: Option<DealRecord>,
    /// When each stage was reached.
    pub times: StageTimes,
    /// Why the piece is back in the queue or waiting (a broker failure or rejection), if it is.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub note: Option<String>,
    /// Where the shard's bytes are now: the worker's store, the provider, or both.
    #[cfg_attr(feature = "serde", serde(default))]
    pub tier: Tier,
    /// Where the provider serves the shard back and how reading it back has gone, once its deal
    /// is complete.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub retrieval: Option<RetrievalRecord>,
}

/// A complete shard's copy at the provider and its retrieval checks (the worker's word: a client
/// reads the shard back itself to know).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct RetrievalRecord {
    /// Where the provider holds it.
    pub copy: ProviderCopy,
    /// The checks so far.
    pub checks: Checks,
}

/// An upload (one root, one or more shards) and where its pieces stand.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "camelCase")
)]
pub struct ArchiveRecord {
    /// The upload's root CID.
    pub root: String,
    /// Whether the shard that declares the root has arrived and the DAG was found complete.
    pub complete: bool,
    /// The least advanced shard's stage: the upload is as archived as that shard.
    pub stage: Stage,
    /// The upload's shards, in the order they arrived.
    pub shards: Vec<ShardRecord>,
}

/// Why a record does not show that a piece is archived.
// The variants carry the CIDs at fault by value; errors are rare, so their size does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ArchiveError {
    /// No shard in the record has this piece CID.
    #[error("the archive record has no shard with piece {piece}")]
    NoSuchPiece {
        /// The piece CID asked about.
        piece: Cid,
    },
    /// The piece's shard has no aggregate or no inclusion proof in the record yet.
    #[error("piece {piece} is not in an aggregate yet (stage {stage:?})")]
    NotAggregated {
        /// The piece CID asked about.
        piece: Cid,
        /// The stage the record gives the shard.
        stage: Stage,
    },
    /// A piece or aggregate CID in the record does not parse.
    #[error("the record's {field} {value:?} is not a CID")]
    BadCid {
        /// Which field: `piece` or `aggregate`.
        field: &'static str,
        /// Its text.
        value: String,
    },
    /// The shard's inclusion proof does not decode.
    #[error("the inclusion proof of piece {piece} does not decode: {source}")]
    BadProof {
        /// The piece CID asked about.
        piece: Cid,
        /// Why the proof does not decode.
        source: ProofDecodeError,
    },
    /// The proof does not lead from the piece to the aggregate the record names.
    #[error("the inclusion proof does not place piece {piece} in aggregate {aggregate}: {source}")]
    NotIncluded {
        /// The piece CID asked about.
        piece: Cid,
        /// The aggregate piece CID the record names.
        aggregate: Cid,
        /// Where the proof fails.
        source: InclusionError,
    },
}

impl crate::error::Coded for ArchiveError {
    fn code(&self) -> &'static str {
        match self {
            ArchiveError::NoSuchPiece { .. } => "NoSuchPiece",
            ArchiveError::NotAggregated { .. } => "NotAggregated",
            ArchiveError::BadCid { .. } => "BadCid",
            ArchiveError::BadProof { .. } => "BadProof",
            ArchiveError::NotIncluded { .. } => "NotIncluded",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            ArchiveError::NoSuchPiece { piece }
            | ArchiveError::NotAggregated { piece, .. }
            | ArchiveError::BadProof { piece, .. }
            | ArchiveError::NotIncluded { piece, .. } => Some(piece),
            ArchiveError::BadCid { .. } => None,
        }
    }
}

/// What a checked record shows about one piece.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The piece CID checked, as the caller gave it.
    pub piece: Cid,
    /// The aggregate piece CID the proof places it in.
    pub aggregate: Cid,
    /// The stage the record claims (the worker's word, not checked).
    pub stage: Stage,
    /// The deal the record claims (the worker's word, not checked).
    pub deal: Option<DealRecord>,
    /// Where the record says the shard's bytes are (the worker's word).
    pub tier: Tier,
    /// Where the provider serves the shard back and the worker's retrieval checks (its word: a
    /// client that reads the shard back from the copy and gets its piece CID knows).
    pub retrieval: Option<RetrievalRecord>,
}

/// Checks that `record` places `piece` (computed by the caller from its own bytes) in an
/// aggregate: the record's proof must lead from `piece` to the record's aggregate piece CID.
pub fn verify(record: &ArchiveRecord, piece: &Cid) -> Result<Verified, ArchiveError> {
    let parse = |field: &'static str, value: &str| {
        value.parse::<Cid>().map_err(|_| ArchiveError::BadCid { field, value: value.to_string() })
    };
    let mut shard = None;
    for s in &record.shards {
        if parse("piece", &s.piece)? == *piece {
            shard = Some(s);
            break;
        }
    }
    let shard = shard.ok_or(ArchiveError::NoSuchPiece { piece: *piece })?;
    let (Some(aggregate), Some(proof)) = (&shard.aggregate, &shard.inclusion_proof) else {
        return Err(ArchiveError::NotAggregated { piece: *piece, stage: shard.stage });
    };
    let aggregate = parse("aggregate", aggregate)?;
    let proof = InclusionProof::from_text(proof)
        .map_err(|source| ArchiveError::BadProof { piece: *piece, source })?;
    verify_inclusion(piece, &aggregate, &proof).map_err(|source| ArchiveError::NotIncluded {
        piece: *piece,
        aggregate,
        source,
    })?;
    Ok(Verified {
        piece: *piece,
        aggregate,
        stage: shard.stage,
        deal: shard.deal.clone(),
        tier: shard.tier,
        retrieval: shard.retrieval.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece::{piece_of, Aggregate};

    fn record(pieces: &[Cid], agg: &Aggregate) -> ArchiveRecord {
        let shards = pieces
            .iter()
            .enumerate()
            .map(|(n, p)| ShardRecord {
                car: format!("car{n}"),
                size: 1000,
                piece: p.to_string(),
                stage: Stage::Sealing,
                aggregate: Some(agg.cid().to_string()),
                inclusion_proof: Some(agg.proof_for_entry(n).unwrap().to_text()),
                deal: Some(DealRecord { proposal: "01J".into(), deal_id: None, provider: None }),
                times: StageTimes::default(),
                note: None,
                tier: Tier::Hot,
                retrieval: None,
            })
            .collect();
        ArchiveRecord { root: "root".into(), complete: true, stage: Stage::Sealing, shards }
    }

    fn pieces() -> (Vec<Cid>, Aggregate) {
        let pieces: Vec<Cid> =
            (1..4u8).map(|s| piece_of(&vec![s; 300 * usize::from(s)]).unwrap().cid).collect();
        let agg = Aggregate::new(1 << 14, &pieces).unwrap();
        (pieces, agg)
    }

    #[test]
    fn every_piece_of_a_true_record_verifies() {
        let (pieces, agg) = pieces();
        let r = record(&pieces, &agg);
        for p in &pieces {
            let v = verify(&r, p).unwrap();
            assert_eq!((v.aggregate, v.stage), (agg.cid(), Stage::Sealing));
        }
    }

    #[test]
    fn a_lying_record_is_caught() {
        let (pieces, agg) = pieces();
        let mut r = record(&pieces, &agg);
        let other = piece_of(&[9u8; 500]).unwrap().cid;
        assert_eq!(verify(&r, &other), Err(ArchiveError::NoSuchPiece { piece: other }));

        // The proof of another piece.
        r.shards[0].inclusion_proof = r.shards[1].inclusion_proof.clone();
        assert!(matches!(verify(&r, &pieces[0]), Err(ArchiveError::NotIncluded { .. })));

        // Another aggregate.
        let mut r = record(&pieces, &agg);
        r.shards[2].aggregate = Some(Aggregate::new(1 << 15, &pieces).unwrap().cid().to_string());
        assert!(matches!(verify(&r, &pieces[2]), Err(ArchiveError::NotIncluded { .. })));

        r.shards[1].inclusion_proof = Some("!!".into());
        assert!(matches!(verify(&r, &pieces[1]), Err(ArchiveError::BadProof { .. })));

        r.shards[1].aggregate = None;
        assert_eq!(
            verify(&r, &pieces[1]),
            Err(ArchiveError::NotAggregated { piece: pieces[1], stage: Stage::Sealing })
        );
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_uses_camel_case_and_lowercase_stages() {
        let (pieces, agg) = pieces();
        let r = record(&pieces, &agg);
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.contains("\"inclusionProof\":") && json.contains("\"stage\":\"sealing\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<ArchiveRecord>(&json).unwrap(), r);
    }
}
