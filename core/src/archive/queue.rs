//! The layout of the queue of shards waiting for an aggregate: one stored entry per shard.
//!
//! Kept as one value, the queue stopped at a Durable Object's 2 MB value limit (about 33,000
//! CIDs), which one token could fill in hours, and then every user's upload failed. So each shard
//! is its own entry at a position, positions increasing from the head to the tail; pieces put
//! back after a failed deal go in front of the head. [`Ends`] keeps the positions and the
//! queue's bytes beside the entries, so nothing reads the whole queue. This module does the
//! arithmetic; the worker reads and writes the entries at the positions it returns.

use std::ops::Range;

/// A shard in the queue: its car CID and its size.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Queued {
    /// The shard's car CID.
    pub car: String,
    /// Bytes of the shard's CAR.
    pub size: u64,
}

/// The queue's ends and totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Ends {
    /// Position of the first entry.
    pub head: i64,
    /// Position after the last entry.
    pub tail: i64,
    /// Bytes of the shards in the queue, added up.
    pub bytes: u64,
}

impl Ends {
    /// Shards in the queue.
    pub fn len(&self) -> u64 {
        (self.tail - self.head) as u64
    }

    /// Whether the queue holds no shard.
    pub fn is_empty(&self) -> bool {
        self.tail == self.head
    }

    /// Appends a shard of `size` bytes; the position to store it at.
    pub fn push_back(&mut self, size: u64) -> i64 {
        let at = self.tail;
        self.tail += 1;
        self.bytes += size;
        at
    }

    /// Puts `shards` in front of the head, in their order; the position of each.
    pub fn push_front(&mut self, shards: &[Queued]) -> Vec<i64> {
        self.head -= shards.len() as i64;
        self.bytes += shards.iter().map(|q| q.size).sum::<u64>();
        (self.head..self.head + shards.len() as i64).collect()
    }

    /// Removes the first `count` shards, whose sizes add up to `bytes`; their positions.
    pub fn pop_front(&mut self, count: usize, bytes: u64) -> Range<i64> {
        let taken = self.head..self.head + count as i64;
        self.head = taken.end;
        self.bytes = self.bytes.saturating_sub(bytes);
        taken
    }
}

/// The storage key of a position: keys sort as their positions do (shifted to be non-negative
/// and zero-padded), so listing keys by prefix reads the queue head first.
pub fn key(position: i64) -> String {
    format!("q:{:020}", (position as i128 + (1i128 << 62)) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_as_positions() {
        let positions = [-(1i64 << 40), -3, -1, 0, 1, 9, 10, 1 << 40];
        let keys: Vec<String> = positions.iter().map(|&p| key(p)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn requeued_shards_come_first_in_their_order() {
        let mut e = Ends::default();
        assert_eq!((e.push_back(10), e.push_back(20)), (0, 1));
        assert_eq!(e.pop_front(2, 30), 0..2);
        assert!(e.is_empty());
        let back = [Queued { car: "a".into(), size: 1 }, Queued { car: "b".into(), size: 2 }];
        assert_eq!(e.push_back(5), 2);
        assert_eq!(e.push_front(&back), vec![0, 1]);
        assert_eq!((e.len(), e.bytes), (3, 8));
    }
}
