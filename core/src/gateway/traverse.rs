//! The blocks of a trustless CAR response, in depth-first order: first the blocks that verify the
//! path, then the terminal entity as `dag-scope` asks (`block`, `entity` with optional
//! `entity-bytes`, or `all`), each block once unless duplicates are asked for. Sans-IO like the
//! resolver: it asks for blocks by CID and says which to write.

use std::collections::{HashSet, VecDeque};

use cid::Cid;

use crate::codec::multicodec::{DAG_CBOR, DAG_PB, IDENTITY};
use crate::gateway::cbor;
use crate::gateway::resolve::{decode_unixfs, NodeKind, ResolveError, Resolved};
use crate::unixfs::hamt::{Layout, LinkName};
use crate::unixfs::read::{ByteRange, FileError, FileReader, FileStep};

/// How much of the DAG under the path's end goes into the CAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Only the block at the path's end.
    Block,
    /// The entity at the path's end: a file's blocks (those of `entity-bytes`, if given), a HAMT
    /// folder's shards, otherwise its one block.
    Entity,
    /// Every block reachable from the path's end.
    All,
}

/// A `dag-scope` that is none of `block`, `entity` and `all`; it holds the value given.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid dag-scope {0:?} (expected block, entity or all)")]
pub struct BadScope(pub String);

impl crate::error::Coded for BadScope {
    fn code(&self) -> &'static str {
        "DagScope"
    }
}

impl std::str::FromStr for Scope {
    type Err = BadScope;
    fn from_str(s: &str) -> Result<Self, BadScope> {
        match s {
            "block" => Ok(Scope::Block),
            "entity" => Ok(Scope::Entity),
            "all" => Ok(Scope::All),
            _ => Err(BadScope(s.to_string())),
        }
    }
}

impl Scope {
    /// Its `dag-scope` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Block => "block",
            Scope::Entity => "entity",
            Scope::All => "all",
        }
    }
}

/// `entity-bytes=from:to`: offsets from the start, or from the end when negative; `to` `None` is `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntityBytes {
    /// Offset of the first byte; negative counts back from the end.
    pub from: i64,
    /// Offset of the last byte (inclusive); negative counts back from the end; `None` (`*`) is
    /// the last byte of the file.
    pub to: Option<i64>,
}

/// An `entity-bytes` that is not `from:to` (or whose `to` is before its `from`); it holds the
/// value given.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("invalid entity-bytes {0:?} (expected from:to, e.g. 0:* or -1024:*)")]
pub struct BadEntityBytes(pub String);

impl crate::error::Coded for BadEntityBytes {
    fn code(&self) -> &'static str {
        "EntityBytes"
    }
}

impl std::str::FromStr for EntityBytes {
    type Err = BadEntityBytes;
    fn from_str(s: &str) -> Result<Self, BadEntityBytes> {
        let bad = || BadEntityBytes(s.to_string());
        let (a, b) = s.split_once(':').ok_or_else(bad)?;
        let from = a.parse::<i64>().map_err(|_| bad())?;
        let to = if b == "*" { None } else { Some(b.parse::<i64>().map_err(|_| bad())?) };
        if let (Some(t), true) = (to, from >= 0) {
            if t >= 0 && t < from {
                return Err(bad());
            }
        }
        Ok(EntityBytes { from, to })
    }
}

impl EntityBytes {
    /// The byte range of a file of `size` bytes it selects; `None` when that is empty.
    pub fn range(&self, size: u64) -> Option<ByteRange> {
        if size == 0 {
            return None;
        }
        let s = size as i64;
        let first = if self.from < 0 { (s + self.from).max(0) } else { self.from };
        let last = match self.to {
            None => s - 1,
            Some(t) if t < 0 => s + t,
            Some(t) => t.min(s - 1),
        };
        (first <= last && first < s && last >= 0)
            .then_some(ByteRange { first: first as u64, last: last as u64 })
    }

    /// Its `entity-bytes` value, as `FromStr` reads it.
    pub fn to_param(&self) -> String {
        match self.to {
            Some(t) => format!("{}:{}", self.from, t),
            None => format!("{}:*", self.from),
        }
    }
}

/// Why the blocks of a CAR response cannot be walked.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TraverseError {
    /// A block on the way does not decode as UnixFS.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// A file's blocks do not add up.
    #[error(transparent)]
    File(#[from] FileError),
    /// A DAG-CBOR block whose links cannot be read.
    #[error("DAG-CBOR block {cid}: {source}")]
    Cbor {
        /// The block's CID.
        cid: Cid,
        /// Why it does not decode.
        source: cbor::CborError,
    },
}

