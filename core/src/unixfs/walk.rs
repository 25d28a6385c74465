//! Reading a UnixFS DAG back: list a tree and stream a file's bytes, through plain and HAMT
//! folders. The caller hands blocks over by CID, from wherever it keeps them.

use std::collections::HashSet;

use cid::Cid;

use crate::codec::cids::inline_block;
use crate::codec::dagpb::PbNode;
use crate::codec::multicodec::{DAG_PB, RAW};
use crate::error::DecodeError;
use crate::unixfs::hamt::{Layout, LinkName};
use crate::unixfs::name::{self, NameFault};
use crate::unixfs::read::{FileError, FileReader, FileStep};
use crate::unixfs::{Data, NodeType};

/// Why a walk stopped.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WalkError {
    /// The source does not have this block.
    #[error("block {0} is not available")]
    Missing(Cid),
    /// The source found that a block's bytes do not hash to its CID.
    #[error("block {cid} at byte {offset} does not match its CID")]
    HashMismatch {
        /// The block's CID.
        cid: Cid,
        /// Where the source holds the block (in a CAR: byte of the file).
        offset: u64,
    },
    /// A dag-pb block that does not decode as UnixFS.
    #[error("block {cid} does not decode: {source}")]
    Decode {
        /// The block's CID.
        cid: Cid,
        /// Why it does not decode.
        source: DecodeError,
    },
    /// A block whose codec (given) is neither raw nor dag-pb, or a UnixFS metadata node.
    #[error("block {0} is not UnixFS (codec 0x{1:x})")]
    NotUnixfs(Cid, u64),
    /// A block where a file or part of one was expected is not a file node.
    #[error("block {0} is not part of a UnixFS file, where a file was expected")]
    NotAFile(Cid),
    /// A file's blocks do not add up (sizes, lengths): the file reader's error.
    #[error(transparent)]
    File(FileError),
    /// The caller's sink refused a file's bytes, with its message.
    #[error("the sink refused the bytes: {0}")]
    Sink(String),
    /// A folder entry whose name would make a path that means something else.
    #[error("folder {folder} has an entry named {name:?}, which {fault}")]
    BadName {
        /// The folder's CID (of a HAMT folder, its root shard).
        folder: Cid,
        /// The name as the link gives it.
        name: String,
        /// What is wrong with it.
        fault: NameFault,
    },
    /// A folder with two entries of one name.
    #[error("folder {folder} has two entries named {name:?}")]
    DuplicateName {
        /// The folder's CID (of a HAMT folder, its root shard).
        folder: Cid,
        /// The name given twice.
        name: String,
    },
    /// A HAMT shard whose fanout or name hash carport cannot read.
    #[error("block {0} is a HAMT shard carport cannot read (its fanout or name hash)")]
    BadShard(Cid),
    /// A HAMT folder that links one of its shards twice.
    #[error("HAMT folder {folder} links its shard {shard} more than once")]
    RepeatedShard {
        /// The HAMT folder's root shard.
        folder: Cid,
        /// The shard linked again.
        shard: Cid,
    },
    /// The walk reached its limit of entries.
    #[error("the tree has more than {limit} entries (the next would be {cid})")]
    TooManyEntries {
        /// Most entries the walk hands out.
        limit: u64,
        /// The entry it would have handed out next.
        cid: Cid,
    },
}

