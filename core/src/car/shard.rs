//! Splitting a CAR into shards no larger than a size limit, each a valid CAR on its own.
//!
//! The convention is storacha's (ipfs-car's sharding, `@web3-storage/upload-client`): blocks go
//! into the shards in the order they are made, a new shard starts when the next block would not
//! fit, shards before the last declare no roots (`roots: []`) and the last declares the root. Each
//! block is written once across all shards, so the union of the shards' blocks is exactly the
//! block set of the single CAR [`crate::car::pack::CarSink`] would write.
//!
//! Bytes leave as they are made ([`ShardEvent::Bytes`]), so memory stays at one block and the
//! index of one shard however large the input. A shard's header is known only when it closes
//! (whether it is the last one, and so which roots it declares, is known only then), so
//! [`ShardEvent::Closed`] carries the header to put in front of the body bytes the caller kept,
//! and the trailer (the CARv2 index) to put after them. Room for the largest header the final
//! shard could need is kept in every shard, so no shard ever grows past the limit when it turns
//! out to be the last.

use std::collections::{BTreeMap, HashSet};

use cid::Cid;
use multihash::Multihash;
use sha2::Digest;

use crate::car::{placeholder_root, CarWriter};
use crate::codec::block::Block;
use crate::codec::cids::CidRule;
use crate::codec::multicodec::{CAR, DAG_PB, IDENTITY, RAW, SHA2_256};
use crate::codec::varint;

/// The default shard size: 100 MB, as storacha's upload client.
pub const DEFAULT_SHARD_SIZE: u64 = 100_000_000;

/// Why sharding cannot go on.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ShardError {
    /// A block that does not fit in a shard even alone, with the CAR header (and index).
    #[error(
        "block {cid} needs {needed} bytes in a CAR, more than the shard size {shard_size} allows"
    )]
    BlockTooLarge {
        /// The block's CID.
        cid: Cid,
        /// Bytes a shard of it alone would take.
        needed: u64,
        /// The shard size, in bytes.
        shard_size: u64,
    },
    /// A shard size too small for a CAR header (and an empty index), or for the root's header.
    #[error("shard size {shard_size} is too small: a CAR header alone needs {needed} bytes")]
    ShardSizeTooSmall {
        /// The shard size, in bytes.
        shard_size: u64,
        /// Bytes the header (and empty index) need.
        needed: u64,
    },
    /// A CAR version other than 1 or 2.
    #[error("unsupported CAR version {0} (expected 1 or 2)")]
    CarVersion(u8),
}

impl crate::error::Coded for ShardError {
    fn code(&self) -> &'static str {
        match self {
            ShardError::BlockTooLarge { .. } => "BlockTooLarge",
            ShardError::ShardSizeTooSmall { .. } | ShardError::CarVersion(_) => "ShardSize",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            ShardError::BlockTooLarge { cid, .. } => Some(cid),
            _ => None,
        }
    }
}

/// What the sharder gives back, in order.
#[derive(Debug, PartialEq, Eq)]
pub enum ShardEvent {
    /// The next bytes of the open shard's body (its sections, after the header).
    Bytes(Vec<u8>),
    /// The data of the block given to [`Sharder::put_external`], this many bytes: the caller
    /// holds it and puts it here.
    External(u64),
    /// The open shard is complete: its file is `header || body bytes || trailer`.
    Closed(ShardEnd),
}

/// How to complete a shard, and what it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardEnd {
    /// 0 for the first shard.
    pub index: u32,
    /// The file's first bytes: the CARv1 header (for CARv2, the pragma and fixed header first).
    pub header: Vec<u8>,
    /// The file's last bytes: the CARv2 index; empty for CARv1.
    pub trailer: Vec<u8>,
    /// The roots the header declares: none but in the last shard.
    pub roots: Vec<Cid>,
    /// Blocks in this shard.
    pub blocks: u64,
    /// Bytes of the body (the sections).
    pub body_len: u64,
    /// Bytes of the whole shard file.
    pub size: u64,
    /// Whether this is the last shard (the one that declares the root).
    pub last: bool,
}

