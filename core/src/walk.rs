//! Reading a UnixFS DAG back: list a tree and stream a file's bytes, through plain and HAMT
//! folders. The caller hands blocks over by CID, from wherever it keeps them.

use cid::Cid;

use crate::cids::{DAG_PB, IDENTITY, RAW};
use crate::dagpb::PbNode;
use crate::error::DecodeError;
use crate::unixfs::{Data, NodeType};

/// Why a walk stopped.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum WalkError {
    #[error("block {0} is not available")]
    Missing(Cid),
    #[error("block {cid} at byte {offset} does not match its CID")]
    HashMismatch { cid: Cid, offset: u64 },
    #[error("block {cid} does not decode: {source}")]
    Decode { cid: Cid, source: DecodeError },
    #[error("block {0} is not UnixFS (codec 0x{1:x})")]
    NotUnixfs(Cid, u64),
    #[error("block {0} is a {1:?} node where a file was expected")]
    NotAFile(Cid, NodeType),
    #[error("the sink refused the bytes: {0}")]
    Sink(String),
}

/// Where blocks come from (a CAR, a blockstore, a gateway).
pub trait BlockGet {
    fn get(&mut self, cid: &Cid) -> Result<Vec<u8>, WalkError>;
}

/// What a path is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    File { size: u64 },
    Dir,
    Symlink { target: String },
}

/// One entry of a listed tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// `/`-separated, relative to the root; empty for the root itself.
    pub path: String,
    pub cid: Cid,
    pub kind: Kind,
    pub mode: Option<u32>,
}

fn fetch(get: &mut dyn BlockGet, cid: &Cid) -> Result<Vec<u8>, WalkError> {
    if cid.hash().code() == IDENTITY {
        return Ok(cid.hash().digest().to_vec());
    }
    get.get(cid)
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
            let bad = |source| WalkError::Decode { cid: *cid, source };
            let pb = PbNode::decode(&bytes).map_err(bad)?;
            let data = Data::decode(pb.data.as_deref().ok_or(DecodeError::MissingType).map_err(bad)?).map_err(bad)?;
            Ok(Node::Pb(pb, data))
        }
        other => Err(WalkError::NotUnixfs(*cid, other)),
    }
}

/// Lists the tree under `root` depth-first, names in order, the root first.
pub fn list(get: &mut dyn BlockGet, root: &Cid) -> Result<Vec<Entry>, WalkError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), *root)];
    while let Some((path, cid)) = stack.pop() {
        let (kind, mode, children) = match load(get, &cid)? {
            Node::Raw(bytes) => (Kind::File { size: bytes.len() as u64 }, None, Vec::new()),
            Node::Pb(pb, data) => match data.kind {
                NodeType::File | NodeType::Raw => (Kind::File { size: data.file_len() }, data.mode, Vec::new()),
                NodeType::Symlink => {
                    let target = String::from_utf8_lossy(data.data.as_deref().unwrap_or_default()).into_owned();
                    (Kind::Symlink { target }, data.mode, Vec::new())
                }
                NodeType::Directory => (Kind::Dir, data.mode, named_links(&pb)),
                NodeType::HamtShard => (Kind::Dir, data.mode, hamt_entries(get, &pb, &data)?),
                NodeType::Metadata => return Err(WalkError::NotUnixfs(cid, DAG_PB)),
            },
        };
        for (name, child) in children.into_iter().rev() {
            let p = if path.is_empty() { name } else { format!("{path}/{name}") };
            stack.push((p, child));
        }
        out.push(Entry { path, cid, kind, mode });
    }
    Ok(out)
}

fn named_links(pb: &PbNode) -> Vec<(String, Cid)> {
    pb.links.iter().map(|l| (l.name.clone().unwrap_or_default(), l.hash)).collect()
}

/// Entries of a HAMT shard and its child shards, in name order.
fn hamt_entries(get: &mut dyn BlockGet, pb: &PbNode, data: &Data) -> Result<Vec<(String, Cid)>, WalkError> {
    let width = format!("{:X}", data.fanout.unwrap_or(256).saturating_sub(1)).len();
    let mut out = Vec::new();
    let mut shards = vec![pb.clone()];
    while let Some(shard) = shards.pop() {
        for link in &shard.links {
            let name = link.name.as_deref().unwrap_or_default();
            if name.len() > width {
                out.push((name[width..].to_string(), link.hash));
            } else if let Node::Pb(child, _) = load(get, &link.hash)? {
                shards.push(child);
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Streams the bytes of the file at `cid` into `sink`, in order.
pub fn read_file(get: &mut dyn BlockGet, cid: &Cid, sink: &mut dyn FnMut(&[u8]) -> Result<(), String>) -> Result<u64, WalkError> {
    let mut total = 0u64;
    let mut stack = vec![*cid];
    while let Some(cid) = stack.pop() {
        match load(get, &cid)? {
            Node::Raw(bytes) => {
                sink(&bytes).map_err(WalkError::Sink)?;
                total += bytes.len() as u64;
            }
            Node::Pb(pb, data) => {
                if !matches!(data.kind, NodeType::File | NodeType::Raw) {
                    return Err(WalkError::NotAFile(cid, data.kind));
                }
                if let Some(bytes) = &data.data {
                    sink(bytes).map_err(WalkError::Sink)?;
                    total += bytes.len() as u64;
                }
                stack.extend(pb.links.iter().rev().map(|l| l.hash));
            }
        }
    }
    Ok(total)
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
    use crate::file::Metadata;
    use crate::import::Importer;
    use crate::settings::{Profile, ShardRule};
    use std::collections::HashMap;

    #[test]
    fn lists_and_reads_back_a_sharded_tree() {
        let settings = crate::settings::Settings { shard: ShardRule::EntryCount(3), chunker: crate::chunker::ChunkerSpec::Size(10), max_links: 2, ..Profile::UnixfsV1_2025.settings() };
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