impl crate::error::Coded for WalkError {
    fn code(&self) -> &'static str {
        match self {
            WalkError::Missing(_) => "MissingBlock",
            WalkError::HashMismatch { .. } => "HashMismatch",
            WalkError::Decode { .. } => "Decode",
            WalkError::NotUnixfs(..) => "NotUnixfs",
            WalkError::NotAFile(..) => "NotAFile",
            WalkError::File(e) => e.code(),
            WalkError::Sink(_) => "Sink",
            WalkError::BadName { .. } => "BadName",
            WalkError::DuplicateName { .. } => "DuplicateName",
            WalkError::BadShard(_) => "BadShard",
            WalkError::RepeatedShard { .. } => "RepeatedShard",
            WalkError::TooManyEntries { .. } => "TooManyEntries",
        }
    }

    fn cid(&self) -> Option<&Cid> {
        match self {
            WalkError::Missing(cid)
            | WalkError::HashMismatch { cid, .. }
            | WalkError::Decode { cid, .. }
            | WalkError::NotUnixfs(cid, _)
            | WalkError::NotAFile(cid)
            | WalkError::BadShard(cid)
            | WalkError::TooManyEntries { cid, .. } => Some(cid),
            WalkError::BadName { folder, .. }
            | WalkError::DuplicateName { folder, .. }
            | WalkError::RepeatedShard { folder, .. } => Some(folder),
            WalkError::File(e) => e.cid(),
            WalkError::Sink(_) => None,
        }
    }

    fn offset(&self) -> Option<u64> {
        match self {
            WalkError::HashMismatch { offset, .. } => Some(*offset),
            WalkError::File(e) => e.offset(),
            _ => None,
        }
    }
}

/// Where blocks come from (a CAR, a blockstore, a gateway).
pub trait BlockGet {
    /// The block's bytes, or [`WalkError::Missing`]; a source that can check them against the
    /// CID (a CAR file) fails with [`WalkError::HashMismatch`] when they do not match.
    fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, WalkError>;
}

/// What a path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A file (raw leaf or UnixFS file node).
    File {
        /// Bytes of the file.
        size: u64,
    },
    /// A plain or HAMT folder.
    Dir,
    /// A symlink.
    Symlink {
        /// Where it points, as stored (bytes that are not UTF-8 replaced).
        target: String,
    },
}

/// One entry of a listed tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `/`-separated, relative to the root; empty for the root itself.
    pub path: String,
    /// The entry's own CID.
    pub cid: Cid,
    /// File, folder or symlink.
    pub kind: Kind,
    /// Its UnixFS mode (permission bits), if the node gives one.
    pub mode: Option<u32>,
}

fn fetch(get: &mut dyn BlockGet, cid: &Cid) -> Result<Vec<u8>, WalkError> {
    match inline_block(cid) {
        Some(bytes) => Ok(bytes),
        None => get.get(cid),
    }
}

/// A decoded UnixFS node.
enum Node {
    Raw(Vec<u8>),
    Pb(PbNode, Data),
}

fn load(get: &mut dyn BlockGet, cid: &Cid) -> Result<Node, WalkError> {
    let bytes = fetch(get, cid)?;
    match cid.codec() {
        RAW => Ok(Node::Raw(bytes)),
        DAG_PB => {
            let (pb, data) =
                Data::of_node(&bytes).map_err(|source| WalkError::Decode { cid: *cid, source })?;
            Ok(Node::Pb(pb, data))
        }
        other => Err(WalkError::NotUnixfs(*cid, other)),
    }
}

/// How many entries a walk of a CAR from elsewhere hands out before it stops (the CLI's `ls`,
/// `verify` and `unpack`, the npm package's `ls` and `unpack`): far more than real trees hold,
/// far fewer than a directory bomb names.
pub const DEFAULT_MAX_ENTRIES: u64 = 10_000_000;

/// A depth-first walk of the tree under a root that hands out one entry at a time, names in
/// order, the root first.
///
/// It holds only the folders on the way to the entry it is at (the links of each not yet
/// visited), never the listing: a DAG whose folders link one sub-folder many times names far
/// more entries than it has blocks (a few kilobytes can name a billion), and walking it costs no
/// more memory than walking a plain tree. Every folder's names pass [`crate::unixfs::name::check`] and
/// are unique, so no two entries share a path and no path leaves the root.
pub struct Walker {
    /// Entries reached but not yet handed out; the last is next.
    stack: Vec<Pending>,
    /// Names of the folders from the root down to the entry last handed out.
    dirs: Vec<String>,
    max_entries: u64,
    handed_out: u64,
}

/// An entry waiting in its folder: the root is at depth 0, its entries at depth 1.
struct Pending {
    depth: usize,
    name: String,
    cid: Cid,
}

