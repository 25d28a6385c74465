//! Folders: a plain dag-pb node, or a HAMT when the profile's rule says it is too big.

use crate::codec::block::Block;
use crate::codec::dagpb::{PbLink, PbNode};
use crate::codec::multicodec::DAG_PB;
use crate::unixfs::file::Metadata;
use crate::unixfs::hamt;
use crate::unixfs::layout::Link;
use crate::unixfs::settings::{Settings, ShardRule};
use crate::unixfs::{Data, NodeType};

/// One named entry of a folder, already imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    /// The entry's name in the folder.
    pub name: String,
    /// Link to the imported entry.
    pub link: Link,
}

/// Builds a folder over `entries` (sorted by name, as kubo sorts them: bytewise) and returns the
/// link to its root node.
pub fn build(
    settings: &Settings,
    entries: &[DirEntry],
    meta: Metadata,
    out: &mut Vec<Block>,
) -> Link {
    if needs_sharding(settings, entries) {
        return hamt::build(settings, entries, meta, out);
    }
    let block = plain_node(entries, meta).encode();
    let cid = settings.cid.cid(DAG_PB, &block);
    let tsize = block.len() as u64 + entries.iter().map(|e| e.link.tsize).sum::<u64>();
    out.push(Block { cid, data: block });
    Link { cid, tsize, filesize: 0 }
}

fn plain_node(entries: &[DirEntry], meta: Metadata) -> PbNode {
    let mut data = Data::new(NodeType::Directory);
    meta.apply(&mut data);
    let links = entries.iter().map(entry_link).collect();
    PbNode { links, data: Some(data.encode()) }
}

pub(crate) fn entry_link(e: &DirEntry) -> PbLink {
    PbLink { hash: e.link.cid, name: Some(e.name.clone()), tsize: Some(e.link.tsize) }
}

fn needs_sharding(settings: &Settings, entries: &[DirEntry]) -> bool {
    match settings.shard {
        ShardRule::LinksEstimate(limit) => {
            let estimate: usize =
                entries.iter().map(|e| e.name.len() + e.link.cid.encoded_len()).sum();
            estimate > limit
        }
        ShardRule::BlockSize(limit) => {
            plain_node(entries, Metadata::default()).encode().len() > limit
        }
        ShardRule::EntryCount(limit) => entries.len() > limit,
    }
}
