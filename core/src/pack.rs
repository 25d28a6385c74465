//! Packing: blocks from an import go straight into CAR bytes, each block once.

use std::collections::HashSet;

use cid::Cid;

use crate::block::Block;
use crate::car::{placeholder_root, CarWriter, Finished};
use crate::cids::CidRule;

/// Turns a stream of blocks into CAR bytes, skipping blocks already written (two equal files,
/// repeated chunks). Memory is one CID per distinct block.
pub struct CarSink {
    writer: CarWriter,
    seen: HashSet<Cid>,
    bytes: Vec<u8>,
    blocks: u64,
}

impl CarSink {
    /// Starts a CAR whose root is not known yet (see [`crate::car::CarWriter`]); the header with a
    /// placeholder root is the first output.
    pub fn new(car_version: u8, rule: &CidRule) -> Self {
        let (writer, bytes) = CarWriter::new(car_version, &[placeholder_root(rule)]);
        CarSink { writer, seen: HashSet::new(), bytes, blocks: 0 }
    }

    /// Appends the blocks (draining `blocks`).
    pub fn put(&mut self, blocks: &mut Vec<Block>) {
        for b in blocks.drain(..) {
            if self.seen.insert(b.cid) {
                self.writer.block(&b.cid, &b.data, &mut self.bytes);
                self.blocks += 1;
            }
        }
    }

    /// CAR bytes ready to be written out.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }

    /// Distinct blocks written so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Ends the CAR with its real root; write any remaining bytes from [`CarSink::take_bytes`]
    /// first, then the trailer, then patch or rewrite the header.
    pub fn finish(self, root: Cid) -> (Vec<u8>, Finished) {
        (self.bytes, self.writer.finish(&[root]))
    }
}