impl Walker {
    /// A walk from `root` that fails with [`WalkError::TooManyEntries`] rather than hand out
    /// more than `max_entries` entries.
    pub fn new(root: Cid, max_entries: u64) -> Self {
        Walker {
            stack: vec![Pending { depth: 0, name: String::new(), cid: root }],
            dirs: Vec::new(),
            max_entries,
            handed_out: 0,
        }
    }

    /// The next entry, or `None` once the whole tree has been handed out.
    pub fn next_entry(&mut self, get: &mut dyn BlockGet) -> Result<Option<Entry>, WalkError> {
        let Some(Pending { depth, name, cid }) = self.stack.pop() else {
            return Ok(None);
        };
        if self.handed_out == self.max_entries {
            return Err(WalkError::TooManyEntries { limit: self.max_entries, cid });
        }
        self.handed_out += 1;
        self.dirs.truncate(depth.saturating_sub(1));
        let (kind, mode, children) = match load(get, &cid)? {
            Node::Raw(bytes) => (Kind::File { size: bytes.len() as u64 }, None, Vec::new()),
            Node::Pb(pb, data) => match data.kind {
                NodeType::File | NodeType::Raw => {
                    (Kind::File { size: data.file_len() }, data.mode, Vec::new())
                }
                NodeType::Symlink => {
                    let target = String::from_utf8_lossy(data.data.as_deref().unwrap_or_default())
                        .into_owned();
                    (Kind::Symlink { target }, data.mode, Vec::new())
                }
                NodeType::Directory => (Kind::Dir, data.mode, named_links(&cid, &pb)?),
                NodeType::HamtShard => (Kind::Dir, data.mode, hamt_entries(get, &cid, &pb, &data)?),
                NodeType::Metadata => return Err(WalkError::NotUnixfs(cid, DAG_PB)),
            },
        };
        let mut path = self.dirs.join("/");
        if !path.is_empty() {
            path.push('/');
        }
        path.push_str(&name);
        if !children.is_empty() {
            if depth > 0 {
                self.dirs.push(name);
            }
            self.stack.extend(children.into_iter().rev().map(|(name, cid)| Pending {
                depth: depth + 1,
                name,
                cid,
            }));
        }
        Ok(Some(Entry { path, cid, kind, mode }))
    }
}

/// Lists the whole tree under `root` (see [`Walker`]), for callers that keep the listing anyway;
/// one that may be handed a hostile DAG walks it with a limit instead.
pub fn list(get: &mut dyn BlockGet, root: &Cid) -> Result<Vec<Entry>, WalkError> {
    let mut walker = Walker::new(*root, u64::MAX);
    let mut out = Vec::new();
    while let Some(e) = walker.next_entry(get)? {
        out.push(e);
    }
    Ok(out)
}

/// The entries of the plain folder `folder`, in link order, each name checked and unique.
fn named_links(folder: &Cid, pb: &PbNode) -> Result<Vec<(String, Cid)>, WalkError> {
    let mut names = HashSet::with_capacity(pb.links.len());
    let mut out = Vec::with_capacity(pb.links.len());
    for link in &pb.links {
        let name = link.name.as_deref().unwrap_or_default();
        checked_name(folder, name)?;
        if !names.insert(name) {
            return Err(WalkError::DuplicateName { folder: *folder, name: name.to_string() });
        }
        out.push((name.to_string(), link.hash));
    }
    Ok(out)
}

fn checked_name(folder: &Cid, name: &str) -> Result<(), WalkError> {
    name::check(name).map_err(|fault| WalkError::BadName {
        folder: *folder,
        name: name.to_string(),
        fault,
    })
}