impl crate::error::Coded for TraverseError {
    fn code(&self) -> &'static str {
        match self {
            TraverseError::Resolve(e) => e.code(),
            TraverseError::File(e) => e.code(),
            TraverseError::Cbor { .. } => "DagCbor",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            TraverseError::Resolve(e) => e.cid(),
            TraverseError::File(e) => e.cid(),
            TraverseError::Cbor { cid, .. } => Some(cid),
        }
    }
}

/// What to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum TStep {
    /// Hand over this block (verified) with [`Traversal::provide`].
    Need(Cid),
    /// Write this block to the CAR.
    Emit(Cid, Vec<u8>),
    /// Every block of the response has been emitted.
    Done,
}

enum Mode {
    /// Only what is queued.
    Queue,
    /// A file over a range.
    File(FileReader),
    /// Depth-first over links; `shards_only` follows only HAMT sub-shard links.
    Dfs { stack: Vec<Cid>, shards_only: bool },
}

/// Walks the blocks of a CAR response.
pub struct Traversal {
    out: VecDeque<TStep>,
    mode: Mode,
    seen: HashSet<Cid>,
    dups: bool,
    waiting: Option<Cid>,
    /// The terminal block, handed over without asking when the walk needs it.
    terminal: Option<(Cid, Vec<u8>)>,
}

impl Traversal {
    /// Starts after resolution: the path blocks, then the terminal entity as `scope` says.
    pub fn new(resolved: Resolved, scope: Scope, bytes: Option<EntityBytes>, dups: bool) -> Self {
        let mut t = Traversal {
            out: VecDeque::new(),
            mode: Mode::Queue,
            seen: HashSet::new(),
            dups,
            waiting: None,
            terminal: None,
        };
        for b in resolved.path_blocks {
            t.emit(b.cid, b.data);
        }
        let Resolved { cid, kind, block, .. } = resolved;
        let scope = if bytes.is_some() && scope == Scope::All { Scope::Entity } else { scope };
        t.mode = match (scope, &kind) {
            (Scope::Block, _)
            | (
                Scope::Entity,
                NodeKind::Dir
                | NodeKind::Symlink { .. }
                | NodeKind::DagCbor
                | NodeKind::Other { .. },
            ) => {
                t.emit(cid, block);
                Mode::Queue
            }
            (Scope::Entity, NodeKind::File { size } | NodeKind::Raw { size }) => {
                let range = match bytes {
                    Some(b) => b.range(*size),
                    None if *size > 0 => Some(ByteRange { first: 0, last: size - 1 }),
                    None => None,
                };
                t.terminal = Some((cid, block));
                Mode::File(FileReader::new(cid, range))
            }
            (Scope::Entity, NodeKind::HamtDir) => {
                t.terminal = Some((cid, block));
                Mode::Dfs { stack: vec![cid], shards_only: true }
            }
            (Scope::All, _) => {
                t.terminal = Some((cid, block));
                Mode::Dfs { stack: vec![cid], shards_only: false }
            }
        };
        t
    }

    fn emit(&mut self, cid: Cid, data: Vec<u8>) {
        if cid.hash().code() == IDENTITY {
            return;
        }
        if self.seen.insert(cid) || self.dups {
            self.out.push_back(TStep::Emit(cid, data));
        }
    }

    /// The next step. After [`TStep::Need`], call [`Traversal::provide`] before stepping again.
    pub fn step(&mut self) -> Result<TStep, TraverseError> {
        loop {
            if let Some(s) = self.out.pop_front() {
                return Ok(s);
            }
            if let Some(c) = self.waiting {
                return Ok(TStep::Need(c));
            }
            let next = match &mut self.mode {
                Mode::Queue => return Ok(TStep::Done),
                Mode::File(r) => match r.step()? {
                    FileStep::Need(c) => c,
                    FileStep::Visited(_) | FileStep::Data(_) => continue,
                    FileStep::Done => return Ok(TStep::Done),
                },
                Mode::Dfs { stack, .. } => match stack.pop() {
                    Some(c) => {
                        if !self.dups && self.seen.contains(&c) {
                            continue;
                        }
                        c
                    }
                    None => return Ok(TStep::Done),
                },
            };
            self.waiting = Some(next);
            if let Some(bytes) = crate::codec::cids::inline_block(&next) {
                self.provide(&next, bytes)?;
                continue;
            }
            if self.terminal.as_ref().is_some_and(|(c, _)| *c == next) {
                let (c, b) = self.terminal.take().expect("terminal");
                self.provide(&c, b)?;
                continue;
            }
            return Ok(TStep::Need(next));
        }
    }

