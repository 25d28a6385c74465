//! Path resolution, sans-IO: `/ipfs/{root}/a/b/c` → the CID at the end, through plain UnixFS
//! folders, HAMT-sharded folders and DAG-CBOR links. The resolver asks for one block at a time
//! ([`Step::Need`]) and is handed it ([`Resolver::provide`]); the caller verifies blocks first.
//!
//! HAMT lookup by name: the name is hashed with murmur3-x64-64 and each level consumes
//! `log2(fanout)` bits of the hash (8 for fanout 256) to pick a slot; the slot's links are named
//! with its uppercase hex prefix: `{prefix}{name}` is the entry, `{prefix}` alone a sub-shard.

use cid::Cid;

use crate::codec::block::Block;
use crate::codec::cids::inline_block;
use crate::codec::dagpb::{PbLinkRef, PbNode};
use crate::codec::multicodec::{DAG_CBOR, DAG_PB, RAW};
use crate::error::DecodeError;
use crate::gateway::cbor::{self, CborError, Lookup};
use crate::unixfs::hamt::{hash_name, Layout};
use crate::unixfs::{Data, NodeType};

/// What the path leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A UnixFS file (dag-pb) of `size` bytes.
    File {
        /// Bytes of the file.
        size: u64,
    },
    /// A raw block, served as a file.
    Raw {
        /// Bytes of the block.
        size: u64,
    },
    /// A plain UnixFS folder.
    Dir,
    /// A HAMT-sharded UnixFS folder.
    HamtDir,
    /// A UnixFS symlink.
    Symlink {
        /// Where it points, as stored (bytes that are not UTF-8 replaced).
        target: String,
    },
    /// A DAG-CBOR document.
    DagCbor,
    /// Any other codec (dag-json, json, cbor...): servable as a block only.
    Other {
        /// The block's multicodec.
        codec: u64,
    },
}

impl NodeKind {
    /// A plain or HAMT folder.
    pub fn is_dir(&self) -> bool {
        matches!(self, NodeKind::Dir | NodeKind::HamtDir)
    }
    /// Bytes of a file or raw block; `None` for anything else.
    pub fn file_size(&self) -> Option<u64> {
        match self {
            NodeKind::File { size } | NodeKind::Raw { size } => Some(*size),
            _ => None,
        }
    }
}

/// The end of a resolved path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// CID of the path's end.
    pub cid: Cid,
    /// What it is.
    pub kind: NodeKind,
    /// The terminal block's bytes.
    pub block: Vec<u8>,
    /// Every block read to get there, in order (folders and HAMT shards), the terminal excluded:
    /// the blocks a trustless CAR puts before the entity.
    pub path_blocks: Vec<Block>,
    /// The CID of the root and of each segment's entity (`X-Ipfs-Roots`).
    pub roots: Vec<Cid>,
}

/// Why a path does not resolve.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum ResolveError {
    /// A segment names nothing in the folder, shard or document reached.
    #[error("no link named {segment:?} under {parent}")]
    NotFound {
        /// The folder (or HAMT shard, or DAG-CBOR block) it was looked up in.
        parent: Cid,
        /// The segment not found.
        segment: String,
        /// Its position in the path, from 0.
        index: usize,
    },
    /// A dag-pb block on the path does not decode as UnixFS.
    #[error("block {cid} does not decode: {source}")]
    Decode {
        /// The block's CID.
        cid: Cid,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A DAG-CBOR block on the path does not decode.
    #[error("DAG-CBOR block {cid} does not decode: {source}")]
    Cbor {
        /// The block's CID.
        cid: Cid,
        /// Why it does not decode.
        source: CborError,
    },
    /// A block the path cannot go through or end at: a codec with no paths, a path ending at a
    /// value inside a DAG-CBOR block rather than at a link, or a UnixFS metadata node.
    #[error("block {cid} (codec 0x{codec:x}) cannot be pathed through")]
    Unsupported {
        /// The block's CID.
        cid: Cid,
        /// Its multicodec.
        codec: u64,
    },
    /// A HAMT shard whose fanout or name hash carport cannot read.
    #[error("HAMT shard {0} is malformed")]
    BadShard(Cid),
}

impl crate::error::Coded for ResolveError {
    fn code(&self) -> &'static str {
        match self {
            ResolveError::NotFound { .. } => "NotFound",
            ResolveError::Decode { .. } => "Decode",
            ResolveError::Cbor { .. } => "DagCbor",
            ResolveError::Unsupported { .. } => "Unsupported",
            ResolveError::BadShard(_) => "BadShard",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            ResolveError::NotFound { parent: cid, .. }
            | ResolveError::Decode { cid, .. }
            | ResolveError::Cbor { cid, .. }
            | ResolveError::Unsupported { cid, .. }
            | ResolveError::BadShard(cid) => Some(cid),
        }
    }
}