/// Entries of the HAMT folder `folder` (its root shard `pb`) and its child shards, in name
/// order, each name checked and unique. A child shard linked twice is refused: a real HAMT
/// places each name by its hash, so it cannot hold one shard at two places, and refusing it
/// keeps what this collects to the size of the folder's own blocks.
fn hamt_entries(
    get: &mut dyn BlockGet,
    folder: &Cid,
    pb: &PbNode,
    data: &Data,
) -> Result<Vec<(String, Cid)>, WalkError> {
    let layout = Layout::of(data).ok_or(WalkError::BadShard(*folder))?;
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut shards = vec![pb.clone()];
    while let Some(shard) = shards.pop() {
        for link in &shard.links {
            let name = link.name.as_deref().unwrap_or_default();
            let entry = match layout.link(name) {
                LinkName::Shard => {
                    if !seen.insert(link.hash) {
                        return Err(WalkError::RepeatedShard { folder: *folder, shard: link.hash });
                    }
                    if let Node::Pb(child, _) = load(get, &link.hash)? {
                        shards.push(child);
                    }
                    continue;
                }
                LinkName::Entry(entry) => entry,
                LinkName::Malformed => {
                    return Err(WalkError::BadName {
                        folder: *folder,
                        name: name.to_string(),
                        fault: NameFault::Slot,
                    })
                }
            };
            checked_name(folder, entry)?;
            out.push((entry.to_string(), link.hash));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(WalkError::DuplicateName { folder: *folder, name: w[0].0.clone() });
    }
    Ok(out)
}

/// Streams the bytes of the file at `cid` into `sink`, in order: a driver of the
/// [`FileReader`] the gateway reads ranges with, so a file reads back under the same checks (block sizes, lengths) in both.
pub fn read_file(
    get: &mut dyn BlockGet,
    cid: &Cid,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<u64, WalkError> {
    let mut reader = FileReader::whole(*cid);
    let mut total = 0u64;
    loop {
        match reader.step().map_err(WalkError::from)? {
            FileStep::Need(cid) => {
                let bytes = get.get(&cid)?;
                reader.provide(&cid, bytes)?;
            }
            FileStep::Visited(_) => {}
            FileStep::Data(bytes) => {
                sink(&bytes).map_err(WalkError::Sink)?;
                total += bytes.len() as u64;
            }
            FileStep::Done => return Ok(total),
        }
    }
}

impl From<FileError> for WalkError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Decode { cid, source } => WalkError::Decode { cid, source },
            FileError::NotAFile(cid) => WalkError::NotAFile(cid),
            other => WalkError::File(other),
        }
    }
}

