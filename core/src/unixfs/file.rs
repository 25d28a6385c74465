//! Importing one file: chunks in, leaves and parents out, the root at the end.

use cid::Cid;

use crate::codec::block::Block;
use crate::codec::cids::CidRule;
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::multicodec::{DAG_PB, RAW};
use crate::unixfs::chunker::{Chunker, ChunkerSpec};
use crate::unixfs::layout::{Layout, Link, ParentMaker};
use crate::unixfs::settings::Settings;
use crate::unixfs::{Data, Mtime, NodeType};

/// Optional UnixFS metadata, written on a file's or folder's root node when asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// Unix permission bits.
    pub mode: Option<u32>,
    /// Modification time.
    pub mtime: Option<Mtime>,
}

impl Metadata {
    fn is_empty(&self) -> bool {
        self.mode.is_none() && self.mtime.is_none()
    }

    pub(crate) fn apply(&self, data: &mut Data) {
        data.mode = self.mode;
        data.mtime = self.mtime;
    }
}

/// Streams one file into UnixFS blocks.
///
/// Memory holds the chunk being formed, the first chunk (held back until the file is known to
/// have a second, since a one-chunk file is its own root), and the layout's frontier; never the
/// whole file.
pub struct FileBuilder {
    chunker: Box<dyn Chunker>,
    layout: Box<dyn Layout>,
    nodes: Nodes,
    pending: Vec<u8>,
    held: Option<Vec<u8>>,
    /// The first leaf hashed by the caller, held back as `held` is.
    held_leaf: Option<Link>,
    leaf_size: Option<usize>,
    leaves: u64,
    /// Whether a one-chunk file is its own root (so the first chunk is held back).
    reduce: bool,
}

impl FileBuilder {
    /// A builder for one file under `settings`, its root node carrying `meta`.
    pub fn new(settings: &Settings, meta: Metadata) -> Self {
        let chunker = settings.chunker.build();
        let pending = Vec::with_capacity(chunker.max_len());
        FileBuilder {
            chunker,
            layout: settings.layout.build(settings.max_links),
            nodes: Nodes {
                rule: settings.cid,
                raw_leaves: settings.raw_leaves,
                leaf_type: settings.layout.leaf_type(),
                meta,
                out: Vec::new(),
            },
            reduce: settings.layout.single_leaf_is_root(),
            pending,
            held: None,
            held_leaf: None,
            leaf_size: match settings.chunker {
                ChunkerSpec::Size(n) if settings.raw_leaves && meta.is_empty() => Some(n),
                _ => None,
            },
            leaves: 0,
        }
    }

    /// Feeds the next bytes of the file; finished blocks are appended to `out`.
    pub fn write(&mut self, mut data: &[u8], out: &mut Vec<Block>) {
        let max = self.chunker.max_len();
        while !data.is_empty() {
            let take = (max - self.pending.len()).min(data.len());
            self.pending.extend_from_slice(&data[..take]);
            data = &data[take..];
            while let Some(cut) = self.chunker.next_cut(&self.pending) {
                let rest = self.pending.split_off(cut);
                let chunk = std::mem::replace(&mut self.pending, rest);
                self.chunk(chunk);
                if self.pending.capacity() < max {
                    self.pending.reserve(max - self.pending.len());
                }
            }
        }
        out.append(&mut self.nodes.out);
    }

    /// The chunk size at which a caller may cut this file's leaves and hash them itself (see
    /// [`FileBuilder::hashed_leaf`]): with fixed-size chunks and raw leaves, and no metadata (a
    /// one-chunk file with metadata becomes a dag-pb node, which needs the bytes). `None` when
    /// the file must go through [`FileBuilder::write`].
    pub fn leaf_size(&self) -> Option<usize> {
        self.leaf_size
    }

    /// Adds the next leaf of a file the caller cuts at [`FileBuilder::leaf_size`] (every leaf
    /// but the last that size, none empty) and names itself with `settings.cid.cid(RAW, leaf)`,
    /// so that leaves can be hashed in parallel or by the platform's hasher. The leaf's block is
    /// the caller's to store; the file's other blocks come out in `out`. Not to be mixed with
    /// [`FileBuilder::write`] for one file.
    pub fn hashed_leaf(&mut self, cid: Cid, len: u64, out: &mut Vec<Block>) {
        let link = Link { cid, tsize: len, filesize: len };
        if self.reduce && self.leaves == 0 && self.held_leaf.is_none() {
            self.held_leaf = Some(link);
            return;
        }
        if let Some(first) = self.held_leaf.take() {
            self.leaves += 1;
            self.layout.push(first, &mut self.nodes);
        }
        self.leaves += 1;
        self.layout.push(link, &mut self.nodes);
        out.append(&mut self.nodes.out);
    }