    /// The CIDs that will be asked for next, at most `n` (for prefetching).
    pub fn upcoming(&self, n: usize) -> Vec<Cid> {
        match &self.mode {
            Mode::File(r) => r.upcoming(n),
            Mode::Dfs { stack, .. } => {
                self.waiting.iter().copied().chain(stack.iter().rev().copied()).take(n).collect()
            }
            Mode::Queue => Vec::new(),
        }
    }

    /// Hands over the block last asked for, checked against its CID by the caller.
    pub fn provide(&mut self, cid: &Cid, bytes: Vec<u8>) -> Result<(), TraverseError> {
        self.waiting = None;
        match &mut self.mode {
            Mode::File(r) => {
                r.provide(cid, bytes.clone())?;
            }
            Mode::Dfs { stack, shards_only } => {
                let children = links_of(cid, &bytes, *shards_only)?;
                stack.extend(children.into_iter().rev());
            }
            Mode::Queue => {}
        }
        self.emit(*cid, bytes);
        Ok(())
    }
}

/// The links a block has, in order; with `shards_only`, only the sub-shard links of a HAMT.
pub fn links_of(cid: &Cid, bytes: &[u8], shards_only: bool) -> Result<Vec<Cid>, TraverseError> {
    match cid.codec() {
        DAG_PB => {
            let pb = crate::codec::dagpb::PbNode::decode(bytes)
                .map_err(|source| ResolveError::Decode { cid: *cid, source })?;
            if !shards_only {
                return Ok(pb.links.iter().map(|l| l.hash).collect());
            }
            let (_, data) = decode_unixfs(cid, bytes)?;
            let Some(layout) = Layout::of(&data) else { return Ok(Vec::new()) };
            Ok(pb
                .links
                .iter()
                .filter(|l| layout.link(l.name.as_deref().unwrap_or_default()) == LinkName::Shard)
                .map(|l| l.hash)
                .collect())
        }
        DAG_CBOR if !shards_only => {
            cbor::links(bytes).map_err(|source| TraverseError::Cbor { cid: *cid, source })
        }
        _ => Ok(Vec::new()),
    }
}

/// The CARv1 header of a response with `roots`.
pub fn car_header(roots: &[Cid]) -> Vec<u8> {
    let cbor = crate::car::encode_v1_header(roots);
    let mut out = Vec::with_capacity(cbor.len() + 2);
    crate::codec::varint::put(&mut out, cbor.len() as u64);
    out.extend_from_slice(&cbor);
    out
}