/// One step of resolution.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Hand over this block (verified) with [`Resolver::provide`].
    Need(Cid),
    /// The path is resolved.
    Done(Resolved),
}

#[derive(Clone, Copy, Debug)]
enum Want {
    /// The block of the entity the next segment is looked up in.
    Entity(Cid),
    /// A HAMT sub-shard, looking for the current segment, `depth` levels down.
    Shard { cid: Cid, depth: u32 },
}

/// Resolves a content path one block at a time.
pub struct Resolver {
    segments: Vec<String>,
    next: usize,
    want: Want,
    path_blocks: Vec<Block>,
    roots: Vec<Cid>,
    done: Option<Resolved>,
}

/// Decodes a dag-pb block holding UnixFS data (see [`Data::of_node`]).
pub fn decode_unixfs(cid: &Cid, bytes: &[u8]) -> Result<(PbNode, Data), ResolveError> {
    Data::of_node(bytes).map_err(|source| ResolveError::Decode { cid: *cid, source })
}

/// Reads a dag-pb block holding UnixFS data, handing its links to `each` (see [`PbNode::visit`]).
pub fn visit_unixfs<'a>(
    cid: &Cid,
    bytes: &'a [u8],
    each: impl FnMut(PbLinkRef<'a>),
) -> Result<Data, ResolveError> {
    Data::visit_node(bytes, each).map_err(|source| ResolveError::Decode { cid: *cid, source })
}

/// What kind of entity a block is.
pub fn kind_of(cid: &Cid, bytes: &[u8]) -> Result<NodeKind, ResolveError> {
    Ok(match cid.codec() {
        RAW => NodeKind::Raw { size: bytes.len() as u64 },
        DAG_CBOR => NodeKind::DagCbor,
        DAG_PB => {
            let data = visit_unixfs(cid, bytes, |_| {})?;
            match data.kind {
                NodeType::File | NodeType::Raw => NodeKind::File { size: data.file_len() },
                NodeType::Directory => NodeKind::Dir,
                NodeType::HamtShard => NodeKind::HamtDir,
                NodeType::Symlink => NodeKind::Symlink {
                    target: String::from_utf8_lossy(data.data.as_deref().unwrap_or_default())
                        .into_owned(),
                },
                NodeType::Metadata => {
                    return Err(ResolveError::Unsupported { cid: *cid, codec: DAG_PB })
                }
            }
        }
        codec => NodeKind::Other { codec },
    })
}

impl Resolver {
    /// Resolves `segments` (already percent-decoded, no empty ones) under `root`.
    pub fn new(root: Cid, segments: Vec<String>) -> Self {
        Resolver {
            segments,
            next: 0,
            want: Want::Entity(root),
            path_blocks: Vec::new(),
            roots: vec![root],
            done: None,
        }
    }

    /// The next block wanted, or the result. Identity CIDs are read without asking.
    pub fn step(&mut self) -> Result<Step, ResolveError> {
        loop {
            if let Some(done) = self.done.take() {
                return Ok(Step::Done(done));
            }
            let cid = match self.want {
                Want::Entity(c) | Want::Shard { cid: c, .. } => c,
            };
            match inline_block(&cid) {
                Some(bytes) => self.provide(&cid, bytes)?,
                None => return Ok(Step::Need(cid)),
            }
        }
    }

    /// Where resolution stands: the CID reached last on the path and the segments still to
    /// resolve below it. A gateway that holds the blocks so far asks its upstream for a CAR of
    /// just this rest of the path, rather than the whole path again.
    pub fn position(&self) -> (Cid, &[String]) {
        let reached = *self.roots.last().expect("the root is always reached");
        (reached, &self.segments[self.next..])
    }

    /// Hands over the block last asked for. The caller has checked it against its CID.
    pub fn provide(&mut self, cid: &Cid, bytes: Vec<u8>) -> Result<(), ResolveError> {
        match self.want {
            Want::Entity(want) => {
                debug_assert_eq!(&want, cid);
                self.entity(want, bytes)
            }
            Want::Shard { cid: want, depth } => {
                let (pb, data) = decode_unixfs(&want, &bytes)?;
                self.path_blocks.push(Block { cid: want, data: bytes });
                self.hamt(want, &pb, &data, depth)
            }
        }
    }

    fn segment(&self) -> &str {
        &self.segments[self.next]
    }

    fn not_found(&self, parent: Cid) -> ResolveError {
        ResolveError::NotFound { parent, segment: self.segment().to_string(), index: self.next }
    }

    fn enter(&mut self, child: Cid) {
        self.next += 1;
        self.roots.push(child);
        self.want = Want::Entity(child);
    }

