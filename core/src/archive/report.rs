//! An upload's [`ArchiveRecord`] from the ledger's entries: what `GET /archive/{root}` answers.

use std::collections::BTreeMap;

use crate::archive::entry::{AggEntry, Proposal, ShardEntry, UploadEntry};
use crate::archive::retrieval;
use crate::archive::{ArchiveRecord, DealRecord, RetrievalRecord, ShardRecord, Stage, StageTimes};

/// Why a deal the broker calls complete is not counted.
const UNPULLED: &str = "the deal broker says the deal is complete, but the provider never fetched the aggregate from this worker: not counted as archived";

/// The record of `upload` from its `shards` (those the ledger has, in the upload's order) and
/// the aggregates they are in, by id; `proposal_name` spells a deal's proposal as the broker
/// does, `retrieval_url` is where the provider serves pieces back (when the deployment knows).
/// A deal the broker calls complete counts only once the provider has pulled the bytes.
pub fn archive_record(
    upload: UploadEntry,
    shards: Vec<ShardEntry>,
    aggregates: &BTreeMap<u64, AggEntry>,
    proposal_name: fn(&Proposal) -> String,
    retrieval_url: Option<&str>,
) -> ArchiveRecord {
    let shards: Vec<ShardRecord> = shards
        .into_iter()
        .map(|sh| {
            let agg = sh.aggregate.and_then(|id| aggregates.get(&id));
            let tier = retrieval::tier(&sh, agg);
            let retrieval = agg
                .zip(retrieval_url)
                .and_then(|(a, url)| retrieval::provider_copy(&sh, a, url))
                .map(|copy| RetrievalRecord { copy, checks: sh.checks.clone() });
            let unpulled = agg.is_some_and(|a| a.stage == Stage::Complete && a.pulled.is_none());
            let times = StageTimes {
                stored: sh.stored,
                aggregated: agg.map(|a| a.created),
                offered: agg.and_then(|a| a.offered),
                complete: agg.and_then(|a| a.complete).filter(|_| !unpulled),
                pulled: agg.and_then(|a| a.pulled),
                updated: agg.map_or(sh.stored, |a| a.updated),
            };
            let note = if unpulled {
                Some(UNPULLED.to_string())
            } else {
                agg.and_then(|a| a.note.clone()).or(sh.note)
            };
            ShardRecord {
                car: sh.car,
                size: sh.size,
                piece: sh.piece,
                stage: agg
                    .map_or(Stage::Stored, |a| if unpulled { Stage::Sealing } else { a.stage }),
                aggregate: agg.map(|a| a.cid.clone()),
                inclusion_proof: sh.proof,
                deal: agg.filter(|a| a.stage > Stage::Aggregated).map(|a| DealRecord {
                    proposal: proposal_name(&a.proposal),
                    deal_id: a.deal_id.clone(),
                    provider: a.provider.clone(),
                }),
                times,
                note,
                tier,
                retrieval,
            }
        })
        .collect();
    let stage = shards.iter().map(|s| s.stage).min().unwrap_or(Stage::Stored);
    ArchiveRecord { root: upload.root, complete: upload.complete, stage, shards }
}
