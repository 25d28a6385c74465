//! The archivist's queue of shards waiting for an aggregate, in the Durable Object's storage:
//! one `q:{position}` entry per shard and `q-ends`, laid out by `carport_core::archive::queue`
//! (which says why). Nothing reads the whole queue: the archivist pages through its head, as
//! much as one aggregate can take.

use carport_core::archive::queue::{key, Ends, Queued};
use worker::{ListOptions, Storage};

pub struct Queue<'a> {
    s: &'a Storage,
}

impl<'a> Queue<'a> {
    pub fn new(s: &'a Storage) -> Self {
        Queue { s }
    }

    pub async fn ends(&self) -> worker::Result<Ends> {
        Ok(self.s.get("q-ends").await?.unwrap_or_default())
    }

    /// Appends `shards`, in their order.
    pub async fn push_back(&self, shards: &[Queued]) -> worker::Result<()> {
        let mut e = self.ends().await?;
        for q in shards {
            self.s.put(&key(e.push_back(q.size)), q).await?;
        }
        self.s.put("q-ends", e).await
    }

    /// Puts `shards` back in front of the head, in their order.
    pub async fn push_front(&self, shards: &[Queued]) -> worker::Result<()> {
        let mut e = self.ends().await?;
        for (at, q) in e.push_front(shards).into_iter().zip(shards) {
            self.s.put(&key(at), q).await?;
        }
        self.s.put("q-ends", e).await
    }

    /// The first `limit` shards, head first.
    pub async fn head(&self, limit: usize) -> worker::Result<Vec<Queued>> {
        let map = self.s.list_with_options(ListOptions::new().prefix("q:").limit(limit)).await?;
        let mut out = Vec::new();
        for v in map.values() {
            let v = v.map_err(worker::Error::from)?;
            out.push(
                serde_wasm_bindgen::from_value(v)
                    .map_err(|e| worker::Error::RustError(format!("queue entry: {e}")))?,
            );
        }
        Ok(out)
    }

    /// Removes the first `count` shards, whose sizes add up to `bytes`.
    pub async fn pop_front(&self, count: usize, bytes: u64) -> worker::Result<()> {
        let mut e = self.ends().await?;
        let keys: Vec<String> = e.pop_front(count, bytes).map(key).collect();
        for chunk in keys.chunks(128) {
            self.s.delete_multiple(chunk.to_vec()).await?;
        }
        self.s.put("q-ends", e).await
    }
}
