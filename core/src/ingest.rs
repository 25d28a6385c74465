//! The upload door's rules: one CAR shard checked as it streams in, and a set of shards checked to
//! hold a whole DAG.
//!
//! A shard is read once. On the way through, every block is hashed against its CID, the shard's
//! piece commitment and CAR CID are computed over its exact bytes, and a `MultihashIndexSorted`
//! index is built so the gateway can read any block with one ranged get. What a shard alone
//! cannot show, whether the DAG is complete, needs the other shards of the upload; each shard
//! therefore also gives its *dangling links*: the CIDs its blocks link to that it does not hold.
//! [`UploadCheck`] puts the shards' indexes and dangling links together and checks that the root
//! and every dangling link are held by some shard, which (every shard's own links being held
//! within it) makes the DAG complete from the root.
//!
//! Sans-IO like the rest of core: the caller pushes bytes and stores what comes out.

use std::collections::{HashMap, HashSet};

use cid::Cid;

use crate::car::shard::CarCidHasher;
use crate::car::verify::check_block;
use crate::car::{
    decode_index, encode_index, CarReader, Event, IndexEntry, IndexError, V2Header, PRAGMA,
};
use crate::codec::multicodec::IDENTITY;
use crate::error::{CarError, VerifyError};
use crate::gateway::store::{read_v2_header, V2_PREFIX_LEN};
use crate::piece::{PieceError, PieceHasher, PieceInfo};

/// Why a shard or an upload is refused. Each names the CID or byte offset at fault.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum IngestError {
    /// The shard is not a valid CAR, or a block fails its check.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// More bytes arrived than the shard's limit allows.
    #[error("the CAR is larger than the limit of {limit} bytes (refused at byte {offset})")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
        /// Byte of the CAR at which it was refused.
        offset: u64,
    },
    /// The shard's bytes have no piece commitment (too few or too many).
    #[error("the CAR cannot be a Filecoin piece: {0}")]
    Piece(#[from] PieceError),
    /// A CAR with only a header.
    #[error("the CAR holds no blocks")]
    NoBlocks,
    /// The upload's body ended before the length it announced (raised by the caller, which knows
    /// the announced length).
    #[error("the CAR is truncated: {got} of the {expected} bytes announced arrived")]
    Truncated {
        /// Bytes announced.
        expected: u64,
        /// Bytes that arrived.
        got: u64,
    },
    /// The piece CID the client sent is not the one computed from the shard's bytes.
    #[error("the client's piece CID {claimed} does not match the CAR's piece CID {computed}")]
    PieceMismatch {
        /// The piece CID the client sent.
        claimed: Cid,
        /// The piece CID of the bytes.
        computed: Cid,
    },
    /// The shard declares roots, but not the root the upload is of.
    #[error("the CAR declares roots {declared:?}, but the upload is of root {root}")]
    RootMismatch {
        /// The upload's root.
        root: Cid,
        /// The roots the shard's header declares.
        declared: Vec<Cid>,
    },
    /// A stored shard's index sidecar does not read.
    #[error("invalid stored index of shard {car}: {reason}")]
    Index {
        /// The shard's car CID.
        car: Cid,
        /// What is wrong with the index.
        reason: IndexError,
    },
    /// Bytes that are neither a header nor a block nor a CARv2's own index.
    #[error("the CAR has {len} bytes outside its blocks at byte {offset} (padding, or data after its last block that is not its index): they would be stored and dealt as if they were content")]
    OutsideBlocks {
        /// Byte of the CAR where they start.
        offset: u64,
        /// How many there are.
        len: u64,
    },
}