/// Runs a traversal against an in-memory block map; returns the emitted CIDs (tests).
#[cfg(test)]
pub(crate) fn collect_in(
    blocks: &std::collections::HashMap<Cid, Vec<u8>>,
    mut t: Traversal,
) -> Result<Vec<Cid>, String> {
    let mut out = Vec::new();
    loop {
        match t.step().map_err(|e| e.to_string())? {
            TStep::Need(c) => t
                .provide(&c, blocks.get(&c).ok_or(format!("missing {c}"))?.clone())
                .map_err(|e| e.to_string())?,
            TStep::Emit(c, _) => out.push(c),
            TStep::Done => return Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::resolve::resolve_in;
    use crate::gateway::testutil::{car, cid};
    use std::collections::HashMap;

    fn run(
        blocks: &HashMap<Cid, Vec<u8>>,
        root: Cid,
        path: &[&str],
        scope: Scope,
        bytes: Option<&str>,
    ) -> Vec<Cid> {
        let r = resolve_in(blocks, root, path).unwrap().unwrap();
        collect_in(blocks, Traversal::new(r, scope, bytes.map(|b| b.parse().unwrap()), false))
            .unwrap()
    }

    fn children(blocks: &HashMap<Cid, Vec<u8>>, c: Cid) -> Vec<Cid> {
        links_of(&c, &blocks[&c], false).unwrap()
    }

    #[test]
    fn pathing_and_scopes() {
        let (roots, blocks, _) = car("trustless_gateway_car/subdir-with-mixed-block-files.car");
        let root = roots[0];
        let subdir = resolve_in(&blocks, root, &["subdir"]).unwrap().unwrap().cid;
        let multi = resolve_in(&blocks, root, &["subdir", "multiblock.txt"]).unwrap().unwrap().cid;
        let leaves = children(&blocks, multi);
        assert_eq!(leaves.len(), 5);
        let mut want = vec![root, subdir, multi];
        want.extend(&leaves);
        assert_eq!(run(&blocks, root, &["subdir", "multiblock.txt"], Scope::Entity, None), want);
        assert_eq!(run(&blocks, root, &["subdir", "multiblock.txt"], Scope::All, None), want);
        assert_eq!(
            run(&blocks, root, &["subdir", "multiblock.txt"], Scope::Block, None),
            vec![root, subdir, multi]
        );
        assert_eq!(run(&blocks, root, &["subdir"], Scope::Entity, None), vec![root, subdir]);
        // dag-scope=all of the folder: every descendant, depth-first.
        let all = run(&blocks, root, &["subdir"], Scope::All, None);
        assert_eq!(&all[..2], &[root, subdir]);
        assert!(all.contains(&leaves[4]));
        // entity-bytes, as the conformance suite expects
        let eb = |s| run(&blocks, multi, &[], Scope::Entity, Some(s));
        assert_eq!(eb("512:*"), [vec![multi], leaves[2..].to_vec()].concat());
        assert_eq!(eb("512:1023"), [vec![multi], leaves[2..4].to_vec()].concat());
        assert_eq!(eb("512:-256"), [vec![multi], leaves[2..4].to_vec()].concat());
        assert_eq!(eb("-5:*"), [vec![multi], leaves[3..].to_vec()].concat());
        assert_eq!(eb("-9999:*"), [vec![multi], leaves.clone()].concat());
        assert_eq!(eb("-9999:-3"), [vec![multi], leaves[..4].to_vec()].concat());
        assert_eq!(eb("0:0"), vec![multi, leaves[0]]);
        assert_eq!(eb("5000:*"), vec![multi]);
        assert_eq!(leaves[0], cid("bafkreie5noke3mb7hqxukzcy73nl23k6lxszxi5w3dtmuwz62wnvkpsscm"));
    }

    #[test]
    fn hamt_entity_is_the_shards_only() {
        let (roots, blocks, _) =
            car("trustless_gateway_car/single-layer-hamt-with-multi-block-files.car");
        let got = run(&blocks, roots[0], &[], Scope::Entity, None);
        assert_eq!(got[0], roots[0]);
        for c in &got {
            assert!(matches!(
                crate::gateway::resolve::kind_of(c, &blocks[c]).unwrap(),
                NodeKind::HamtDir
            ));
        }
        let via = run(&blocks, roots[0], &["685.txt"], Scope::Block, None);
        assert!(via.len() >= 2);
    }

    #[test]
    fn entity_bytes_missing_blocks_outside_the_range() {
        let (roots, blocks, _) =
            car("trustless_gateway_car/file-3k-and-3-blocks-missing-block.car");
        assert_eq!(
            run(&blocks, roots[0], &[], Scope::Entity, Some("0:1000")),
            vec![roots[0], cid("QmPKt7ptM2ZYSGPUc8PmPT2VBkLDK3iqpG9TBJY7PCE9rF")]
        );
        assert_eq!(
            run(&blocks, roots[0], &[], Scope::Entity, Some("2200:*")),
            vec![roots[0], cid("QmWXY482zQdwecnfBsj78poUUuPXvyw2JAFAEMw4tzTavV")]
        );
    }

    #[test]
    fn dag_cbor_entity_is_the_document() {
        let (roots, blocks, _) = car("trustless_gateway_car/dir-with-dag-cbor-with-links.car");
        let doc = resolve_in(&blocks, roots[0], &["document"]).unwrap().unwrap().cid;
        assert_eq!(run(&blocks, roots[0], &["document"], Scope::Entity, None), vec![roots[0], doc]);
        let single = run(&blocks, doc, &["files", "single"], Scope::All, None);
        assert_eq!(single[0], doc);
        assert_eq!(single.len(), 2);
    }

    #[test]
    fn duplicates_only_when_asked() {
        let (roots, blocks, _) = car("trustless_gateway_car/dir-with-duplicate-files.car");
        let r = resolve_in(&blocks, roots[0], &[]).unwrap().unwrap();
        let once = collect_in(&blocks, Traversal::new(r.clone(), Scope::All, None, false)).unwrap();
        let twice = collect_in(&blocks, Traversal::new(r, Scope::All, None, true)).unwrap();
        let unique: HashSet<_> = once.iter().collect();
        assert_eq!(unique.len(), once.len());
        assert!(twice.len() > once.len());
    }

    #[test]
    fn entity_bytes_parse() {
        assert!("1:0".parse::<EntityBytes>().is_err());
        assert!("x:1".parse::<EntityBytes>().is_err());
        assert_eq!("-5:*".parse::<EntityBytes>().unwrap(), EntityBytes { from: -5, to: None });
        assert_eq!("0:*".parse::<EntityBytes>().unwrap().range(0), None);
    }
}
