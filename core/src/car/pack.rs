//! Packing: blocks from an import go straight into CAR bytes, each block once, and (when asked)
//! into the CAR's Filecoin piece commitment in the same pass.

use std::collections::HashSet;

use cid::Cid;

use crate::car::{placeholder_root, CarWriter, Finished};
use crate::codec::block::Block;
use crate::codec::cids::CidRule;
use crate::piece::{piece_of, PieceError, PieceHasher, PieceInfo, HEAD_LEN};

/// Turns a stream of blocks into CAR bytes, skipping blocks already written (two equal files,
/// repeated chunks). Memory is one CID per distinct block.
pub struct CarSink {
    writer: CarWriter,
    seen: HashSet<Cid>,
    /// Output not yet taken, as parts: block data is moved here, never copied.
    parts: Vec<Vec<u8>>,
    blocks: u64,
    piece: Option<PieceTee>,
}

/// The end of a CAR: the last bytes, how to finish the header, and the piece if asked for.
pub struct Packed {
    /// CAR bytes not yet taken; write them before `finished.trailer`.
    pub tail: Vec<u8>,
    /// The real header and the trailer, to finish the file with.
    pub finished: Finished,
    /// The CAR's piece, or `None` when not asked for or when the header could not be patched in
    /// place (then the piece must be computed over the rewritten file).
    pub piece: Option<Result<PieceInfo, PieceError>>,
}

impl CarSink {
    /// Starts a CAR whose root is not known yet (see [`crate::car::CarWriter`]); the header with a
    /// placeholder root is the first output. With `piece`, the CAR's piece CID is computed as the
    /// bytes go by.
    pub fn new(car_version: u8, rule: &CidRule, piece: bool) -> Self {
        let (writer, bytes) = CarWriter::new(car_version, &[placeholder_root(rule)]);
        let mut piece = piece.then(PieceTee::default);
        if let Some(p) = &mut piece {
            p.feed(&bytes);
        }
        CarSink { writer, seen: HashSet::new(), parts: vec![bytes], blocks: 0, piece }
    }

    /// Appends the blocks (draining `blocks`).
    pub fn put(&mut self, blocks: &mut Vec<Block>) {
        for b in blocks.drain(..) {
            if self.seen.insert(b.cid) {
                let prefix = self.writer.section_prefix(&b.cid, b.data.len());
                if let Some(p) = &mut self.piece {
                    p.feed(&prefix);
                    p.feed(&b.data);
                }
                self.parts.push(prefix);
                self.parts.push(b.data);
                self.blocks += 1;
            }
        }
    }

    /// CAR output ready to be written, in order, as parts (large blocks are not copied).
    pub fn take_parts(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.parts)
    }

    /// CAR output ready to be written, as one buffer.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        self.take_parts().concat()
    }

    /// Distinct blocks written so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Ends the CAR with its real root.
    pub fn finish(self, root: Cid) -> Packed {
        let finished = self.writer.finish(&[root]);
        let piece = self.piece.and_then(|mut p| {
            p.feed(&finished.trailer);
            finished.patchable().then(|| p.finish(&finished.header)).flatten()
        });
        Packed { tail: self.parts.concat(), finished, piece }
    }
}

/// The piece hasher beside a CAR being written: the first bytes (the header, patched at the end)
/// wait; everything after streams through.
#[derive(Default)]
struct PieceTee {
    head: Vec<u8>,
    hasher: Option<PieceHasher>,
}

impl PieceTee {
    fn feed(&mut self, mut bytes: &[u8]) {
        if self.head.len() < HEAD_LEN {
            let take = (HEAD_LEN - self.head.len()).min(bytes.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if !bytes.is_empty() {
            self.hasher.get_or_insert_with(PieceHasher::with_deferred_head).update(bytes);
        }
    }

    /// The piece once the real header is known; `None` if the header is longer than the head.
    fn finish(mut self, header: &[u8]) -> Option<Result<PieceInfo, PieceError>> {
        if header.len() > self.head.len() {
            return None;
        }
        self.head[..header.len()].copy_from_slice(header);
        Some(match (&self.hasher, <&[u8; HEAD_LEN]>::try_from(self.head.as_slice())) {
            (Some(h), Ok(head)) => h.finish_with_head(head),
            _ => piece_of(&self.head),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::file::import_bytes;
    use crate::unixfs::settings::Profile;

    #[test]
    fn piece_in_the_same_pass_equals_piece_of_the_written_car() {
        for (len, version) in [(11, 1), (30, 2), (5000, 1), (3 << 20, 2), (3 << 20, 1)] {
            let settings = Profile::UnixfsV1_2025.settings();
            let data: Vec<u8> = (0..len as u32).map(|i| (i % 251) as u8).collect();
            let (root, mut blocks) = import_bytes(&settings, &data);
            let mut sink = CarSink::new(version, &settings.cid, true);
            sink.put(&mut blocks);
            let mut car = sink.take_bytes();
            let packed = sink.finish(root.cid);
            car.extend(packed.tail);
            packed.finished.complete(&mut car);
            assert_eq!(packed.piece.unwrap(), piece_of(&car), "len {len} v{version}");
        }
    }
}