/// Writes blocks into CAR shards of at most `shard_size` bytes; see the module docs.
pub struct Sharder {
    version: u8,
    shard_size: u64,
    /// Room kept in every shard for the largest header the last shard could need.
    header_reserve: u64,
    seen: HashSet<Cid>,
    open: Option<Open>,
    next_index: u32,
    events: Vec<ShardEvent>,
    blocks: u64,
    bytes: u64,
}

/// The shard being written.
struct Open {
    writer: CarWriter,
    index: u32,
    body: Vec<u8>,
    body_len: u64,
    blocks: u64,
    /// CARv2 index records per (multihash code, digest length), to size the trailer exactly.
    buckets: BTreeMap<(u64, usize), u64>,
}

impl Sharder {
    /// Starts sharding a CAR of `car_version` (1 or 2) whose blocks are named by `rule`.
    pub fn new(car_version: u8, rule: &CidRule, shard_size: u64) -> Result<Self, ShardError> {
        if !matches!(car_version, 1 | 2) {
            return Err(ShardError::CarVersion(car_version));
        }
        let header_reserve = largest_root_header(car_version, rule);
        let empty = header_reserve + trailer_len(car_version, &BTreeMap::new());
        if shard_size < empty {
            return Err(ShardError::ShardSizeTooSmall { shard_size, needed: empty });
        }
        Ok(Sharder {
            version: car_version,
            shard_size,
            header_reserve,
            seen: HashSet::new(),
            open: None,
            next_index: 0,
            events: Vec::new(),
            blocks: 0,
            bytes: 0,
        })
    }

    /// Appends the blocks (draining `blocks`), closing shards as they fill. Blocks already written
    /// (in any shard) are skipped.
    pub fn put(&mut self, blocks: &mut Vec<Block>) -> Result<(), ShardError> {
        for b in blocks.drain(..) {
            if self.seen.contains(&b.cid) {
                continue;
            }
            self.put_one(&b)?;
            self.seen.insert(b.cid);
        }
        Ok(())
    }

    /// Appends a block whose data the caller holds (a leaf hashed outside, see
    /// [`crate::unixfs::file::FileBuilder::hashed_leaf`]): its section's prefix comes out as bytes, then
    /// [`ShardEvent::External`] where the data goes. `false` when the block was written already
    /// (the caller then drops the data).
    pub fn put_external(&mut self, cid: Cid, len: u64) -> Result<bool, ShardError> {
        if self.seen.contains(&cid) {
            return Ok(false);
        }
        self.put_section(&cid, None, len)?;
        self.seen.insert(cid);
        Ok(true)
    }

    fn put_one(&mut self, b: &Block) -> Result<(), ShardError> {
        self.put_section(&b.cid, Some(&b.data), b.data.len() as u64)
    }

    /// Appends one section: `data`, or (none) a placeholder for the caller's `len` bytes.
    fn put_section(&mut self, cid: &Cid, data: Option<&[u8]>, len: u64) -> Result<(), ShardError> {
        let cid_len = cid.encoded_len() as u64;
        let section = varint::len(cid_len + len) as u64 + cid_len + len;
        let key = index_key(self.version, cid);
        if let Some(open) = &self.open {
            if open.blocks > 0 && self.size_with(open, section, key) > self.shard_size {
                self.close(Vec::new(), false);
            }
        }
        let version = self.version;
        let index = self.next_index;
        if self.open.is_none() {
            self.next_index += 1;
        }
        let open = self.open.get_or_insert_with(|| Open::new(version, index));
        let needed = self.header_reserve
            + open.body_len
            + section
            + trailer_with(version, &open.buckets, key);
        if needed > self.shard_size {
            return Err(ShardError::BlockTooLarge {
                cid: *cid,
                needed,
                shard_size: self.shard_size,
            });
        }
        match data {
            Some(data) => open.writer.block(cid, data, &mut open.body),
            None => {
                let prefix = open.writer.section_prefix(cid, len as usize);
                open.body.extend_from_slice(&prefix);
                self.events.push(ShardEvent::Bytes(std::mem::take(&mut open.body)));
                self.events.push(ShardEvent::External(len));
            }
        }
        open.body_len += section;
        open.blocks += 1;
        if let Some(k) = key {
            *open.buckets.entry(k).or_default() += 1;
        }
        self.blocks += 1;
        Ok(())
    }