impl crate::error::Coded for IngestError {
    fn code(&self) -> &'static str {
        match self {
            IngestError::Verify(e) => e.code(),
            IngestError::TooLarge { .. } => "TooLarge",
            IngestError::Piece(e) => e.code(),
            IngestError::NoBlocks => "NoBlocks",
            IngestError::Truncated { .. } => "Truncated",
            IngestError::PieceMismatch { .. } => "PieceMismatch",
            IngestError::RootMismatch { .. } => "RootMismatch",
            IngestError::Index { .. } => "ShardIndex",
            IngestError::OutsideBlocks { .. } => "OutsideBlocks",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            IngestError::Verify(e) => e.cid(),
            IngestError::PieceMismatch { claimed, .. } => Some(claimed),
            IngestError::RootMismatch { root, .. } => Some(root),
            IngestError::Index { car, .. } => Some(car),
            _ => None,
        }
    }

    fn offset(&self) -> Option<u64> {
        match self {
            IngestError::Verify(e) => e.offset(),
            IngestError::TooLarge { offset, .. } | IngestError::OutsideBlocks { offset, .. } => {
                Some(*offset)
            }
            _ => None,
        }
    }
}

impl From<CarError> for IngestError {
    fn from(e: CarError) -> Self {
        IngestError::Verify(VerifyError::Car(e))
    }
}

/// Checks one shard as its bytes arrive.
pub struct ShardIngest {
    reader: CarReader,
    piece: PieceHasher,
    car: CarCidHasher,
    limit: u64,
    size: u64,
    version: u64,
    roots: Vec<Cid>,
    /// Where the inner CARv1 starts in the file (0 for a CARv1) and how long it is.
    data_offset: u64,
    data_size: Option<u64>,
    entries: Vec<IndexEntry>,
    held: HashSet<Cid>,
    links: Vec<Cid>,
    data_bytes: u64,
    /// File offset just past the last section read (or the header, before any block).
    data_end: u64,
    /// A CARv2's index offset (0: none).
    index_offset: u64,
    /// The bytes after a CARv2's data, which may only be its own index.
    tail: Vec<u8>,
    /// Every section's data offset and multihash (code, digest), duplicates and identity blocks
    /// included: what a CARv2's own index may say.
    sections: HashMap<u64, (u64, Vec<u8>)>,
}

/// A shard that passed, and what the store keeps of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IngestedShard {
    /// CID of the shard's bytes (codec car, sha2-256): its name in the store.
    pub car: Cid,
    /// Bytes of the shard.
    pub size: u64,
    /// Its CAR version, 1 or 2.
    pub version: u64,
    /// The roots its header declares (none in a shard before the last).
    pub roots: Vec<Cid>,
    /// Distinct blocks it holds.
    pub blocks: u64,
    /// Bytes of block data in it, every section counted (CIDs and length prefixes left out).
    pub data_bytes: u64,
    /// Piece commitment of the shard's bytes.
    pub piece: PieceInfo,
    /// The shard's index as a CARv2 header followed by a `MultihashIndexSorted` index, whose
    /// offsets point into the shard's own bytes (see [`index_sidecar`]).
    pub index: Vec<u8>,
    /// CIDs linked from the shard's blocks that it does not hold, in first-seen order.
    pub dangling: Vec<Cid>,
}

impl ShardIngest {
    /// A shard of at most `limit` bytes.
    pub fn new(limit: u64) -> Self {
        ShardIngest {
            reader: CarReader::new(),
            piece: PieceHasher::new(),
            car: CarCidHasher::new(),
            limit,
            size: 0,
            version: 0,
            roots: Vec::new(),
            data_offset: 0,
            data_size: None,
            entries: Vec::new(),
            held: HashSet::new(),
            links: Vec::new(),
            data_bytes: 0,
            data_end: 0,
            index_offset: 0,
            tail: Vec::new(),
            sections: HashMap::new(),
        }
    }

