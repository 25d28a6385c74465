//! Reading a UnixFS file over a byte range, sans-IO, asking only for the blocks that hold bytes
//! of the range (a missing block outside it does not matter). Blocks are visited depth-first,
//! which is also the order a trustless CAR of the file (with `entity-bytes`) lists them in.

use std::collections::VecDeque;

use cid::Cid;

use crate::codec::cids::inline_block;
use crate::codec::multicodec::{DAG_PB, RAW};
use crate::error::DecodeError;
use crate::unixfs::{Data, NodeType};

/// An inclusive byte range of a file, both ends inside it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByteRange {
    /// Offset in the file of the first byte.
    pub first: u64,
    /// Offset in the file of the last byte (inclusive).
    pub last: u64,
}

impl ByteRange {
    /// Bytes in the range.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }
    /// Always false: a range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
    fn overlaps(&self, start: u64, len: u64) -> bool {
        len > 0 && start <= self.last && start + len > self.first
    }
}

/// What the reader wants or gives next.
#[derive(Debug, PartialEq, Eq)]
pub enum FileStep {
    /// Hand over this block (verified) with [`FileReader::provide`].
    Need(Cid),
    /// A block was read (for a CAR: emit it now; identity blocks are not reported).
    Visited(Cid),
    /// The next bytes of the range.
    Data(Vec<u8>),
    /// The range has been read to its end.
    Done,
}

/// Why a file's bytes cannot be read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum FileError {
    /// A dag-pb block of the file does not decode as UnixFS.
    #[error("block {cid} does not decode: {source}")]
    Decode {
        /// The block's CID.
        cid: Cid,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A block that is not a file node (raw leaf or UnixFS file) where one was expected.
    #[error("block {0} is not part of a UnixFS file")]
    NotAFile(Cid),
    /// A file node whose links and block sizes do not pair up.
    #[error("file node {cid} has {links} links but {sizes} block sizes")]
    Sizes {
        /// The node's CID.
        cid: Cid,
        /// Links it has.
        links: usize,
        /// Block sizes it lists.
        sizes: usize,
    },
    /// A block that holds a different number of bytes than its parent's block size says.
    #[error("file block {cid} holds {got} bytes where its parent said {want}")]
    Length {
        /// The block's CID.
        cid: Cid,
        /// Bytes it holds (a node: its inline data and its block sizes).
        got: u64,
        /// Bytes its parent said.
        want: u64,
    },
}

impl crate::error::Coded for FileError {
    fn code(&self) -> &'static str {
        match self {
            FileError::Decode { .. } => "Decode",
            FileError::NotAFile(_) => "NotAFile",
            FileError::Sizes { .. } => "BlockSizes",
            FileError::Length { .. } => "FileLength",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            FileError::Decode { cid, .. }
            | FileError::NotAFile(cid)
            | FileError::Sizes { cid, .. }
            | FileError::Length { cid, .. } => Some(cid),
        }
    }
}

struct Item {
    cid: Cid,
    /// Offset of this node's first byte in the file.
    offset: u64,
    /// Bytes under this node, when the parent said.
    size: Option<u64>,
}

/// Reads the bytes of `range` of the file rooted at a CID.
pub struct FileReader {
    range: Option<ByteRange>,
    stack: Vec<Item>,
    waiting: Option<Item>,
    out: VecDeque<FileStep>,
}

impl FileReader {
    /// `range` `None` reads nothing but the root (an empty file, or `entity-bytes` past the end).
    pub fn new(root: Cid, range: Option<ByteRange>) -> Self {
        FileReader {
            range,
            stack: vec![Item { cid: root, offset: 0, size: None }],
            waiting: None,
            out: VecDeque::new(),
        }
    }

    /// Reads every byte of the file, whatever its size (the CLI's `unpack` and `cat`).
    pub fn whole(root: Cid) -> Self {
        FileReader::new(root, Some(ByteRange { first: 0, last: u64::MAX - 1 }))
    }

    /// The next step. After [`FileStep::Need`], call [`FileReader::provide`] before stepping again.
    pub fn step(&mut self) -> Result<FileStep, FileError> {
        loop {
            if let Some(s) = self.out.pop_front() {
                return Ok(s);
            }
            if let Some(w) = &self.waiting {
                return Ok(FileStep::Need(w.cid));
            }
            let Some(item) = self.stack.pop() else { return Ok(FileStep::Done) };
            let cid = item.cid;
            match inline_block(&cid) {
                Some(bytes) => {
                    self.waiting = Some(item);
                    self.take(&cid, bytes, false)?;
                }
                None => {
                    self.waiting = Some(item);
                    return Ok(FileStep::Need(cid));
                }
            }
        }
    }

    /// The CIDs that will be asked for next, in order (for prefetching), at most `n`.
    pub fn upcoming(&self, n: usize) -> Vec<Cid> {
        let mut v: Vec<Cid> = self.waiting.iter().map(|w| w.cid).collect();
        v.extend(
            self.stack.iter().rev().map(|i| i.cid).filter(|c| inline_block(c).is_none()).take(n),
        );
        v.truncate(n);
        v
    }

    /// Hands over the block last asked for, checked against its CID by the caller.
    pub fn provide(&mut self, cid: &Cid, bytes: Vec<u8>) -> Result<(), FileError> {
        self.take(cid, bytes, true)
    }