    /// Ends the file and returns the link to its root.
    pub fn finish(mut self, out: &mut Vec<Block>) -> Link {
        if !self.pending.is_empty() {
            let chunk = std::mem::take(&mut self.pending);
            self.chunk(chunk);
        }
        let root = if self.reduce && self.leaves == 0 {
            match self.held_leaf.take() {
                Some(only) => only,
                None => {
                    let only = self.held.take().unwrap_or_default();
                    self.nodes.single_leaf_root(only)
                }
            }
        } else {
            match self.layout.finish(&mut self.nodes) {
                Some(root) => root,
                None => self.nodes.single_leaf_root(Vec::new()),
            }
        };
        out.append(&mut self.nodes.out);
        root
    }

    fn chunk(&mut self, chunk: Vec<u8>) {
        if self.reduce && self.leaves == 0 && self.held.is_none() {
            self.held = Some(chunk);
            return;
        }
        if let Some(first) = self.held.take() {
            self.push_leaf(first);
        }
        self.push_leaf(chunk);
    }

    fn push_leaf(&mut self, chunk: Vec<u8>) {
        let leaf = self.nodes.leaf(chunk);
        self.leaves += 1;
        self.layout.push(leaf, &mut self.nodes);
    }
}

/// Makes the blocks of one file under one CID rule.
struct Nodes {
    rule: CidRule,
    raw_leaves: bool,
    leaf_type: NodeType,
    meta: Metadata,
    out: Vec<Block>,
}

impl Nodes {
    fn emit(&mut self, codec: u64, data: Vec<u8>, filesize: u64, tsize_below: u64) -> Link {
        let cid = self.rule.cid(codec, &data);
        let tsize = data.len() as u64 + tsize_below;
        self.out.push(Block { cid, data });
        Link { cid, tsize, filesize }
    }

    fn leaf(&mut self, chunk: Vec<u8>) -> Link {
        let len = chunk.len() as u64;
        if self.raw_leaves {
            return self.emit(RAW, chunk, len, 0);
        }
        self.pb_leaf(chunk, self.leaf_type, &Metadata::default())
    }

    /// A dag-pb leaf: a UnixFS node of `kind` with the bytes inline.
    fn pb_leaf(&mut self, chunk: Vec<u8>, kind: NodeType, meta: &Metadata) -> Link {
        let len = chunk.len() as u64;
        let mut data = Data::new(kind);
        data.filesize = Some(len);
        data.data = (!chunk.is_empty()).then_some(chunk);
        meta.apply(&mut data);
        let block = PbNode { links: Vec::new(), data: Some(data.encode()) }.encode();
        self.emit(DAG_PB, block, len, 0)
    }

    /// The root of a file of one chunk. A raw leaf cannot carry metadata, so with metadata the
    /// chunk goes into a UnixFS file node instead (as ipfs-unixfs-importer does).
    fn single_leaf_root(&mut self, chunk: Vec<u8>) -> Link {
        if self.raw_leaves && self.meta.is_empty() {
            return self.leaf(chunk);
        }
        let meta = self.meta;
        self.pb_leaf(chunk, NodeType::File, &meta)
    }
}

impl ParentMaker for Nodes {
    fn parent(&mut self, children: &[Link], is_root: bool) -> Link {
        let mut data = Data::new(NodeType::File);
        let filesize: u64 = children.iter().map(|c| c.filesize).sum();
        data.filesize = Some(filesize);
        data.blocksizes = children.iter().map(|c| c.filesize).collect();
        if is_root {
            self.meta.apply(&mut data);
        }
        let links = children
            .iter()
            .map(|c| PbLink { hash: c.cid, name: Some(String::new()), tsize: Some(c.tsize) })
            .collect();
        let block = PbNode { links, data: Some(data.encode()) }.encode();
        let below = children.iter().map(|c| c.tsize).sum();
        self.emit(DAG_PB, block, filesize, below)
    }
}