    /// Bytes taken so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Feeds the next bytes; fails at the first bad block or once past the limit.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), IngestError> {
        if self.size + bytes.len() as u64 > self.limit {
            return Err(IngestError::TooLarge { limit: self.limit, offset: self.limit });
        }
        let at = self.size;
        self.size += bytes.len() as u64;
        self.piece.update(bytes);
        self.car.update(bytes);
        self.reader.push(bytes);
        self.drain()?;
        // What lies past a CARv2's data is kept, to be checked as its index at the end.
        if let Some(size) = self.data_size {
            let end = self.data_offset + size;
            if self.size > end {
                let from = end.saturating_sub(at) as usize;
                self.tail.extend_from_slice(&bytes[from..]);
            }
        }
        Ok(())
    }

    /// Ends the input: the shard's names, index and dangling links.
    pub fn finish(mut self) -> Result<IngestedShard, IngestError> {
        self.reader.close();
        self.drain()?;
        if self.entries.is_empty() {
            return Err(IngestError::NoBlocks);
        }
        self.only_blocks()?;
        let piece = self.piece.finish()?;
        let data_size = self.data_size.unwrap_or(self.size - self.data_offset);
        let index = index_sidecar(self.data_offset, data_size, &self.entries);
        let mut seen = HashSet::new();
        let dangling = self
            .links
            .into_iter()
            .filter(|c| c.hash().code() != IDENTITY && !self.held.contains(c) && seen.insert(*c))
            .collect();
        Ok(IngestedShard {
            car: self.car.finish(),
            size: self.size,
            version: self.version,
            roots: self.roots,
            blocks: self.entries.len() as u64,
            data_bytes: self.data_bytes,
            piece,
            index,
            dangling,
        })
    }

    /// Every byte is a header or a block: no padding before a CARv2's data, nothing after the
    /// last block but a CARv2's own index (exactly the one its blocks give), nothing after that.
    fn only_blocks(&self) -> Result<(), IngestError> {
        let outside =
            |offset: u64, end: u64| Err(IngestError::OutsideBlocks { offset, len: end - offset });
        let Some(data_size) = self.data_size else {
            return if self.data_end < self.size {
                outside(self.data_end, self.size)
            } else {
                Ok(())
            };
        };
        let prefix = V2_PREFIX_LEN as u64;
        if self.data_offset > prefix {
            return outside(prefix, self.data_offset);
        }
        let end = self.data_offset + data_size;
        if self.data_end < end {
            return outside(self.data_end, end);
        }
        if self.tail.is_empty() {
            return Ok(());
        }
        if self.index_offset != end || !self.is_own_index() {
            return outside(end, self.size);
        }
        Ok(())
    }

    /// Whether the bytes after the data are an index (either codec go-car writes) all of whose
    /// records name a block of this CAR at its offset, each once.
    fn is_own_index(&self) -> bool {
        let Ok(records) = decode_index(&self.tail) else { return false };
        let mut seen = HashSet::new();
        records.iter().all(|r| {
            let known = self.sections.get(&r.offset).is_some_and(|(code, digest)| {
                (r.code == 0 || r.code == *code) && *digest == r.digest
            });
            known && seen.insert(r.offset)
        })
    }

    fn drain(&mut self) -> Result<(), IngestError> {
        while let Some(ev) = self.reader.next_event()? {
            match ev {
                Event::Header { version, roots, v2 } => {
                    self.version = version;
                    self.roots = roots;
                    if let Some(h) = v2 {
                        self.data_offset = h.data_offset;
                        self.data_size = Some(h.data_size);
                        self.index_offset = h.index_offset;
                    }
                    self.data_end = self.reader.offset();
                }
                Event::Block { cid, data, offset } => self.block(cid, &data, offset)?,
                Event::End => break,
            }
        }
        Ok(())
    }

    fn block(&mut self, cid: Cid, data: &[u8], offset: u64) -> Result<(), IngestError> {
        self.links.extend(check_block(&cid, data, offset)?);
        let section = (cid.encoded_len() + data.len()) as u64;
        self.data_end = offset + crate::codec::varint::len(section) as u64 + section;
        self.sections
            .insert(offset - self.data_offset, (cid.hash().code(), cid.hash().digest().to_vec()));
        if self.held.insert(cid) {
            let mh = cid.hash();
            self.entries.push(IndexEntry {
                code: mh.code(),
                digest: mh.digest().to_vec(),
                offset: offset - self.data_offset,
            });
        }
        self.data_bytes += data.len() as u64;
        Ok(())
    }
}