    fn entity(&mut self, cid: Cid, bytes: Vec<u8>) -> Result<(), ResolveError> {
        if self.next == self.segments.len() {
            let kind = kind_of(&cid, &bytes)?;
            let path_blocks = std::mem::take(&mut self.path_blocks);
            self.done = Some(Resolved {
                cid,
                kind,
                block: bytes,
                path_blocks,
                roots: std::mem::take(&mut self.roots),
            });
            return Ok(());
        }
        match cid.codec() {
            DAG_PB => {
                // One pass that allocates nothing finds the name in a plain folder (of any size);
                // a HAMT shard, whose fanout is in its data after the links, is decoded again.
                let seg = self.segment();
                let mut named = None;
                let data = visit_unixfs(&cid, &bytes, |l| {
                    if named.is_none() && l.name == Some(seg) {
                        named = Some(l.hash);
                    }
                })?;
                let shard = match data.kind {
                    NodeType::HamtShard => Some(decode_unixfs(&cid, &bytes)?),
                    _ => None,
                };
                self.path_blocks.push(Block { cid, data: bytes });
                match (data.kind, named, shard) {
                    (NodeType::Directory, Some(child), _) => {
                        self.enter(child);
                        Ok(())
                    }
                    (NodeType::HamtShard, _, Some((pb, data))) => self.hamt(cid, &pb, &data, 0),
                    _ => Err(self.not_found(cid)),
                }
            }
            DAG_CBOR => {
                let rest = &self.segments[self.next..];
                let found = cbor::lookup(&bytes, rest)
                    .map_err(|source| ResolveError::Cbor { cid, source })?;
                self.path_blocks.push(Block { cid, data: bytes });
                match found {
                    Lookup::Link { cid: child, consumed } if consumed > 0 => {
                        for _ in 1..consumed {
                            self.roots.push(cid);
                        }
                        self.next += consumed - 1;
                        self.enter(child);
                        Ok(())
                    }
                    Lookup::NotFound { consumed } => {
                        self.next += consumed;
                        Err(self.not_found(cid))
                    }
                    _ => Err(ResolveError::Unsupported { cid, codec: DAG_CBOR }),
                }
            }
            RAW => Err(self.not_found(cid)),
            codec => Err(ResolveError::Unsupported { cid, codec }),
        }
    }

    fn hamt(
        &mut self,
        shard: Cid,
        pb: &PbNode,
        data: &Data,
        depth: u32,
    ) -> Result<(), ResolveError> {
        let Some(layout) = Layout::of(data) else { return Err(ResolveError::BadShard(shard)) };
        let slot = layout.slot(hash_name(self.segment()), depth);
        let prefix = layout.prefix(slot);
        let seg = self.segment().to_string();
        for link in &pb.links {
            let Some(name) = link.name.as_deref() else { continue };
            let Some(rest) = name.strip_prefix(prefix.as_str()) else { continue };
            if rest.is_empty() {
                if layout.is_last_level(depth) {
                    break;
                }
                self.want = Want::Shard { cid: link.hash, depth: depth + 1 };
                return Ok(());
            }
            if rest == seg {
                self.enter(link.hash);
                return Ok(());
            }
        }
        Err(self.not_found(shard))
    }
}