/// Blocks held in memory, for tests and small CARs.
impl BlockGet for std::collections::HashMap<Cid, Vec<u8>> {
    fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, WalkError> {
        std::collections::HashMap::get(self, cid).cloned().ok_or(WalkError::Missing(*cid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::file::Metadata;
    use crate::unixfs::import::Importer;
    use crate::unixfs::settings::{Profile, ShardRule};
    use std::collections::HashMap;

    use crate::codec::cids::{CidRule, HashAlg};
    use crate::codec::dagpb::PbLink;

    /// Blocks made by hand, as a hostile producer would make them.
    #[derive(Default)]
    struct Dag(HashMap<Cid, Vec<u8>>);

    impl Dag {
        fn put(&mut self, codec: u64, bytes: Vec<u8>) -> Cid {
            let cid =
                CidRule { version: cid::Version::V1, hash: HashAlg::Sha2_256, inline_limit: None }
                    .cid(codec, &bytes);
            self.0.insert(cid, bytes);
            cid
        }

        fn node(&mut self, data: Data, links: &[(Option<&str>, Cid)]) -> Cid {
            let links = links
                .iter()
                .map(|&(name, hash)| PbLink {
                    hash,
                    name: name.map(str::to_string),
                    tsize: Some(0),
                })
                .collect();
            self.put(DAG_PB, PbNode { links, data: Some(data.encode()) }.encode())
        }

        fn dir(&mut self, links: &[(&str, Cid)]) -> Cid {
            let links: Vec<_> = links.iter().map(|&(n, c)| (Some(n), c)).collect();
            self.node(Data::new(NodeType::Directory), &links)
        }

        fn hamt(&mut self, links: &[(&str, Cid)]) -> Cid {
            let mut data = Data::new(NodeType::HamtShard);
            data.fanout = Some(256);
            data.hash_type = Some(crate::unixfs::hamt::HASH_TYPE);
            let links: Vec<_> = links.iter().map(|&(n, c)| (Some(n), c)).collect();
            self.node(data, &links)
        }

        fn symlink(&mut self, target: &str) -> Cid {
            let mut data = Data::new(NodeType::Symlink);
            data.data = Some(target.as_bytes().to_vec());
            self.node(data, &[])
        }

        fn file(&mut self, bytes: &[u8]) -> Cid {
            self.put(RAW, bytes.to_vec())
        }
    }

    #[test]
    fn paths_join_the_names_depth_first() {
        let mut dag = Dag::default();
        let (x, y) = (dag.file(b"x"), dag.file(b"y"));
        let a = dag.dir(&[("x", x), ("y", y)]);
        let root = dag.dir(&[("a", a), ("b", y)]);
        let paths: Vec<String> =
            list(&mut dag.0, &root).unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(paths, ["", "a", "a/x", "a/y", "b"]);
    }

    /// The review's symlink attacks: after a symlink `s` to somewhere outside, an entry `s/x`, a
    /// second `s` that is a folder, and a file named `s`.
    #[test]
    fn refuses_a_name_that_would_reach_through_a_symlink() {
        let mut dag = Dag::default();
        let s = dag.symlink("/tmp");
        let f = dag.file(b"pwned");
        let inner = dag.dir(&[("x", f)]);
        let slash = dag.dir(&[("s", s), ("s/x", f)]);
        assert_eq!(
            list(&mut dag.0, &slash),
            Err(WalkError::BadName { folder: slash, name: "s/x".into(), fault: NameFault::Slash })
        );
        for second in [inner, f] {
            let twice = dag.dir(&[("s", s), ("s", second)]);
            assert_eq!(
                list(&mut dag.0, &twice),
                Err(WalkError::DuplicateName { folder: twice, name: "s".into() })
            );
        }
    }

    #[test]
    fn reading_a_folder_as_a_file_says_so() {
        let mut dag = Dag::default();
        let f = dag.file(b"x");
        let folder = dag.dir(&[("a", f)]);
        let err = read_file(&mut dag.0, &folder, &mut |_| Ok(())).unwrap_err();
        assert_eq!(err, WalkError::NotAFile(folder));
        assert_eq!(crate::error::Coded::code(&err), "NotAFile");
    }

    #[test]
    fn refuses_dots_nul_and_empty_names() {
        let mut dag = Dag::default();
        let f = dag.file(b"x");
        for (name, fault) in [
            ("..", NameFault::Dots),
            (".", NameFault::Dots),
            ("", NameFault::Empty),
            ("a\0b", NameFault::Nul),
        ] {
            let d = dag.dir(&[("ok", f), (name, f)]);
            assert_eq!(
                list(&mut dag.0, &d),
                Err(WalkError::BadName { folder: d, name: name.into(), fault }),
                "{name:?}"
            );
        }
        let unnamed = dag.node(Data::new(NodeType::Directory), &[(None, f)]);
        assert_eq!(
            list(&mut dag.0, &unnamed),
            Err(WalkError::BadName {
                folder: unnamed,
                name: String::new(),
                fault: NameFault::Empty
            })
        );
    }

    #[test]
    fn refuses_bad_names_in_a_hamt() {
        let mut dag = Dag::default();
        let f = dag.file(b"x");
        let child = dag.hamt(&[("05x", f)]);
        let dup = dag.hamt(&[("00", child), ("01x", f)]);
        assert_eq!(
            list(&mut dag.0, &dup),
            Err(WalkError::DuplicateName { folder: dup, name: "x".into() })
        );
        let repeated = dag.hamt(&[("00", child), ("01", child)]);
        assert_eq!(
            list(&mut dag.0, &repeated),
            Err(WalkError::RepeatedShard { folder: repeated, shard: child })
        );
        let dots = dag.hamt(&[("00..", f)]);
        assert_eq!(
            list(&mut dag.0, &dots),
            Err(WalkError::BadName { folder: dots, name: "..".into(), fault: NameFault::Dots })
        );
        let slash = dag.hamt(&[("00a/b", f)]);
        assert_eq!(
            list(&mut dag.0, &slash),
            Err(WalkError::BadName { folder: slash, name: "a/b".into(), fault: NameFault::Slash })
        );
        // A slot that is not two ASCII digits: splitting it off would cut a character in two.
        let slot = dag.hamt(&[("aé", f)]);
        assert_eq!(
            list(&mut dag.0, &slot),
            Err(WalkError::BadName { folder: slot, name: "aé".into(), fault: NameFault::Slot })
        );
    }

    /// Counts the blocks a walk asks for.
    struct Counting<'a>(&'a mut HashMap<Cid, Vec<u8>>, usize);

    impl BlockGet for Counting<'_> {
        fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, WalkError> {
            self.1 += 1;
            BlockGet::get(self.0, cid)
        }
    }

    /// 30 folders, each linking the one below twice: 31 blocks naming 2^31 - 1 entries.
    fn bomb(dag: &mut Dag) -> Cid {
        let mut cid = dag.file(b"leaf");
        for _ in 0..30 {
            cid = dag.dir(&[("a", cid), ("b", cid)]);
        }
        cid
    }

    #[test]
    fn walks_a_directory_bomb_one_entry_at_a_time_up_to_the_limit() {
        let mut dag = Dag::default();
        let root = bomb(&mut dag);
        let mut get = Counting(&mut dag.0, 0);
        let mut walker = Walker::new(root, 1000);
        let first = walker.next_entry(&mut get).unwrap().unwrap();
        assert_eq!(
            (first.path.as_str(), get.1),
            ("", 1),
            "the root comes out before anything below it is read"
        );
        let mut paths = vec![first.path];
        loop {
            match walker.next_entry(&mut get) {
                Ok(Some(e)) => paths.push(e.path),
                Ok(None) => panic!("a bomb of 2^31 entries ended after {}", paths.len()),
                Err(e) => {
                    assert!(matches!(e, WalkError::TooManyEntries { limit: 1000, .. }), "{e}");
                    break;
                }
            }
            // The stack holds the two links of each folder on the way down, no more.
            assert!(walker.stack.len() <= 2 * 31, "{} waiting", walker.stack.len());
        }
        assert_eq!(paths.len(), 1000);
        assert_eq!(get.1, 1000, "one block read per entry handed out");
        assert_eq!(paths[2], "a/a");
        assert_eq!(paths[30], ["a"; 30].join("/"));
        assert_eq!(paths[31], [&["a"; 29][..], &["b"]].concat().join("/"));
    }

    #[test]
    fn lists_and_reads_back_a_sharded_tree() {
        let settings = crate::unixfs::settings::Settings {
            shard: ShardRule::EntryCount(3),
            chunker: crate::unixfs::chunker::ChunkerSpec::Size(10),
            max_links: 2,
            ..Profile::UnixfsV1_2025.settings()
        };
        let mut imp = Importer::new(settings).unwrap();
        let mut out = Vec::new();
        for i in 0..40 {
            imp.begin_file(&format!("d/f{i}"), Metadata::default()).unwrap();
            imp.write(format!("content of file number {i}").as_bytes(), &mut out).unwrap();
            imp.end_file(&mut out).unwrap();
        }
        let root = imp.finish(&mut out).unwrap();
        let mut blocks: HashMap<Cid, Vec<u8>> = out.into_iter().map(|b| (b.cid, b.data)).collect();
        let entries = list(&mut blocks, &root.cid).unwrap();
        assert_eq!(entries.len(), 42);
        let f7 = entries.iter().find(|e| e.path == "d/f7").unwrap();
        let mut got = Vec::new();
        read_file(&mut blocks, &f7.cid, &mut |b| {
            got.extend_from_slice(b);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, b"content of file number 7");
    }
}