/// A stored shard's index, kept beside it: a CARv2 pragma and header whose `data_offset` and
/// `data_size` locate the CARv1 data inside the shard's own file (which is kept byte for byte as
/// uploaded, since its piece CID is over those bytes), then the index at `index_offset`.
/// [`crate::gateway::store::read_v2_header`] and [`crate::gateway::store::CarIndex`] read it as
/// they read a CARv2's own header and index.
pub fn index_sidecar(data_offset: u64, data_size: u64, entries: &[IndexEntry]) -> Vec<u8> {
    let prefix_len = V2_PREFIX_LEN as u64;
    let header =
        V2Header { characteristics: [0; 16], data_offset, data_size, index_offset: prefix_len };
    let mut out = Vec::with_capacity(prefix_len as usize + 16 + entries.len() * 44);
    out.extend_from_slice(&PRAGMA);
    out.extend_from_slice(&header.encode());
    out.extend_from_slice(&encode_index(entries));
    out
}

/// A list of CIDs as bytes: the binary CIDs one after the other (each is self-delimiting).
pub fn encode_cids(cids: &[Cid]) -> Vec<u8> {
    cids.iter().flat_map(|c| c.to_bytes()).collect()
}

/// Reads [`encode_cids`]'s bytes back.
pub fn decode_cids(bytes: &[u8]) -> Result<Vec<Cid>, CarError> {
    let mut cursor = std::io::Cursor::new(bytes);
    let mut out = Vec::new();
    while (cursor.position() as usize) < bytes.len() {
        let at = cursor.position();
        out.push(Cid::read_bytes(&mut cursor).map_err(|_| CarError::BadCid(at))?);
    }
    Ok(out)
}

/// Checks that the shards of one upload hold the whole DAG of its root.
#[derive(Default)]
pub struct UploadCheck {
    held: HashSet<(u64, Vec<u8>)>,
    dangling: Vec<Cid>,
}

impl UploadCheck {
    /// A check with no shards added yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a stored shard: its index sidecar and dangling links.
    pub fn add(&mut self, car: &Cid, index: &[u8], dangling: &[Cid]) -> Result<(), IngestError> {
        let bad = |reason: IndexError| IngestError::Index { car: *car, reason };
        let header = read_v2_header(index).map_err(|_| bad(IndexError::NotV2))?;
        let start = usize::try_from(header.index_offset)
            .ok()
            .filter(|&s| s >= V2_PREFIX_LEN && s <= index.len())
            .ok_or(bad(IndexError::IndexOffset { offset: header.index_offset }))?;
        for e in decode_index(&index[start..]).map_err(bad)? {
            self.held.insert((e.code, e.digest));
        }
        self.dangling.extend_from_slice(dangling);
        Ok(())
    }

    /// Whether `cid`'s block is in one of the shards (identity CIDs hold themselves).
    pub fn holds(&self, cid: &Cid) -> bool {
        let mh = cid.hash();
        mh.code() == IDENTITY || self.held.contains(&(mh.code(), mh.digest().to_vec()))
    }