    fn take(&mut self, cid: &Cid, bytes: Vec<u8>, visited: bool) -> Result<(), FileError> {
        let item = self.waiting.take().expect("provide after Need");
        debug_assert_eq!(&item.cid, cid);
        if visited {
            self.out.push_back(FileStep::Visited(*cid));
        }
        match cid.codec() {
            RAW => {
                if let Some(want) = item.size.filter(|&s| s != bytes.len() as u64) {
                    return Err(FileError::Length { cid: *cid, got: bytes.len() as u64, want });
                }
                self.emit(item.offset, bytes);
            }
            DAG_PB => {
                let (pb, data) = Data::of_node(&bytes)
                    .map_err(|source| FileError::Decode { cid: *cid, source })?;
                if !matches!(data.kind, NodeType::File | NodeType::Raw) {
                    return Err(FileError::NotAFile(*cid));
                }
                if !pb.links.is_empty() && pb.links.len() != data.blocksizes.len() {
                    return Err(FileError::Sizes {
                        cid: *cid,
                        links: pb.links.len(),
                        sizes: data.blocksizes.len(),
                    });
                }
                let inline = data.data.unwrap_or_default();
                let mut at = item.offset + inline.len() as u64;
                if let Some(want) = item.size {
                    let got = inline.len() as u64 + data.blocksizes.iter().sum::<u64>();
                    if got != want {
                        return Err(FileError::Length { cid: *cid, got, want });
                    }
                }
                self.emit(item.offset, inline);
                let mut children = Vec::new();
                for (link, &size) in pb.links.iter().zip(&data.blocksizes) {
                    if self.range.is_some_and(|r| r.overlaps(at, size)) {
                        children.push(Item { cid: link.hash, offset: at, size: Some(size) });
                    }
                    at += size;
                }
                self.stack.extend(children.into_iter().rev());
            }
            _ => return Err(FileError::NotAFile(*cid)),
        }
        Ok(())
    }

    fn emit(&mut self, offset: u64, mut bytes: Vec<u8>) {
        let Some(r) = self.range else { return };
        let len = bytes.len() as u64;
        if !r.overlaps(offset, len) {
            return;
        }
        let from = r.first.saturating_sub(offset) as usize;
        let to = ((r.last + 1 - offset).min(len)) as usize;
        if to < bytes.len() {
            bytes.truncate(to);
        }
        if from > 0 {
            bytes.drain(..from);
        }
        self.out.push_back(FileStep::Data(bytes));
    }
}

/// Reads a range out of an in-memory block map (tests).
#[cfg(test)]
pub(crate) fn read_in(
    blocks: &std::collections::HashMap<Cid, Vec<u8>>,
    root: Cid,
    range: Option<ByteRange>,
) -> Result<(Vec<u8>, Vec<Cid>), String> {
    let mut r = FileReader::new(root, range);
    let (mut out, mut visited) = (Vec::new(), Vec::new());
    loop {
        match r.step().map_err(|e| e.to_string())? {
            FileStep::Need(c) => r
                .provide(&c, blocks.get(&c).ok_or(format!("missing {c}"))?.clone())
                .map_err(|e| e.to_string())?,
            FileStep::Visited(c) => visited.push(c),
            FileStep::Data(d) => out.extend(d),
            FileStep::Done => return Ok((out, visited)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// The roots and blocks of a gateway-conformance fixture CAR.
    fn car(name: &str) -> (Vec<Cid>, HashMap<Cid, Vec<u8>>) {
        let bytes = crate::testutil::fixture(&format!("gateway-conformance/{name}"));
        let (header, blocks) = crate::car::read_all(&bytes).unwrap();
        let crate::car::Event::Header { roots, .. } = header else { panic!("no header") };
        (roots, blocks.into_iter().map(|(c, d, _)| (c, d)).collect())
    }

    fn whole(blocks: &std::collections::HashMap<Cid, Vec<u8>>, root: Cid) -> Vec<u8> {
        let mut out = Vec::new();
        crate::unixfs::walk::read_file(&mut blocks.clone(), &root, &mut |b| {
            out.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn every_range_of_a_multiblock_file_matches_the_whole() {
        let (roots, blocks) = car("trustless_gateway_car/subdir-with-mixed-block-files.car");
        let entries = crate::unixfs::walk::list(&mut blocks.clone(), &roots[0]).unwrap();
        let f = entries.iter().find(|e| e.path == "subdir/multiblock.txt").unwrap();
        let all = whole(&blocks, f.cid);
        assert_eq!(all.len(), 1026);
        for (a, b) in
            [(0, 1025), (0, 0), (255, 256), (512, 1023), (1024, 1025), (700, 700), (1, 1024)]
        {
            let (got, visited) =
                read_in(&blocks, f.cid, Some(ByteRange { first: a, last: b })).unwrap();
            assert_eq!(got, &all[a as usize..=b as usize], "{a}-{b}");
            assert_eq!(visited[0], f.cid);
        }
        // 512..=1023 needs exactly the third and fourth leaves.
        let (_, visited) =
            read_in(&blocks, f.cid, Some(ByteRange { first: 512, last: 1023 })).unwrap();
        assert_eq!(visited.len(), 3);
    }

    #[test]
    fn a_range_does_not_need_blocks_outside_it() {
        let (roots, blocks) = car("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car");
        let (got, _) =
            read_in(&blocks, roots[0], Some(ByteRange { first: 997, last: 1000 })).unwrap();
        assert_eq!(got.len(), 4);
        let (got, _) =
            read_in(&blocks, roots[0], Some(ByteRange { first: 2200, last: 2201 })).unwrap();
        assert_eq!(got.len(), 2);
        assert!(read_in(&blocks, roots[0], Some(ByteRange { first: 0, last: 3071 })).is_err());
    }

    #[test]
    fn no_range_reads_only_the_root() {
        let (roots, blocks) = car("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car");
        let (got, visited) = read_in(&blocks, roots[0], None).unwrap();
        assert!(got.is_empty());
        assert_eq!(visited, vec![roots[0]]);
    }
}
