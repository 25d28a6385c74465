//! HAMT-sharded folders (UnixFS `HAMTShard`), built as boxo and ipfs-unixfs-importer build them.
//!
//! Each name is hashed with murmur3-x64-64; successive `log2(fanout)`-bit slices of the hash pick
//! a slot at each level. A slot holding one entry links to it as `{slot:02X}{name}`; a slot with
//! several gets a child shard, linked as `{slot:02X}`.

use crate::codec::block::Block;
use crate::codec::cids::DAG_PB;
use crate::codec::dagpb::{PbLink, PbNode};
use crate::unixfs::dir::{entry_link, DirEntry};
use crate::unixfs::file::Metadata;
use crate::unixfs::layout::Link;
use crate::unixfs::murmur3;
use crate::unixfs::settings::Settings;
use crate::unixfs::{Data, NodeType};

/// Multicodec of the name hash: murmur3-x64-64.
pub const HASH_TYPE: u64 = 0x22;

/// Builds a HAMT over `entries` and returns the link to its root shard.
pub fn build(
    settings: &Settings,
    entries: &[DirEntry],
    meta: Metadata,
    out: &mut Vec<Block>,
) -> Link {
    let fanout = settings.hamt_fanout;
    let hashed: Vec<(u64, &DirEntry)> =
        entries.iter().map(|e| (murmur3::x64_64(e.name.as_bytes()), e)).collect();
    Shard { settings, bits: fanout.trailing_zeros(), out }.node(hashed, 0, meta)
}

struct Shard<'a> {
    settings: &'a Settings,
    bits: u32,
    out: &'a mut Vec<Block>,
}

impl Shard<'_> {
    fn slot(&self, hash: u64, depth: u32) -> usize {
        let used = self.bits * depth;
        if used + self.bits > 64 {
            return 0;
        }
        ((hash << used) >> (64 - self.bits)) as usize
    }

    fn node(&mut self, mut items: Vec<(u64, &DirEntry)>, depth: u32, meta: Metadata) -> Link {
        items.sort_by_key(|&(h, e)| (self.slot(h, depth), e.name.as_bytes()));
        let fanout = 1usize << self.bits;
        let width = format!("{:X}", fanout - 1).len();
        let exhausted = self.bits * (depth + 1) > 64;
        let mut bitfield = vec![0u8; fanout / 8];
        let mut links = Vec::new();
        let mut below = 0u64;
        let mut rest = &items[..];
        while let Some(&(h, _)) = rest.first() {
            let slot = self.slot(h, depth);
            let n = rest.iter().take_while(|&&(h2, _)| self.slot(h2, depth) == slot).count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            bitfield[fanout / 8 - 1 - slot / 8] |= 1 << (slot % 8);
            let prefix = format!("{slot:0width$X}");
            if n == 1 || exhausted {
                for (_, e) in group {
                    let mut link = entry_link(e);
                    link.name = Some(format!("{prefix}{}", e.name));
                    below += e.link.tsize;
                    links.push(link);
                }
            } else {
                let child = self.node(group.to_vec(), depth + 1, Metadata::default());
                below += child.tsize;
                links.push(PbLink {
                    hash: child.cid,
                    name: Some(prefix),
                    tsize: Some(child.tsize),
                });
            }
        }
        let first_set = bitfield.iter().position(|&b| b != 0).unwrap_or(bitfield.len());
        let mut data = Data::new(NodeType::HamtShard);
        data.data = Some(bitfield[first_set..].to_vec());
        data.hash_type = Some(HASH_TYPE);
        data.fanout = Some(fanout as u64);
        meta.apply(&mut data);
        let block = PbNode { links, data: Some(data.encode()) }.encode();
        let cid = self.settings.cid.cid(DAG_PB, &block);
        let tsize = block.len() as u64 + below;
        self.out.push(Block { cid, data: block });
        Link { cid, tsize, filesize: 0 }
    }
}