    fn size_with(&self, open: &Open, section: u64, key: Option<(u64, usize)>) -> u64 {
        self.header_reserve
            + open.body_len
            + section
            + trailer_with(self.version, &open.buckets, key)
    }

    /// Closes the open shard (opening an empty one first if none is open).
    fn close(&mut self, roots: Vec<Cid>, last: bool) {
        let open = match self.open.take() {
            Some(open) => open,
            None => {
                self.next_index += 1;
                Open::new(self.version, self.next_index - 1)
            }
        };
        let finished = open.writer.finish(&roots);
        if !open.body.is_empty() {
            self.events.push(ShardEvent::Bytes(open.body));
        }
        let size = finished.header.len() as u64 + open.body_len + finished.trailer.len() as u64;
        debug_assert!(size <= self.shard_size, "shard {} is {size} bytes", open.index);
        self.bytes += size;
        self.events.push(ShardEvent::Closed(ShardEnd {
            index: open.index,
            header: finished.header,
            trailer: finished.trailer,
            roots,
            blocks: open.blocks,
            body_len: open.body_len,
            size,
            last,
        }));
    }

    /// Takes what is ready: body bytes of the open shard and shards closed since the last call.
    pub fn take(&mut self) -> Vec<ShardEvent> {
        if let Some(open) = &mut self.open {
            if !open.body.is_empty() {
                self.events.push(ShardEvent::Bytes(std::mem::take(&mut open.body)));
            }
        }
        std::mem::take(&mut self.events)
    }

    /// Ends the last shard, which declares `root`, and returns the remaining events.
    pub fn finish(mut self, root: Cid) -> Result<Vec<ShardEvent>, ShardError> {
        let header = CarWriter::new(self.version, &[root]).1.len() as u64;
        if header > self.header_reserve {
            // Cannot happen for roots made under the rule given to `new`; refuse rather than
            // write a shard over the limit.
            return Err(ShardError::ShardSizeTooSmall {
                shard_size: self.shard_size,
                needed: header,
            });
        }
        self.close(vec![root], true);
        Ok(std::mem::take(&mut self.events))
    }

    /// Distinct blocks written so far.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    /// Bytes of the shards closed so far.
    pub fn closed_bytes(&self) -> u64 {
        self.bytes
    }

    /// Shards opened so far.
    pub fn shards(&self) -> u32 {
        self.next_index
    }
}

impl Open {
    fn new(version: u8, index: u32) -> Self {
        // The writer's own first bytes (a placeholder header) are not used: the real header comes
        // from `CarWriter::finish` when the shard closes.
        let (writer, _) = CarWriter::new(version, &[]);
        Open { writer, index, body: Vec::new(), body_len: 0, blocks: 0, buckets: BTreeMap::new() }
    }
}

/// The longest header the last shard can have: its root is a dag-pb or raw node named by `rule`,
/// possibly inlined.
fn largest_root_header(version: u8, rule: &CidRule) -> u64 {
    let placeholder = placeholder_root(rule);
    let mut candidates = vec![placeholder, Cid::new_v1(RAW, *placeholder.hash())];
    if let Some(limit) = rule.inline_limit {
        let zeros = vec![0u8; limit.min(64)];
        if let Ok(mh) = Multihash::wrap(IDENTITY, &zeros) {
            candidates.push(Cid::new_v1(DAG_PB, mh));
        }
    }
    candidates.iter().map(|c| CarWriter::new(version, &[*c]).1.len() as u64).max().unwrap_or(0)
}

/// The CARv2 index bucket a block's record goes in; `None` for CARv1 and identity CIDs (which
/// go-car, and so carport, leave out of the index).
fn index_key(version: u8, cid: &Cid) -> Option<(u64, usize)> {
    (version == 2 && cid.hash().code() != IDENTITY)
        .then(|| (cid.hash().code(), cid.hash().digest().len()))
}

