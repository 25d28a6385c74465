//! `carport archive-status URL ROOT [CAR...]`: where an upload stands on its way to Filecoin, with
//! each shard's inclusion proof checked here, not taken on the worker's word.
//!
//! Given the upload's CAR shards, their piece CIDs are computed from the files and each must be
//! proven in its aggregate. Without them the proofs are checked against the piece CIDs the record
//! itself names (which shows the record is consistent, not that it is about your data).

use std::fs::File;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use carport_core::archive::{self, ArchiveRecord, Stage};
use carport_core::Cid;
use clap::Args;

use crate::piece;

#[derive(Args)]
pub struct ArchiveStatusArgs {
    /// The edge worker's origin, e.g. http://127.0.0.1:8787.
    url: String,
    /// The upload's root CID.
    root: String,
    /// The upload's CAR shards: their piece CIDs are computed here and checked against the record.
    cars: Vec<PathBuf>,
    /// Print the record as JSON (after checking it).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &ArchiveStatusArgs) -> Result<()> {
    let url = format!("{}/archive/{}", args.url.trim_end_matches('/'), args.root);
    let record = fetch(&url)?;
    let mine: Vec<(String, Cid)> = args
        .cars
        .iter()
        .map(|p| {
            let mut f = File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            Ok((
                p.display().to_string(),
                piece::of_file(&mut f).with_context(|| p.display().to_string())?.cid,
            ))
        })
        .collect::<Result<_>>()?;
    let checks: Vec<(String, Cid)> = if mine.is_empty() {
        record
            .shards
            .iter()
            .map(|s| {
                Ok((
                    format!("shard {}", s.car),
                    s.piece.parse().with_context(|| format!("record's piece CID {:?}", s.piece))?,
                ))
            })
            .collect::<Result<_>>()?
    } else {
        mine
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&record)?);
    } else {
        print_record(&record);
    }
    let mut failed = 0;
    for (what, piece) in &checks {
        match archive::verify(&record, piece) {
            Ok(v) => println!(
                "proof ok: {what}: piece {} is in aggregate {} ({})",
                v.piece,
                v.aggregate,
                v.stage.as_str()
            ),
            Err(archive::ArchiveError::NotAggregated { stage, .. }) => println!(
                "waiting: {what}: piece {piece} is not in an aggregate yet ({})",
                stage.as_str()
            ),
            Err(e) => {
                failed += 1;
                println!("PROOF FAILED: {what}: {e}");
            }
        }
    }
    if args.cars.is_empty() {
        println!("(proofs checked against the record's own piece CIDs; give the CAR files to check against yours)");
    }
    if failed > 0 {
        bail!("{failed} of {} pieces are not proven in their aggregate", checks.len());
    }
    Ok(())
}

fn fetch(url: &str) -> Result<ArchiveRecord> {
    let resp = match ureq::get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            bail!("{url}: HTTP {code}: {}", r.into_string().unwrap_or_default().trim())
        }
        Err(e) => bail!("{url}: {e}"),
    };
    let body = resp.into_string().with_context(|| format!("{url}: reading the answer"))?;
    serde_json::from_str(&body).with_context(|| format!("{url}: not an archive record"))
}

fn print_record(r: &ArchiveRecord) {
    println!("root      {}", r.root);
    println!(
        "complete  {}",
        if r.complete {
            "yes (every block of the DAG is stored)"
        } else {
            "no (the shard that declares the root has not arrived)"
        }
    );
    println!("stage     {}", r.stage.as_str());
    for (n, s) in r.shards.iter().enumerate() {
        println!("shard {n}   {} ({} bytes)", s.car, s.size);
        println!("  piece      {}", s.piece);
        println!("  stage      {}", s.stage.as_str());
        if let Some(a) = &s.aggregate {
            println!("  aggregate  {a}");
        }
        if let Some(d) = &s.deal {
            println!(
                "  deal       proposal {}{}{}",
                d.proposal,
                d.deal_id.as_ref().map(|i| format!(", deal {i}")).unwrap_or_default(),
                d.provider.as_ref().map(|p| format!(", provider {p}")).unwrap_or_default()
            );
        }
        if s.stage == Stage::Complete {
            if let Some(t) = s.times.complete {
                println!("  complete   at {t} ms");
            }
        }
        if let Some(note) = &s.note {
            println!("  note       {note}");
        }
    }
}