/// Imports a whole in-memory file, for tests and small inputs.
pub fn import_bytes(settings: &Settings, bytes: &[u8]) -> (Link, Vec<Block>) {
    let mut out = Vec::new();
    let mut builder = FileBuilder::new(settings, Metadata::default());
    builder.write(bytes, &mut out);
    let root = builder.finish(&mut out);
    (root, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::layout::LayoutKind;
    use crate::unixfs::settings::Profile;

    fn root(profile: Profile, bytes: &[u8]) -> String {
        import_bytes(&profile.settings(), bytes).0.cid.to_string()
    }

    #[test]
    fn kubo_vectors_v0() {
        let p = Profile::UnixfsV0_2015;
        assert_eq!(root(p, b""), "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH");
        assert_eq!(root(p, b"hello world"), "Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD");
        assert_eq!(root(p, &vec![0u8; 1 << 20]), "QmVkbauSDEaMP4Tkq6Epm9uW75mWm136n81YH8fGtfwdHU");
        assert_eq!(
            root(p, &vec![0u8; 100 << 20]),
            "Qmca3PNFKuZnYkiVv1FpcV1AfDUm4qCSHoYjPTBqDAsyk8"
        );
    }

    #[test]
    fn kubo_vectors_v1() {
        let p = Profile::UnixfsV1_2025;
        assert_eq!(root(p, b""), "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku");
        assert_eq!(
            root(p, b"hello world"),
            "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"
        );
        assert_eq!(
            root(p, b"hello world\n"),
            "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
        );
        assert_eq!(
            root(p, &vec![0u8; 1 << 20]),
            "bafkreibq4fevl27rgurgnxbp7adh42aqiyd6ouflxhj3gzmcxcxzbh6lla"
        );
        assert_eq!(
            root(p, &vec![0u8; 100 << 20]),
            "bafybeihekywddbzllb3waeoltzfeftxani7qshphmjkylbthhyoko5x35i"
        );
    }

    #[test]
    fn any_write_split_gives_the_same_root() {
        let settings = Settings {
            chunker: crate::unixfs::chunker::ChunkerSpec::Size(1000),
            max_links: 3,
            ..Profile::UnixfsV1_2025.settings()
        };
        let bytes: Vec<u8> = (0..25_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let whole = import_bytes(&settings, &bytes).0;
        for step in [1, 999, 1000, 1001, 4096] {
            let mut out = Vec::new();
            let mut b = FileBuilder::new(&settings, Metadata::default());
            for part in bytes.chunks(step) {
                b.write(part, &mut out);
            }
            assert_eq!(b.finish(&mut out), whole, "step {step}");
        }
    }

    #[test]
    fn leaves_hashed_by_the_caller_give_the_same_dag() {
        let bytes: Vec<u8> = (0..70_000u32).map(|i| (i * 13 % 253) as u8).collect();
        for profile in [Profile::UnixfsV1_2025, Profile::IpfsCar] {
            for layout in [LayoutKind::Balanced, LayoutKind::Trickle] {
                let settings = Settings {
                    chunker: ChunkerSpec::Size(1000),
                    max_links: 4,
                    layout,
                    ..profile.settings()
                };
                let size = FileBuilder::new(&settings, Metadata::default())
                    .leaf_size()
                    .expect("raw leaves, fixed size");
                for len in [0, 1, 999, 1000, 1001, 4000, 70_000] {
                    let (want, want_blocks) = import_bytes(&settings, &bytes[..len]);
                    let mut b = FileBuilder::new(&settings, Metadata::default());
                    let mut blocks = Vec::new();
                    for leaf in bytes[..len].chunks(size) {
                        let cid = settings.cid.cid(RAW, leaf);
                        blocks.push(Block { cid, data: leaf.to_vec() });
                        b.hashed_leaf(cid, leaf.len() as u64, &mut blocks);
                    }
                    let got = b.finish(&mut blocks);
                    assert_eq!(got, want, "{profile:?} {layout:?} {len}");
                    let set = |v: &[Block]| {
                        v.iter().map(|b| b.cid).collect::<std::collections::BTreeSet<_>>()
                    };
                    assert_eq!(set(&blocks), set(&want_blocks), "{profile:?} {layout:?} {len}");
                }
            }
        }
        let v0 = Profile::UnixfsV0_2015.settings();
        assert_eq!(
            FileBuilder::new(&v0, Metadata::default()).leaf_size(),
            None,
            "dag-pb leaves need the bytes"
        );
        let with_mode = Metadata { mode: Some(0o644), mtime: None };
        assert_eq!(
            FileBuilder::new(&Profile::UnixfsV1_2025.settings(), with_mode).leaf_size(),
            None
        );
    }
}