fn trailer_with(
    version: u8,
    buckets: &BTreeMap<(u64, usize), u64>,
    key: Option<(u64, usize)>,
) -> u64 {
    match key {
        None => trailer_len(version, buckets),
        Some(k) => {
            let mut b = buckets.clone();
            *b.entry(k).or_default() += 1;
            trailer_len(version, &b)
        }
    }
}

/// Bytes of the `MultihashIndexSorted` that [`crate::car::encode_index`] writes for these records.
fn trailer_len(version: u8, buckets: &BTreeMap<(u64, usize), u64>) -> u64 {
    if version != 2 {
        return 0;
    }
    let mut len = varint::len(crate::car::MULTIHASH_INDEX_SORTED) as u64 + 4;
    let mut last_code = None;
    for (&(code, width), &n) in buckets {
        if last_code != Some(code) {
            len += 8 + 4;
            last_code = Some(code);
        }
        len += 4 + 8 + n * (width as u64 + 8);
    }
    len
}

/// The CID of a whole CAR file: CIDv1, codec `car` (0x0202), sha2-256 of its bytes.
pub fn car_cid(sha256: &[u8; 32]) -> Cid {
    Cid::new_v1(CAR, Multihash::wrap(SHA2_256, sha256).expect("32 bytes fit"))
}

/// Computes the CID of a CAR over its bytes pushed in pieces.
#[derive(Clone, Default)]
pub struct CarCidHasher(sha2::Sha256);

