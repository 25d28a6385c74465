//! Deal records on disk: `DIR/deals/{id}.json`, one per deal, each replaced whole by writing a
//! temporary file, syncing it and renaming it over the old one, so a crash leaves either the old
//! record or the new one. Pulled aggregates go to `DIR/aggregates/{piece CID}`.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use carport_mk20::types::Deal;
use carport_mk20::Ulid;
use serde::{Deserialize, Serialize};

use crate::stages::Progress;

/// Everything the broker keeps about a deal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DealRecord {
    /// The deal as posted.
    pub deal: Deal,
    /// Where it is.
    pub progress: Progress,
}

impl DealRecord {
    pub fn id(&self) -> Ulid {
        self.deal.identifier
    }
}

/// Why the records could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: not a deal record: {source}")]
    Record { path: PathBuf, source: serde_json::Error },
}

/// The data folder.
#[derive(Clone, Debug)]
pub struct Store {
    deals: PathBuf,
    aggregates: PathBuf,
}

impl Store {
    /// Opens (creating) the folders under `data`.
    pub fn open(data: &Path) -> Result<Store, StoreError> {
        let store = Store { deals: data.join("deals"), aggregates: data.join("aggregates") };
        for dir in [&store.deals, &store.aggregates] {
            fs::create_dir_all(dir)
                .map_err(|source| StoreError::Io { path: dir.clone(), source })?;
        }
        Ok(store)
    }

    /// Every record, as last saved.
    pub fn load(&self) -> Result<Vec<DealRecord>, StoreError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        let mut records = Vec::new();
        for entry in fs::read_dir(&self.deals).map_err(io_err(&self.deals))? {
            let path = entry.map_err(io_err(&self.deals))?.path();
            if path.extension() != Some(OsStr::new("json")) {
                continue;
            }
            let bytes = fs::read(&path).map_err(io_err(&path))?;
            let record = serde_json::from_slice(&bytes)
                .map_err(|source| StoreError::Record { path, source })?;
            records.push(record);
        }
        Ok(records)
    }

    /// Replaces the record of a deal, atomically.
    pub fn save(&self, record: &DealRecord) -> io::Result<()> {
        let path = self.deals.join(format!("{}.json", record.id()));
        let tmp = self.deals.join(format!("{}.json.tmp", record.id()));
        let mut file = File::create(&tmp)?;
        file.write_all(&serde_json::to_vec_pretty(record).map_err(io::Error::other)?)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    }

    /// Where a verified aggregate is kept.
    pub fn aggregate_path(&self, piece_cid: &str) -> PathBuf {
        self.aggregates.join(piece_cid)
    }

    /// Where a deal's pull writes before it is verified.
    pub fn partial_path(&self, id: &Ulid) -> PathBuf {
        self.aggregates.join(format!(".{id}.part"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use carport_core::piece::piece_of;
    use carport_mk20::types::{CidLink, DataSource, PieceDataFormat, Products};

    fn record(n: u8) -> DealRecord {
        let cid = piece_of(&[n; 200]).unwrap().cid;
        DealRecord {
            deal: Deal {
                identifier: Ulid::from_parts(u64::from(n), [n; 10]).unwrap(),
                client: "f1x".into(),
                data: Some(DataSource {
                    piece_cid: CidLink(cid),
                    format: PieceDataFormat::default(),
                    source_http: None,
                    source_aggregate: None,
                    source_offline: None,
                    source_http_put: None,
                }),
                products: Products::default(),
            },
            progress: Progress::accepted(1000, false, false),
        }
    }

    #[test]
    fn saves_and_loads_every_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let (a, mut b) = (record(1), record(2));
        store.save(&a).unwrap();
        store.save(&b).unwrap();
        b.progress.since_ms = 2000;
        store.save(&b).unwrap();
        let mut loaded = Store::open(dir.path()).unwrap().load().unwrap();
        loaded.sort_by_key(DealRecord::id);
        assert_eq!(loaded, vec![a, b]);
        assert!(fs::read_dir(dir.path().join("deals")).unwrap().all(|e| e
            .unwrap()
            .path()
            .extension()
            .unwrap()
            == "json"));
    }

    #[test]
    fn refuses_a_corrupt_record() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        fs::write(dir.path().join("deals").join("x.json"), b"{").unwrap();
        assert!(matches!(store.load(), Err(StoreError::Record { .. })));
    }
}