/// Resolves against an in-memory block map (tests, small CARs).
pub fn resolve_in(
    blocks: &std::collections::HashMap<Cid, Vec<u8>>,
    root: Cid,
    segments: &[&str],
) -> Result<Option<Resolved>, ResolveError> {
    let mut r = Resolver::new(root, segments.iter().map(|s| s.to_string()).collect());
    loop {
        match r.step()? {
            Step::Need(cid) => match blocks.get(&cid) {
                Some(b) => r.provide(&cid, b.clone())?,
                None => return Ok(None),
            },
            Step::Done(done) => return Ok(Some(done)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testutil::{car, cid};

    #[test]
    fn position_names_the_last_cid_reached_and_the_rest_of_the_path() {
        let (roots, blocks, _) =
            car("trustless_gateway_car/subdir-with-two-single-block-files.car");
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut r = Resolver::new(roots[0], path(&["subdir", "ascii.txt"]));
        assert_eq!(r.position(), (roots[0], &path(&["subdir", "ascii.txt"])[..]));
        let Ok(Step::Need(c)) = r.step() else { panic!("wants the root") };
        r.provide(&c, blocks[&c].clone()).unwrap();
        let Ok(Step::Need(sub)) = r.step() else { panic!("wants the subfolder") };
        assert_eq!(r.position(), (sub, &path(&["ascii.txt"])[..]));
        // Inside a HAMT the position stays at the folder, its name not yet consumed.
        let (roots, blocks, _) =
            car("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
        let mut r = Resolver::new(roots[0], path(&["685.txt"]));
        let Ok(Step::Need(c)) = r.step() else { panic!("wants the root") };
        r.provide(&c, blocks[&c].clone()).unwrap();
        let Ok(Step::Need(shard)) = r.step() else { panic!("wants a shard") };
        assert_ne!(shard, roots[0]);
        assert_eq!(r.position(), (roots[0], &path(&["685.txt"])[..]));
    }

    #[test]
    fn resolves_plain_folders() {
        let (roots, blocks, _) =
            car("trustless_gateway_car/subdir-with-two-single-block-files.car");
        let r = resolve_in(&blocks, roots[0], &["subdir", "ascii.txt"]).unwrap().unwrap();
        assert!(matches!(r.kind, NodeKind::File { .. } | NodeKind::Raw { .. }));
        assert_eq!(r.roots.len(), 3);
        assert_eq!(r.path_blocks.len(), 2);
        assert_eq!(r.path_blocks[0].cid, roots[0]);
        let err = resolve_in(&blocks, roots[0], &["subdir", "i-do-not-exist"]).unwrap_err();
        assert!(matches!(err, ResolveError::NotFound { index: 1, .. }), "{err:?}");
    }

    #[test]
    fn resolves_through_a_hamt_by_hashing_the_name() {
        let (roots, blocks, _) =
            car("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
        let root = roots[0];
        let r = resolve_in(&blocks, root, &["685.txt"]).unwrap().unwrap();
        assert!(matches!(r.kind, NodeKind::File { .. }));
        assert_eq!(r.roots, vec![root, r.cid]);
        assert_eq!(r.path_blocks[0].cid, root);
        // Every entry of the HAMT resolves to the link the full listing gives.
        let listed = crate::unixfs::walk::list(&mut blocks.clone(), &root).unwrap();
        let mut n = 0;
        for e in listed.iter().filter(|e| !e.path.is_empty() && !e.path.contains('/')) {
            let got = resolve_in(&blocks, root, &[e.path.as_str()]).unwrap().unwrap();
            assert_eq!(got.cid, e.cid, "{}", e.path);
            n += 1;
        }
        assert!(n > 100, "{n}");
        assert!(matches!(
            resolve_in(&blocks, root, &["nope.txt"]),
            Err(ResolveError::NotFound { .. })
        ));
    }

    #[test]
    fn resolves_through_a_deep_hamt_built_by_carport() {
        use crate::unixfs::file::Metadata;
        use crate::unixfs::import::Importer;
        use crate::unixfs::settings::{Profile, ShardRule};
        let settings = crate::unixfs::settings::Settings {
            shard: ShardRule::EntryCount(3),
            ..Profile::UnixfsV1_2025.settings()
        };
        let mut imp = Importer::new(settings).unwrap();
        let mut out = Vec::new();
        for i in 0..2000 {
            imp.begin_file(&format!("d/n{i}.txt"), Metadata::default()).unwrap();
            imp.write(format!("file {i}").as_bytes(), &mut out).unwrap();
            imp.end_file(&mut out).unwrap();
        }
        let root = imp.finish(&mut out).unwrap().cid;
        let blocks: std::collections::HashMap<Cid, Vec<u8>> =
            out.into_iter().map(|b| (b.cid, b.data)).collect();
        let mut deepest = 0;
        for i in (0..2000).step_by(37) {
            let name = format!("n{i}.txt");
            let r = resolve_in(&blocks, root, &["d", name.as_str()]).unwrap().unwrap();
            assert_eq!(r.block, format!("file {i}").as_bytes());
            deepest = deepest.max(r.path_blocks.len());
        }
        // 2000 names over fanout 256: some lookups go through a sub-shard.
        assert!(deepest >= 3, "{deepest}");
        assert!(matches!(
            resolve_in(&blocks, root, &["d", "n2000.txt"]),
            Err(ResolveError::NotFound { .. })
        ));
    }

    #[test]
    fn resolves_through_dag_cbor_links() {
        let (_, blocks, _) = car("trustless_gateway_car/dir-with-dag-cbor-with-links.car");
        let doc = *blocks.keys().find(|c| c.codec() == DAG_CBOR).unwrap();
        let r = resolve_in(&blocks, doc, &["files", "single"]).unwrap().unwrap();
        assert!(matches!(r.kind, NodeKind::File { .. } | NodeKind::Raw { .. }), "{:?}", r.kind);
        assert_eq!(r.path_blocks.len(), 1);
    }

    #[test]
    fn identity_root_needs_no_block() {
        let hello = cid("bafkqabtimvwgy3yk");
        let r = resolve_in(&Default::default(), hello, &[]).unwrap().unwrap();
        assert_eq!(r.kind, NodeKind::Raw { size: 6 });
        assert_eq!(r.block, b"hello\n");
    }
}
