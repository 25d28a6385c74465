//! The archivist's part in reading archives back: retrieval checks of every shard the provider
//! holds, on a schedule; eviction of a shard's hot copy from the store when core's tiering rule
//! (`retrieval::may_evict`) allows it; and bringing evicted shards back. The store keeps every
//! shard's index and the ledger its record, so an evicted shard is still served, from the
//! provider.

use carport_core::archive::entry::{AggEntry, ShardEntry, UploadEntry};
use carport_core::archive::ledger::Write;
use carport_core::archive::retrieval::{self, may_evict, tier};
use carport_core::error::Coded;
use worker::{Bucket, Env, Storage};

use crate::archivist::apply;
use crate::archivist_client::Tiering;
use crate::retrieval as provider;
use crate::settings::RetrievalSettings;

fn now() -> u64 {
    js_sys::Date::now() as u64
}

/// Adds aggregate `id` to those the provider holds, and makes a check due at once.
pub async fn watch(s: &Storage, id: u64) -> worker::Result<()> {
    let mut archived: Vec<u64> = s.get("archived").await?.unwrap_or_default();
    if archived.contains(&id) {
        return Ok(());
    }
    archived.push(id);
    s.put("archived", &archived).await?;
    s.put("next-check", now()).await
}

/// Checks the shards that are due (at most `per_round`), evicts those the rule lets go, and
/// sets `next-check` for the next one due.
pub async fn check_round(s: &Storage, env: &Env, rs: &RetrievalSettings) -> worker::Result<()> {
    let Some(url) = rs.url.as_deref() else {
        return s.delete("next-check").await.map(|_| ());
    };
    let bucket = env.bucket("STORE")?;
    let archived: Vec<u64> = s.get("archived").await?.unwrap_or_default();
    let mut left = rs.per_round;
    let mut next: Option<u64> = None;
    for id in archived {
        let Some(agg) = s.get::<AggEntry>(&format!("agg:{id}")).await? else { continue };
        for car in &agg.shards {
            let Some(mut sh) = s.get::<ShardEntry>(&format!("shard:{car}")).await? else {
                continue;
            };
            let Some(copy) = retrieval::provider_copy(&sh, &agg, url) else { continue };
            let t = now();
            if left > 0 && sh.checks.due(t, rs.check_ms) {
                left -= 1;
                let result = provider::check(&bucket, &sh, &copy, rs.samples, rs.timeout, t).await;
                if !result.ok {
                    worker::console_error!(
                        "retrieval check of shard {car} failed: {}",
                        result.note.as_deref().unwrap_or("")
                    );
                }
                sh.checks.record(result);
                if may_evict(tier(&sh, Some(&agg)), &sh.checks, rs.evict_after).is_ok() {
                    bucket.delete(&sh.key).await?;
                    sh.evicted = Some(now());
                }
                apply(s, vec![Write::Shard(sh.clone())]).await?;
            }
            let at = sh.checks.last().map_or(t, |c| c.at + rs.check_ms);
            next = Some(next.map_or(at, |n: u64| n.min(at)));
        }
    }
    match next {
        Some(at) => s.put("next-check", at).await,
        None => s.delete("next-check").await.map(|_| ()),
    }
}

/// The upload's shards with their aggregates, or `None` for an unknown root.
async fn upload_shards(
    s: &Storage,
    root: &str,
) -> worker::Result<Option<Vec<(ShardEntry, Option<AggEntry>)>>> {
    let Some(upload) = s.get::<UploadEntry>(&format!("upload:{root}")).await? else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(upload.shards.len());
    for car in &upload.shards {
        let Some(sh) = s.get::<ShardEntry>(&format!("shard:{car}")).await? else { continue };
        let agg = match sh.aggregate {
            Some(id) => s.get::<AggEntry>(&format!("agg:{id}")).await?,
            None => None,
        };
        out.push((sh, agg));
    }
    Ok(Some(out))
}

/// Evicts the hot copy of each of the upload's shards that the tiering rule lets go now.
pub async fn evict(
    s: &Storage,
    bucket: &Bucket,
    root: &str,
    rs: &RetrievalSettings,
) -> worker::Result<Option<Tiering>> {
    let Some(shards) = upload_shards(s, root).await? else { return Ok(None) };
    let mut out = Tiering::default();
    for (mut sh, agg) in shards {
        match may_evict(tier(&sh, agg.as_ref()), &sh.checks, rs.evict_after) {
            Ok(()) => {
                bucket.delete(&sh.key).await?;
                sh.evicted = Some(now());
                out.done.push(sh.car.clone());
                apply(s, vec![Write::Shard(sh)]).await?;
            }
            Err(e) => out.refused.push((sh.car, e.code().into(), e.to_string())),
        }
    }
    Ok(Some(out))
}

/// Brings each of the upload's evicted shards back into the store from the provider.
pub async fn restore(
    s: &Storage,
    bucket: &Bucket,
    root: &str,
    rs: &RetrievalSettings,
) -> worker::Result<Option<Tiering>> {
    let Some(shards) = upload_shards(s, root).await? else { return Ok(None) };
    let mut out = Tiering::default();
    for (mut sh, agg) in shards {
        if sh.evicted.is_none() {
            continue;
        }
        let copy =
            agg.zip(rs.url.as_deref()).and_then(|(a, url)| retrieval::provider_copy(&sh, &a, url));
        let Some(copy) = copy else {
            out.refused.push((sh.car, "NoCopy".into(), "no provider copy is known".into()));
            continue;
        };
        match provider::restore(bucket, &sh, &copy).await {
            Ok(()) => {
                sh.evicted = None;
                out.done.push(sh.car.clone());
                apply(s, vec![Write::Shard(sh)]).await?;
            }
            Err(e) => out.refused.push((sh.car, "NotRetrievable".into(), e)),
        }
    }
    Ok(Some(out))
}
