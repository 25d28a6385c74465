//! The archivist's queue of shards waiting for an aggregate, one storage entry per shard.
//!
//! Kept as one value, the queue stopped at the storage's 2 MB value limit (about 33,000 CIDs),
//! which one token could fill in hours, and then every user's upload failed. Here each shard is
//! its own key, `q:{position}` → car CID, positions increasing from the head (`q-head`) to the
//! tail (`q-tail`); pieces put back after a failed deal go in front of the head. The queue's
//! length and bytes are kept beside it, so nothing reads the whole queue: the archivist pages
//! through its head, as much as one aggregate can take.

use serde::{Deserialize, Serialize};
use worker::{ListOptions, Storage};

/// The queue's ends and totals.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
struct Ends {
    /// Position of the first entry.
    head: i64,
    /// Position after the last entry.
    tail: i64,
    bytes: u64,
}

/// Keys sort as their positions do: positions are shifted to be non-negative and zero-padded.
fn key(position: i64) -> String {
    format!("q:{:020}", (position as i128 + (1i128 << 62)) as u64)
}

/// A shard in the queue: its car CID and its size.
pub struct Queued {
    pub car: String,
    pub size: u64,
}

pub struct Queue<'a> {
    s: &'a Storage,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    car: String,
    size: u64,
}

impl<'a> Queue<'a> {
    pub fn new(s: &'a Storage) -> Self {
        Queue { s }
    }

    async fn ends(&self) -> worker::Result<Ends> {
        Ok(self.s.get("q-ends").await?.unwrap_or_default())
    }

    pub async fn len(&self) -> worker::Result<u64> {
        let e = self.ends().await?;
        Ok((e.tail - e.head) as u64)
    }

    pub async fn bytes(&self) -> worker::Result<u64> {
        Ok(self.ends().await?.bytes)
    }

    pub async fn push_back(&self, car: &str, size: u64) -> worker::Result<()> {
        let mut e = self.ends().await?;
        self.s.put(&key(e.tail), Entry { car: car.to_string(), size }).await?;
        e.tail += 1;
        e.bytes += size;
        self.s.put("q-ends", e).await
    }

    /// Puts `shards` back in front of the head, in their order.
    pub async fn push_front(&self, shards: &[Queued]) -> worker::Result<()> {
        let mut e = self.ends().await?;
        for q in shards.iter().rev() {
            e.head -= 1;
            e.bytes += q.size;
            self.s.put(&key(e.head), Entry { car: q.car.clone(), size: q.size }).await?;
        }
        self.s.put("q-ends", e).await
    }

    /// The first `limit` shards, head first.
    pub async fn head(&self, limit: usize) -> worker::Result<Vec<Queued>> {
        let map = self.s.list_with_options(ListOptions::new().prefix("q:").limit(limit)).await?;
        let mut out = Vec::new();
        for v in map.values() {
            let v = v.map_err(worker::Error::from)?;
            let entry: Entry = serde_wasm_bindgen::from_value(v)
                .map_err(|e| worker::Error::RustError(format!("queue entry: {e}")))?;
            out.push(Queued { car: entry.car, size: entry.size });
        }
        Ok(out)
    }

    /// Removes the first `n` shards, whose sizes add up to `bytes`.
    pub async fn pop_front(&self, n: usize, bytes: u64) -> worker::Result<()> {
        let mut e = self.ends().await?;
        let keys: Vec<String> = (e.head..e.head + n as i64).map(key).collect();
        for chunk in keys.chunks(128) {
            self.s.delete_multiple(chunk.to_vec()).await?;
        }
        e.head += n as i64;
        e.bytes = e.bytes.saturating_sub(bytes);
        self.s.put("q-ends", e).await
    }
}