impl CarCidHasher {
    /// A hasher that has seen no bytes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hashes the CAR's next bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The CID of the bytes hashed.
    pub fn finish(self) -> Cid {
        car_cid(&self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::car::pack::CarSink;
    use crate::car::verify::Verifier;
    use crate::car::{decode_index, read_all, Event};
    use crate::codec::cids::HashAlg;
    use crate::error::VerifyError;
    use crate::unixfs::chunker::ChunkerSpec;
    use crate::unixfs::file::import_bytes;
    use crate::unixfs::settings::{Profile, Settings};
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// Shard files, whole, from the events.
    fn assemble(events: Vec<ShardEvent>) -> Shards {
        assemble_with(events, &mut std::collections::VecDeque::new())
    }

    /// Shard files, with the data of external blocks taken in order from `external`.
    fn assemble_with(
        events: Vec<ShardEvent>,
        external: &mut std::collections::VecDeque<Vec<u8>>,
    ) -> Shards {
        let mut out = Vec::new();
        let mut body = Vec::new();
        for ev in events {
            match ev {
                ShardEvent::Bytes(b) => body.extend_from_slice(&b),
                ShardEvent::External(len) => {
                    let data = external.pop_front().expect("data for an external block");
                    assert_eq!(data.len() as u64, len);
                    body.extend_from_slice(&data);
                }
                ShardEvent::Closed(end) => {
                    assert_eq!(body.len() as u64, end.body_len);
                    let file = [end.header.clone(), std::mem::take(&mut body), end.trailer.clone()]
                        .concat();
                    assert_eq!(file.len() as u64, end.size);
                    out.push((end, file));
                }
            }
        }
        assert!(body.is_empty(), "bytes after the last shard");
        out
    }

    type Shards = Vec<(ShardEnd, Vec<u8>)>;

    /// Shards `data` imported under `settings`, feeding the blocks in slices as a driver would.
    fn shard(
        settings: &Settings,
        data: &[u8],
        version: u8,
        shard_size: u64,
    ) -> Result<(Cid, Shards), ShardError> {
        let (root, mut blocks) = import_bytes(settings, data);
        let mut s = Sharder::new(version, &settings.cid, shard_size)?;
        let mut events = Vec::new();
        while !blocks.is_empty() {
            let n = blocks.len().min(3);
            let mut some: Vec<Block> = blocks.drain(..n).collect();
            s.put(&mut some)?;
            events.extend(s.take());
        }
        events.extend(s.finish(root.cid)?);
        Ok((root.cid, assemble(events)))
    }

    fn single_car(settings: &Settings, data: &[u8], version: u8) -> Vec<u8> {
        let (root, mut blocks) = import_bytes(settings, data);
        let mut sink = CarSink::new(version, &settings.cid, false);
        sink.put(&mut blocks);
        let mut car = sink.take_bytes();
        let packed = sink.finish(root.cid);
        car.extend(packed.tail);
        packed.finished.complete(&mut car);
        car
    }

    fn block_set(car: &[u8]) -> BTreeSet<(Cid, Vec<u8>)> {
        read_all(car).unwrap().1.into_iter().map(|(c, d, _)| (c, d)).collect()
    }

    fn small() -> Settings {
        Settings {
            chunker: ChunkerSpec::Size(1000),
            max_links: 8,
            ..Profile::UnixfsV1_2025.settings()
        }
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len as u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()
    }

    fn check(settings: &Settings, len: usize, version: u8, shard_size: u64) {
        let input = data(len);
        let (root, shards) = shard(settings, &input, version, shard_size).unwrap();
        let whole = single_car(settings, &input, version);
        let mut union = BTreeSet::new();
        let mut all = Verifier::new(Some(root));
        for (i, (end, file)) in shards.iter().enumerate() {
            let last = i + 1 == shards.len();
            assert_eq!(end.index as usize, i);
            assert_eq!(end.last, last);
            assert!(
                file.len() as u64 <= shard_size,
                "shard {i} is {} bytes > {shard_size}",
                file.len()
            );
            let (header, blocks) = read_all(file).unwrap();
            let Event::Header { version: v, roots, .. } = header else { panic!("no header") };
            assert_eq!(v, version as u64);
            assert_eq!(roots, if last { vec![root] } else { vec![] }, "shard {i} roots");
            assert_eq!(blocks.len() as u64, end.blocks);
            for (cid, data, _) in blocks {
                assert!(union.insert((cid, data)), "block {cid} written twice");
            }
            // Each shard alone: every block hashes to its CID.
            let mut v = Verifier::new(None);
            v.push(file).unwrap();
            let report = v.finish_unrooted().unwrap();
            assert_eq!(report.blocks, end.blocks);
            if last {
                // The last one declares the root; its DAG is complete only with the others.
                let alone = crate::car::verify::verify_bytes(file, Some(root));
                assert!(
                    shards.len() == 1 && alone.is_ok()
                        || matches!(alone, Err(VerifyError::MissingBlock { .. })),
                    "{alone:?}"
                );
            }
            if version == 2 {
                let (_, body) = file.split_at(crate::car::PRAGMA_LEN);
                let h = crate::car::V2Header::decode(&body[..crate::car::V2_HEADER_LEN]);
                let index = decode_index(&file[h.index_offset as usize..]).unwrap();
                assert_eq!(index.len() as u64, end.blocks, "shard {i} index");
            }
            if i > 0 {
                all.next_car().unwrap();
            }
            all.push(file).unwrap();
        }
        // Together: the same blocks as one CAR, and the DAG complete from the root.
        assert_eq!(union, block_set(&whole), "len {len} v{version} size {shard_size}");
        let report = all.finish().unwrap();
        assert_eq!(report.roots, vec![root]);
        // Greedy: a shard closed only because the next block would not fit.
        for w in shards.windows(2) {
            let (end, _) = &w[0];
            let (_, next) = &w[1];
            let (_, next_blocks) = read_all(next).unwrap();
            let (cid, d, _) = &next_blocks[0];
            let section = (varint::len((cid.encoded_len() + d.len()) as u64)
                + cid.encoded_len()
                + d.len()) as u64;
            assert!(
                end.size + section > shard_size.saturating_sub(200),
                "shard {} closed early",
                end.index
            );
        }
    }

    #[test]
    fn shards_hold_the_blocks_of_one_car() {
        for version in [1, 2] {
            for (len, size) in [
                (0, 400),
                (10, 400),
                (5000, 1500),
                (50_000, 5_000),
                (50_000, 3_000),
                (200_000, 40_000),
                (200_000, 10_000_000),
            ] {
                check(&small(), len, version, size);
            }
        }
    }

    #[test]
    fn profiles_and_hashes() {
        for p in Profile::ALL {
            check(&p.settings(), 5 << 20, 1, 2 << 20);
            check(
                &Settings { chunker: ChunkerSpec::Size(4096), ..p.settings() },
                300_000,
                2,
                40_000,
            );
        }
        let blake = Settings { cid: CidRule { hash: HashAlg::Blake3, ..small().cid }, ..small() };
        check(&blake, 100_000, 2, 9_000);
        let inline = Settings { cid: CidRule { inline_limit: Some(64), ..small().cid }, ..small() };
        check(&inline, 100_000, 1, 9_000);
        check(&inline, 10, 1, 300);
    }

    #[test]
    fn leaves_hashed_outside_give_the_same_shards() {
        use crate::unixfs::file::{FileBuilder, Metadata};
        let settings = Settings {
            chunker: ChunkerSpec::Size(1000),
            max_links: 4,
            ..Profile::UnixfsV1_2025.settings()
        };
        let mut bytes = data(23_500);
        bytes.copy_within(..2000, 5000);
        for version in [1, 2] {
            let (want_root, want) = shard(&settings, &bytes, version, 6000).unwrap();
            let mut s = Sharder::new(version, &settings.cid, 6000).unwrap();
            let mut b = FileBuilder::new(&settings, Metadata::default());
            let (mut events, mut held, mut blocks) =
                (Vec::new(), std::collections::VecDeque::new(), Vec::new());
            for leaf in bytes.chunks(b.leaf_size().unwrap()) {
                let digest: [u8; 32] = sha2::Sha256::digest(leaf).into();
                let cid = settings.cid.raw_cid_of_sha256(&digest, leaf.len()).unwrap();
                if s.put_external(cid, leaf.len() as u64).unwrap() {
                    held.push_back(leaf.to_vec());
                }
                b.hashed_leaf(cid, leaf.len() as u64, &mut blocks);
                s.put(&mut blocks).unwrap();
                events.extend(s.take());
            }
            let root = b.finish(&mut blocks);
            s.put(&mut blocks).unwrap();
            events.extend(s.finish(root.cid).unwrap());
            assert_eq!(root.cid, want_root);
            let got = assemble_with(events, &mut held);
            assert!(held.is_empty());
            assert_eq!(got, want, "CARv{version}");
        }
    }

    #[test]
    fn one_shard_when_it_fits_is_the_single_car() {
        for version in [1, 2] {
            let input = data(30_000);
            let (_, shards) = shard(&small(), &input, version, DEFAULT_SHARD_SIZE).unwrap();
            assert_eq!(shards.len(), 1);
            assert_eq!(shards[0].1, single_car(&small(), &input, version));
        }
    }

    #[test]
    fn a_block_larger_than_a_shard_is_refused() {
        let input = data(5000);
        let err = shard(&small(), &input, 1, 900).unwrap_err();
        assert!(matches!(err, ShardError::BlockTooLarge { shard_size: 900, .. }), "{err:?}");
        assert!(err.to_string().contains("more than the shard size 900"), "{err}");
        assert!(matches!(
            Sharder::new(1, &small().cid, 20),
            Err(ShardError::ShardSizeTooSmall { .. })
        ));
        assert!(matches!(Sharder::new(3, &small().cid, 1000), Err(ShardError::CarVersion(3))));
    }

    #[test]
    fn car_cid_names_the_bytes() {
        let mut h = CarCidHasher::new();
        h.update(b"ab");
        h.update(b"c");
        let cid = h.finish();
        assert_eq!(cid.codec(), CAR);
        assert_eq!(cid.version(), cid::Version::V1);
        assert_eq!(cid.hash().code(), SHA2_256);
        // sha2-256("abc"), FIPS 180-2's first example.
        let want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let got: String = cid.hash().digest().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want);
        assert!(cid.to_string().starts_with("bagbaiera"), "{cid}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn any_sizes(len in 0usize..60_000, chunk in 200usize..3000, size in 3_500u64..20_000, version in 1u8..=2) {
            let settings = Settings { chunker: ChunkerSpec::Size(chunk), max_links: 4, ..Profile::UnixfsV1_2025.settings() };
            check(&settings, len, version, size);
        }
    }
}
