//! A bounded, least-recently-used memory of verified structure blocks.
//!
//! Every request under a site walks the same folders (and HAMT shards) before it reaches its
//! file, so a gateway that fetches and hashes them again for each request spends most of its time
//! on blocks it has already checked. This memory keeps those blocks (dag-pb and DAG-CBOR nodes,
//! which are small) for the life of one process or isolate. Raw leaves, the bulk of the bytes,
//! are not kept: one large file would push every folder out, and they have the Cache API.
//!
//! Only blocks the caller has checked against their CIDs may be kept; reads do not check again.

use std::collections::{BTreeMap, HashMap};

use cid::Cid;

use crate::codec::multicodec::RAW;

/// Largest block kept: a dag-pb node is at most 2 MiB; a bigger one is not a folder worth keeping.
pub const MAX_BLOCK: usize = 2 << 20;

/// Verified structure blocks, evicted least recently used first once `budget` bytes are held.
pub struct BlockMemory {
    budget: usize,
    bytes: usize,
    clock: u64,
    blocks: HashMap<Cid, (Vec<u8>, u64)>,
    /// Last use → CID, oldest first.
    order: BTreeMap<u64, Cid>,
}

impl BlockMemory {
    /// A memory of at most `budget` bytes of blocks (0 keeps nothing).
    pub fn new(budget: usize) -> Self {
        BlockMemory { budget, bytes: 0, clock: 0, blocks: HashMap::new(), order: BTreeMap::new() }
    }

    /// Changes the budget, evicting what no longer fits.
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.evict();
    }

    /// Bytes of blocks held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether a block of this CID and size is one this memory keeps.
    pub fn wants(&self, cid: &Cid, len: usize) -> bool {
        cid.codec() != RAW && len <= MAX_BLOCK.min(self.budget)
    }

    /// A copy of the block, if held; it becomes the most recently used.
    pub fn get(&mut self, cid: &Cid) -> Option<Vec<u8>> {
        self.touch(cid).then(|| self.blocks[cid].0.clone())
    }

    /// Keeps a verified block, if it is a structure block that fits.
    pub fn keep(&mut self, cid: &Cid, data: &[u8]) {
        if !self.wants(cid, data.len()) || self.touch(cid) {
            return;
        }
        let stamp = self.tick();
        self.blocks.insert(*cid, (data.to_vec(), stamp));
        self.order.insert(stamp, *cid);
        self.bytes += data.len();
        self.evict();
    }

    /// Makes a held block the most recently used; false when it is not held.
    fn touch(&mut self, cid: &Cid) -> bool {
        let stamp = self.tick();
        let Some((_, used)) = self.blocks.get_mut(cid) else { return false };
        self.order.remove(used);
        *used = stamp;
        self.order.insert(stamp, *cid);
        true
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    fn evict(&mut self) {
        while self.bytes > self.budget {
            let Some((_, cid)) = self.order.pop_first() else { break };
            if let Some((data, _)) = self.blocks.remove(&cid) {
                self.bytes -= data.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::cids::{CidRule, HashAlg};
    use crate::codec::multicodec::DAG_PB;

    const V1: CidRule =
        CidRule { version: cid::Version::V1, hash: HashAlg::Sha2_256, inline_limit: None };

    fn node(n: u8, len: usize) -> (Cid, Vec<u8>) {
        let data = vec![n; len];
        (V1.cid(DAG_PB, &data), data)
    }

    #[test]
    fn keeps_structure_blocks_and_returns_them() {
        let mut m = BlockMemory::new(1000);
        let (c, d) = node(1, 100);
        m.keep(&c, &d);
        assert_eq!(m.get(&c), Some(d));
        assert_eq!(m.bytes(), 100);
    }

    #[test]
    fn does_not_keep_raw_leaves_or_blocks_larger_than_the_budget() {
        let mut m = BlockMemory::new(1000);
        let leaf = V1.cid(RAW, b"leaf");
        m.keep(&leaf, b"leaf");
        let (big, d) = node(2, 1001);
        m.keep(&big, &d);
        assert_eq!((m.get(&leaf), m.get(&big), m.bytes()), (None, None, 0));
    }

    #[test]
    fn evicts_least_recently_used_first() {
        let mut m = BlockMemory::new(300);
        let blocks: Vec<_> = (0..3).map(|i| node(i, 100)).collect();
        for (c, d) in &blocks {
            m.keep(c, d);
        }
        m.get(&blocks[0].0);
        let (c, d) = node(9, 100);
        m.keep(&c, &d);
        assert!(m.get(&blocks[1].0).is_none(), "the least recently used goes first");
        assert!(
            m.get(&blocks[0].0).is_some() && m.get(&blocks[2].0).is_some() && m.get(&c).is_some()
        );
        assert_eq!(m.bytes(), 300);
    }

    #[test]
    fn keeping_a_block_twice_counts_it_once() {
        let mut m = BlockMemory::new(1000);
        let (c, d) = node(1, 100);
        m.keep(&c, &d);
        m.keep(&c, &d);
        assert_eq!(m.bytes(), 100);
    }

    #[test]
    fn a_smaller_budget_evicts_and_zero_keeps_nothing() {
        let mut m = BlockMemory::new(1000);
        let (a, da) = node(1, 100);
        let (b, db) = node(2, 100);
        m.keep(&a, &da);
        m.keep(&b, &db);
        m.set_budget(150);
        assert_eq!((m.get(&a).is_some(), m.get(&b).is_some(), m.bytes()), (false, true, 100));
        m.set_budget(0);
        m.keep(&a, &da);
        assert_eq!((m.get(&a), m.bytes()), (None, 0));
    }
}