    /// The root and every link that leaves a shard are held: the DAG is complete.
    pub fn finish(&self, root: &Cid) -> Result<(), IngestError> {
        if let Some(cid) = std::iter::once(root).chain(&self.dangling).find(|c| !self.holds(c)) {
            return Err(VerifyError::MissingBlock { cid: *cid }.into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::{read_all, CarWriter};
    use crate::gateway::store::{read_v2_header, section_block, CarIndex};
    use crate::piece::piece_of;

    use crate::testutil::fixture;

    fn ingest(car: &[u8], chunk: usize) -> Result<IngestedShard, IngestError> {
        let mut i = ShardIngest::new(1 << 30);
        for c in car.chunks(chunk) {
            i.push(c)?;
        }
        i.finish()
    }

    /// Splits a CAR's blocks, root last, into two CARs: all but `tail` blocks (no roots), then the rest.
    fn split(car: &[u8], tail: usize) -> (Vec<u8>, Vec<u8>, Cid) {
        let (header, mut blocks) = read_all(car).unwrap();
        let Event::Header { roots, .. } = header else { unreachable!() };
        // Packers write the root last; this fixture has it first.
        let at = blocks.iter().position(|b| b.0 == roots[0]).unwrap();
        let root_block = blocks.remove(at);
        blocks.push(root_block);
        let cut = blocks.len() - tail;
        let write = |roots: &[Cid], blocks: &[(Cid, Vec<u8>, u64)]| {
            let (mut w, mut out) = CarWriter::new(1, roots);
            for (cid, data, _) in blocks {
                w.block(cid, data, &mut out);
            }
            out
        };
        (write(&[], &blocks[..cut]), write(&roots, &blocks[cut..]), roots[0])
    }

    /// The CAR as a CARv2 written by carport: header, data, its index.
    fn as_v2(car: &[u8]) -> Vec<u8> {
        let (header, blocks) = read_all(car).unwrap();
        let Event::Header { roots, .. } = header else { unreachable!() };
        let (mut w, _) = CarWriter::new(2, &roots);
        let mut body = Vec::new();
        for (cid, data, _) in &blocks {
            w.block(cid, data, &mut body);
        }
        let f = w.finish(&roots);
        [f.header, body, f.trailer].concat()
    }

    #[test]
    fn a_carv2_with_its_own_index_is_taken_and_bytes_outside_blocks_are_not() {
        let car = fixture("gateway-conformance/dir_listing/fixtures.car");
        let v2 = as_v2(&car);
        ingest(&v2, 777).unwrap();
        // Anything after a CARv1's last block is read as a section, and is not one.
        assert!(ingest(&[car.clone(), b"smuggled".to_vec()].concat(), 1000).is_err());
        // A zero-length section, then bytes the reader would not even look at.
        let zero = [car.clone(), vec![0], b"hidden".to_vec()].concat();
        assert!(matches!(ingest(&zero, 1000), Err(IngestError::OutsideBlocks { .. })));
        // A CARv2 whose index is not its blocks' index, or has bytes after it.
        let h = read_v2_header(&v2[..V2_PREFIX_LEN]).unwrap();
        let mut forged = v2.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(matches!(ingest(&forged, 1000), Err(IngestError::OutsideBlocks { .. })));
        let longer = [v2.clone(), vec![0; 16]].concat();
        assert_eq!(
            ingest(&longer, 1000).unwrap_err(),
            IngestError::OutsideBlocks {
                offset: h.data_offset + h.data_size,
                len: longer.len() as u64 - h.data_offset - h.data_size
            }
        );
        // Padding between the CARv2 header and its data.
        let pad = 8u64;
        let padded_header =
            V2Header { data_offset: h.data_offset + pad, index_offset: h.index_offset + pad, ..h };
        let padded = [
            PRAGMA.to_vec(),
            padded_header.encode().to_vec(),
            vec![0; pad as usize],
            v2[V2_PREFIX_LEN..].to_vec(),
        ]
        .concat();
        assert_eq!(
            ingest(&padded, 1000).unwrap_err(),
            IngestError::OutsideBlocks { offset: V2_PREFIX_LEN as u64, len: pad }
        );
    }

    #[test]
    fn a_whole_car_ingests_with_its_names() {
        let car = fixture("gateway-conformance/dir_listing/fixtures.car");
        let got = ingest(&car, 1000).unwrap();
        assert_eq!(got, ingest(&car, 7).unwrap(), "chunking changes nothing");
        assert_eq!(got.size, car.len() as u64);
        assert_eq!(got.piece, piece_of(&car).unwrap());
        let mut h = CarCidHasher::new();
        h.update(&car);
        assert_eq!(got.car, h.finish());
        assert!(got.dangling.is_empty());
        let mut check = UploadCheck::new();
        check.add(&got.car, &got.index, &got.dangling).unwrap();
        check.finish(&got.roots[0]).unwrap();
    }

    #[test]
    fn the_sidecar_locates_every_block_in_the_shard_file() {
        for name in
            ["gateway-conformance/dir_listing/fixtures.car", "go-car-v2/sample-wrapped-v2.car"]
        {
            let car = fixture(name);
            let got = ingest(&car, 4096).unwrap();
            let header = read_v2_header(&got.index).unwrap();
            let ix = CarIndex::new(&header, &got.index[header.index_offset as usize..]).unwrap();
            let (_, blocks) = read_all(&car).unwrap();
            assert_eq!(ix.len(), blocks.len(), "{name}");
            for (cid, data, _) in blocks {
                let r = ix.locate(&cid).unwrap();
                let section = &car[r.start as usize..r.end as usize];
                assert_eq!(section_block(&cid, section).unwrap(), data, "{name} {cid}");
            }
        }
    }

    #[test]
    fn a_flipped_byte_names_the_block() {
        let mut car = fixture("gateway-conformance/dir_listing/fixtures.car");
        let (_, blocks) = read_all(&car).unwrap();
        let (cid, _, offset) = blocks[2].clone();
        let last = blocks[3].2 as usize - 1;
        car[last] ^= 1;
        assert_eq!(ingest(&car, 999), Err(VerifyError::HashMismatch { cid, offset }.into()));
    }

    #[test]
    fn truncation_and_the_limit_are_refused() {
        let car = fixture("gateway-conformance/dir_listing/fixtures.car");
        assert!(matches!(
            ingest(&car[..car.len() - 3], 512),
            Err(IngestError::Verify(VerifyError::Car(CarError::TruncatedBlock { .. })))
        ));
        let mut i = ShardIngest::new(100);
        assert_eq!(i.push(&car[..200]), Err(IngestError::TooLarge { limit: 100, offset: 100 }));
    }

    #[test]
    fn shards_of_one_dag_are_complete_together_and_not_alone() {
        let car = fixture("gateway-conformance/path_gateway_unixfs/dir-with-files.car");
        let (first, last, root) = split(&car, 2);
        let a = ingest(&first, 100).unwrap();
        let b = ingest(&last, 100).unwrap();
        assert!(a.roots.is_empty());
        assert_eq!(b.roots, vec![root]);
        assert!(!b.dangling.is_empty(), "the root links into the first shard");

        let mut alone = UploadCheck::new();
        alone.add(&b.car, &b.index, &b.dangling).unwrap();
        assert!(
            matches!(alone.finish(&root), Err(IngestError::Verify(VerifyError::MissingBlock { cid })) if b.dangling.contains(&cid))
        );

        let mut both = UploadCheck::new();
        both.add(&a.car, &a.index, &a.dangling).unwrap();
        both.add(&b.car, &b.index, &decode_cids(&encode_cids(&b.dangling)).unwrap()).unwrap();
        both.finish(&root).unwrap();
    }

    #[test]
    fn a_root_missing_from_every_shard_is_named() {
        let car = fixture("gateway-conformance/path_gateway_unixfs/dir-with-files.car");
        let (first, _, root) = split(&car, 1);
        let a = ingest(&first, 100).unwrap();
        let mut check = UploadCheck::new();
        check.add(&a.car, &a.index, &a.dangling).unwrap();
        assert_eq!(check.finish(&root), Err(VerifyError::MissingBlock { cid: root }.into()));
    }
}
